package metrics

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

func TestDefinitionsOnSample(t *testing.T) {
	s := loadSample(t)
	a := newAggregator(t, func(c *Config) {
		c.Definitions = []Definition{
			{ // a counter of events matched by a glob, labelled by event name
				Name: "app.step.events", Unit: "{event}", Type: TypeCounter,
				Events: []string{"step.*"},
				Labels: map[string]string{"event": "event.name"},
			},
			{ // a counter with a value: steps planned by started tasks
				Name: "app.steps.planned", Unit: "{step}", Type: TypeCounter,
				Events: []string{"task.start_requested"},
				Value:  "payload.total_steps",
			},
			{ // a histogram of a payload value, labelled from a nested payload path and an attribute
				Name: "app.step.execution", Unit: "s", Type: TypeHistogram,
				Events:  []string{"step.completed"},
				Value:   "payload.execution_duration",
				Labels:  map[string]string{"ok": "payload.step_results.ok", "step": "attributes.tasker.step.name"},
				Buckets: []float64{0.05, 0.1, 0.2},
			},
			{ // a gauge: the last total_steps of each task name
				Name: "app.task.total_steps", Unit: "{step}", Type: TypeGauge,
				Events: []string{"task.start_requested"},
				Value:  "payload.total_steps",
				Labels: map[string]string{"task": "attributes.tasker.task.name", "service": "resource.service.name"},
			},
		}
	})
	s.feed(a, 0, len(s.records))
	_, got := snapshot(a)

	// expected values, straight from the fixture
	wantEvents := map[string]float64{}
	var planned float64
	wantExec := map[string][]float64{}
	lastTotal := map[string]float64{}
	for _, r := range s.raw {
		if matched, _ := filepath.Match("step.*", r.Name); matched {
			wantEvents[r.Name]++
		}
		switch r.Name {
		case "task.start_requested":
			planned += mustNum(r.Payload["total_steps"])
			lastTotal[r.Payload["task_name"].(string)] = mustNum(r.Payload["total_steps"])
		case "step.completed":
			ok := fmt.Sprint(r.Payload["step_results"].(map[string]any)["ok"])
			key := ok + "/" + r.Payload["step_name"].(string)
			wantExec[key] = append(wantExec[key], mustNum(r.Payload["execution_duration"]))
		}
	}

	ev := got["app.step.events"]
	require.NotNil(t, ev)
	assert.True(t, ev.monotonic)
	gotEvents := map[string]float64{}
	for _, p := range ev.points {
		gotEvents[p.attrs["event"]] = p.value
	}
	assert.Equal(t, wantEvents, gotEvents)

	assert.InDelta(t, planned, got["app.steps.planned"].total(), 1e-9)
	assert.Equal(t, pmetric.MetricTypeSum, got["app.steps.planned"].typ)

	h := got["app.step.execution"]
	require.NotNil(t, h)
	assert.Equal(t, "s", h.unit)
	require.Len(t, h.points, len(wantExec))
	for _, p := range h.points {
		want := wantExec[p.attrs["ok"]+"/"+p.attrs["step"]]
		require.NotEmpty(t, want, p.attrs)
		var sum float64
		buckets := make([]uint64, 4)
		for _, v := range want {
			sum += v
			buckets[bucketIndex([]float64{0.05, 0.1, 0.2}, v)]++
		}
		assert.EqualValues(t, len(want), p.count)
		assert.InDelta(t, sum, p.sum, 1e-9)
		assert.Equal(t, []float64{0.05, 0.1, 0.2}, p.bounds)
		assert.Equal(t, buckets, p.buckets)
		assert.Len(t, p.exemplars, 1)
	}

	g := got["app.task.total_steps"]
	require.NotNil(t, g)
	assert.Equal(t, pmetric.MetricTypeGauge, g.typ)
	require.Len(t, g.points, len(lastTotal))
	for _, p := range g.points {
		assert.Equal(t, lastTotal[p.attrs["task"]], p.value, p.attrs)
		assert.Equal(t, sampleService, p.attrs["service"])
		assert.Empty(t, p.exemplars)
	}
}

func TestDefinitionSkipsMissingValues(t *testing.T) {
	a := newAggregator(t, func(c *Config) {
		c.Definitions = []Definition{
			{Name: "amount", Type: TypeCounter, Events: []string{"custom.order"}, Value: "payload.order.amount",
				Labels: map[string]string{"currency": "payload.order.currency", "first_item": "payload.order.items.0"}},
		}
	})
	res := testResource("svc")
	a.Observe(testEvent("custom.order", map[string]any{"order": map[string]any{"amount": 12.5, "currency": "EUR", "items": []any{"pen"}}}), res)
	a.Observe(testEvent("custom.order", map[string]any{"order": map[string]any{"amount": "2.5", "currency": "EUR", "items": []any{"pen"}}}), res)
	a.Observe(testEvent("custom.order", map[string]any{"order": map[string]any{"amount": 1}}), res)
	a.Observe(testEvent("custom.order", map[string]any{"order": map[string]any{"amount": "n/a"}}), res) // skipped
	a.Observe(testEvent("custom.order", map[string]any{"order": map[string]any{"amount": -3}}), res)    // skipped: counters only go up
	a.Observe(testEvent("custom.order", map[string]any{}), res)                                         // skipped
	a.Observe(testEvent("custom.other", map[string]any{"order": map[string]any{"amount": 100}}), res)   // not matched
	_, got := snapshot(a)
	m := got["amount"]
	require.NotNil(t, m)
	assert.InDelta(t, 15, m.total("currency", "EUR", "first_item", "pen"), 1e-9)
	assert.InDelta(t, 1, m.total("currency", unknown, "first_item", unknown), 1e-9)
	assert.InDelta(t, 16, m.total(), 1e-9)
}

func TestValidate(t *testing.T) {
	good := Definition{Name: "x.y", Type: TypeCounter, Events: []string{"step.*"}}
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"flush", func(c *Config) { c.FlushInterval = 0 }, "flush_interval"},
		{"buckets empty", func(c *Config) { c.HistogramBuckets = nil }, "histogram_buckets: at least one"},
		{"buckets order", func(c *Config) { c.HistogramBuckets = []float64{1, 0.5} }, "histogram_buckets: bounds must be strictly increasing"},
		{"max series", func(c *Config) { c.MaxSeriesPerMetric = -1 }, "max_series_per_metric"},
		{"slow step", func(c *Config) { c.SlowStepThreshold = 0 }, "slow_step_threshold"},
		{"slow query", func(c *Config) { c.SlowQueryThreshold = -time.Second }, "slow_query_threshold"},
		{"tracked tasks", func(c *Config) { c.MaxTrackedTasks = 0 }, "max_tracked_tasks"},
		{"tracked steps", func(c *Config) { c.MaxTrackedSteps = 0 }, "max_tracked_steps"},
		{"def name", func(c *Config) { d := good; d.Name = "1bad"; c.Definitions = []Definition{d} }, `definitions[0] ("1bad"): name`},
		{"def type missing", func(c *Config) { d := good; d.Type = ""; c.Definitions = []Definition{d} }, "type: missing"},
		{"def type", func(c *Config) { d := good; d.Type = "summary"; c.Definitions = []Definition{d} }, `type: "summary" is not one of`},
		{"def events", func(c *Config) { d := good; d.Events = nil; c.Definitions = []Definition{d} }, "events: at least one"},
		{"def glob", func(c *Config) { d := good; d.Events = []string{"step.[x"}; c.Definitions = []Definition{d} }, "events[0]: bad glob"},
		{"def value required", func(c *Config) { d := good; d.Type = TypeHistogram; c.Definitions = []Definition{d} }, "value: required for a histogram"},
		{"def value path", func(c *Config) { d := good; d.Value = "body.amount"; c.Definitions = []Definition{d} }, `value: "body.amount": a path starts with`},
		{"def value empty segment", func(c *Config) { d := good; d.Value = "payload.a..b"; c.Definitions = []Definition{d} }, "empty segment"},
		{"def value attributes", func(c *Config) { d := good; d.Value = "attributes."; c.Definitions = []Definition{d} }, "missing attribute key"},
		{"def label name", func(c *Config) {
			d := good
			d.Labels = map[string]string{"bad-name": "payload.x"}
			c.Definitions = []Definition{d}
		}, `labels: "bad-name" is not a valid label name`},
		{"def label path", func(c *Config) {
			d := good
			d.Labels = map[string]string{"x": "step_name"}
			c.Definitions = []Definition{d}
		}, "labels.x:"},
		{"def label reserved", func(c *Config) {
			d := good
			d.Labels = map[string]string{overflowLabel: "payload.x"}
			c.Definitions = []Definition{d}
		}, "is reserved"},
		{"def buckets on counter", func(c *Config) { d := good; d.Buckets = []float64{1}; c.Definitions = []Definition{d} }, "buckets: only a histogram"},
		{"def buckets order", func(c *Config) {
			d := good
			d.Type, d.Value, d.Buckets = TypeHistogram, "payload.x", []float64{2, 2}
			c.Definitions = []Definition{d}
		}, "buckets: bounds must be strictly increasing"},
		{"def builtin name", func(c *Config) { d := good; d.Name = "tasker.tasks"; c.Definitions = []Definition{d} }, "is a built-in metric"},
		{"label length", func(c *Config) { c.MaxLabelLength = 31 }, "max_label_length: must be between 32 and 65536, got 31"},
		{"state bytes", func(c *Config) { c.MaxStateBytes = 1000 }, "max_state_bytes: must be at least 1048576 (1 MiB), got 1000"},
		{"def duplicate", func(c *Config) { c.Definitions = []Definition{good, good} }, "definitions[1].name: \"x.y\" is already defined by definitions[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.mutate(&cfg)
			err := cfg.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	cfg := DefaultConfig()
	require.NoError(t, cfg.Validate())
	cfg.Definitions = []Definition{good}
	require.NoError(t, cfg.Validate())
}

func TestConfigUnmarshal(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	sub, err := cm.Sub("defaults")
	require.NoError(t, err)
	cfg := DefaultConfig()
	require.NoError(t, sub.Unmarshal(&cfg))
	assert.Equal(t, DefaultConfig(), cfg)

	sub, err = cm.Sub("custom")
	require.NoError(t, err)
	cfg = DefaultConfig()
	require.NoError(t, sub.Unmarshal(&cfg))
	require.NoError(t, cfg.Validate())
	assert.Equal(t, Config{
		FlushInterval:      30 * time.Second,
		HistogramBuckets:   []float64{0.1, 1, 10, 60, 300},
		MaxSeriesPerMetric: 500,
		Exemplars:          false,
		SlowStepThreshold:  2 * time.Second,
		SlowQueryThreshold: 250 * time.Millisecond,
		MaxTrackedTasks:    1000,
		MaxTrackedSteps:    5000,
		MaxLabelLength:     128,
		MaxStateBytes:      8 << 20,
		Definitions: []Definition{
			{
				Name: "orders.amount", Description: "Order amounts processed.", Unit: "{EUR}", Type: TypeCounter,
				Events: []string{"step.completed"}, Value: "payload.step_results.amount",
				Labels: map[string]string{"step": "attributes.tasker.step.name"},
			},
			{
				Name: "steps.attempt", Unit: "{attempt}", Type: TypeHistogram,
				Events: []string{"step.completed", "step.failed"}, Value: "attributes.tasker.step.attempt",
				Buckets: []float64{1, 2, 3, 5},
			},
			{
				Name: "tasks.pending_steps", Unit: "{step}", Type: TypeGauge,
				Events: []string{"task.*"}, Value: "payload.pending_steps",
				Labels: map[string]string{"task_name": "attributes.tasker.task.name"},
			},
		},
	}, cfg)

	sub, err = cm.Sub("invalid")
	require.NoError(t, err)
	cfg = DefaultConfig()
	require.NoError(t, sub.Unmarshal(&cfg))
	assert.ErrorContains(t, cfg.Validate(), `definitions[0] ("bad"): type: "meter" is not one of counter, histogram, gauge`)
}
