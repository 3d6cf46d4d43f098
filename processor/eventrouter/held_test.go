package eventrouter

import (
	"context"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/xpdata/entity"

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

	c.asm.mu.Lock()
	distinct, refs := 0, 0
	for _, e := range c.asm.resources.m {
		for ; e != nil; e = e.next {
			distinct++
			refs += e.refs
		}
	}
	c.asm.mu.Unlock()
	assert.Equal(t, 2, distinct, "one held resource per distinct resource")
	assert.Equal(t, 12, refs, "one reference per task")

	require.NoError(t, c.Shutdown(context.Background()))
	assert.Empty(t, c.asm.resources.m, "released with the last task")
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

func TestResTable(t *testing.T) {
	f := newKeyFilter(event.DefaultRedactionConfig())
	tab := newResTable()
	res := func(kv ...string) pcommon.Resource {
		r := pcommon.NewResource()
		for i := 0; i < len(kv); i += 2 {
			r.Attributes().PutStr(kv[i], kv[i+1])
		}
		return r
	}
	hold := func(r pcommon.Resource) *sharedRes {
		e := tab.lookup(r, f)
		e.refs++
		return e
	}
	a := hold(res("service.name", "a", "host", "h1"))
	assert.Same(t, a, hold(res("service.name", "a", "host", "h1")), "equal resources share one entry")
	assert.Equal(t, 2, a.refs)
	b := hold(res("service.name", "b"))
	assert.NotSame(t, a, b)
	dropped := res("service.name", "b")
	dropped.SetDroppedAttributesCount(1)
	assert.NotSame(t, b, hold(dropped), "the dropped count is part of the resource")

	withRefs := res("service.name", "b")
	entity.ResourceEntityRefs(withRefs).AppendEmpty().SetType("service")
	e := hold(withRefs)
	assert.NotSame(t, b, e, "entity references are never shared")
	assert.Equal(t, 1, entity.ResourceEntityRefs(e.res).Len())
	tab.release(e)

	tab.release(b)
	assert.NotSame(t, b, tab.lookup(res("service.name", "b"), f), "the last release removes an entry")
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

func TestSymbolsAreBounded(t *testing.T) {
	var a assembler
	st := &taskState{}
	first := a.intern(st, "first")
	require.NotZero(t, first.n&symBit, "a symbol while there is room")
	var held ref
	for i := 0; i < 2*maxSymbols; i++ {
		s := "s" + strconv.Itoa(i)
		r := a.intern(st, s)
		require.Equal(t, s, a.str(st, r))
		require.LessOrEqual(t, len(a.syms.list), maxSymbols)
		if i == 2*maxSymbols-1 {
			held = r
		}
	}
	assert.Equal(t, "first", a.str(st, first), "symbols handed out stay valid")
	assert.Zero(t, held.n&symBit, "once the table is full, strings are held by their task")
	assert.Equal(t, "s4096", a.syms.bytes([]byte("s4096")), "a full table copies")
	assert.Equal(t, "first", a.syms.bytes([]byte("first")))
	assert.Equal(t, ref{}, a.intern(st, ""))

	var b assembler
	long := strings.Repeat("x", maxSymbolLen+1)
	r := b.intern(st, long)
	assert.Zero(t, r.n&symBit, "a long string is held by its task")
	assert.Equal(t, long, b.str(st, r))
	assert.Empty(t, b.syms.list)
}

// The held forms are kept free of Go pointers, so that the garbage
// collector does not scan the pending state (see held.go).
func TestHeldFormsHaveNoPointers(t *testing.T) {
	for _, v := range []any{span{}, attr{}, heldEvent{}, orchMark{}, spanExtra{}, ref{}} {
		typ := reflect.TypeOf(v)
		assert.False(t, hasPointers(typ), "%s holds a pointer", typ)
	}
}

func hasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.String, reflect.Slice, reflect.Map, reflect.Interface,
		reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return true
	case reflect.Array:
		return t.Len() > 0 && hasPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if hasPointers(t.Field(i).Type) {
				return true
			}
		}
	}
	return false
}

// Emitted spans' strings are views into their task's buffer: reusing the
// parts of released tasks must never change a span already emitted.
func TestEmittedSpansOutliveTheirTask(t *testing.T) {
	c := newTracesOnly(t, createDefaultConfig(), new(consumertest.TracesSink))
	defer func() { require.NoError(t, c.Shutdown(context.Background())) }()
	release := func(ld plog.Logs) ptrace.Traces {
		require.NoError(t, c.ConsumeLogs(context.Background(), ld))
		c.asm.flush(time.Now())
		c.asm.mu.Lock()
		defer c.asm.mu.Unlock()
		td, _ := c.asm.take()
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
