package decode

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
	"github.com/otelcol-tasker/otelcol-tasker/internal/fixtures"
)

func decodeOne(t *testing.T, format Format, body string) (plog.Logs, int, error) {
	t.Helper()
	return New(Options{TypePrefix: "dev.tasker.", MaxEvents: 100}).Decode(Request{Format: format, Body: []byte(body), Service: "svc"})
}

func firstBody(t *testing.T, logs plog.Logs) pcommon.Map {
	t.Helper()
	require.Equal(t, 1, logs.LogRecordCount())
	return logs.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().Map()
}

func TestJSONNumberGrammar(t *testing.T) {
	for in, want := range map[string][2]bool{ // isInt, ok
		"0": {true, true}, "-0": {true, true}, "12": {true, true}, "1.5": {false, true}, "1e9": {false, true},
		"-1.5E-3": {false, true}, "01": {false, false}, "1.": {false, false}, ".5": {false, false}, "-": {false, false},
		"1e": {false, false}, "+1": {false, false}, "NaN": {false, false}, "Inf": {false, false}, "1.2.3": {false, false}, "": {false, false},
	} {
		isInt, ok := jsonNumber([]byte(in))
		assert.Equal(t, want[1], ok, in)
		if ok {
			assert.Equal(t, want[0], isInt, in)
		}
	}
}

func TestIntegerBounds(t *testing.T) {
	body := fmt.Sprintf(`{"name":"x","payload":{"max":%d,"min":%d,"over":9223372036854775808,"under":-9223372036854775809}}`, int64(math.MaxInt64), int64(math.MinInt64))
	logs, _, err := decodeOne(t, JSON, body)
	require.NoError(t, err)
	m := firstBody(t, logs)
	v, _ := m.Get("max")
	assert.Equal(t, int64(math.MaxInt64), v.Int())
	v, _ = m.Get("min")
	assert.Equal(t, int64(math.MinInt64), v.Int())
	v, _ = m.Get("over")
	assert.Equal(t, pcommon.ValueTypeDouble, v.Type())
	v, _ = m.Get("under")
	assert.Equal(t, pcommon.ValueTypeDouble, v.Type())
	_, _, err = decodeOne(t, JSON, `{"name":"x","payload":{"v":1e999}}`)
	assert.ErrorContains(t, err, "out of range")
}

func TestSplitArrayStringsAndEscapes(t *testing.T) {
	body := `[ {"name":"a","payload":{"s":"] , [ { \" \\"}} ,
	{"name":"b\\","payload":{}} ]`
	logs, n, err := decodeOne(t, JSON, body)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	lrs := logs.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	assert.Equal(t, "a", lrs.At(0).EventName())
	s, _ := lrs.At(0).Body().Map().Get("s")
	assert.Equal(t, `] , [ { " \`, s.Str())
	assert.Equal(t, `b\`, lrs.At(1).EventName())
}

func TestLargeObjectDeduplicatesKeys(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"name":"x","payload":{`)
	for i := range 1000 {
		fmt.Fprintf(&b, `"k%d":%d,`, i%600, i)
	}
	b.WriteString(`"nested":{"a":[1,{"b":2}]}}}`)
	logs, _, err := decodeOne(t, JSON, b.String())
	require.NoError(t, err)
	m := firstBody(t, logs)
	assert.Equal(t, 601, m.Len())
	v, _ := m.Get("k5")
	assert.Equal(t, int64(605), v.Int(), "the last duplicate wins, as with encoding/json")
	v, _ = m.Get("k599")
	assert.Equal(t, int64(599), v.Int())
	v, _ = m.Get("nested")
	assert.Equal(t, map[string]any{"a": []any{int64(1), map[string]any{"b": int64(2)}}}, v.Map().AsRaw())
}

func TestFlatLargeObjectSkipsName(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"event_name":"custom.wide"`)
	for i := range 200 {
		fmt.Fprintf(&b, `,"f%d":%d`, i, i)
	}
	b.WriteString(`}`)
	logs, _, err := decodeOne(t, NDJSON, b.String())
	require.NoError(t, err)
	m := firstBody(t, logs)
	assert.Equal(t, 200, m.Len())
	_, ok := m.Get("event_name")
	assert.False(t, ok)
}

func TestInvalidUTF8IsReplaced(t *testing.T) {
	logs, _, err := decodeOne(t, JSON, "{\"name\":\"x\xff\",\"payload\":{\"k\xfe\":\"v\xc3\"}}")
	require.NoError(t, err)
	lr := logs.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	assert.Equal(t, "x\uFFFD", lr.EventName())
	v, ok := lr.Body().Map().Get("k\uFFFD")
	require.True(t, ok)
	assert.Equal(t, "v\uFFFD", v.Str())
}

func TestArenaFallsBackWhenFull(t *testing.T) {
	var a arena
	a.init(4)
	s1 := a.str([]byte("abc"))
	s2 := a.str([]byte("defgh")) // does not fit: plain copy
	s3 := a.str([]byte("i"))
	assert.Equal(t, []string{"abc", "defgh", "i"}, []string{s1, s2, s3})
	assert.Equal(t, 4, cap(a.buf), "the arena never grows")
}

func TestBinaryCloudEvent(t *testing.T) {
	d := New(Options{TypePrefix: "dev.tasker."})
	logs, n, err := d.Decode(Request{Format: BinaryCloudEvent, Body: []byte(`{"task_id":3}`), Service: "svc", Binary: Binary{
		SpecVersion: "1.0", Type: "dev.tasker.task.completed", Source: "src", ID: "e1", Time: "2025-11-25T19:46:40.5Z", Subject: "task/3",
	}})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	rl := logs.ResourceLogs().At(0)
	svc, _ := rl.Resource().Attributes().Get(AttrServiceName)
	assert.Equal(t, "src", svc.Str())
	lr := rl.ScopeLogs().At(0).LogRecords().At(0)
	assert.Equal(t, "task.completed", lr.EventName())
	assert.Equal(t, "2025-11-25T19:46:40.5Z", lr.Timestamp().AsTime().Format("2006-01-02T15:04:05.999Z"))
	subj, _ := lr.Attributes().Get(AttrCloudEventSubj)
	assert.Equal(t, "task/3", subj.Str())

	_, _, err = d.Decode(Request{Format: BinaryCloudEvent, Body: []byte(`[1]`), Binary: Binary{SpecVersion: "1.0", Type: "x"}})
	assert.ErrorContains(t, err, "data must be a JSON object")
	_, _, err = d.Decode(Request{Format: BinaryCloudEvent, Binary: Binary{SpecVersion: "1.0", Type: "dev.tasker."}})
	assert.ErrorContains(t, err, "names no event")
}

// fixture returns one of the embedded shared samples.
func fixture(tb testing.TB, name string) []byte {
	b, ok := fixtures.ByName(name)
	if !ok {
		tb.Fatalf("no fixture named %s", name)
	}
	return b
}

// FuzzDecode feeds arbitrary bodies in every format to the decoder. It must
// never panic, only refuse with its own error types, and what it accepts
// must respect the limits and hold valid UTF-8 only.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"sample-native.ndjson", "sample-flat.ndjson"} {
		for _, line := range strings.Split(string(fixture(f, name)), "\n") {
			if line != "" {
				f.Add(uint8(JSON), []byte(line))
			}
		}
	}
	f.Add(uint8(NDJSON), fixture(f, "sample-native.ndjson")[:4096])
	batch := fixture(f, "sample-cloudevents-batch.json")
	f.Add(uint8(CloudEventBatch), batch)
	f.Add(uint8(JSON), batch[:2000])
	f.Add(uint8(CloudEvent), []byte(`{"specversion":"1.0","type":"dev.tasker.step.completed","source":"s","id":"1","time":"2025-11-25T19:46:40Z","data":{"task_id":1}}`))
	f.Add(uint8(BinaryCloudEvent), []byte(`{"task_id":1,"step_id":"2"}`))
	f.Add(uint8(JSON), []byte(`[{"name":"a","payload":{"x":[1,2,{"y":null}]}},{"event":"b","k":"v"}]`))

	f.Add(uint8(CloudEvent), []byte(`{"specversion":"1.0","type":"t","source":"postgres://u:pw@h/db","id":"Bearer abcdefghij","data":{"url":"redis://:p@c"}}`))

	const maxDepth, maxEvents, maxAttr = 8, 50, 64
	d := New(Options{TypePrefix: "dev.tasker.", MaxDepth: maxDepth, MaxEvents: maxEvents,
		MaxContextAttribute: maxAttr, Redactor: event.NewRedactor(event.DefaultRedactionConfig())})
	f.Fuzz(func(t *testing.T, format uint8, body []byte) {
		req := Request{Format: Format(format%5 + 1), Body: body, Service: "svc"}
		if req.Format == BinaryCloudEvent {
			req.Binary = Binary{SpecVersion: "1.0", Type: "dev.tasker.x", Source: "src"}
		}
		logs, n, err := d.Decode(req)
		if err != nil {
			var de *Error
			var tm *TooManyEventsError
			if !errors.As(err, &de) && !errors.As(err, &tm) {
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			if !utf8.ValidString(err.Error()) {
				t.Fatalf("error message is not UTF-8: %q", err.Error())
			}
			return
		}
		if n != logs.LogRecordCount() || n > maxEvents {
			t.Fatalf("%d events, %d records", n, logs.LogRecordCount())
		}
		rls := logs.ResourceLogs()
		for i := 0; i < rls.Len(); i++ {
			lrs := rls.At(i).ScopeLogs().At(0).LogRecords()
			for j := 0; j < lrs.Len(); j++ {
				lr := lrs.At(j)
				if lr.EventName() == "" || !utf8.ValidString(lr.EventName()) {
					t.Fatalf("bad event name %q", lr.EventName())
				}
				if lr.Body().Type() != pcommon.ValueTypeMap {
					t.Fatalf("body is %s", lr.Body().Type())
				}
				checkValue(t, lr.Body(), 0, maxDepth)
				checkScrubbed(t, lr.Body())
				for k, v := range lr.Attributes().All() {
					if strings.HasPrefix(k, "cloudevents.") && len(v.Str()) > maxAttr {
						t.Fatalf("%s is %d bytes, beyond %d", k, len(v.Str()), maxAttr)
					}
					checkScrubbed(t, v)
				}
			}
			svc, _ := rls.At(i).Resource().Attributes().Get(AttrServiceName)
			if len(svc.Str()) > maxAttr {
				t.Fatalf("service.name is %d bytes, beyond %d", len(svc.Str()), maxAttr)
			}
			checkScrubbed(t, svc)
		}
	})
}

// checkScrubbed fails when a string in v still holds a credential that
// event.Scrub would filter.
func checkScrubbed(t *testing.T, v pcommon.Value) {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		if _, found := event.Scrub(v.Str()); found {
			t.Fatalf("a credential is left in %q", v.Str())
		}
	case pcommon.ValueTypeMap:
		for _, e := range v.Map().All() {
			checkScrubbed(t, e)
		}
	case pcommon.ValueTypeSlice:
		for i := 0; i < v.Slice().Len(); i++ {
			checkScrubbed(t, v.Slice().At(i))
		}
	}
}

// checkValue walks a decoded value: strings and keys are valid UTF-8 and
// nesting stays within maxDepth (the body map being level 1).
func checkValue(t *testing.T, v pcommon.Value, level, maxDepth int) {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		if !utf8.ValidString(v.Str()) {
			t.Fatalf("invalid UTF-8 %q", v.Str())
		}
	case pcommon.ValueTypeMap:
		if level+1 > maxDepth {
			t.Fatalf("nesting %d beyond %d", level+1, maxDepth)
		}
		for k, e := range v.Map().All() {
			if !utf8.ValidString(k) {
				t.Fatalf("invalid UTF-8 key %q", k)
			}
			checkValue(t, e, level+1, maxDepth)
		}
	case pcommon.ValueTypeSlice:
		if level+1 > maxDepth {
			t.Fatalf("nesting %d beyond %d", level+1, maxDepth)
		}
		for i := 0; i < v.Slice().Len(); i++ {
			checkValue(t, v.Slice().At(i), level+1, maxDepth)
		}
	}
}

// The members that decide how an event is read may come in any order; the
// decoder reads each member as the ones before it tell, and reads the body
// again when a later one proves that wrong.
func TestMemberOrder(t *testing.T) {
	for _, tc := range []struct {
		body, name string
		want       map[string]any
	}{
		{`{"event":"b","name":"a","x":1}`, "a", map[string]any{"event": "b", "x": int64(1)}},
		{`{"x":1,"event_name":"c","event":"b","name":"a","y":2}`, "a", map[string]any{"x": int64(1), "event_name": "c", "event": "b", "y": int64(2)}},
		{`{"event":"b","x":1,"event":"c"}`, "b", map[string]any{"x": int64(1)}},
		{`{"name":"a","x":1,"payload":{"y":2}}`, "a", map[string]any{"y": int64(2)}},
		{`{"name":"a","payload":{"y":2},"payload":{"z":3}}`, "a", map[string]any{"y": int64(2)}},
		{`{"name":"a","payload":{"a":1,"a":2,"b":3,"a":null}}`, "a", map[string]any{"a": nil, "b": int64(3)}},
		{`{"name":"a","timestamp":"2025-11-25T19:46:40Z","x":1}`, "a", map[string]any{"timestamp": "2025-11-25T19:46:40Z", "x": int64(1)}},
		{`{"timestamp":"2025-11-25T19:46:40Z","type":"t","name":"a"}`, "a", map[string]any{"timestamp": "2025-11-25T19:46:40Z", "type": "t"}},
		{`{"name":"n","payload":{"p":1},"specversion":"1.0","type":"dev.tasker.t","data":{"d":2}}`, "t", map[string]any{"d": int64(2)}},
		{`{"data":{"d":1},"type":"dev.tasker.t","specversion":"1.0"}`, "t", map[string]any{"d": int64(1)}},
		{`{"name":"n","x":{"p":1},"specversion":"1.0","type":"dev.tasker.t"}`, "t", map[string]any{}},
		{`{"name":"n","payload":{"v":1e999},"specversion":"1.0","type":"dev.tasker.t"}`, "t", map[string]any{}},
	} {
		logs, _, err := decodeOne(t, JSON, tc.body)
		require.NoError(t, err, tc.body)
		lr := logs.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
		assert.Equal(t, tc.name, lr.EventName(), tc.body)
		assert.Equal(t, tc.want, lr.Body().Map().AsRaw(), tc.body)
		var keys []string
		for k := range lr.Body().Map().All() {
			keys = append(keys, k)
		}
		assert.True(t, isDocumentOrder(tc.body, keys), "%s: members out of order: %v", tc.body, keys)
	}
}

// isDocumentOrder tells whether keys appear in body in this order.
func isDocumentOrder(body string, keys []string) bool {
	at := 0
	for _, k := range keys {
		i := strings.Index(body[at:], `"`+k+`"`)
		if i < 0 {
			return false
		}
		at += i + len(k) + 2
	}
	return true
}
