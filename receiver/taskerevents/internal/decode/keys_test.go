package decode

import (
	"fmt"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

// keysOf returns the member names of every record body, in order.
func keysOf(logs plog.Logs) [][]string {
	var out [][]string
	lrs := logs.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := 0; i < lrs.Len(); i++ {
		var ks []string
		for k := range lrs.At(i).Body().Map().All() {
			ks = append(ks, k)
		}
		out = append(out, ks)
	}
	return out
}

func within(s string, b []byte) bool {
	p, lo := uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(unsafe.Pointer(&b[0]))
	return p >= lo && p < lo+uintptr(len(b))
}

// Interned member names are owned strings shared by every event, never views
// into the request or the parser: both are reused once Decode returns.
func TestInternedKeysAreOwned(t *testing.T) {
	d := New(Options{Redactor: event.NewRedactor(event.DefaultRedactionConfig())})
	body := []byte("{\"name\":\"a\",\"payload\":{\"task_id\":1,\"custom_field\":\"x\",\"k\xff\":1}}\n" +
		"{\"name\":\"b\",\"payload\":{\"task_id\":2,\"custom_field\":\"y\",\"k\xff\":2}}")
	logs, n, err := d.Decode(Request{Format: NDJSON, Body: body})
	require.NoError(t, err)
	require.Equal(t, 2, n)
	keys := keysOf(logs)
	for _, ks := range keys {
		for _, k := range ks {
			assert.False(t, within(k, body), "key %q is a view into the request", k)
		}
	}
	assert.Same(t, unsafe.StringData(event.FieldTaskID), unsafe.StringData(keys[0][0]), "a seeded name is the constant")
	assert.Same(t, unsafe.StringData(keys[0][1]), unsafe.StringData(keys[1][1]), "a name seen before is not copied again")

	for i := range body {
		body[i] = 'x'
	}
	// The next request overwrites the parser's copy of its input too.
	_, _, err = d.Decode(Request{Format: NDJSON, Body: []byte(`{"name":"c","payload":{"zzzzzzz":1,"yyyyyyyyyyyy":2,"xxx":3}}`)})
	require.NoError(t, err)
	assert.Equal(t, [][]string{{"task_id", "custom_field", "k\uFFFD"}, {"task_id", "custom_field", "k\uFFFD"}}, keys)
}

// A sensitive name keeps its verdict once in the table, at any depth and in
// later requests.
func TestSensitiveKeyFilteredOnceInterned(t *testing.T) {
	d := New(Options{Redactor: event.NewRedactor(event.RedactionConfig{Enabled: true, ExtraKeys: []string{"customer"}})})
	body := `{"name":"a","payload":{"password":"p1","task_context":{"customer_id":5,"api_token":"t","ok":1}}}
{"name":"b","payload":{"password":"p2","task_context":{"customer_id":6,"api_token":"t","ok":2}}}`
	for range 2 {
		logs, _, err := d.Decode(Request{Format: NDJSON, Body: []byte(body)})
		require.NoError(t, err)
		lrs := logs.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		for i := 0; i < lrs.Len(); i++ {
			assert.Equal(t, map[string]any{
				"password":     event.Filtered,
				"task_context": map[string]any{"customer_id": event.Filtered, "api_token": event.Filtered, "ok": int64(i + 1)},
			}, lrs.At(i).Body().Map().AsRaw())
		}
	}
}

// The table never holds more than maxKeyVerdicts names, and keeps its seed
// when it starts over.
func TestKeyTableIsBounded(t *testing.T) {
	d := New(Options{Redactor: event.NewRedactor(event.DefaultRedactionConfig())})
	s := d.pool.Get().(*state)
	for i := range 3 * maxKeyVerdicts {
		k := fmt.Sprintf("field_%d", i)
		if i%7 == 0 {
			k += "_secret"
		}
		e := s.lookup([]byte(k))
		require.Equal(t, k, e.key)
		require.Equal(t, strings.HasSuffix(k, "_secret"), e.sensitive, k)
		require.LessOrEqual(t, s.keys.len(), maxKeyVerdicts)
	}
	for _, k := range taskerKeys {
		e, _, _ := s.keys.find([]byte(k))
		if assert.NotNil(t, e, k) {
			assert.Same(t, unsafe.StringData(k), unsafe.StringData(e.key), "a seeded name is the constant")
		}
	}
}

// Names too long for the table are copied like values and judged each time.
func TestLongKeysAreNotInterned(t *testing.T) {
	d := New(Options{Redactor: event.NewRedactor(event.DefaultRedactionConfig())})
	long := strings.Repeat("k", maxKeyLen) + "_password"
	body := []byte(`{"name":"a","payload":{"` + long + `":"p","` + long[1:] + `":{"x":1}}}`)
	logs, _, err := d.Decode(Request{Format: JSON, Body: body})
	require.NoError(t, err)
	m := logs.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().Map()
	assert.Equal(t, map[string]any{long: event.Filtered, long[1:]: event.Filtered}, m.AsRaw())
	for k := range m.All() {
		assert.False(t, within(k, body), "key %q is a view into the request", k)
	}
	s := d.pool.Get().(*state)
	e, _, _ := s.keys.find([]byte(long))
	assert.Nil(t, e)
}
