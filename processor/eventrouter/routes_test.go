package eventrouter

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

func rate(r float64) *float64 { return &r }

func TestRouteTable(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.Routes = []RouteConfig{
		{Events: []string{"step.completed"}, To: []string{SignalLogs}},
		{Events: []string{"step.*", "custom.order_*"}, To: []string{SignalTraces, SignalMetrics}, SamplingRate: rate(0.5)},
		{Events: []string{"step.failed"}, To: []string{SignalMetrics}}, // shadowed by the glob above
		{Events: []string{"custom.nothing"}, To: []string{}},
	}
	cfg.Drop = []string{"test.*", "registry.health_check"}
	table := newRouteTable(cfg)

	tests := []struct {
		name    string
		to      signals
		drop    bool
		matched bool
		sampled bool
	}{
		{name: "step.completed", to: toLogs, matched: true},                            // exact, first
		{name: "step.failed", to: toTraces | toMetrics, matched: true, sampled: true},  // glob wins: earlier route
		{name: "step.backoff", to: toTraces | toMetrics, matched: true, sampled: true}, // glob, not in preset
		{name: "custom.order_paid", to: toTraces | toMetrics, matched: true, sampled: true},
		{name: "custom.nothing", to: 0, matched: true},
		{name: "task.completed", to: toTraces | toMetrics | toLogs, matched: true}, // preset
		{name: "handler.registered", to: toMetrics | toLogs, matched: true},        // preset, no task
		{name: "test.anything", drop: true},                                        // drop glob
		{name: "registry.health_check", drop: true},                                // drop beats the preset
		{name: "custom.unknown", to: toLogs},                                       // unmatched
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := table.decide(tt.name)
			assert.Equal(t, tt.drop, d.drop)
			assert.Equal(t, tt.to, d.to)
			assert.Equal(t, tt.matched, d.matched)
			if !tt.drop {
				assert.Equal(t, !tt.sampled, d.sampler.all)
			}
			assert.Equal(t, d, table.resolve(tt.name), "cached and computed decisions agree")
		})
	}

	none := createDefaultConfig()
	none.Preset = PresetNone
	none.Unmatched = nil
	d := newRouteTable(none).decide("task.completed")
	assert.Equal(t, signals(0), d.to)
	assert.True(t, d.unrouted())
}

func TestPresetCoversCatalog(t *testing.T) {
	p := taskerPreset()
	assert.Len(t, p, len(event.Catalog()), "every catalog name, once")
	for _, name := range []string{"database.query_executed", "dependency.resolved", "batch.step_execution",
		"memory.spike_detected", "performance.slow_operation", "workflow.viable_steps_batch_ready",
		"tasker.telemetry.plugin_unregistered", "observability.step.max_retries_reached"} {
		assert.Contains(t, p, name)
	}
	for _, ev := range loadFixture(t) {
		assert.Contains(t, p, ev.Name)
	}
}

func TestSamplerDeterministicPerTask(t *testing.T) {
	s := newSampler(rate(0.5))
	kept := 0
	const tasks = 20000
	for i := 0; i < tasks; i++ {
		tid := event.TraceID("", strconv.Itoa(i))
		k := s.keep(tid)
		require.Equal(t, k, s.keep(tid))
		if k {
			kept++
			assert.True(t, newSampler(rate(0.75)).keep(tid), "kept at 0.5 implies kept at 0.75")
		}
	}
	assert.InDelta(t, tasks/2, kept, tasks*0.02)
	assert.True(t, newSampler(rate(0)).keep(pcommon.NewTraceIDEmpty()), "events without a trace are kept")
	assert.False(t, newSampler(rate(0)).keep(event.TraceID("", "1")))
	assert.True(t, newSampler(nil).keep(event.TraceID("", "1")))
	assert.True(t, newSampler(rate(1)).keep(event.TraceID("", "1")))
}

// Sampling keeps or drops every event of a task, in traces and logs alike,
// and never touches what metrics see.
func TestSamplingAllOrNothingPerTask(t *testing.T) {
	events := loadFixture(t)
	sum := loadSummary(t)
	cfg := createDefaultConfig()
	cfg.Routes = []RouteConfig{{Events: []string{"*.*"}, To: []string{SignalTraces, SignalMetrics, SignalLogs}, SamplingRate: rate(0.5)}}
	cfg.KeepTasks.Failed = false // plain sampling (keep_tasks_test.go has the rest)
	h := runFixture(t, cfg, events, 50)

	perTask := map[string]int{}
	for _, ev := range events {
		if id, ok := taskIDOf(ev); ok {
			perTask[strconv.FormatInt(id, 10)]++
		}
	}
	keptLogs := map[string]int{}
	registry := 0
	for _, ld := range h.logs.AllLogs() {
		lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		for i := 0; i < lrs.Len(); i++ {
			v, ok := lrs.At(i).Attributes().Get(event.AttrTaskID)
			if !ok {
				registry++
				continue
			}
			keptLogs[v.Str()]++
		}
	}
	traceTasks := map[pcommon.TraceID]bool{}
	for _, s := range allSpans(h.traces.AllTraces()) {
		traceTasks[s.TraceID()] = true
	}
	want := newSampler(rate(0.5))
	keptTasks := 0
	for task, n := range perTask {
		if want.keep(event.TraceID("", task)) {
			keptTasks++
			assert.Equal(t, n, keptLogs[task], "task %s keeps all its events", task)
			assert.True(t, traceTasks[event.TraceID("", task)])
		} else {
			assert.Zero(t, keptLogs[task], "task %s loses all its events", task)
			assert.False(t, traceTasks[event.TraceID("", task)])
		}
	}
	assert.Len(t, traceTasks, keptTasks)
	assert.Greater(t, keptTasks, 0)
	assert.Less(t, keptTasks, sum.Tasks)
	assert.Equal(t, sum.ByName["handler.registered"], registry, "events without a trace id are kept")

	// metrics count every event, sampled or not: same data as without sampling
	full := runFixture(t, createDefaultConfig(), events, 50)
	assert.Equal(t, lastMetricPoints(t, full), lastMetricPoints(t, h))
}

func lastMetricPoints(t testing.TB, h *harness) int {
	all := h.metrics.AllMetrics()
	require.NotEmpty(t, all)
	return all[len(all)-1].DataPointCount()
}

func TestUnmatchedAndNonEvents(t *testing.T) {
	cfg := createDefaultConfig()
	h := newHarness(t, NewFactory(), cfg, "unmatched")
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	plain := lrs.AppendEmpty() // an ordinary log line: not an event
	plain.Body().SetStr("GET /health 200")
	custom := lrs.AppendEmpty() // an event no route names, normalized at the edge
	custom.SetEventName("custom.order_shipped")
	custom.Body().SetEmptyMap().PutInt("task_id", 77)
	event.Normalize(custom, custom.EventName(), "", pcommon.Timestamp(1))
	h.consume(t, ld)
	h.shutdown(t)

	require.Equal(t, 2, h.logs.LogRecordCount(), "unmatched events and non-events go to logs")
	out := h.logs.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	assert.Equal(t, "GET /health 200", out.At(0).Body().Str())
	assert.Equal(t, event.TraceID("", "77"), out.At(1).TraceID(), "unmatched events keep their ids")
	assert.Zero(t, len(allSpans(h.traces.AllTraces())))

	// with unmatched: [] they are counted as unrouted, not forwarded
	cfg = createDefaultConfig()
	cfg.Unmatched = nil
	h = newHarness(t, NewFactory(), cfg, "nowhere")
	h.consume(t, ld)
	h.shutdown(t)
	assert.Zero(t, h.logs.LogRecordCount())
}

func TestDropIsGoneEverywhere(t *testing.T) {
	events := loadFixture(t)
	cfg := createDefaultConfig()
	cfg.Drop = []string{"step.*", "database.query_executed"}
	h := runFixture(t, cfg, events, 100)
	for _, ld := range h.logs.AllLogs() {
		lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		for i := 0; i < lrs.Len(); i++ {
			assert.NotContains(t, []string{"step.completed", "step.failed", "database.query_executed"}, lrs.At(i).EventName())
		}
	}
	spans := allSpans(h.traces.AllTraces())
	require.NotEmpty(t, spans)
	for _, s := range spans {
		assert.True(t, s.Name() == "step batch" || s.Name()[:min(5, len(s.Name()))] != "step ", s.Name())
		assert.NotEqual(t, "handle", s.Name()[:min(6, len(s.Name()))])
		assert.NotEqual(t, ptrace.SpanKindClient, s.Kind())
	}
}
