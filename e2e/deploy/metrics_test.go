package deploy

import "strings"

type metricKind int

const (
	counter metricKind = iota
	gauge
	histogram
)

func (k metricKind) String() string {
	return [...]string{"counter", "gauge", "histogram"}[k]
}

type routerMetric struct {
	name   string // Prometheus name as the prometheus exporter writes it
	kind   metricKind
	labels []string
}

// routerMetrics mirrors the metric table of the router's metrics README
// (processor/eventrouter/internal/metrics/README.md; a test keeps the two in
// step), in the Prometheus names the collector's prometheus exporter writes.
// The dashboard may query only these.
var routerMetrics = []routerMetric{
	{"tasker_tasks_total", counter, []string{"task_name", "status"}},
	{"tasker_steps_total", counter, []string{"task_name", "step_name", "status"}},
	{"tasker_workflow_duration_seconds", histogram, []string{"task_name", "status"}},
	{"tasker_step_duration_seconds", histogram, []string{"task_name", "step_name", "status"}},
	{"tasker_step_retries_total", counter, []string{"task_name", "step_name"}},
	{"tasker_step_backoff_seconds", histogram, []string{"backoff_type"}},
	{"tasker_tasks_active", gauge, []string{"task_name"}},
	{"tasker_steps_active", gauge, []string{"task_name", "step_name"}},
	{"tasker_tasks_enqueued_total", counter, []string{"queue"}},
	{"tasker_db_query_duration_seconds", histogram, []string{"table", "operation"}},
	{"tasker_slow_operations_total", counter, []string{"kind"}},
	{"tasker_events_total", counter, []string{"event"}},
	{"tasker_task_queue_duration_seconds", histogram, []string{"task_name"}},
	{"tasker_step_wait_duration_seconds", histogram, []string{"task_name", "step_name"}},
}

// targetLabels are added to every series by the prometheus exporter (job
// and instance from service.name and service.instance.id, the
// instrumentation scope) or by Prometheus itself.
var targetLabels = []string{"job", "instance", "otel_scope_name", "otel_scope_version", "otel_scope_schema_url"}

// series is one Prometheus series name resolved against routerMetrics or
// the recording rules.
type series struct {
	metric routerMetric
	suffix string // "_bucket", "_sum" or "_count" for histograms, else ""
	// sources are the router metrics a recording rule's series is made of
	// (empty for a router metric itself).
	sources []string
}

// labels returns the label names a selector of this series may use.
func (s series) labels() map[string]bool {
	out := make(map[string]bool, len(s.metric.labels)+3)
	for _, l := range s.metric.labels {
		out[l] = true
	}
	for _, l := range targetLabels {
		out[l] = true
	}
	if s.suffix == "_bucket" {
		out["le"] = true
	}
	return out
}

// lookupSeries resolves a series name: counters and gauges by their exact
// name, histograms only through their _bucket/_sum/_count series, and the
// series of the recording rules (docker/prometheus/rules) by their record
// name.
func lookupSeries(name string) (series, bool) {
	if s, ok := recordedSeries()[name]; ok {
		return s, true
	}
	return lookupRouterSeries(name)
}

// lookupRouterSeries resolves a series name against routerMetrics only.
func lookupRouterSeries(name string) (series, bool) {
	for _, m := range routerMetrics {
		if m.kind != histogram {
			if m.name == name {
				return series{metric: m}, true
			}
			continue
		}
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if name == m.name+suffix {
				return series{metric: m, suffix: suffix}, true
			}
		}
	}
	return series{}, false
}

func routerMetricNames() string {
	names := make([]string, len(routerMetrics))
	for i, m := range routerMetrics {
		names[i] = m.name
	}
	return strings.Join(names, ", ")
}
