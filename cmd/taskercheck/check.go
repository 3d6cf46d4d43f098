package main

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

type status string

const (
	statusOK   status = "ok"
	statusWarn status = "warn" // worth a look; does not fail the run
	statusFail status = "fail"
	statusSkip status = "skip" // could not run: a check it depends on failed, or not asked for
)

// result is one line of the report.
type result struct {
	Name   string `json:"name"`
	Status status `json:"status"`
	Detail string `json:"detail"`
	// Problems say what was wrong and where (a series, a trace, a span).
	Problems []string `json:"problems,omitempty"`
}

// maxProblems bounds the problems listed per check; the detail gives the count.
const maxProblems = 10

func (r *result) problem(format string, args ...any) {
	if len(r.Problems) < maxProblems {
		r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	}
}

type options struct {
	prometheus string
	jaeger     string // "" skips the trace checks
	service    string
	since      time.Duration
	traces     int // traces and exemplars sampled
	minDepth   int
	timeout    time.Duration
}

// checker runs the checks against one deployed stack.
type checker struct {
	o      options
	prom   prometheus
	jaeger *jaeger
	now    time.Time
	// set by earlier checks for later ones
	promUp, hasTaskMetrics, hasCollectorTelemetry bool
}

func newChecker(o options, now time.Time) *checker {
	c := &checker{o: o, now: now, prom: prometheus{apiClient: newAPIClient(o.prometheus, o.timeout), at: now}}
	if o.jaeger != "" {
		c.jaeger = &jaeger{apiClient: newAPIClient(o.jaeger, o.timeout)}
	}
	return c
}

// run runs every check in order; later checks skip when what they need failed.
func (c *checker) run(ctx context.Context) []result {
	checks := []func(context.Context) result{
		c.checkPrometheus,
		c.checkTasksCounted,
		c.checkStepOutcomes,
		c.checkConsistency,
		c.checkRefusedEvents,
		c.checkDroppedData,
		c.checkAlerts,
		c.checkJaegerService,
		c.checkTraceShape,
		c.checkExemplars,
	}
	out := make([]result, 0, len(checks))
	for _, check := range checks {
		out = append(out, check(ctx))
	}
	return out
}

// sel is the selector of the service's series of a metric.
func (c *checker) sel(metric string, extra ...string) string {
	matchers := append([]string{"job=" + strconv.Quote(c.o.service)}, extra...)
	return metric + "{" + strings.Join(matchers, ",") + "}"
}

func (c *checker) window() string { return promDuration(c.o.since) }

func promDuration(d time.Duration) string {
	return strconv.FormatInt(int64(d/time.Second), 10) + "s"
}

func (c *checker) skipped(name, why string) result {
	return result{Name: name, Status: statusSkip, Detail: why}
}

func (c *checker) checkPrometheus(ctx context.Context) result {
	r := result{Name: "prometheus reachable"}
	bi, err := c.prom.buildInfo(ctx)
	if err != nil {
		r.Status, r.Detail = statusFail, fmt.Sprintf("cannot query Prometheus at %s: %v", c.o.prometheus, err)
		return r
	}
	c.promUp = true
	r.Status, r.Detail = statusOK, fmt.Sprintf("Prometheus %s at %s", bi.Version, c.o.prometheus)
	return r
}

func (c *checker) checkTasksCounted(ctx context.Context) result {
	const name = "tasks counted"
	if !c.promUp {
		return c.skipped(name, "Prometheus cannot be queried")
	}
	r := result{Name: name}
	byStatus, err := c.prom.query(ctx, "sum by (status) ("+c.sel("tasker_tasks_total")+")")
	if err != nil {
		r.Status, r.Detail = statusFail, err.Error()
		return r
	}
	if len(byStatus) == 0 {
		r.Status = statusFail
		r.Detail = fmt.Sprintf("no tasker_tasks_total series of service %q: the collector's workflow metrics are not in this Prometheus", c.o.service)
		r.problem("%s: no series; scrape the collector's prometheus exporter with honor_labels: true, so that job is the sending service", c.sel("tasker_tasks_total"))
		if jobs, err := c.prom.query(ctx, "count by (job) (tasker_tasks_total)"); err == nil && len(jobs) > 0 {
			r.problem("services that have tasker_tasks_total: %s (use --service)", strings.Join(labelValues(jobs, "job"), ", "))
		}
		return r
	}
	c.hasTaskMetrics = true
	total := 0.0
	for _, s := range byStatus {
		total += s.Value
	}
	recent, _, err := c.prom.scalar(ctx, "sum(increase("+c.sel("tasker_tasks_total")+"["+c.window()+"]))")
	if err != nil {
		r.Status, r.Detail = statusFail, err.Error()
		return r
	}
	r.Status = statusOK
	r.Detail = fmt.Sprintf("%s tasks of service %s (%s), about %s finished in the last %s",
		num(total), c.o.service, countsByLabel(byStatus, "status"), approx(recent), c.o.since)
	return r
}

func (c *checker) checkStepOutcomes(ctx context.Context) result {
	const name = "step outcomes"
	if !c.hasTaskMetrics {
		return c.skipped(name, "no workflow metrics of the service")
	}
	r := result{Name: name}
	byStatus, err := c.prom.query(ctx, "sum by (status) ("+c.sel("tasker_steps_total")+")")
	switch {
	case err != nil:
		r.Status, r.Detail = statusFail, err.Error()
	case len(byStatus) == 0:
		r.Status, r.Detail = statusFail, "tasks are counted but no step outcome is"
		r.problem("%s: no series; do the step.completed / step.failed events reach the router (routes, drop)?", c.sel("tasker_steps_total"))
	default:
		r.Status, r.Detail = statusOK, "step attempts: "+countsByLabel(byStatus, "status")
	}
	return r
}

// checkConsistency: each task and step outcome feeds both its counter and
// its duration histogram in the same snapshot, so the two agree per series;
// in-flight gauges are never negative.
func (c *checker) checkConsistency(ctx context.Context) result {
	const name = "metrics consistent"
	if !c.hasTaskMetrics {
		return c.skipped(name, "no workflow metrics of the service")
	}
	r := result{Name: name}
	pairs := []struct{ counter, histogram, by string }{
		{"tasker_tasks_total", "tasker_workflow_duration_seconds_count", "task_name, status"},
		{"tasker_steps_total", "tasker_step_duration_seconds_count", "task_name, step_name, status"},
	}
	for _, p := range pairs {
		q := fmt.Sprintf("sum by (%[3]s) (%[1]s) - sum by (%[3]s) (%[2]s) != 0", c.sel(p.counter), c.sel(p.histogram), p.by)
		res, err := c.prom.query(ctx, q)
		if err != nil {
			r.Status, r.Detail = statusFail, err.Error()
			return r
		}
		for _, s := range res {
			r.problem("%s%s counts %s more outcomes than %s: outcome events without a duration?", p.counter, labelSet(s.Labels), num(s.Value), p.histogram)
		}
	}
	for _, g := range []string{"tasker_tasks_active", "tasker_steps_active"} {
		res, err := c.prom.query(ctx, c.sel(g)+" < 0")
		if err != nil {
			r.Status, r.Detail = statusFail, err.Error()
			return r
		}
		for _, s := range res {
			r.problem("%s%s = %s: an in-flight gauge below zero", g, labelSet(s.Labels), num(s.Value))
		}
	}
	if len(r.Problems) > 0 {
		r.Status, r.Detail = statusFail, "counters, histograms and gauges disagree"
		return r
	}
	r.Status, r.Detail = statusOK, "every outcome counted once in its counter and its duration histogram; no negative in-flight gauge"
	return r
}

// selfTelemetry matches a collector metric with or without the _total suffix.
func selfTelemetry(pattern string) string {
	return `{__name__=~"` + pattern + `(_total)?"}`
}

func (c *checker) checkRefusedEvents(ctx context.Context) result {
	const name = "no refused events"
	if !c.promUp {
		return c.skipped(name, "Prometheus cannot be queried")
	}
	r := result{Name: name}
	accepted, err := c.prom.query(ctx, "sum by (instance, receiver) ("+selfTelemetry("otelcol_receiver_accepted_log_records")+")")
	if err != nil {
		r.Status, r.Detail = statusFail, err.Error()
		return r
	}
	if len(accepted) == 0 {
		r.Status, r.Detail = statusFail, "the collector's own telemetry is not in this Prometheus"
		r.problem("otelcol_receiver_accepted_log_records: no series; scrape the collector's telemetry endpoint (service::telemetry::metrics, :8888)")
		return r
	}
	c.hasCollectorTelemetry = true
	refused := 0
	for _, m := range []string{"otelcol_receiver_refused_log_records", "otelcol_receiver_failed_log_records"} {
		res, err := c.prom.query(ctx, "sum by (instance, receiver) (increase("+selfTelemetry(m)+"["+c.window()+"])) > 0")
		if err != nil {
			r.Status, r.Detail = statusFail, err.Error()
			return r
		}
		for _, s := range res {
			r.problem("%s: receiver %s of %s: about %s in the last %s", m, s.Labels["receiver"], s.Labels["instance"], approx(s.Value), c.o.since)
		}
		refused += len(res)
	}
	if refused > 0 {
		r.Status, r.Detail = statusFail, "the collector refuses events (docs/ALERTS.md#taskercollectorrefusingevents)"
		return r
	}
	total := 0.0
	for _, s := range accepted {
		total += s.Value
	}
	r.Status, r.Detail = statusOK, fmt.Sprintf("%s events accepted by %d receivers, none refused in the last %s", num(total), len(accepted), c.o.since)
	return r
}

func (c *checker) checkDroppedData(ctx context.Context) result {
	const name = "no dropped data"
	if !c.promUp {
		return c.skipped(name, "Prometheus cannot be queried")
	}
	if !c.hasCollectorTelemetry {
		return c.skipped(name, "the collector's own telemetry is not in Prometheus")
	}
	r := result{Name: name}
	failed := 0
	for _, op := range []string{"send", "enqueue"} {
		for _, signal := range []string{"spans", "metric_points", "log_records"} {
			m := "otelcol_exporter_" + op + "_failed_" + signal
			// one query per metric: increase() drops the name, and two
			// metrics of one exporter would collide
			res, err := c.prom.query(ctx, "sum by (instance, exporter) (increase("+selfTelemetry(m)+"["+c.window()+"])) > 0")
			if err != nil {
				r.Status, r.Detail = statusFail, err.Error()
				return r
			}
			for _, s := range res {
				r.problem("%s: exporter %s of %s: about %s in the last %s", m, s.Labels["exporter"], s.Labels["instance"], approx(s.Value), c.o.since)
			}
			failed += len(res)
		}
	}
	if failed > 0 {
		r.Status, r.Detail = statusFail, "the collector drops data (docs/ALERTS.md#taskercollectordroppingdata)"
		return r
	}
	r.Status, r.Detail = statusOK, "no exporter failed to send or queue in the last "+c.o.since.String()
	return r
}

// checkAlerts reports the Tasker alerts firing for the service (a warning:
// the stack works, the workload may not).
func (c *checker) checkAlerts(ctx context.Context) result {
	const name = "alerts"
	if !c.promUp {
		return c.skipped(name, "Prometheus cannot be queried")
	}
	r := result{Name: name}
	rules, err := c.prom.alertRules(ctx)
	if err != nil {
		r.Status, r.Detail = statusFail, err.Error()
		return r
	}
	loaded := 0
	for _, n := range rules {
		if strings.HasPrefix(n, "Tasker") {
			loaded++
		}
	}
	if loaded == 0 {
		r.Status, r.Detail = statusWarn, "no Tasker alerting rule is loaded (docker/prometheus/rules, docs/ALERTS.md)"
		return r
	}
	alerts, err := c.prom.alerts(ctx)
	if err != nil {
		r.Status, r.Detail = statusFail, err.Error()
		return r
	}
	var firing, pending int
	for _, a := range alerts {
		an := a.Labels["alertname"]
		if !strings.HasPrefix(an, "Tasker") || (a.Labels["job"] != c.o.service && !strings.HasPrefix(an, "TaskerCollector")) {
			continue
		}
		switch a.State {
		case "firing":
			firing++
			r.problem("%s firing%s", an, labelSet(without(a.Labels, "alertname")))
		case "pending":
			pending++
		}
	}
	r.Detail = fmt.Sprintf("%d Tasker alerting rules loaded; %d firing, %d pending for service %s or the collector", loaded, firing, pending, c.o.service)
	r.Status = statusOK
	if firing > 0 {
		r.Status = statusWarn
	}
	return r
}

func (c *checker) checkJaegerService(ctx context.Context) result {
	const name = "jaeger service"
	if c.jaeger == nil {
		return c.skipped(name, "no --jaeger given")
	}
	r := result{Name: name}
	svcs, err := c.jaeger.services(ctx)
	if err != nil {
		r.Status, r.Detail = statusFail, fmt.Sprintf("cannot query Jaeger at %s: %v", c.o.jaeger, err)
		return r
	}
	if !slices.Contains(svcs, c.o.service) {
		sort.Strings(svcs)
		r.Status, r.Detail = statusFail, fmt.Sprintf("Jaeger at %s has no traces of service %q", c.o.jaeger, c.o.service)
		r.problem("services in Jaeger: [%s]; are the collector's traces exported there?", strings.Join(svcs, ", "))
		return r
	}
	r.Status, r.Detail = statusOK, fmt.Sprintf("Jaeger at %s knows service %s", c.o.jaeger, c.o.service)
	return r
}

// checkTraceShape: a sample of the service's recent traces are task traces
// (one root, the task span), as deep as their step spans imply, with every
// parent present.
func (c *checker) checkTraceShape(ctx context.Context) result {
	const name = "task traces"
	if c.jaeger == nil {
		return c.skipped(name, "no --jaeger given")
	}
	r := result{Name: name}
	trs, err := c.jaeger.traces(ctx, c.o.service, c.now.Add(-c.o.since), c.now, c.o.traces)
	if err != nil {
		r.Status, r.Detail = statusFail, err.Error()
		return r
	}
	if len(trs) == 0 {
		r.Status, r.Detail = statusFail, fmt.Sprintf("no trace of service %s in Jaeger in the last %s", c.o.service, c.o.since)
		return r
	}
	sort.Slice(trs, func(i, j int) bool { return trs[i].TraceID < trs[j].TraceID })
	spans, orphans, deepest := 0, 0, 0
	for _, tr := range trs {
		spans += len(tr.Spans)
		sh := shapeOf(tr)
		deepest = max(deepest, sh.depth)
		orphans += len(sh.orphans)
		for _, o := range sh.orphans {
			r.problem("trace %s: span %s %q has parent %s, which is not in the trace (orphaned)", tr.TraceID, o.SpanID, o.OperationName, o.parent())
		}
		switch {
		case len(sh.roots) != 1:
			r.problem("trace %s: %d root spans, want the one task span", tr.TraceID, len(sh.roots))
		case !strings.HasPrefix(sh.roots[0].OperationName, "task "):
			r.problem("trace %s: root span %q is not a task span", tr.TraceID, sh.roots[0].OperationName)
		}
		if sh.steps > 0 && sh.depth < c.o.minDepth {
			r.problem("trace %s: %d step spans but only %d levels deep, want at least %d (task → step → handler)", tr.TraceID, sh.steps, sh.depth, c.o.minDepth)
		}
	}
	if len(r.Problems) > 0 {
		r.Status = statusFail
		r.Detail = fmt.Sprintf("%d traces sampled: %d orphaned spans; traces not shaped like tasks", len(trs), orphans)
		return r
	}
	r.Status = statusOK
	r.Detail = fmt.Sprintf("%d traces sampled (%d spans): one task root each, up to %d levels deep, no orphaned span", len(trs), spans, deepest)
	return r
}

type traceShape struct {
	roots, orphans []jaegerSpan
	depth, steps   int
}

func shapeOf(tr jaegerTrace) traceShape {
	var sh traceShape
	parent := make(map[string]string, len(tr.Spans))
	for _, s := range tr.Spans {
		parent[s.SpanID] = s.parent()
	}
	for _, s := range tr.Spans {
		p := s.parent()
		if p == "" {
			sh.roots = append(sh.roots, s)
		} else if _, ok := parent[p]; !ok {
			sh.orphans = append(sh.orphans, s)
		}
		if strings.HasPrefix(s.OperationName, "step ") && s.OperationName != "step batch" {
			sh.steps++
		}
		d, id := 0, s.SpanID
		for id != "" && d <= len(tr.Spans) { // bounded: a cycle cannot loop forever
			d++
			id = parent[id]
		}
		sh.depth = max(sh.depth, d)
	}
	return sh
}

// checkExemplars: exemplars of the workflow duration histogram open
// existing traces in Jaeger, at the task span of the series' task name,
// whose duration is the value the histogram recorded.
func (c *checker) checkExemplars(ctx context.Context) result {
	const name = "exemplars open traces"
	switch {
	case c.jaeger == nil:
		return c.skipped(name, "no --jaeger given")
	case !c.hasTaskMetrics:
		return c.skipped(name, "no workflow metrics of the service")
	}
	r := result{Name: name}
	exs, err := c.prom.exemplars(ctx, c.sel("tasker_workflow_duration_seconds_bucket"), c.now.Add(-c.o.since))
	if err != nil {
		r.Status, r.Detail = statusFail, err.Error()
		return r
	}
	seen := map[string]bool{}
	var sample []exemplar
	for _, e := range exs {
		if e.TraceID == "" {
			r.problem("an exemplar of tasker_workflow_duration_seconds_bucket%s has no trace_id", labelSet(e.SeriesLabels))
			continue
		}
		if !seen[e.TraceID] && len(sample) < c.o.traces {
			seen[e.TraceID] = true
			sample = append(sample, e)
		}
	}
	if len(sample) == 0 {
		r.Status = statusFail
		r.Detail = fmt.Sprintf("no exemplar of %s in the last %s", c.sel("tasker_workflow_duration_seconds_bucket"), c.o.since)
		r.problem("Prometheus keeps exemplars with --enable-feature=exemplar-storage, scraping OpenMetrics (the prometheus exporter's enable_open_metrics: true)")
		return r
	}
	for _, e := range sample {
		tr, found, err := c.jaeger.trace(ctx, e.TraceID)
		if err != nil {
			r.Status, r.Detail = statusFail, err.Error()
			return r
		}
		if !found {
			r.problem("exemplar of task %s: trace %s is not in Jaeger", e.SeriesLabels["task_name"], e.TraceID)
			continue
		}
		i := slices.IndexFunc(tr.Spans, func(s jaegerSpan) bool { return s.SpanID == e.SpanID })
		if i < 0 {
			r.problem("exemplar of task %s: trace %s has no span %s", e.SeriesLabels["task_name"], e.TraceID, e.SpanID)
			continue
		}
		sp := tr.Spans[i]
		if want := "task " + e.SeriesLabels["task_name"]; sp.OperationName != want {
			r.problem("exemplar of task %s: span %s of trace %s is %q, want %q", e.SeriesLabels["task_name"], e.SpanID, e.TraceID, sp.OperationName, want)
			continue
		}
		if d := float64(sp.Duration) / 1e6; math.Abs(d-e.Value) > 0.001+0.01*e.Value {
			r.problem("trace %s: task span lasts %.3fs, its metric observed %.3fs", e.TraceID, d, e.Value)
		}
	}
	if len(r.Problems) > 0 {
		r.Status, r.Detail = statusFail, fmt.Sprintf("%d exemplars sampled: metrics and traces disagree", len(sample))
		return r
	}
	r.Status = statusOK
	r.Detail = fmt.Sprintf("%d exemplars sampled: each opens its task's trace, task span duration = observed duration", len(sample))
	return r
}

// --- formatting -----------------------------------------------------------

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// approx formats an increase(), which Prometheus extrapolates to the window.
func approx(v float64) string { return strconv.FormatFloat(math.Round(v), 'f', 0, 64) }

// countsByLabel formats samples as "a 3, b 1", sorted by label value.
func countsByLabel(ss []promSample, label string) string {
	parts := make([]string, 0, len(ss))
	for _, s := range ss {
		parts = append(parts, s.Labels[label]+" "+num(s.Value))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func labelValues(ss []promSample, label string) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		out = append(out, s.Labels[label])
	}
	sort.Strings(out)
	return out
}

// labelSet formats labels as {a="1", b="2"}, sorted.
func labelSet(l map[string]string) string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + strconv.Quote(l[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func without(l map[string]string, drop string) map[string]string {
	out := make(map[string]string, len(l))
	for k, v := range l {
		if k != drop {
			out[k] = v
		}
	}
	return out
}
