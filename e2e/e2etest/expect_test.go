//go:build e2e

package e2etest

// What the traces must hold, derived per task from the collector's own event
// log (which the files tests check against the simulator's counts), following
// the span rules of the eventrouter's tasker preset
// (processor/eventrouter/README.md, "The tasker preset" and "Traces").

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
)

// taskExpect is what one task's events imply for its trace.
type taskExpect struct {
	id      string
	traceID string         // the trace id every event of the task carries
	spans   map[string]int // span name → count
	errors  map[string]int // names of the spans with status Error → count
	failed  bool           // task.failed
	dbSpans []string       // span ids of the database.query_executed records
	events  int
}

func (x *taskExpect) total() int {
	n := 0
	for _, c := range x.spans {
		n += c
	}
	return n
}

// Events that make no span of their own: they start a span completed by
// another event, become span events, or are paired below.
var noSpanEvents = map[string]bool{
	"task.initialize_requested":            true, // task span start
	"task.start_requested":                 true, // task span start
	"step.execution_requested":             true, // attempt start (the attempt is counted by its key)
	"workflow.task_started":                true, // span event
	"observability.step.backoff":           true, // span event
	"step.retry_requested":                 true, // span event
	"workflow.task_finalization_completed": true, // end of the pair counted at _started
}

var (
	expectOnce sync.Once
	expects    map[string]*taskExpect
	expectErrs []string
)

// expectations derives every task's expected spans from the event log.
func expectations(t testing.TB) map[string]*taskExpect {
	t.Helper()
	evs := loadEvents(t)
	expectOnce.Do(func() {
		expects, expectErrs = deriveExpectations(evs)
	})
	if len(expectErrs) > 0 {
		t.Fatalf("the event log does not fit the span rules this test knows (%d problems); first: %s", len(expectErrs), expectErrs[0])
	}
	return expects
}

func deriveExpectations(evs []eventRecord) (map[string]*taskExpect, []string) {
	type attemptKey struct{ step, attempt string }
	type attempt struct {
		name    string
		outcome bool
		failed  bool
		handler bool
	}
	out := map[string]*taskExpect{}
	attempts := map[string]map[attemptKey]*attempt{}
	finStarted, finCompleted := map[string]int{}, map[string]int{}
	taskNames := map[string]string{}
	var errs []string
	for i := range evs {
		e := &evs[i]
		task := e.attr("tasker.task.id")
		if task == "" {
			if e.TraceID != "" {
				errs = append(errs, fmt.Sprintf("%s without a task has trace id %s", e.EventName, e.TraceID))
			}
			continue // registry events: logs and metrics only
		}
		x := out[task]
		if x == nil {
			x = &taskExpect{id: task, traceID: e.TraceID, spans: map[string]int{}, errors: map[string]int{}}
			out[task] = x
			attempts[task] = map[attemptKey]*attempt{}
		}
		x.events++
		if e.TraceID == "" || e.TraceID != x.traceID {
			errs = append(errs, fmt.Sprintf("task %s: %s has trace id %q, other events %q", task, e.EventName, e.TraceID, x.traceID))
		}
		if n := e.attr("tasker.task.name"); n != "" {
			taskNames[task] = n
		}
		att := func() *attempt {
			k := attemptKey{e.attr("tasker.step.id"), e.attr("tasker.step.attempt")}
			a := attempts[task][k]
			if a == nil {
				a = &attempt{}
				attempts[task][k] = a
			}
			if n := e.attr("tasker.step.name"); n != "" {
				a.name = n
			}
			return a
		}
		switch name := e.EventName; {
		case noSpanEvents[name]:
			if name == "step.execution_requested" {
				att()
			}
			if name == "workflow.task_finalization_completed" {
				finCompleted[task]++
			}
		case name == "task.completed":
		case name == "task.failed":
			x.failed = true
		case name == "observability.task.enqueue":
			x.spans["enqueue "+e.attr("tasker.queue.name")]++
		case name == "workflow.viable_steps_discovered":
			x.spans["step batch"]++
		case name == "step.before_handle":
			att().handler = true
		case name == "step.completed":
			att().outcome = true
		case name == "step.failed":
			a := att()
			a.outcome, a.failed = true, true
		case name == "database.query_executed":
			op, table := e.attr("db.operation.name"), e.attr("db.collection.name")
			if op == "" || table == "" {
				errs = append(errs, fmt.Sprintf("task %s: a query without db.operation.name/db.collection.name: %v", task, e.Attributes))
			}
			x.spans[op+" "+table]++
			x.dbSpans = append(x.dbSpans, e.SpanID)
		case name == "workflow.task_finalization_started":
			finStarted[task]++
		default:
			errs = append(errs, fmt.Sprintf("task %s: event %q: this test does not know which spans it makes; extend deriveExpectations", task, name))
		}
	}
	for task, x := range out {
		name := taskNames[task]
		if name == "" {
			errs = append(errs, fmt.Sprintf("task %s: no event names the task", task))
		}
		x.spans["task "+name] = 1
		if x.failed {
			x.errors["task "+name]++
		}
		for k, a := range attempts[task] {
			if !a.outcome || a.name == "" {
				errs = append(errs, fmt.Sprintf("task %s: step %s attempt %s has no outcome or no name", task, k.step, k.attempt))
				continue
			}
			x.spans["step "+a.name]++
			if a.failed {
				x.errors["step "+a.name]++
			}
			if a.handler {
				x.spans["handle "+a.name]++
				if a.failed {
					x.errors["handle "+a.name]++ // a handler span takes its attempt's status
				}
			}
		}
		if finStarted[task] != finCompleted[task] {
			errs = append(errs, fmt.Sprintf("task %s: %d finalizations started, %d completed", task, finStarted[task], finCompleted[task]))
		}
		if n := min(finStarted[task], finCompleted[task]); n > 0 {
			x.spans["finalize task"] = n
		}
	}
	sort.Strings(errs)
	return out, errs
}

// multisetDiff describes how two name → count maps differ ("" when equal).
func multisetDiff(got, want map[string]int) string {
	var d []string
	for k, w := range want {
		if g := got[k]; g != w {
			d = append(d, fmt.Sprintf("%q: %d, want %d", k, g, w))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			d = append(d, fmt.Sprintf("%q: %d, want 0", k, g))
		}
	}
	sort.Strings(d)
	return strings.Join(d, "; ")
}
