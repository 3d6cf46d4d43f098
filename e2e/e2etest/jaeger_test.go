//go:build e2e

package e2etest

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// TestJaegerService: the collector's traces reach Jaeger under service tasker.
func TestJaegerService(t *testing.T) {
	jaeger := env(t, "E2E_JAEGER")
	var res struct {
		Data []string `json:"data"`
	}
	if err := getJSON(jaeger+"/api/services", &res); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(res.Data, "tasker") {
		t.Fatalf("Jaeger services %v do not include tasker", res.Data)
	}
}

// TestJaegerOperations: the operations Jaeger lists for tasker are exactly
// the span names the events imply (task, enqueue, step batch, step, handle,
// database query and finalize spans).
func TestJaegerOperations(t *testing.T) {
	jaeger := env(t, "E2E_JAEGER")
	want := map[string]int{}
	for _, x := range expectations(t) {
		for name := range x.spans {
			want[name] = 1
		}
	}
	var res struct {
		Data []string `json:"data"`
	}
	if err := getJSON(jaeger+"/api/services/tasker/operations", &res); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, op := range res.Data {
		got[op] = 1
	}
	if d := multisetDiff(got, want); d != "" {
		t.Errorf("Jaeger's operations of tasker differ from the span names the events imply: %s", d)
	}
	// The roles the README's hierarchy names, so that a workload that lost
	// one of them fails here rather than passing vacuously.
	for _, prefix := range []string{"task ", "enqueue ", "step batch", "step ", "handle ", "finalize task", "SELECT "} {
		if !slices.ContainsFunc(res.Data, func(op string) bool { return strings.HasPrefix(op, prefix) }) {
			t.Errorf("no operation starts with %q in %v", prefix, res.Data)
		}
	}
	if !slices.Contains(res.Data, "SELECT orders") {
		t.Errorf("no \"SELECT orders\" operation in %v", res.Data)
	}
}

// TestJaegerTraces: one trace per task, found by its tasker.task.id tag, with
// exactly the spans its events imply, the README's parent rules, errors on
// failed tasks and attempts, and no unfinished span.
func TestJaegerTraces(t *testing.T) {
	s := loadSummary(t)
	exp := expectations(t)
	trs := taskTraces(t)
	if len(exp) != s.Tasks {
		t.Errorf("the event log names %d tasks, the simulator ran %d", len(exp), s.Tasks)
	}

	var taskErrors, stepErrors, totalSpans, withDB int
	problems := 0
	report := func(format string, args ...any) {
		problems++
		if problems <= 20 {
			t.Errorf(format, args...)
		}
	}
	for id, tr := range trs {
		x := exp[id]
		if x == nil {
			report("task %s has a trace but no events", id)
			continue
		}
		totalSpans += len(tr.Spans)
		if tr.TraceID != x.traceID {
			report("task %s: Jaeger trace %s, its events carry trace id %s", id, tr.TraceID, x.traceID)
		}
		for _, p := range tr.Processes {
			if p.ServiceName != "tasker" {
				report("task %s: process of service %q", id, p.ServiceName)
			}
		}

		got, gotErr := map[string]int{}, map[string]int{}
		byID := map[string]jaegerSpan{}
		for _, sp := range tr.Spans {
			got[sp.OperationName]++
			byID[sp.SpanID] = sp
			if sp.isError() {
				gotErr[sp.OperationName]++
				switch {
				case strings.HasPrefix(sp.OperationName, "task "):
					taskErrors++
				case strings.HasPrefix(sp.OperationName, "step ") && sp.OperationName != "step batch":
					stepErrors++
				}
			}
			if v, ok := sp.tag("tasker.span.unfinished"); ok && v == true {
				report("task %s: span %s %q is unfinished", id, sp.SpanID, sp.OperationName)
			}
		}
		if len(tr.Spans) != x.total() {
			report("task %s: %d spans in Jaeger, its %d events imply %d", id, len(tr.Spans), x.events, x.total())
		}
		if d := multisetDiff(got, x.spans); d != "" {
			report("task %s: span names differ from its events: %s", id, d)
		}
		if d := multisetDiff(gotErr, x.errors); d != "" {
			report("task %s: error spans differ from its failed events: %s", id, d)
		}
		for _, dbID := range x.dbSpans {
			if _, ok := byID[dbID]; !ok {
				report("task %s: the query event's span id %s is not a span of the trace", id, dbID)
			}
		}
		if len(x.dbSpans) > 0 {
			withDB++
			if d := depth(tr); d < 4 {
				report("task %s: span tree depth %d, want at least 4 (task → batch → step → handle → query)", id, d)
			}
		}
		for _, msg := range checkParents(id, tr, byID) {
			report("%s", msg)
		}
	}
	if problems > 20 {
		t.Errorf("... %d problems in all", problems)
	}
	if withDB == 0 {
		t.Error("no trace has a database query span")
	}
	if taskErrors != s.TasksFailed {
		t.Errorf("%d task spans are errors, the simulator failed %d tasks", taskErrors, s.TasksFailed)
	}
	if stepErrors != s.StepsFailedAttempts {
		t.Errorf("%d step spans are errors, the simulator failed %d attempts", stepErrors, s.StepsFailedAttempts)
	}
	t.Logf("%d traces, %d spans, %d with queries, %d failed tasks, %d failed attempts", len(trs), totalSpans, withDB, taskErrors, stepErrors)

	// No other trace: a search without tags finds exactly one per task.
	all, err := findTraces(env(t, "E2E_JAEGER"), s, nil, 2*s.Tasks+100)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != s.Tasks {
		t.Errorf("Jaeger holds %d traces of service tasker, the simulator ran %d tasks", len(all), s.Tasks)
	}
}

// checkParents applies the parent rules of the router README: the task span
// is the only root; enqueue, batch and finalize spans hang under it; an
// attempt under a batch that lists its step; a handler under its attempt; a
// query under the handler of its step's attempt.
func checkParents(task string, tr jaegerTrace, byID map[string]jaegerSpan) []string {
	var out []string
	bad := func(sp jaegerSpan, why string) {
		out = append(out, "task "+task+": span "+sp.SpanID+" "+sp.OperationName+": "+why)
	}
	var root jaegerSpan
	roots := 0
	for _, sp := range tr.Spans {
		if sp.parent() == "" {
			roots++
			root = sp
		}
	}
	if roots != 1 || !strings.HasPrefix(root.OperationName, "task ") || root.tagStr("tasker.task.id") != task {
		return append(out, "task "+task+": the trace does not have the task span as its single root")
	}
	for _, sp := range tr.Spans {
		if sp.SpanID == root.SpanID {
			continue
		}
		p, ok := byID[sp.parent()]
		if !ok {
			bad(sp, "parent "+sp.parent()+" is not in the trace")
			continue
		}
		kind := sp.tagStr("span.kind")
		name := sp.OperationName
		switch {
		case kind == "client": // database query
			if !strings.HasPrefix(p.OperationName, "handle ") || p.tagStr("tasker.step.id") != sp.tagStr("tasker.step.id") {
				bad(sp, "a query is not under the handler of its step but under "+p.OperationName)
			} else if p.tagStr("tasker.step.attempt") != sp.tagStr("tasker.step.attempt") {
				bad(sp, "a query is under the handler of attempt "+p.tagStr("tasker.step.attempt")+", it ran in attempt "+sp.tagStr("tasker.step.attempt"))
			}
		case strings.HasPrefix(name, "enqueue "), name == "step batch", name == "finalize task":
			if p.SpanID != root.SpanID {
				bad(sp, "not under the task span")
			}
		case strings.HasPrefix(name, "handle "):
			if !strings.HasPrefix(p.OperationName, "step ") || p.tagStr("tasker.step.id") != sp.tagStr("tasker.step.id") ||
				p.tagStr("tasker.step.attempt") != sp.tagStr("tasker.step.attempt") {
				bad(sp, "a handler is not under its own attempt but under "+p.OperationName)
			}
		case strings.HasPrefix(name, "step "):
			if p.OperationName != "step batch" || !batchLists(p, sp.tagStr("tasker.step.id")) {
				bad(sp, "an attempt is not under a batch that lists its step but under "+p.OperationName)
			}
		default:
			bad(sp, "a span this test does not know")
		}
	}
	return out
}

// batchLists reports whether a batch span's tasker.batch.step_ids names step.
// Jaeger shows the list attribute as a JSON string.
func batchLists(batch jaegerSpan, step string) bool {
	v, _ := batch.tag("tasker.batch.step_ids")
	var ids []any
	switch x := v.(type) {
	case string:
		if json.Unmarshal([]byte(x), &ids) != nil {
			return false
		}
	case []any:
		ids = x
	}
	for _, id := range ids {
		if str(id) == step {
			return true
		}
	}
	return false
}
