package eventrouter

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
	"github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/assembly"
	"github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/metrics"
)

func payloadStr(ev fixtureEvent, k string) string {
	s, _ := ev.Payload[k].(string)
	return s
}

func payloadID(ev fixtureEvent, k string) string {
	switch v := ev.Payload[k].(type) {
	case int64:
		return strconv.FormatInt(v, 10)
	case string:
		return v
	}
	return ""
}

func mustTime(t testing.TB, s string) pcommon.Timestamp {
	ts, ok := event.ParseTime(s)
	require.True(t, ok, "time %q", s)
	return ts
}

// attemptOf is one step attempt as the fixture describes it.
type attemptOf struct {
	task, step string
	attempt    int64
	start, end pcommon.Timestamp
	failed     bool
	errMessage string
}

func fixtureAttempts(t testing.TB, events []fixtureEvent) []attemptOf {
	var out []attemptOf
	for _, ev := range events {
		if ev.Name != "step.completed" && ev.Name != "step.failed" {
			continue
		}
		a := attemptOf{task: payloadID(ev, "task_id"), step: payloadID(ev, "step_id"), failed: ev.Name == "step.failed"}
		a.attempt = ev.Payload["attempt_number"].(int64)
		a.start = mustTime(t, payloadStr(ev, "started_at"))
		if c := payloadStr(ev, "completed_at"); c != "" {
			a.end = mustTime(t, c)
		} else {
			a.end = mustTime(t, ev.Timestamp)
		}
		a.errMessage = payloadStr(ev, "error_message")
		out = append(out, a)
	}
	return out
}

func TestFixtureTraces(t *testing.T) {
	events := loadFixture(t)
	sum := loadSummary(t)
	require.Len(t, events, sum.Events)

	h := runFixture(t, createDefaultConfig(), events, 50)
	spans := allSpans(h.traces.AllTraces())
	byID := map[pcommon.SpanID]ptrace.Span{}
	traces := map[pcommon.TraceID]bool{}
	for _, s := range spans {
		_, dup := byID[s.SpanID()]
		require.False(t, dup, "span %s (%s) emitted twice", s.SpanID(), s.Name())
		byID[s.SpanID()] = s
		traces[s.TraceID()] = true
		_, unfinished := s.Attributes().Get(assembly.AttrUnfinished)
		assert.False(t, unfinished, "span %s is unfinished", s.Name())
	}
	assert.Len(t, traces, sum.Tasks, "one trace per task")

	// task spans
	failedTasks := 0
	for _, ev := range events {
		if ev.Name != "task.completed" && ev.Name != "task.failed" {
			continue
		}
		task := payloadID(ev, "task_id")
		s, ok := byID[event.TaskSpanID(task)]
		require.True(t, ok, "task span of %s", task)
		assert.Equal(t, event.TraceID("", task), s.TraceID())
		assert.True(t, s.ParentSpanID().IsEmpty())
		assert.Equal(t, "task "+payloadStr(ev, "task_name"), s.Name())
		assert.Equal(t, mustTime(t, payloadStr(ev, "started_at")), s.StartTimestamp())
		end := mustTime(t, ev.Timestamp)
		if c := payloadStr(ev, "completed_at"); c != "" {
			end = mustTime(t, c)
		}
		assert.Equal(t, end, s.EndTimestamp())
		if ev.Name == "task.failed" {
			failedTasks++
			assert.Equal(t, ptrace.StatusCodeError, s.Status().Code())
			assert.Equal(t, payloadStr(ev, "error_message"), s.Status().Message())
		} else {
			assert.Equal(t, ptrace.StatusCodeUnset, s.Status().Code())
		}
	}
	assert.Equal(t, sum.TasksFailed, failedTasks)

	// step attempt spans: complete from their terminal event
	attempts := fixtureAttempts(t, events)
	require.Len(t, attempts, sum.StepAttempts)
	failed := 0
	for _, a := range attempts {
		s, ok := byID[event.StepSpanID(a.task, a.step, a.attempt)]
		require.True(t, ok, "step span %s/%s/%d", a.task, a.step, a.attempt)
		assert.Equal(t, a.start, s.StartTimestamp())
		assert.Equal(t, a.end-a.start, s.EndTimestamp()-s.StartTimestamp(), "duration of %s", s.Name())
		parent, ok := byID[s.ParentSpanID()]
		require.True(t, ok, "parent of %s", s.Name())
		assert.Equal(t, "step batch", parent.Name())
		ids, _ := parent.Attributes().Get("tasker.batch.step_ids")
		assert.Contains(t, ids.Slice().AsRaw(), a.step)
		assert.LessOrEqual(t, parent.StartTimestamp(), s.StartTimestamp())
		if a.failed {
			failed++
			assert.Equal(t, ptrace.StatusCodeError, s.Status().Code())
			assert.Equal(t, a.errMessage, s.Status().Message())
			var exc ptrace.SpanEvent
			for i := 0; i < s.Events().Len(); i++ {
				if s.Events().At(i).Name() == "exception" {
					exc = s.Events().At(i)
				}
			}
			require.Equal(t, "exception", exc.Name(), "exception event on %s", s.Name())
			for _, k := range []string{event.AttrExceptionType, event.AttrExceptionMessage, event.AttrExceptionStacktrace} {
				v, ok := exc.Attributes().Get(k)
				assert.True(t, ok && v.Str() != "", "%s on exception event", k)
			}
		} else {
			assert.Equal(t, ptrace.StatusCodeUnset, s.Status().Code())
		}
		// the handler span runs under the attempt until its end
		hs, ok := byID[event.SpanID(event.RoleHandler, a.task, a.step, a.attempt)]
		require.True(t, ok, "handler span")
		assert.Equal(t, s.SpanID(), hs.ParentSpanID())
		assert.Equal(t, a.end, hs.EndTimestamp())
		assert.GreaterOrEqual(t, hs.StartTimestamp(), a.start)
	}
	assert.Equal(t, sum.StepsFailedAttempts, failed)
	steps, errors := 0, 0
	for _, s := range spans {
		if s.Name()[:5] == "step " && s.Name() != "step batch" {
			steps++
		}
		if s.Status().Code() == ptrace.StatusCodeError && (s.Name()[:5] == "step " || s.Name()[:5] == "task ") {
			errors++
		}
	}
	assert.Equal(t, sum.StepAttempts, steps)
	assert.Equal(t, sum.StepsFailedAttempts+sum.TasksFailed, errors)

	// retries: the backoff and retry request are span events of the failed attempt
	for _, ev := range events {
		if ev.Name != "observability.step.backoff" {
			continue
		}
		s := byID[event.StepSpanID(payloadID(ev, "task_id"), payloadID(ev, "step_id"), ev.Payload["attempt_number"].(int64))]
		found := false
		for i := 0; i < s.Events().Len(); i++ {
			e := s.Events().At(i)
			if e.Name() == ev.Name {
				found = true
				v, _ := e.Attributes().Get("tasker.backoff.seconds")
				assert.InDelta(t, ev.Payload["backoff_seconds"].(float64), v.Double(), 1e-9)
				typ, _ := e.Attributes().Get("tasker.backoff.type")
				assert.Equal(t, payloadStr(ev, "backoff_type"), typ.Str())
			}
		}
		assert.True(t, found, "backoff event on %s", s.Name())
	}

	// database spans: under the handler of the attempt running at their start
	dbs := 0
	for _, ev := range events {
		if ev.Name != "database.query_executed" {
			continue
		}
		dbs++
		task, step := payloadID(ev, "task_id"), payloadID(ev, "step_id")
		start := mustTime(t, payloadStr(ev, "started_at"))
		id := event.DBSpanID(task, step, payloadStr(ev, "started_at"), payloadStr(ev, "timestamp"), payloadStr(ev, "sql"))
		s, ok := byID[id]
		require.True(t, ok, "db span")
		var running *attemptOf
		for i, a := range attempts {
			if a.task == task && a.step == step && a.start <= start && start <= a.end {
				running = &attempts[i]
			}
		}
		require.NotNil(t, running, "fixture: no attempt running at query start")
		assert.Equal(t, event.SpanID(event.RoleHandler, task, step, running.attempt), s.ParentSpanID(), "parent of %s", s.Name())
		op, table := event.SummarizeSQL(payloadStr(ev, "sql"))
		assert.Equal(t, op+" "+table, s.Name())
		assert.Equal(t, ptrace.SpanKindClient, s.Kind())
		assert.Equal(t, start, s.StartTimestamp())
		d := time.Duration(ev.Payload["duration"].(float64) * 1e9)
		assert.Equal(t, pcommon.Timestamp(d), s.EndTimestamp()-s.StartTimestamp())
		text, _ := s.Attributes().Get(event.AttrDBQueryText)
		assert.Equal(t, payloadStr(ev, "sql"), text.Str())
	}
	assert.Equal(t, sum.DBQueries, dbs)

	// every parent exists; the tree is at least task → batch → step → handler → db deep
	maxDepth := 0
	for _, s := range spans {
		d := 1
		for p := s.ParentSpanID(); !p.IsEmpty(); d++ {
			ps, ok := byID[p]
			require.True(t, ok, "parent %s of %s missing", p, s.Name())
			p = ps.ParentSpanID()
		}
		maxDepth = max(maxDepth, d)
	}
	assert.GreaterOrEqual(t, maxDepth, 5)

	// other signals: every event reaches logs, metrics are produced
	assert.Equal(t, sum.Events, h.logs.LogRecordCount())
	assert.NotZero(t, h.metrics.DataPointCount())
}

// secretValues collects the planted secrets of the fixture.
func secretValues(v any, out map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && (k == "api_token" || k == "password") {
				out[s] = true
			}
			secretValues(e, out)
		}
	case []any:
		for _, e := range x {
			secretValues(e, out)
		}
	}
}

func TestFixtureNoSecretsInAnyOutput(t *testing.T) {
	events := loadFixture(t)
	secrets := map[string]bool{}
	for _, ev := range events {
		secretValues(ev.Payload, secrets)
	}
	require.GreaterOrEqual(t, len(secrets), loadSummary(t).Tasks, "fixture secrets")

	h := runFixture(t, createDefaultConfig(), events, 100)
	out := h.serialize(t)
	require.NotEmpty(t, out)
	for s := range secrets {
		assert.False(t, bytes.Contains(out, []byte(s)), "secret %q leaked", s)
	}
	assert.True(t, bytes.Contains(out, []byte(event.Filtered)))

	// the same check must fail with redaction off, or it proves nothing
	cfg := createDefaultConfig()
	cfg.Redaction.Enabled = false
	leaky := runFixture(t, cfg, events, 100).serialize(t)
	leaked := 0
	for s := range secrets {
		if bytes.Contains(leaky, []byte(s)) {
			leaked++
		}
	}
	assert.Equal(t, len(secrets), leaked)
}

// shuffleWindows permutes events within consecutive windows.
func shuffleWindows(events []fixtureEvent, window int, seed uint64) []fixtureEvent {
	out := append([]fixtureEvent(nil), events...)
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for i := 0; i < len(out); i += window {
		w := out[i:min(i+window, len(out))]
		r.Shuffle(len(w), func(a, b int) { w[a], w[b] = w[b], w[a] })
	}
	return out
}

func TestFixtureOrderIndependent(t *testing.T) {
	events := loadFixture(t)
	want := rows(runFixture(t, createDefaultConfig(), events, 50).traces.AllTraces())
	require.NotEmpty(t, want)
	for _, seed := range []uint64{1, 42} {
		shuffled := shuffleWindows(events, 50, seed)
		require.NotEqual(t, events[0].Line, shuffled[0].Line)
		got := rows(runFixture(t, createDefaultConfig(), shuffled, 37).traces.AllTraces())
		assert.Equal(t, want, got, "seed %d", seed)
	}
}

func TestFixtureSplitAcrossInstances(t *testing.T) {
	events := loadFixture(t)
	want := rows(runFixture(t, createDefaultConfig(), events, 50).traces.AllTraces())

	var even, odd []fixtureEvent
	for _, ev := range events {
		if id, ok := taskIDOf(ev); ok && id%2 == 1 {
			odd = append(odd, ev)
		} else {
			even = append(even, ev)
		}
	}
	require.NotEmpty(t, odd)
	require.NotEmpty(t, even)
	a := runFixture(t, createDefaultConfig(), odd, 50).traces.AllTraces()
	b := runFixture(t, createDefaultConfig(), even, 50).traces.AllTraces()
	assert.Equal(t, want, rows(append(a, b...)))
}

// A task's events split across instances (no load balancing): the spans one
// terminal event describes (task, step attempt, database query) still come
// out with the right ids, times and status on the instance that saw it.
func TestFixtureEventsOfATaskSplit(t *testing.T) {
	events := loadFixture(t)
	whole := rows(runFixture(t, createDefaultConfig(), events, 50).traces.AllTraces())
	var a, b []fixtureEvent
	for i, ev := range events {
		if i%2 == 0 {
			a = append(a, ev)
		} else {
			b = append(b, ev)
		}
	}
	split := rows(append(runFixture(t, createDefaultConfig(), a, 50).traces.AllTraces(),
		runFixture(t, createDefaultConfig(), b, 50).traces.AllTraces()...))
	complete := map[string][]spanRow{}
	for _, r := range split {
		if !bytes.Contains([]byte(r.Attrs), []byte(assembly.AttrUnfinished)) {
			complete[r.SpanID] = append(complete[r.SpanID], r)
		}
	}
	checked := 0
	for _, w := range whole {
		isTask := len(w.Name) > 5 && w.Name[:5] == "task "
		isStep := len(w.Name) > 5 && w.Name[:5] == "step " && w.Name != "step batch"
		if !isTask && !isStep && w.Kind != ptrace.SpanKindClient {
			continue
		}
		got := complete[w.SpanID]
		require.Len(t, got, 1, "one complete span %s (%s)", w.Name, w.SpanID)
		r := got[0]
		checked++
		assert.Equal(t, w.TraceID, r.TraceID, w.Name)
		assert.Equal(t, w.Start, r.Start, w.Name)
		assert.Equal(t, w.End, r.End, w.Name)
		assert.Equal(t, w.Status, r.Status, w.Name)
		assert.Equal(t, w.Message, r.Message, w.Name)
		if isTask {
			assert.Equal(t, w.Parent, r.Parent)
		}
	}
	sum := loadSummary(t)
	assert.Equal(t, sum.Tasks+sum.StepAttempts+sum.DBQueries, checked)
}

func TestFixtureRoutingCounts(t *testing.T) {
	events := loadFixture(t)
	sum := loadSummary(t)
	cfg := createDefaultConfig()
	cfg.Routes = []RouteConfig{{Events: []string{"database.*"}, To: []string{SignalMetrics}}}
	cfg.Drop = []string{"handler.*"}
	h := runFixture(t, cfg, events, 64)
	assert.Equal(t, sum.Events-sum.DBQueries-sum.ByName["handler.registered"], h.logs.LogRecordCount())
	names := map[string]int{}
	for _, s := range allSpans(h.traces.AllTraces()) {
		if s.Kind() == ptrace.SpanKindClient {
			names["db"]++
		}
	}
	assert.Zero(t, names["db"], "database events routed to metrics only")
	js, err := json.Marshal(h.logs.AllLogs()[0].ResourceLogs().At(0).Resource().Attributes().AsRaw())
	require.NoError(t, err)
	assert.Contains(t, string(js), "tasker-app")
}

// A secret in a resource attribute reaches no output either: not the spans'
// or logs' resource, not the metrics' resource, not a metric label read
// from the resource.
func TestResourceSecretsReachNoOutput(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.Metrics.Definitions = []metrics.Definition{{
		Name: "app.events", Type: metrics.TypeCounter, Events: []string{"task.*"},
		Labels: map[string]string{"token": "resource.deploy_token"},
	}}
	h := newHarness(t, NewFactory(), cfg, "resource_secret")
	ld := buildLogs(t, loadFixture(t)[:80])
	ld.ResourceLogs().At(0).Resource().Attributes().PutStr("deploy_token", "rsrc-secret-4242")
	h.consume(t, ld)
	h.shutdown(t)
	out := h.serialize(t)
	require.NotEmpty(t, h.metrics.AllMetrics())
	assert.False(t, bytes.Contains(out, []byte("rsrc-secret-4242")), "a resource secret leaked")
}
