package eventrouter

import (
	"context"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
	"github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/metadata"
)

// openTaskEvents returns n task.start_requested events of tasks first+1 ...
// first+n, as the taskerevents receiver normalizes them (the same shape as
// bench/opentasks_test.go). Every string is its own allocation, so a held
// view into the batch would show up as retained memory.
func openTaskEvents(first, n int) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "tasker")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	lrs.EnsureCapacity(n)
	now := pcommon.NewTimestampFromTime(time.Now())
	for i := 0; i < n; i++ {
		id := int64(first + i + 1)
		lr := lrs.AppendEmpty()
		body := lr.Body().SetEmptyMap()
		body.EnsureCapacity(10)
		body.PutInt("task_id", id)
		body.PutStr("task_name", "payment_"+"processing")
		body.PutStr("started_at", "2025-11-25T19:46:40.000Z")
		body.PutStr("task_type", "Tasker::Task")
		body.PutStr("event_type", "started")
		body.PutInt("total_steps", 3)
		ctx := body.PutEmptyMap("task_context")
		ctx.PutInt("customer_id", 80000+id%1000)
		body.PutStr("correlation_id", "tsk_"+strconv.FormatInt(id, 36)+"_bench0")
		body.PutStr("timestamp", "2025-11-25T19:46:40.115Z")
		event.Normalize(lr, "task.start_requested", "", now)
	}
	return ld
}

// openFixtureTasks returns copies of the fixture's first task (ids first+1
// ... first+copies), each with the events before its terminal event: what a
// sidecar holds for a running task (a transition held as a span event, an
// enqueue span, steps and their events).
func openFixtureTasks(t testing.TB, first, copies int) plog.Logs {
	var proto []fixtureEvent
	for _, ev := range loadFixture(t) {
		if id, ok := taskIDOf(ev); ok && id == 1 {
			if ev.Name == "task.completed" || ev.Name == "task.failed" {
				break
			}
			proto = append(proto, ev)
		}
	}
	require.NotEmpty(t, proto)
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "tasker")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	for c := 0; c < copies; c++ {
		for _, ev := range proto {
			lr := lrs.AppendEmpty()
			p := make(map[string]any, len(ev.Payload))
			for k, v := range ev.Payload {
				p[k] = v
			}
			p["task_id"] = int64(first + c + 1)
			require.NoError(t, lr.Body().SetEmptyMap().FromRaw(p))
			if ts, ok := event.ParseTime(ev.Timestamp); ok {
				lr.SetTimestamp(ts)
			}
			event.Normalize(lr, ev.Name, "", receivedAt)
		}
	}
	return ld
}

// heldBytes feeds batches to a traces connector made by the factory with
// the default configuration and returns the live heap it holds per pending
// span or span event, and the number pending. With recycled set, the
// connector first assembles and emits 4096 running fixture tasks, so that
// the new tasks are built from recycled parts, as in a sidecar's steady
// state; what stays unused in the free lists is not counted.
func heldBytes(t *testing.T, recycled bool, batches func(yield func(plog.Logs))) (perItem float64, pending int64) {
	// a sink that keeps nothing: what the timer emits meanwhile must not count
	c, err := NewFactory().CreateLogsToTraces(context.Background(), connectortest.NewNopSettings(metadata.Type), createDefaultConfig(), consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, c.Shutdown(context.Background())) }()
	tc := c.(*tracesConnector)
	a := tc.asm

	before := liveHeap()
	if recycled {
		for first := 0; first < 4096; first += 256 {
			require.NoError(t, c.ConsumeLogs(context.Background(), openFixtureTasks(t, 1_000_000+first, 256)))
		}
		tc.mu.Lock()
		a.Flush(time.Now())
		_, _ = a.Take()
		tc.mu.Unlock()
	}
	batches(func(ld plog.Logs) { require.NoError(t, c.ConsumeLogs(context.Background(), ld)) })
	tc.mu.Lock()
	a.Trim()
	tc.mu.Unlock()
	after := liveHeap()
	pending = a.Pending()
	require.Positive(t, pending)
	runtime.KeepAlive(c)
	return float64(int64(after)-int64(before)) / float64(pending), pending
}

func liveHeap() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// The cost of a pending span is the sidecar's price. The target is 512 bytes
// per pending span for open tasks (bench/opentasks_test.go, 100,000 tasks,
// measures it: 464 bytes); this bound is generous so that it only catches a
// regression (a held input buffer, a map per task, a resource per task).
func TestPendingSpanMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates tens of megabytes")
	}
	for _, recycled := range []bool{false, true} {
		parts := "new parts"
		if recycled {
			parts = "recycled parts"
		}
		const tasks, batch = 20000, 1000
		perSpan, pending := heldBytes(t, recycled, func(yield func(plog.Logs)) {
			for first := 0; first < tasks; first += batch {
				yield(openTaskEvents(first, batch))
			}
		})
		require.Equal(t, int64(tasks), pending, "one pending span per open task")
		t.Logf("%d open tasks, %s: %.0f bytes per pending span", tasks, parts, perSpan)
		require.LessOrEqual(t, perSpan, 768.0)

		// running tasks of the fixture: spans and held span events
		const copies = 2000
		perItem, pending := heldBytes(t, recycled, func(yield func(plog.Logs)) {
			for c := 0; c < copies; c += 200 {
				yield(openFixtureTasks(t, c, 200))
			}
		})
		t.Logf("%d running fixture tasks, %s: %d pending spans and span events, %.0f bytes each", copies, parts, pending, perItem)
		require.LessOrEqual(t, perItem, 768.0)
	}
}
