// Package bench holds the in-process memory test of the pipeline benchmarks
// (the load generator and the report are commands in its subfolders).
package bench

import (
	"context"
	"encoding/json"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
	"github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter"
)

// OpenTasksResult is what TestOpenTasksMemory measured; scripts/bench.sh
// asks for it as JSON (BENCH_MEMTEST_OUT) and puts it in the report.
type OpenTasksResult struct {
	Tasks                 int     `json:"tasks"`
	PendingSpans          int64   `json:"pending_spans"`
	HeapBeforeBytes       uint64  `json:"heap_before_bytes"`
	HeapAfterBytes        uint64  `json:"heap_after_bytes"`
	BytesPerPendingSpan   float64 `json:"bytes_per_pending_span"`
	HeapObjectsPerSpan    float64 `json:"heap_objects_per_span"`
	FeedSeconds           float64 `json:"feed_seconds"`
	SpansEmittedDuringRun int     `json:"spans_emitted_during_run"`
}

// TestOpenTasksMemory starts many tasks that never finish and measures the
// live heap the eventrouter connector holds for them: the cost of a pending
// span. It checks that every task is held (nothing emitted, nothing lost) and
// reports the figures; the targets are judged in docs/BENCHMARKS.md, not here.
func TestOpenTasksMemory(t *testing.T) {
	tasks := 100_000
	if v := os.Getenv("BENCH_OPEN_TASKS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("BENCH_OPEN_TASKS=%q is not a positive number", v)
		}
		tasks = n
	}
	if testing.Short() {
		tasks = 10_000
	}

	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	f := eventrouter.NewFactory()
	set := connectortest.NewNopSettings(f.Type())
	set.TelemetrySettings = tel.NewTelemetrySettings()
	sink := new(consumertest.TracesSink)
	conn, err := f.CreateLogsToTraces(context.Background(), set, f.CreateDefaultConfig(), sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Shutdown(context.Background()) })

	before := liveHeap()
	start := time.Now()
	const batch = 1000
	for first := 0; first < tasks; first += batch {
		n := min(batch, tasks-first)
		if err := conn.ConsumeLogs(context.Background(), startEvents(first, n)); err != nil {
			t.Fatal(err)
		}
	}
	feed := time.Since(start)
	after := liveHeap()

	if path := os.Getenv("BENCH_MEMTEST_PROFILE"); path != "" {
		// a heap profile while the tasks are held: where the bytes go
		if err := writeHeapProfile(path); err != nil {
			t.Fatal(err)
		}
	}
	pending := pendingSpans(t, tel)
	if pending != int64(tasks) {
		t.Fatalf("pending spans = %d, want one per open task (%d)", pending, tasks)
	}
	if n := sink.SpanCount(); n != 0 {
		t.Fatalf("%d spans emitted while every task is still open", n)
	}
	res := OpenTasksResult{
		Tasks:                 tasks,
		PendingSpans:          pending,
		HeapBeforeBytes:       before.HeapAlloc,
		HeapAfterBytes:        after.HeapAlloc,
		BytesPerPendingSpan:   float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(pending),
		HeapObjectsPerSpan:    float64(int64(after.HeapObjects)-int64(before.HeapObjects)) / float64(pending),
		FeedSeconds:           feed.Seconds(),
		SpansEmittedDuringRun: sink.SpanCount(),
	}
	t.Logf("%d open tasks: %d pending spans, live heap %.1f → %.1f MiB, %.0f bytes and %.1f heap objects per pending span, fed in %v",
		tasks, pending, mib(before.HeapAlloc), mib(after.HeapAlloc), res.BytesPerPendingSpan, res.HeapObjectsPerSpan, feed.Round(time.Millisecond))
	if out := os.Getenv("BENCH_MEMTEST_OUT"); out != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(out, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// startEvents returns n task.start_requested events of tasks first+1 ...
// first+n, normalized as the taskerevents receiver would.
func startEvents(first, n int) plog.Logs {
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
		body.PutStr("task_name", "payment_processing")
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

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func liveHeap() runtime.MemStats {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m
}

func pendingSpans(t *testing.T, tel *componenttest.Telemetry) int64 {
	m, err := tel.GetMetric("otelcol_eventrouter_spans_pending")
	if err != nil {
		t.Fatal(err)
	}
	g, ok := m.Data.(metricdata.Gauge[int64])
	if !ok || len(g.DataPoints) == 0 {
		t.Fatalf("unexpected pending gauge %#v", m.Data)
	}
	return g.DataPoints[0].Value
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }
