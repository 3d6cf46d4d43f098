package eventrouter

import (
	"context"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

// Tasks that came with equal resources share one held copy; each task's
// spans are still emitted with the resource of its first event, redacted.
func TestResourcesSharedBetweenTasks(t *testing.T) {
	sink := new(consumertest.TracesSink)
	c := newTracesOnly(t, createDefaultConfig(), sink)
	ld := plog.NewLogs()
	for r := 0; r < 3; r++ {
		rl := ld.ResourceLogs().AppendEmpty()
		attrs := rl.Resource().Attributes()
		attrs.PutStr("service.name", "svc"+strconv.Itoa(r%2)) // resources 0 and 2 are equal
		attrs.PutStr("deploy_token", "secret-"+strconv.Itoa(r%2))
		lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
		for i := 0; i < 4; i++ {
			lr := lrs.AppendEmpty()
			lr.Body().SetEmptyMap().PutInt("task_id", int64(10*r+i))
			event.Normalize(lr, "task.start_requested", "", receivedAt)
		}
	}
	require.NoError(t, c.ConsumeLogs(context.Background(), ld))

	require.NoError(t, c.Shutdown(context.Background()))
	require.Len(t, sink.AllTraces(), 1)
	// tasks are flushed oldest first; consecutive tasks with one resource
	// share a ResourceSpans: svc0 (tasks 0-3), svc1 (10-13), svc0 (20-23)
	rss := sink.AllTraces()[0].ResourceSpans()
	require.Equal(t, 3, rss.Len())
	spans := 0
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		assert.Equal(t, map[string]any{"service.name": "svc" + strconv.Itoa(i%2), "deploy_token": event.Filtered},
			rs.Resource().Attributes().AsRaw())
		ss := rs.ScopeSpans().At(0).Spans()
		require.Equal(t, 4, ss.Len())
		for j := 0; j < ss.Len(); j++ {
			task, ok := ss.At(j).Attributes().Get(event.AttrTaskID)
			require.True(t, ok)
			n, err := strconv.Atoi(task.Str())
			require.NoError(t, err)
			assert.Equal(t, i, n/10, "task %d under the resource of its events", n)
			spans++
		}
	}
	assert.Equal(t, 12, spans)
}

// Attributes of keys the router does not know keep key and value in one
// string; they merge and are emitted like any other.
func TestUnknownAttributesOnSpans(t *testing.T) {
	sink := new(consumertest.TracesSink)
	c := newTracesOnly(t, createDefaultConfig(), sink)
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for i, name := range []string{"task.start_requested", "task.completed"} {
		lr := lrs.AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2025, 11, 25, 20, 0, i, 0, time.UTC)))
		lr.Body().SetEmptyMap().PutInt("task_id", 7)
		event.Normalize(lr, name, "", receivedAt)
		lr.Attributes().PutStr("tasker.custom.tag", "v"+strconv.Itoa(i)) // the terminal event's wins
		lr.Attributes().PutInt("db.custom.rows", int64(40+i))
		lr.Attributes().PutDouble("tasker.custom.ratio", 0.5)
		lr.Attributes().PutBool("tasker.custom.flag", true)
		lr.Attributes().PutStr("tasker.custom.secret_token", "s3cr3t")
		lr.Attributes().PutStr("other.attr", "not copied")
	}
	require.NoError(t, c.ConsumeLogs(context.Background(), ld))
	require.NoError(t, c.Shutdown(context.Background()))
	spans := allSpans(sink.AllTraces())
	require.Len(t, spans, 1)
	got := spans[0].Attributes().AsRaw()
	assert.Equal(t, "v1", got["tasker.custom.tag"])
	assert.Equal(t, int64(41), got["db.custom.rows"])
	assert.Equal(t, 0.5, got["tasker.custom.ratio"])
	assert.Equal(t, true, got["tasker.custom.flag"])
	assert.Equal(t, event.Filtered, got["tasker.custom.secret_token"])
	assert.NotContains(t, got, "other.attr")
}

// Emitted spans' strings are views into their task's buffer: reusing the
// parts of released tasks must never change a span already emitted.
func TestEmittedSpansOutliveTheirTask(t *testing.T) {
	c := newTracesOnly(t, createDefaultConfig(), new(consumertest.TracesSink))
	defer func() { require.NoError(t, c.Shutdown(context.Background())) }()
	release := func(ld plog.Logs) ptrace.Traces {
		require.NoError(t, c.ConsumeLogs(context.Background(), ld))
		c.mu.Lock()
		defer c.mu.Unlock()
		c.asm.Flush(time.Now())
		td, _ := c.asm.Take()
		return td
	}
	var m ptrace.JSONMarshaler
	first := release(openFixtureTasks(t, 0, 20))
	require.Positive(t, first.SpanCount())
	want, err := m.MarshalTraces(first)
	require.NoError(t, err)

	for round := 1; round <= 3; round++ {
		next := release(openFixtureTasks(t, 1000*round, 200))
		require.Equal(t, 10*first.SpanCount(), next.SpanCount())
	}
	runtime.GC()
	got, err := m.MarshalTraces(first)
	require.NoError(t, err)
	assert.JSONEq(t, string(want), string(got))
}
