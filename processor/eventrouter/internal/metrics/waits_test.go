package metrics

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

// The sample's queue and wait durations, derived here from the raw events
// (the first start after each enqueue; the first step.execution_requested
// after each listing in workflow.viable_steps_discovered), and the counts
// the fixture has: 20 enqueued tasks, 78 steps made viable.
func TestWaitsOnSample(t *testing.T) {
	s := loadSample(t)
	names := map[int64]string{}
	enqueued := map[int64]time.Time{}
	viable := map[[2]int64]time.Time{}
	wantQueue, wantWait := map[string]int{}, map[[2]string]int{}
	var queueSum, waitSum float64
	at := func(ts string) time.Time {
		tm, err := time.Parse(time.RFC3339Nano, ts)
		require.NoError(t, err)
		return tm
	}
	for _, r := range s.raw {
		task, _ := r.Payload["task_id"].(int64)
		if n, ok := r.Payload["task_name"].(string); ok {
			names[task] = n
		}
		switch r.Name {
		case "observability.task.enqueue":
			enqueued[task] = at(r.Timestamp)
		case "task.start_requested", "workflow.task_started":
			if e, ok := enqueued[task]; ok {
				wantQueue[names[task]]++
				queueSum += at(r.Timestamp).Sub(e).Seconds()
				delete(enqueued, task)
			}
		case "workflow.viable_steps_discovered":
			for _, id := range r.Payload["step_ids"].([]any) {
				viable[[2]int64{task, id.(int64)}] = at(r.Timestamp)
			}
		case "step.execution_requested":
			k := [2]int64{task, r.Payload["step_id"].(int64)}
			if v, ok := viable[k]; ok {
				wantWait[[2]string{names[task], r.Payload["step_name"].(string)}]++
				waitSum += at(r.Timestamp).Sub(v).Seconds()
				delete(viable, k)
			}
		}
	}
	require.Empty(t, viable, "every step made viable starts in the sample")

	a := newAggregator(t, nil)
	s.feed(a, 0, len(s.records))
	_, got := snapshot(a)

	queue := got["tasker.task.queue.duration"]
	require.NotNil(t, queue)
	assert.Equal(t, "s", queue.unit)
	assert.EqualValues(t, 20, queue.total())
	assert.EqualValues(t, s.sum.ByName["observability.task.enqueue"], queue.total())
	gotQueue := map[string]int{}
	var gotQueueSum float64
	for _, p := range queue.points {
		gotQueue[p.attrs[lTaskName]] += int(p.count)
		gotQueueSum += p.sum
		assert.Len(t, p.exemplars, 1)
	}
	assert.Equal(t, wantQueue, gotQueue)
	assert.InDelta(t, queueSum, gotQueueSum, 1e-9)
	assert.InDelta(t, 2.203, gotQueueSum, 1e-9)

	wait := got["tasker.step.wait.duration"]
	require.NotNil(t, wait)
	assert.EqualValues(t, 78, wait.total())
	gotWait := map[[2]string]int{}
	var gotWaitSum float64
	for _, p := range wait.points {
		gotWait[[2]string{p.attrs[lTaskName], p.attrs[lStepName]}] += int(p.count)
		gotWaitSum += p.sum
		var n uint64
		for _, c := range p.buckets {
			n += c
		}
		assert.Equal(t, p.count, n)
		assert.Equal(t, DefaultBuckets, p.bounds)
		require.Len(t, p.exemplars, 1)
		assert.False(t, p.exemplars[0].TraceID().IsEmpty())
	}
	assert.Equal(t, wantWait, gotWait)
	assert.InDelta(t, waitSum, gotWaitSum, 1e-9)
	assert.InDelta(t, 1.863, gotWaitSum, 1e-9)
}

// waitSeq builds events at exact times: ms after a fixed origin.
type waitSeq struct {
	t0  time.Time
	a   *Aggregator
	res pcommon.Resource
}

func (w *waitSeq) send(ms int, name string, payload map[string]any) {
	payload["timestamp"] = w.t0.Add(time.Duration(ms) * time.Millisecond).Format("2006-01-02T15:04:05.000Z")
	w.a.Observe(testEvent(name, payload), w.res)
}

func task(id int) map[string]any { return map[string]any{"task_id": id, "task_name": "orders"} }

func stepEv(task, step, attempt int, name string) map[string]any {
	return map[string]any{"task_id": task, "step_id": step, "step_name": name, "attempt_number": attempt}
}

// histogram returns the count and sum of the series matching labels.
func histogram(t *testing.T, mi *metricInfo, labels ...string) (uint64, float64) {
	t.Helper()
	require.NotNil(t, mi, "the metric has series")
	var n uint64
	var sum float64
next:
	for _, p := range mi.points {
		for i := 0; i+1 < len(labels); i += 2 {
			if p.attrs[labels[i]] != labels[i+1] {
				continue next
			}
		}
		n += p.count
		sum += p.sum
	}
	return n, sum
}

// A known sequence: retries, a second start event, a re-discovery, a task
// retried, and events delivered out of order, with exact values.
func TestWaitsKnownSequence(t *testing.T) {
	w := &waitSeq{t0: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), a: newAggregator(t, nil), res: testResource("svc")}

	// task 1: enqueued, started 250 ms later (both start events: one wait)
	w.send(0, "observability.task.enqueue", task(1))
	w.send(250, "task.start_requested", task(1))
	w.send(250, "workflow.task_started", task(1))
	// steps 10 and 11 made viable at 300
	w.send(300, "workflow.viable_steps_discovered", map[string]any{"task_id": 1, "step_ids": []any{10, 11}})
	w.send(330, "step.execution_requested", stepEv(1, 10, 1, "charge"))  // waited 30 ms
	w.send(331, "step.before_handle", stepEv(1, 10, 1, "charge"))        // same attempt: nothing
	w.send(400, "step.execution_requested", stepEv(1, 11, 1, "reserve")) // waited 100 ms
	w.send(450, "step.failed", stepEv(1, 10, 1, "charge"))
	w.send(500, "step.execution_requested", stepEv(1, 10, 2, "charge")) // a retry, not made viable again: nothing
	w.send(600, "step.failed", stepEv(1, 10, 2, "charge"))
	w.send(700, "workflow.viable_steps_discovered", map[string]any{"task_id": 1, "step_ids": []any{10}})
	w.send(750, "step.execution_requested", stepEv(1, 10, 3, "charge")) // made viable again: waited 50 ms
	// the task fails and is retried: its next run is queued again
	w.send(800, "task.failed", task(1))
	w.send(900, "task.retry_requested", task(1))
	w.send(1000, "observability.task.enqueue", task(1))
	w.send(1400, "task.start_requested", task(1)) // 400 ms

	// task 2, delivered out of order: its start before its enqueue, a step's
	// start before the discovery that made it viable
	w.send(2100, "task.start_requested", task(2))
	w.send(2040, "observability.task.enqueue", task(2)) // queued 60 ms
	w.send(2220, "step.execution_requested", stepEv(2, 20, 1, "ship"))
	w.send(2200, "workflow.viable_steps_discovered", map[string]any{"task_id": 2, "step_ids": []any{20}}) // waited 20 ms
	// a discovery later than an unpaired start does not pair with it
	w.send(2300, "step.execution_requested", stepEv(2, 21, 1, "notify"))
	w.send(2350, "workflow.viable_steps_discovered", map[string]any{"task_id": 2, "step_ids": []any{21}})

	_, got := snapshot(w.a)
	queue, wait := got["tasker.task.queue.duration"], got["tasker.step.wait.duration"]
	n, sum := histogram(t, queue, lTaskName, "orders")
	assert.EqualValues(t, 3, n)
	assert.InDelta(t, 0.25+0.4+0.06, sum, 1e-9)
	assert.Len(t, queue.points, 1)

	n, sum = histogram(t, wait, lStepName, "charge")
	assert.EqualValues(t, 2, n)
	assert.InDelta(t, 0.03+0.05, sum, 1e-9)
	n, sum = histogram(t, wait, lStepName, "reserve")
	assert.EqualValues(t, 1, n)
	assert.InDelta(t, 0.1, sum, 1e-9)
	n, sum = histogram(t, wait, lStepName, "ship")
	assert.EqualValues(t, 1, n)
	assert.InDelta(t, 0.02, sum, 1e-9)
	assert.EqualValues(t, 4, wait.total(), "notify waited for nothing known")
	assert.EqualValues(t, 4, wait.total(lTaskName, "orders"))

	// buckets: 0.03, 0.05 ≤ 0.05; 0.1 ≤ 0.1; 0.02 ≤ 0.025
	for _, p := range wait.points {
		if p.attrs[lStepName] == "charge" {
			want := make([]uint64, len(DefaultBuckets)+1)
			want[3] = 2 // (0.025, 0.05]
			assert.Equal(t, want, p.buckets)
			// the exemplar is the start that ended the last wait: attempt 3
			require.Len(t, p.exemplars, 1)
			assert.Equal(t, event.TraceID("", "1"), p.exemplars[0].TraceID())
			assert.Equal(t, event.StepSpanID("1", "10", 3), p.exemplars[0].SpanID())
			assert.InDelta(t, 0.05, p.exemplars[0].DoubleValue(), 1e-9)
		}
	}
}

// Waits are remembered per step in a table of max_tracked_steps entries:
// a step evicted between its viability and its start records no wait.
func TestWaitsBounded(t *testing.T) {
	w := &waitSeq{t0: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		a: newAggregator(t, func(c *Config) { c.MaxTrackedSteps = 3 }), res: testResource("svc")}
	ids := []any{}
	for i := 1; i <= 10; i++ {
		ids = append(ids, i)
	}
	w.send(0, "workflow.viable_steps_discovered", map[string]any{"task_id": 1, "task_name": "orders", "step_ids": ids})
	assert.Equal(t, 3, w.a.waits.len())
	for _, i := range []int{10, 9, 8, 1, 2, 3, 4, 5, 6, 7} {
		w.send(100+i, "step.execution_requested", stepEv(1, i, 1, "s"))
	}
	assert.Equal(t, 3, w.a.waits.len())
	_, got := snapshot(w.a)
	n, sum := histogram(t, got["tasker.step.wait.duration"], lStepName, "s")
	assert.EqualValues(t, 3, n, "only the last three steps made viable are still known")
	assert.InDelta(t, 0.108+0.109+0.110, sum, 1e-9)
}

// The sample delivered backwards gives every task and step the same queue
// and wait durations as in order: each is recorded by whichever of its two
// ends arrives second, and a step keeps its earliest start.
func TestWaitsArrivalOrderIndependent(t *testing.T) {
	s := loadSample(t)
	inOrder := newAggregator(t, nil)
	s.feed(inOrder, 0, len(s.records))
	backwards := newAggregator(t, nil)
	for i := len(s.records) - 1; i >= 0; i-- {
		backwards.Observe(s.records[i], s.res)
	}
	_, want := snapshot(inOrder)
	_, got := snapshot(backwards)
	for _, name := range []string{"tasker.task.queue.duration", "tasker.step.wait.duration"} {
		series := func(mi *metricInfo) map[string]string {
			out := map[string]string{}
			for _, p := range mi.points {
				out[seriesKey(name, p)] = fmt.Sprintf("count %d sum %.6f buckets %v", p.count, p.sum, p.buckets)
			}
			return out
		}
		require.NotNil(t, got[name], name)
		assert.Equal(t, series(want[name]), series(got[name]), name)
	}
	assert.EqualValues(t, 78, got["tasker.step.wait.duration"].total())
}

// The waits table counts in max_state_bytes: past it, its oldest entries
// make room, and what it holds stays within the cap.
func TestWaitsStateBytes(t *testing.T) {
	w := &waitSeq{t0: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		a: newAggregator(t, func(c *Config) { c.MaxStateBytes = 1 << 20; c.MaxTrackedSteps = 1 << 20 }), res: testResource("svc")}
	before := w.a.Stats().StateBytes
	ids := make([]any, 0, 100)
	for batch := 0; batch < 200; batch++ {
		ids = ids[:0]
		for i := 0; i < 100; i++ {
			ids = append(ids, fmt.Sprintf("step-%d-%d-%s", batch, i, strings.Repeat("x", 40)))
		}
		w.send(batch, "workflow.viable_steps_discovered", map[string]any{"task_id": batch, "task_name": "orders", "step_ids": ids})
	}
	st := w.a.Stats()
	assert.LessOrEqual(t, st.StateBytes, int64(1<<20))
	assert.Less(t, w.a.waits.len(), 20000, "the oldest waits gave way")
	assert.Greater(t, w.a.waits.len(), 1000)
	assert.Greater(t, st.StateBytes, before+int64(1000*waitCost))
}
