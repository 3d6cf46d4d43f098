package main

// The checks' logic against stand-ins for Prometheus' and Jaeger's query
// APIs that answer what a stack in a given state would, so that every
// failure (orphaned spans, disagreeing counts, refused events, exemplars
// pointing nowhere) can be produced exactly. Against the real servers
// taskercheck runs in `make e2e` (e2e/e2etest/operator_test.go) and in the
// compose-files test (e2e/deploy/compose_run_test.go).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// fakeStack is the state the stand-in servers report.
type fakeStack struct {
	tasks, steps  map[string]float64 // by status
	mismatch      []promSample       // counter − histogram count != 0
	negative      []promSample       // gauges < 0
	accepted      bool               // the collector's telemetry is scraped
	refused       []promSample       // increase of refused events > 0
	sendFailed    []promSample
	alertRules    []string
	alerts        []promAlert
	exemplars     []exemplar
	services      []string
	traces        []jaegerTrace
	prometheusErr bool
}

func healthyStack() *fakeStack {
	tr := taskTrace("t1", "order_fulfillment", 2_500_000)
	return &fakeStack{
		tasks:      map[string]float64{"completed": 9, "failed": 1},
		steps:      map[string]float64{"completed": 40, "failed": 6},
		accepted:   true,
		alertRules: []string{"TaskerTaskFailureRatioHigh", "TaskerServiceSilent"},
		services:   []string{"tasker"},
		traces:     []jaegerTrace{tr},
		exemplars: []exemplar{{
			SeriesLabels: map[string]string{"job": "tasker", "task_name": "order_fulfillment"},
			TraceID:      "t1", SpanID: "t1-task", Value: 2.5,
		}},
	}
}

// taskTrace is a trace of one task: task → step batch → step → handle → query.
func taskTrace(id, task string, durationMicros int64) jaegerTrace {
	span := func(sid, op, parent string) jaegerSpan {
		s := jaegerSpan{TraceID: id, SpanID: id + "-" + sid, OperationName: op, Duration: 1000}
		if parent != "" {
			s.References = append(s.References, struct {
				RefType string `json:"refType"`
				SpanID  string `json:"spanID"`
			}{"CHILD_OF", id + "-" + parent})
		}
		return s
	}
	root := span("task", "task "+task, "")
	root.Duration = durationMicros
	return jaegerTrace{TraceID: id, Spans: []jaegerSpan{
		root,
		span("batch", "step batch", "task"),
		span("step", "step charge_payment", "batch"),
		span("handle", "handle charge_payment", "step"),
		span("query", "SELECT orders", "handle"),
	}}
}

func vector(ss ...promSample) map[string]any {
	res := []map[string]any{}
	for _, s := range ss {
		res = append(res, map[string]any{"metric": s.Labels, "value": []any{1.0, fmt.Sprint(s.Value)}})
	}
	return map[string]any{"status": "success", "data": map[string]any{"resultType": "vector", "result": res}}
}

func byStatus(m map[string]float64) []promSample {
	var out []promSample
	for k, v := range m {
		out = append(out, promSample{Labels: map[string]string{"status": k}, Value: v})
	}
	return out
}

// prometheusAnswer answers the queries taskercheck sends, by their shape.
func (f *fakeStack) prometheusAnswer(q string) map[string]any {
	switch {
	case strings.HasPrefix(q, "sum by (status) (tasker_tasks_total"):
		return vector(byStatus(f.tasks)...)
	case strings.HasPrefix(q, "count by (job) (tasker_tasks_total)"):
		return vector(promSample{Labels: map[string]string{"job": "billing"}, Value: 3})
	case strings.HasPrefix(q, "sum(increase(tasker_tasks_total"):
		return vector(promSample{Value: 4.2})
	case strings.HasPrefix(q, "sum by (status) (tasker_steps_total"):
		return vector(byStatus(f.steps)...)
	case strings.HasPrefix(q, "sum by (task_name, status) (tasker_tasks_total"):
		return vector(f.mismatch...)
	case strings.HasPrefix(q, "sum by (task_name, step_name, status)"):
		return vector()
	case strings.HasPrefix(q, "tasker_tasks_active"):
		return vector(f.negative...)
	case strings.HasPrefix(q, "tasker_steps_active"):
		return vector()
	case strings.Contains(q, "otelcol_receiver_accepted_log_records"):
		if !f.accepted {
			return vector()
		}
		return vector(promSample{Labels: map[string]string{"receiver": "taskerevents", "instance": "c:8888"}, Value: 1000})
	case strings.Contains(q, "otelcol_receiver_refused_log_records"):
		return vector(f.refused...)
	case strings.Contains(q, "otelcol_exporter_send_failed_spans"):
		return vector(f.sendFailed...)
	case strings.Contains(q, "otelcol_"):
		return vector()
	}
	return map[string]any{"status": "error", "error": "the stand-in does not know the query " + q}
}

func (f *fakeStack) servers(t *testing.T) (prom, jaeger string) {
	t.Helper()
	reply := func(w http.ResponseWriter, v any) { _ = json.NewEncoder(w).Encode(v) }
	ps := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.prometheusErr {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		switch r.URL.Path {
		case "/api/v1/status/buildinfo":
			reply(w, map[string]any{"status": "success", "data": map[string]any{"version": "2.42.0"}})
		case "/api/v1/query":
			reply(w, f.prometheusAnswer(r.URL.Query().Get("query")))
		case "/api/v1/query_exemplars":
			var series []map[string]any
			for _, e := range f.exemplars {
				series = append(series, map[string]any{"seriesLabels": e.SeriesLabels, "exemplars": []any{
					map[string]any{"labels": map[string]string{"trace_id": e.TraceID, "span_id": e.SpanID}, "value": fmt.Sprint(e.Value)},
				}})
			}
			reply(w, map[string]any{"status": "success", "data": series})
		case "/api/v1/rules":
			var rules []map[string]string
			for _, n := range f.alertRules {
				rules = append(rules, map[string]string{"name": n})
			}
			reply(w, map[string]any{"status": "success", "data": map[string]any{"groups": []any{map[string]any{"rules": rules}}}})
		case "/api/v1/alerts":
			reply(w, map[string]any{"status": "success", "data": map[string]any{"alerts": f.alerts}})
		default:
			http.NotFound(w, r)
		}
	}))
	js := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/api/services":
			reply(w, map[string]any{"data": f.services})
		case r.URL.Path == "/api/traces":
			reply(w, map[string]any{"data": f.traces})
		case strings.HasPrefix(r.URL.Path, "/api/traces/"):
			id := strings.TrimPrefix(r.URL.Path, "/api/traces/")
			for _, tr := range f.traces {
				if tr.TraceID == id {
					reply(w, map[string]any{"data": []jaegerTrace{tr}})
					return
				}
			}
			w.WriteHeader(http.StatusNotFound)
			reply(w, map[string]any{"data": nil, "errors": []any{map[string]any{"code": 404, "msg": "trace not found"}}})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(ps.Close)
	t.Cleanup(js.Close)
	return ps.URL, js.URL
}

// check runs taskercheck against f and returns its exit code and report.
func check(t *testing.T, f *fakeStack, extra ...string) (int, map[string]result, string) {
	t.Helper()
	prom, jaeger := f.servers(t)
	args := append([]string{"--prometheus", prom, "--jaeger", jaeger}, extra...)
	var out, errOut bytes.Buffer
	code := run(context.Background(), append(args, "--json"), &out, &errOut, time.Now())
	var rep struct {
		OK     bool     `json:"ok"`
		Checks []result `json:"checks"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("--json output: %v\n%s%s", err, out.String(), errOut.String())
	}
	if rep.OK != (code == exitOK) {
		t.Errorf("ok %v with exit code %d", rep.OK, code)
	}
	byName := map[string]result{}
	for _, r := range rep.Checks {
		byName[r.Name] = r
	}
	var table bytes.Buffer
	if c := run(context.Background(), args, &table, &errOut, time.Now()); c != code {
		t.Errorf("exit code %d as a table, %d as JSON", c, code)
	}
	return code, byName, table.String()
}

func wantStatus(t *testing.T, rs map[string]result, name string, want status, detailHas ...string) {
	t.Helper()
	r, ok := rs[name]
	if !ok {
		t.Fatalf("no check %q", name)
	}
	if r.Status != want {
		t.Errorf("check %q: %s (%s %v), want %s", name, r.Status, r.Detail, r.Problems, want)
	}
	text := r.Detail + "\n" + strings.Join(r.Problems, "\n")
	for _, s := range detailHas {
		if !strings.Contains(text, s) {
			t.Errorf("check %q does not say %q:\n%s", name, s, text)
		}
	}
}

func TestHealthyStackPasses(t *testing.T) {
	code, rs, table := check(t, healthyStack())
	if code != exitOK {
		t.Fatalf("exit %d, want 0:\n%s", code, table)
	}
	for name, r := range rs {
		if r.Status != statusOK {
			t.Errorf("check %q: %s %s", name, r.Status, r.Detail)
		}
	}
	if len(rs) != 10 {
		t.Errorf("%d checks, want 10", len(rs))
	}
	wantStatus(t, rs, "tasks counted", statusOK, "10 tasks of service tasker (completed 9, failed 1), about 4 finished in the last 15m0s")
	wantStatus(t, rs, "task traces", statusOK, "1 traces sampled (5 spans)", "up to 5 levels deep")
	if !strings.Contains(table, "all checks passed") || !strings.HasPrefix(table, "CHECK") {
		t.Errorf("table:\n%s", table)
	}
}

func TestPrometheusWithoutTheCollectorsMetrics(t *testing.T) {
	f := healthyStack()
	f.tasks, f.steps, f.accepted, f.exemplars = nil, nil, false, nil
	code, rs, table := check(t, f)
	if code != exitFailed {
		t.Fatalf("exit %d, want 1:\n%s", code, table)
	}
	wantStatus(t, rs, "tasks counted", statusFail, `no tasker_tasks_total series of service "tasker"`, "honor_labels: true",
		"services that have tasker_tasks_total: billing (use --service)")
	wantStatus(t, rs, "step outcomes", statusSkip)
	wantStatus(t, rs, "no refused events", statusFail, "the collector's own telemetry is not in this Prometheus")
	wantStatus(t, rs, "no dropped data", statusSkip)
	wantStatus(t, rs, "exemplars open traces", statusSkip)
	if !strings.Contains(table, "FAIL") || !strings.Contains(table, "checks failed") {
		t.Errorf("table:\n%s", table)
	}
}

func TestPrometheusUnreachable(t *testing.T) {
	f := healthyStack()
	f.prometheusErr = true
	code, rs, _ := check(t, f)
	if code != exitFailed {
		t.Fatalf("exit %d, want 1", code)
	}
	wantStatus(t, rs, "prometheus reachable", statusFail, "503 Service Unavailable", "down for maintenance")
	for _, n := range []string{"tasks counted", "no refused events", "alerts"} {
		wantStatus(t, rs, n, statusSkip, "Prometheus cannot be queried")
	}
}

func TestInconsistentMetrics(t *testing.T) {
	f := healthyStack()
	f.mismatch = []promSample{{Labels: map[string]string{"task_name": "report_generation", "status": "completed"}, Value: 2}}
	f.negative = []promSample{{Labels: map[string]string{"job": "tasker", "task_name": "sync"}, Value: -1}}
	code, rs, _ := check(t, f)
	if code != exitFailed {
		t.Fatalf("exit %d, want 1", code)
	}
	wantStatus(t, rs, "metrics consistent", statusFail,
		`tasker_tasks_total{status="completed", task_name="report_generation"} counts 2 more outcomes than tasker_workflow_duration_seconds_count`,
		`tasker_tasks_active{job="tasker", task_name="sync"} = -1`)
}

func TestRefusedAndDroppedData(t *testing.T) {
	f := healthyStack()
	f.refused = []promSample{{Labels: map[string]string{"receiver": "taskerevents", "instance": "c:8888"}, Value: 41.7}}
	f.sendFailed = []promSample{{Labels: map[string]string{"exporter": "otlp_grpc/jaeger", "instance": "c:8888"}, Value: 12}}
	code, rs, _ := check(t, f)
	if code != exitFailed {
		t.Fatalf("exit %d, want 1", code)
	}
	wantStatus(t, rs, "no refused events", statusFail, "otelcol_receiver_refused_log_records: receiver taskerevents of c:8888: about 42 in the last 15m0s")
	wantStatus(t, rs, "no dropped data", statusFail, "otelcol_exporter_send_failed_spans: exporter otlp_grpc/jaeger of c:8888: about 12")
}

func TestOrphanedAndShallowTraces(t *testing.T) {
	f := healthyStack()
	orphan := taskTrace("t2", "order_fulfillment", 1_000_000)
	orphan.Spans = append(orphan.Spans[:1], orphan.Spans[2:]...) // the step batch is missing
	flat := taskTrace("t3", "user_onboarding", 1_000_000)
	for i := 2; i < len(flat.Spans); i++ { // every span right under the task
		flat.Spans[i].References[0].SpanID = "t3-task"
	}
	notTask := taskTrace("t4", "x", 1)
	notTask.Spans[0].OperationName = "GET /orders"
	f.traces = append(f.traces, orphan, flat, notTask)
	code, rs, _ := check(t, f)
	if code != exitFailed {
		t.Fatalf("exit %d, want 1", code)
	}
	wantStatus(t, rs, "task traces", statusFail,
		"4 traces sampled: 1 orphaned spans",
		`trace t2: span t2-step "step charge_payment" has parent t2-batch, which is not in the trace (orphaned)`,
		"trace t3: 1 step spans but only 2 levels deep, want at least 3",
		`trace t4: root span "GET /orders" is not a task span`)
}

func TestExemplarsThatDoNotAgree(t *testing.T) {
	f := healthyStack()
	ex := func(trace, span string, v float64) exemplar {
		return exemplar{SeriesLabels: map[string]string{"task_name": "order_fulfillment"}, TraceID: trace, SpanID: span, Value: v}
	}
	f.exemplars = []exemplar{
		ex("t1", "t1-task", 3.0),                            // the trace's task lasted 2.5 s
		ex("gone", "gone-task", 1),                          // not in Jaeger
		ex("t1", "t1-task", 2.5),                            // a second exemplar of t1: sampled once
		ex("t5", "t5-nope", 1),                              // no such span
		{SeriesLabels: map[string]string{"task_name": "x"}}, // no trace id
	}
	f.traces = append(f.traces, taskTrace("t5", "order_fulfillment", 1_000_000))
	code, rs, _ := check(t, f)
	if code != exitFailed {
		t.Fatalf("exit %d, want 1", code)
	}
	wantStatus(t, rs, "exemplars open traces", statusFail,
		"3 exemplars sampled",
		"trace t1: task span lasts 2.500s, its metric observed 3.000s",
		"exemplar of task order_fulfillment: trace gone is not in Jaeger",
		"exemplar of task order_fulfillment: trace t5 has no span t5-nope",
		`an exemplar of tasker_workflow_duration_seconds_bucket{task_name="x"} has no trace_id`)
}

func TestNoExemplarsNoTraces(t *testing.T) {
	f := healthyStack()
	f.exemplars, f.traces = nil, nil
	_, rs, _ := check(t, f, "--since", "5m")
	wantStatus(t, rs, "exemplars open traces", statusFail, "no exemplar of", "--enable-feature=exemplar-storage")
	wantStatus(t, rs, "task traces", statusFail, "no trace of service tasker in Jaeger in the last 5m0s")
}

func TestServiceMissingInJaeger(t *testing.T) {
	f := healthyStack()
	f.services = []string{"billing", "jaeger-all-in-one"}
	_, rs, _ := check(t, f)
	wantStatus(t, rs, "jaeger service", statusFail, `has no traces of service "tasker"`, "services in Jaeger: [billing, jaeger-all-in-one]")
}

func TestAlertsFiringWarnWithoutFailing(t *testing.T) {
	f := healthyStack()
	f.alerts = []promAlert{
		{Labels: map[string]string{"alertname": "TaskerTaskFailureRatioHigh", "job": "tasker", "task_name": "sync"}, State: "firing"},
		{Labels: map[string]string{"alertname": "TaskerStepRetryStorm", "job": "tasker"}, State: "pending"},
		{Labels: map[string]string{"alertname": "TaskerTaskFailureRatioHigh", "job": "billing"}, State: "firing"}, // another service
		{Labels: map[string]string{"alertname": "TaskerCollectorDroppingData", "exporter": "json"}, State: "firing"},
	}
	code, rs, _ := check(t, f)
	if code != exitOK {
		t.Fatalf("exit %d, want 0: firing alerts are a warning", code)
	}
	wantStatus(t, rs, "alerts", statusWarn, "2 Tasker alerting rules loaded; 2 firing, 1 pending for service tasker",
		`TaskerTaskFailureRatioHigh firing{job="tasker", task_name="sync"}`, `TaskerCollectorDroppingData firing{exporter="json"}`)

	f.alertRules = []string{"SomethingElse"}
	_, rs, _ = check(t, f)
	wantStatus(t, rs, "alerts", statusWarn, "no Tasker alerting rule is loaded")
}

func TestWithoutJaegerTheTraceChecksAreSkipped(t *testing.T) {
	prom, _ := healthyStack().servers(t)
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"--prometheus", prom}, &out, &errOut, time.Now()); code != exitOK {
		t.Fatalf("exit %d:\n%s", code, out.String())
	}
	for _, n := range []string{"jaeger service", "task traces", "exemplars open traces"} {
		if !strings.Contains(out.String(), n) || !strings.Contains(out.String(), "no --jaeger given") {
			t.Errorf("%q is not reported as skipped:\n%s", n, out.String())
		}
	}
}

func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "--prometheus URL is required"},
		{[]string{"--prometheus", "localhost:9090"}, `--prometheus "localhost:9090": want an http(s) URL`},
		{[]string{"--prometheus", "http://p:9090", "--jaeger", "ftp://j"}, `--jaeger "ftp://j": want an http(s) URL`},
		{[]string{"--prometheus", "http://p:9090", "--since", "0s"}, "--since 0s: at least 1s"},
		{[]string{"--prometheus", "http://p:9090", "--traces", "0"}, "--traces 0: at least 1"},
		{[]string{"--prometheus", "http://p:9090", "--service", ""}, "--service must not be empty"},
		{[]string{"--prometheus", "http://p:9090", "extra"}, `unexpected argument "extra"`},
	} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), tc.args, &out, &errOut, time.Now()); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", tc.args, code, exitUsage)
		}
		if !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%v: stderr %q does not say %q", tc.args, errOut.String(), tc.want)
		}
	}
}
