package metrics

import (
	"testing"
	"time"

	"github.com/prometheus/otlptranslator"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// promType mirrors how the prometheus exporter (v0.161.0, through
// prometheus' TranslatorMetricFromOtelMetric) classifies a metric.
func promType(m pmetric.Metric) otlptranslator.MetricType {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return otlptranslator.MetricTypeGauge
	case pmetric.MetricTypeSum:
		if m.Sum().IsMonotonic() {
			return otlptranslator.MetricTypeMonotonicCounter
		}
		return otlptranslator.MetricTypeNonMonotonicCounter
	case pmetric.MetricTypeHistogram:
		return otlptranslator.MetricTypeHistogram
	}
	return otlptranslator.MetricTypeUnknown
}

// TestPrometheusNames checks the names the prometheus exporter writes with
// its default translation strategy (UnderscoreEscapingWithSuffixes), using
// the same translator library it calls.
func TestPrometheusNames(t *testing.T) {
	s := loadSample(t)
	a := newAggregator(t, func(c *Config) {
		c.MaxSeriesPerMetric = 2                // so that overflow series exist
		c.SlowQueryThreshold = time.Millisecond // so that slow queries exist
	})
	s.feed(a, 0, len(s.records))
	a.Observe(testEvent("performance.slow_operation", map[string]any{"kind": "x"}), s.res)
	md, _ := snapshot(a)

	want := map[string]string{
		"tasker.tasks":             "tasker_tasks_total",
		"tasker.steps":             "tasker_steps_total",
		"tasker.workflow.duration": "tasker_workflow_duration_seconds",
		"tasker.step.duration":     "tasker_step_duration_seconds",
		"tasker.step.retries":      "tasker_step_retries_total",
		"tasker.step.backoff":      "tasker_step_backoff_seconds",
		"tasker.tasks.active":      "tasker_tasks_active",
		"tasker.steps.active":      "tasker_steps_active",
		"tasker.tasks.enqueued":    "tasker_tasks_enqueued_total",
		"tasker.db.query.duration": "tasker_db_query_duration_seconds",
		"tasker.slow_operations":   "tasker_slow_operations_total",
		"tasker.events":            "tasker_events_total",

		"tasker.task.queue.duration": "tasker_task_queue_duration_seconds",
		"tasker.step.wait.duration":  "tasker_step_wait_duration_seconds",
	}
	namer := otlptranslator.MetricNamer{WithMetricSuffixes: true, UTF8Allowed: false}
	labels := otlptranslator.LabelNamer{UTF8Allowed: false}
	got := map[string]string{}
	ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	for i := 0; i < ms.Len(); i++ {
		m := ms.At(i)
		name, err := namer.Build(otlptranslator.Metric{Name: m.Name(), Unit: m.Unit(), Type: promType(m)})
		require.NoError(t, err)
		got[m.Name()] = name
	}
	assert.Equal(t, want, got)
	for _, b := range builtins {
		assert.Contains(t, want, b.name, "every built-in metric is checked")
		for _, l := range b.labels {
			pl, err := labels.Build(l)
			require.NoError(t, err)
			assert.Equal(t, l, pl, "label names pass through unchanged")
		}
	}
	overflow, err := labels.Build(overflowLabel)
	require.NoError(t, err)
	assert.Equal(t, "otel_metric_overflow", overflow)
}
