package eventrouter // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter"

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
	"github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/metrics"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
)

// Preset names.
const (
	PresetTasker = "tasker"
	PresetNone   = "none"
)

// Signal names used in `to` and `unmatched`.
const (
	SignalTraces  = "traces"
	SignalMetrics = "metrics"
	SignalLogs    = "logs"
)

// Config is the configuration of the eventrouter connector.
type Config struct {
	// Preset is the built-in mapping the routes extend: "tasker" (the whole
	// Tasker event catalog) or "none".
	Preset string `mapstructure:"preset"`
	// Routes are checked in order before the preset; the first match wins.
	Routes []RouteConfig `mapstructure:"routes"`
	// Unmatched lists the signals that get events no route (and no preset
	// entry) names, and records that are not events at all (logs only).
	Unmatched []string `mapstructure:"unmatched"`
	// Drop lists event names or globs that are never exported anywhere.
	Drop []string `mapstructure:"drop"`
	// Redaction filters sensitive values before anything leaves the router.
	Redaction event.RedactionConfig `mapstructure:"redaction"`
	// Storage is the id of a storage extension (file_storage) that keeps
	// the pending tasks and tombstones: with it, an acknowledged event
	// survives a crash and a restart carries on where it stopped.
	Storage *component.ID `mapstructure:"storage"`
	// KeepTasks keeps tasks that matter whole in traces, whatever the
	// routes' sampling rates.
	KeepTasks KeepTasksConfig `mapstructure:"keep_tasks"`
	// Traces configures span assembly.
	Traces TracesConfig `mapstructure:"traces"`
	// Metrics configures the metrics built from events.
	Metrics metrics.Config `mapstructure:"metrics"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// RouteConfig maps event names to signals.
type RouteConfig struct {
	// Events are exact names or globs (path.Match syntax, e.g. "step.*").
	Events []string `mapstructure:"events"`
	// To is a subset of traces, metrics, logs; an empty list sends the
	// matching events nowhere (they are counted as dropped).
	To []string `mapstructure:"to"`
	// SamplingRate (0..1, default 1) keeps this share of tasks, decided from
	// the trace id, for traces and logs. Metrics always see every event.
	SamplingRate *float64 `mapstructure:"sampling_rate"`
}

// KeepTasksConfig says which tasks are kept whole although their routes
// sample them out: decided when the task is released, its outcome known.
type KeepTasksConfig struct {
	// Failed keeps tasks that ended failed (task.failed).
	Failed bool `mapstructure:"failed"`
	// SlowerThan, when positive, keeps tasks that took longer.
	SlowerThan time.Duration `mapstructure:"slower_than"`

	// prevent unkeyed literal initialization
	_ struct{}
}

func (k KeepTasksConfig) enabled() bool { return k.Failed || k.SlowerThan > 0 }

// TracesConfig configures span assembly.
type TracesConfig struct {
	// SpanTimeout is the longest a task's spans are held: open spans are then
	// emitted marked unfinished, complete ones as they are.
	SpanTimeout time.Duration `mapstructure:"span_timeout"`
	// MaxPending bounds the spans and span events held; past it the oldest
	// task's spans are emitted at once (open ones marked unfinished).
	MaxPending int `mapstructure:"max_pending"`
	// TaskEndGrace is how long a task's spans are still held after its
	// terminal event, so that late events of the task join them.
	TaskEndGrace time.Duration `mapstructure:"task_end_grace"`
	// MaxTombstoneSpans bounds the spans remembered of emitted tasks (17
	// bytes each), so that late and repeated events never emit a span twice.
	MaxTombstoneSpans int `mapstructure:"max_tombstone_spans"`
}

func createDefaultConfig() *Config {
	return &Config{
		Preset:    PresetTasker,
		Unmatched: []string{SignalLogs},
		Redaction: event.DefaultRedactionConfig(),
		KeepTasks: KeepTasksConfig{Failed: true},
		Traces: TracesConfig{
			SpanTimeout:       10 * time.Minute,
			MaxPending:        200000,
			TaskEndGrace:      5 * time.Second,
			MaxTombstoneSpans: 500000,
		},
		Metrics: metrics.DefaultConfig(),
	}
}

// Validate checks the configuration; nested sections (redaction, metrics)
// are validated by their own Validate methods.
func (c *Config) Validate() error {
	var errs []error
	switch c.Preset {
	case PresetTasker, PresetNone:
	default:
		errs = append(errs, fmt.Errorf("preset: %q is not one of %q, %q", c.Preset, PresetTasker, PresetNone))
	}
	for i, r := range c.Routes {
		if len(r.Events) == 0 {
			errs = append(errs, fmt.Errorf("routes[%d].events: must name at least one event or glob", i))
		}
		for _, p := range r.Events {
			if err := validatePattern(p); err != nil {
				errs = append(errs, fmt.Errorf("routes[%d].events: %w", i, err))
			}
		}
		if err := validateSignals(r.To); err != nil {
			errs = append(errs, fmt.Errorf("routes[%d].to: %w", i, err))
		}
		if r.SamplingRate != nil && !(*r.SamplingRate >= 0 && *r.SamplingRate <= 1) {
			errs = append(errs, fmt.Errorf("routes[%d].sampling_rate: %v is not between 0 and 1", i, *r.SamplingRate))
		}
	}
	if err := validateSignals(c.Unmatched); err != nil {
		errs = append(errs, fmt.Errorf("unmatched: %w", err))
	}
	for _, p := range c.Drop {
		if err := validatePattern(p); err != nil {
			errs = append(errs, fmt.Errorf("drop: %w", err))
		}
	}
	if c.Traces.SpanTimeout <= 0 {
		errs = append(errs, fmt.Errorf("traces.span_timeout: must be positive, got %v", c.Traces.SpanTimeout))
	}
	if c.Traces.MaxPending <= 0 {
		errs = append(errs, fmt.Errorf("traces.max_pending: must be positive, got %d", c.Traces.MaxPending))
	}
	if c.KeepTasks.SlowerThan < 0 {
		errs = append(errs, fmt.Errorf("keep_tasks.slower_than: must not be negative, got %v", c.KeepTasks.SlowerThan))
	}
	if c.Traces.MaxTombstoneSpans <= 0 {
		errs = append(errs, fmt.Errorf("traces.max_tombstone_spans: must be positive, got %d", c.Traces.MaxTombstoneSpans))
	}
	if c.Traces.TaskEndGrace < 0 {
		errs = append(errs, fmt.Errorf("traces.task_end_grace: must not be negative, got %v", c.Traces.TaskEndGrace))
	}
	return errors.Join(errs...)
}

func validatePattern(p string) error {
	if strings.TrimSpace(p) == "" {
		return errors.New("empty event name")
	}
	if _, err := path.Match(p, ""); err != nil {
		return fmt.Errorf("bad glob %q: %w", p, err)
	}
	return nil
}

func validateSignals(list []string) error {
	seen := map[string]bool{}
	for _, s := range list {
		switch s {
		case SignalTraces, SignalMetrics, SignalLogs:
		default:
			return fmt.Errorf("%q is not one of traces, metrics, logs", s)
		}
		if seen[s] {
			return fmt.Errorf("%q listed twice", s)
		}
		seen[s] = true
	}
	return nil
}

// errTraceNamespaceMoved explains a key the router had while it normalized
// OTLP input itself.
var errTraceNamespaceMoved = errors.New("trace_namespace: the router reads normalized events only and has no namespace; " +
	"set trace_namespace on the eventnormalize processor (OTLP input) and the taskerevents receiver")

// Unmarshal refuses trace_namespace with a message saying where it went,
// then decodes.
func (c *Config) Unmarshal(conf *confmap.Conf) error {
	if conf.IsSet("trace_namespace") {
		return errTraceNamespaceMoved
	}
	return conf.Unmarshal(c)
}
