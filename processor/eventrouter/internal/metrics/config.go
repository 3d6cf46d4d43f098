package metrics

import (
	"errors"
	"fmt"
	"math"
	"path"
	"regexp"
	"sort"
	"time"
)

// Config is the `metrics:` section of the eventrouter connector.
type Config struct {
	// FlushInterval is how often the connector emits a cumulative snapshot.
	FlushInterval time.Duration `mapstructure:"flush_interval"`
	// HistogramBuckets are the explicit upper bounds (seconds) of the
	// built-in duration histograms.
	HistogramBuckets []float64 `mapstructure:"histogram_buckets"`
	// MaxSeriesPerMetric caps the series of each metric; further label sets
	// are folded into one series labelled otel.metric.overflow="true".
	MaxSeriesPerMetric int `mapstructure:"max_series_per_metric"`
	// Exemplars attaches the trace and span id of the latest event to each
	// counter and histogram series.
	Exemplars bool `mapstructure:"exemplars"`
	// SlowStepThreshold: a step attempt that ran longer counts as slow.
	SlowStepThreshold time.Duration `mapstructure:"slow_step_threshold"`
	// SlowQueryThreshold: a database query that ran longer counts as slow.
	SlowQueryThreshold time.Duration `mapstructure:"slow_query_threshold"`
	// MaxTrackedTasks bounds the task id → (name, in-flight state) table.
	MaxTrackedTasks int `mapstructure:"max_tracked_tasks"`
	// MaxTrackedSteps bounds the step attempt → in-flight state table.
	MaxTrackedSteps int `mapstructure:"max_tracked_steps"`
	// Definitions are user-defined metrics computed from events.
	Definitions []Definition `mapstructure:"definitions"`
	// MaxLabelLength bounds every label value in bytes; longer values are
	// cut and end with event.Truncated.
	MaxLabelLength int `mapstructure:"max_label_length"`
	// MaxStateBytes caps the estimated bytes of the state (series, tracked
	// tasks and steps, service resources); past it new label sets go to the
	// overflow series and the tracking tables evict their oldest entries.
	MaxStateBytes int64 `mapstructure:"max_state_bytes"`
}

// Limits of max_label_length and max_state_bytes.
const (
	minLabelLength = 32 // room for the truncation marker and a prefix
	maxLabelLength = 1 << 16
	minStateBytes  = 1 << 20
)

// Definition describes one user-defined metric.
type Definition struct {
	// Name is the OpenTelemetry metric name, e.g. "orders.amount".
	Name        string `mapstructure:"name"`
	Description string `mapstructure:"description"`
	// Unit is a UCUM unit ("s", "By", "{order}"); the Prometheus exporter
	// appends it to the name.
	Unit string `mapstructure:"unit"`
	// Type is counter, histogram or gauge.
	Type string `mapstructure:"type"`
	// Events are event names or globs (path.Match syntax: "step.*").
	Events []string `mapstructure:"events"`
	// Value is a path to the number to record (payload.x.y,
	// attributes.<key>, resource.<key>); empty means 1 (counters only).
	Value string `mapstructure:"value"`
	// Labels maps a label name to a path (or "event.name").
	Labels map[string]string `mapstructure:"labels"`
	// Buckets overrides histogram_buckets for a histogram.
	Buckets []float64 `mapstructure:"buckets"`
}

// Definition types.
const (
	TypeCounter   = "counter"
	TypeHistogram = "histogram"
	TypeGauge     = "gauge"
)

// DefaultBuckets are the default histogram bounds in seconds.
var DefaultBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// DefaultConfig returns the defaults documented in README.md.
func DefaultConfig() Config {
	return Config{
		FlushInterval:      15 * time.Second,
		HistogramBuckets:   append([]float64(nil), DefaultBuckets...),
		MaxSeriesPerMetric: 10000,
		Exemplars:          true,
		SlowStepThreshold:  5 * time.Second,
		SlowQueryThreshold: 100 * time.Millisecond,
		MaxTrackedTasks:    20000,
		MaxTrackedSteps:    50000,
		MaxLabelLength:     256,
		MaxStateBytes:      32 << 20,
	}
}

var (
	metricNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_./-]{0,254}$`)
	labelNameRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.]{0,127}$`)
)

// Validate rejects nonsense, naming the offending key.
func (c Config) Validate() error {
	var errs []error
	if c.FlushInterval <= 0 {
		errs = append(errs, fmt.Errorf("flush_interval: must be positive, got %s", c.FlushInterval))
	}
	if err := validateBuckets(c.HistogramBuckets); err != nil {
		errs = append(errs, fmt.Errorf("histogram_buckets: %w", err))
	}
	if c.MaxSeriesPerMetric < 1 {
		errs = append(errs, fmt.Errorf("max_series_per_metric: must be at least 1, got %d", c.MaxSeriesPerMetric))
	}
	if c.SlowStepThreshold <= 0 {
		errs = append(errs, fmt.Errorf("slow_step_threshold: must be positive, got %s", c.SlowStepThreshold))
	}
	if c.SlowQueryThreshold <= 0 {
		errs = append(errs, fmt.Errorf("slow_query_threshold: must be positive, got %s", c.SlowQueryThreshold))
	}
	if c.MaxTrackedTasks < 1 {
		errs = append(errs, fmt.Errorf("max_tracked_tasks: must be at least 1, got %d", c.MaxTrackedTasks))
	}
	if c.MaxTrackedSteps < 1 {
		errs = append(errs, fmt.Errorf("max_tracked_steps: must be at least 1, got %d", c.MaxTrackedSteps))
	}
	if c.MaxLabelLength < minLabelLength || c.MaxLabelLength > maxLabelLength {
		errs = append(errs, fmt.Errorf("max_label_length: must be between %d and %d, got %d", minLabelLength, maxLabelLength, c.MaxLabelLength))
	}
	if c.MaxStateBytes < minStateBytes {
		errs = append(errs, fmt.Errorf("max_state_bytes: must be at least %d (1 MiB), got %d", minStateBytes, c.MaxStateBytes))
	}
	seen := make(map[string]int, len(c.Definitions))
	for _, b := range builtins {
		seen[b.name] = -1
	}
	for i := range c.Definitions {
		d := &c.Definitions[i]
		if err := d.validate(); err != nil {
			errs = append(errs, fmt.Errorf("definitions[%d] (%q): %w", i, d.Name, err))
			continue
		}
		if j, dup := seen[d.Name]; dup {
			if j < 0 {
				errs = append(errs, fmt.Errorf("definitions[%d].name: %q is a built-in metric", i, d.Name))
			} else {
				errs = append(errs, fmt.Errorf("definitions[%d].name: %q is already defined by definitions[%d]", i, d.Name, j))
			}
			continue
		}
		seen[d.Name] = i
	}
	return errors.Join(errs...)
}

func (d *Definition) validate() error {
	if !metricNameRE.MatchString(d.Name) {
		return fmt.Errorf("name: %q is not a valid metric name (a letter, then letters, digits, '_', '.', '/' or '-', at most 255)", d.Name)
	}
	switch d.Type {
	case TypeCounter, TypeHistogram, TypeGauge:
	case "":
		return errors.New("type: missing (counter, histogram or gauge)")
	default:
		return fmt.Errorf("type: %q is not one of counter, histogram, gauge", d.Type)
	}
	if len(d.Events) == 0 {
		return errors.New("events: at least one event name or glob is required")
	}
	for j, e := range d.Events {
		if e == "" {
			return fmt.Errorf("events[%d]: empty", j)
		}
		if _, err := path.Match(e, ""); err != nil {
			return fmt.Errorf("events[%d]: bad glob %q: %w", j, e, err)
		}
	}
	if d.Value == "" {
		if d.Type != TypeCounter {
			return fmt.Errorf("value: required for a %s", d.Type)
		}
	} else if _, err := compilePath(d.Value); err != nil {
		return fmt.Errorf("value: %w", err)
	}
	for _, name := range sortedKeys(d.Labels) {
		if !labelNameRE.MatchString(name) {
			return fmt.Errorf("labels: %q is not a valid label name (a letter or '_', then letters, digits, '_' or '.')", name)
		}
		if name == overflowLabel {
			return fmt.Errorf("labels: %q is reserved", name)
		}
		if _, err := compilePath(d.Labels[name]); err != nil {
			return fmt.Errorf("labels.%s: %w", name, err)
		}
	}
	if len(d.Buckets) > 0 {
		if d.Type != TypeHistogram {
			return fmt.Errorf("buckets: only a histogram has buckets, this is a %s", d.Type)
		}
		if err := validateBuckets(d.Buckets); err != nil {
			return fmt.Errorf("buckets: %w", err)
		}
	}
	return nil
}

func validateBuckets(b []float64) error {
	if len(b) == 0 {
		return errors.New("at least one bound is required")
	}
	for i, v := range b {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("bound %d is not finite", i)
		}
		if i > 0 && v <= b[i-1] {
			return fmt.Errorf("bounds must be strictly increasing (%g after %g)", v, b[i-1])
		}
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
