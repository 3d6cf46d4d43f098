package eventrouter

import (
	"encoding/hex"
	"maps"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

// copiesOfFixture returns n copies of the fixture, each with its own task
// ids (task id + 1000*copy).
func copiesOfFixture(t *testing.T, n int) []fixtureEvent {
	var out []fixtureEvent
	for k := 0; k < n; k++ {
		for _, ev := range loadFixture(t) {
			p := maps.Clone(ev.Payload)
			if id, ok := taskIDOf(ev); ok {
				p["task_id"] = id + int64(1000*k)
			}
			out = append(out, fixtureEvent{Name: ev.Name, Timestamp: ev.Timestamp, Payload: p})
		}
	}
	return out
}

// With every event sampled at 10% and keep_tasks.failed, every failed task
// is kept whole (its spans exactly those of an unsampled run), about 10% of
// the others are kept, and every counter equals the truth.
func TestKeepFailedTasksWhateverTheRate(t *testing.T) {
	events := copiesOfFixture(t, 50)
	full := runFixture(t, holdAll(), events, 200)
	byTask := map[pcommon.TraceID][]spanRow{}
	for _, r := range rows(full.traces.AllTraces()) {
		var id pcommon.TraceID
		copy(id[:], mustHex(t, r.TraceID))
		byTask[id] = append(byTask[id], r)
	}
	failed := map[pcommon.TraceID]bool{}
	for _, ev := range events {
		if ev.Name == "task.failed" {
			id, _ := taskIDOf(ev)
			failed[event.TraceID("", strconv.FormatInt(id, 10))] = true
		}
	}
	require.NotEmpty(t, failed)

	cfg := holdAll()
	cfg.Routes = []RouteConfig{{Events: []string{"*"}, To: []string{SignalTraces, SignalMetrics, SignalLogs}, SamplingRate: rate(0.1)}}
	require.True(t, cfg.KeepTasks.Failed, "the default")
	h := runFixture(t, cfg, events, 200)
	got := map[pcommon.TraceID][]spanRow{}
	for _, r := range rows(h.traces.AllTraces()) {
		var id pcommon.TraceID
		copy(id[:], mustHex(t, r.TraceID))
		got[id] = append(got[id], r)
	}
	sampler := newSampler(rate(0.1))
	keptOK, ok := 0, 0
	for id, want := range byTask {
		switch {
		case failed[id]:
			assert.Equal(t, want, got[id], "failed task %s is complete", id)
		case sampler.keep(id):
			assert.Equal(t, want, got[id], "task %s sampled in", id)
			keptOK++
			ok++
		default:
			assert.Empty(t, got[id], "task %s sampled out", id)
			ok++
		}
	}
	t.Logf("%d failed tasks kept whole; %d of %d other tasks kept (%.1f%%)", len(failed), keptOK, ok, 100*float64(keptOK)/float64(ok))
	assert.InDelta(t, 0.1, float64(keptOK)/float64(ok), 0.05)
	assert.Equal(t, metricValues(t, full.metrics.AllMetrics()), metricValues(t, h.metrics.AllMetrics()), "counters are exact")

	// logs: sampled-out tasks keep their failure events
	failures := 0
	for _, ld := range h.logs.AllLogs() {
		lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		for i := 0; i < lrs.Len(); i++ {
			if lr := lrs.At(i); event.Name(lr) == "task.failed" {
				failures++
			}
		}
	}
	assert.Equal(t, len(failed), failures, "every task.failed record reaches the logs")
}

// keep_tasks.slower_than keeps tasks longer than the threshold.
func TestKeepSlowTasks(t *testing.T) {
	events := copiesOfFixture(t, 5)
	cfg := holdAll()
	cfg.Routes = []RouteConfig{{Events: []string{"*"}, To: []string{SignalTraces}, SamplingRate: rate(0)}}
	cfg.KeepTasks = KeepTasksConfig{SlowerThan: time.Nanosecond}
	h := runFixture(t, cfg, events, 200)
	tasks := map[string]bool{}
	for _, s := range allSpans(h.traces.AllTraces()) {
		tasks[s.TraceID().String()] = true
	}
	ended := 0
	for _, ev := range events {
		switch ev.Name {
		case "task.completed", "task.failed", "task.cancelled", "task.resolved_manually":
			if _, ok := ev.Payload["started_at"]; ok {
				ended++
			}
		}
	}
	require.Positive(t, ended)
	assert.Len(t, tasks, ended, "every ended task with a length is kept at rate 0")

	cfg.KeepTasks = KeepTasksConfig{}
	assert.Empty(t, allSpans(runFixture(t, cfg, events, 200).traces.AllTraces()), "without keep_tasks rate 0 keeps nothing")
}

func mustHex(t *testing.T, s string) []byte {
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}
