package decode

import (
	"bytes"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/otelcol-tasker/otelcol-tasker/internal/fixtures"
)

func liveHeap() int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// A component downstream may keep one string of a record (a task name in a
// pending span, a metric label) long after the request. It must keep only
// that event's bytes alive, never the whole request's.
func TestKeptStringDoesNotPinTheRequest(t *testing.T) {
	small := fixtures.Lines(fixtures.NativeNDJSON)[4] // a task event of ~330 bytes
	d := New(Options{MaxEvents: 10})

	kept := func() string {
		big := `{"name":"custom.blob","payload":{"blob":"` + strings.Repeat("x", 4<<20) + `"}}`
		body := append(append(bytes.Clone(small), '\n'), big...)
		logs, n, err := d.Decode(Request{Format: NDJSON, Body: body})
		require.NoError(t, err)
		require.Equal(t, 2, n)
		name, _ := logs.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().Map().Get("task_name")
		return name.Str()
	}
	before := liveHeap()
	s := kept()
	grown := liveHeap() - before
	require.Equal(t, "payment_processing", s)
	require.Less(t, grown, int64(1<<20), "keeping one small string kept %d bytes alive", grown)
	runtime.KeepAlive(s)
}
