package taskerevents

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

// referenceValue converts JSON decoded by encoding/json (UseNumber) the way
// the receiver must: integers that fit int64 are Int, other numbers Double,
// null an empty value. It is an independent check of the decoder.
func referenceValue(v any) any {
	switch x := v.(type) {
	case json.Number:
		if !strings.ContainsAny(string(x), ".eE") {
			if n, err := strconv.ParseInt(string(x), 10, 64); err == nil {
				return n
			}
		}
		f, _ := strconv.ParseFloat(string(x), 64)
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = referenceValue(e)
		}
	case []any:
		for i, e := range x {
			x[i] = referenceValue(e)
		}
	}
	return v
}

func referenceMap(t *testing.T, raw []byte) pcommon.Map {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	require.NoError(t, dec.Decode(&m))
	pm := pcommon.NewMap()
	require.NoError(t, pm.FromRaw(referenceValue(m).(map[string]any)))
	return pm
}

// filterPlanted replaces the secrets the fixture plants (api_token and
// password of task contexts) the way the default redaction must.
func filterPlanted(m pcommon.Map) {
	m.Range(func(k string, v pcommon.Value) bool {
		switch {
		case k == "api_token" || k == "password":
			v.SetStr("[FILTERED]")
		case v.Type() == pcommon.ValueTypeMap:
			filterPlanted(v.Map())
		}
		return true
	})
}

// assertSameRecord compares everything of two records but the receive time
// and the attributes named in ignore.
func assertSameRecord(t *testing.T, want, got plog.LogRecord, ignore ...string) {
	t.Helper()
	assert.Equal(t, want.EventName(), got.EventName())
	assert.Equal(t, want.Timestamp(), got.Timestamp(), want.EventName())
	assert.Equal(t, want.TraceID(), got.TraceID(), want.EventName())
	assert.Equal(t, want.SpanID(), got.SpanID(), want.EventName())
	assert.Equal(t, want.SeverityNumber(), got.SeverityNumber())
	assert.Equal(t, want.SeverityText(), got.SeverityText())
	assert.True(t, want.Body().Equal(got.Body()), "body of %s:\nwant %v\ngot  %v", want.EventName(), want.Body().AsRaw(), got.Body().AsRaw())
	wa, ga := pcommon.NewMap(), pcommon.NewMap()
	want.Attributes().CopyTo(wa)
	got.Attributes().CopyTo(ga)
	for _, k := range ignore {
		wa.Remove(k)
		ga.Remove(k)
	}
	assert.Equal(t, wa.AsRaw(), ga.AsRaw(), want.EventName())
}

// postAndCollect posts one body to a fresh receiver and returns its records.
func postAndCollect(t *testing.T, contentType string, body []byte, headers map[string]string) ([]rec, response) {
	t.Helper()
	sink := new(consumertest.LogsSink)
	r := startReceiver(t, testConfig(), sink)
	h := map[string]string{"Content-Type": contentType}
	for k, v := range headers {
		h[k] = v
	}
	resp := do(t, http.MethodPost, r.url(r.cfg.Path), body, h)
	return sinkRecords(sink), resp
}

func TestNativeNDJSONMatchesSummary(t *testing.T) {
	sum := readSummary(t)
	recs, resp := postAndCollect(t, mediaNDJSON, readFixture(t, "sample-native.ndjson"), nil)
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	assert.Equal(t, "application/json", resp.header.Get("Content-Type"))
	assert.Equal(t, sum.Events, resp.accepted(t))
	require.Len(t, recs, sum.Events)

	byName := map[string]int{}
	traces := map[pcommon.TraceID]bool{}
	for _, rc := range recs {
		byName[rc.lr.EventName()]++
		if !rc.lr.TraceID().IsEmpty() {
			traces[rc.lr.TraceID()] = true
		}
		assert.Equal(t, defaultServiceName, rc.service)
		assert.NotZero(t, rc.lr.ObservedTimestamp())
	}
	assert.Equal(t, sum.ByName, byName)
	assert.Len(t, traces, sum.Tasks)
	for _, id := range sum.TaskIDs {
		assert.True(t, traces[event.TraceID("", strconv.Itoa(id))], "no trace for task %d", id)
	}

	// Event by event: name, own timestamp, lossless body, ids.
	lines := fixtureLines(t, "sample-native.ndjson")
	require.Len(t, lines, len(recs))
	for i, line := range lines {
		var ev struct {
			Name      string          `json:"name"`
			Timestamp string          `json:"timestamp"`
			Payload   json.RawMessage `json:"payload"`
		}
		require.NoError(t, json.Unmarshal(line, &ev))
		lr := recs[i].lr
		assert.Equal(t, ev.Name, lr.EventName())
		ts, ok := event.ParseTime(ev.Timestamp)
		require.True(t, ok)
		assert.Equal(t, ts, lr.Timestamp(), "line %d", i+1)
		want := referenceMap(t, ev.Payload)
		filterPlanted(want) // the default config filters the fixture's secrets
		assert.True(t, want.Equal(lr.Body().Map()), "line %d body:\nwant %v\ngot  %v", i+1, want.AsRaw(), lr.Body().AsRaw())
		if taskID, ok := want.Get(event.FieldTaskID); ok && taskID.Type() != pcommon.ValueTypeEmpty {
			assert.Equal(t, event.TraceID("", event.IDString(taskID)), lr.TraceID(), "line %d", i+1)
		} else {
			assert.True(t, lr.TraceID().IsEmpty(), "line %d: an event without task id has no trace", i+1)
			assert.True(t, lr.SpanID().IsEmpty(), "line %d", i+1)
		}
	}
}

func TestNativeArrayEqualsNDJSON(t *testing.T) {
	lines := fixtureLines(t, "sample-native.ndjson")
	ndjson, resp := postAndCollect(t, mediaNDJSON, readFixture(t, "sample-native.ndjson"), nil)
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	array, resp := postAndCollect(t, "application/json; charset=utf-8", jsonArray(lines), nil)
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	assert.Equal(t, len(lines), resp.accepted(t))
	require.Len(t, array, len(ndjson))
	for i := range ndjson {
		assertSameRecord(t, ndjson[i].lr, array[i].lr)
	}
}

func TestFlatEqualsNative(t *testing.T) {
	native, resp := postAndCollect(t, mediaNDJSON, readFixture(t, "sample-native.ndjson"), nil)
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	flat, resp := postAndCollect(t, mediaNDJSON, readFixture(t, "sample-flat.ndjson"), nil)
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	require.Len(t, flat, len(native))
	for i := range native {
		assertSameRecord(t, native[i].lr, flat[i].lr)
	}
}

// cloudEvent is one structured CloudEvent of the fixture.
type cloudEvent struct {
	SpecVersion string          `json:"specversion"`
	Type        string          `json:"type"`
	Source      string          `json:"source"`
	ID          string          `json:"id"`
	Time        string          `json:"time"`
	Data        json.RawMessage `json:"data"`
}

func fixtureCloudEvents(t *testing.T) []cloudEvent {
	var ces []cloudEvent
	require.NoError(t, json.Unmarshal(readFixture(t, "sample-cloudevents-batch.json"), &ces))
	require.NotEmpty(t, ces)
	return ces
}

// nativeEquivalent writes a CloudEvent as the Tasker native event it carries.
func nativeEquivalent(t *testing.T, ce cloudEvent) []byte {
	b, err := json.Marshal(map[string]any{
		"name":      strings.TrimPrefix(ce.Type, defaultTypePrefix),
		"timestamp": ce.Time,
		"payload":   ce.Data,
	})
	require.NoError(t, err)
	return b
}

func TestCloudEventsBatchEqualsNative(t *testing.T) {
	ces := fixtureCloudEvents(t)
	natives := make([][]byte, len(ces))
	for i, ce := range ces {
		natives[i] = nativeEquivalent(t, ce)
	}
	native, resp := postAndCollect(t, mediaNDJSON, bytes.Join(natives, []byte("\n")), nil)
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	batch, resp := postAndCollect(t, mediaCloudEventsBatch, readFixture(t, "sample-cloudevents-batch.json"), nil)
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	assert.Equal(t, len(ces), resp.accepted(t))
	require.Len(t, batch, len(ces))

	tasks := map[pcommon.TraceID]bool{}
	for i, ce := range ces {
		got := batch[i].lr
		assertSameRecord(t, native[i].lr, got, "cloudevents.event_id")
		id, ok := got.Attributes().Get("cloudevents.event_id")
		require.True(t, ok)
		assert.Equal(t, ce.ID, id.Str())
		assert.Equal(t, ce.Source, batch[i].service, "CloudEvents source is the service name")
		tasks[got.TraceID()] = true
	}
	assert.Len(t, tasks, 3, "the batch holds 3 tasks")
}

func TestStructuredAndBinaryCloudEvent(t *testing.T) {
	ces := fixtureCloudEvents(t)
	ce := ces[len(ces)/2]
	native, resp := postAndCollect(t, mediaJSON, nativeEquivalent(t, ce), nil)
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	require.Len(t, native, 1)

	structured, err := json.Marshal(ce)
	require.NoError(t, err)
	single, resp := postAndCollect(t, mediaCloudEvent, structured, nil)
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	require.Len(t, single, 1)
	assertSameRecord(t, native[0].lr, single[0].lr, "cloudevents.event_id")
	assert.Equal(t, ce.Source, single[0].service)

	binary, resp := postAndCollect(t, "application/json", ce.Data, map[string]string{
		"ce-specversion": "1.0",
		"ce-type":        ce.Type,
		"ce-source":      "/tasker/billing%20engine", // percent-encoded, as the HTTP binding asks
		"ce-id":          ce.ID,
		"ce-time":        ce.Time,
	})
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	assert.Equal(t, 1, resp.accepted(t))
	require.Len(t, binary, 1)
	assertSameRecord(t, native[0].lr, binary[0].lr, "cloudevents.event_id")
	id, ok := binary[0].lr.Attributes().Get("cloudevents.event_id")
	require.True(t, ok)
	assert.Equal(t, ce.ID, id.Str())
	assert.Equal(t, "/tasker/billing engine", binary[0].service)
}

func TestIntegerAndStringTaskIDsShareATrace(t *testing.T) {
	for _, ns := range []string{"", "prod-eu"} {
		t.Run("namespace="+ns, func(t *testing.T) {
			sink := new(consumertest.LogsSink)
			cfg := testConfig()
			cfg.TraceNamespace = ns
			r := startReceiver(t, cfg, sink)
			body := `{"name":"step.completed","payload":{"task_id":42,"step_id":7}}
{"name":"step.completed","payload":{"task_id":"42","step_id":"7"}}
{"name":"step.completed","task_id":42.0,"step_id":7}`
			resp := post(t, r, mediaNDJSON, []byte(body))
			require.Equal(t, http.StatusOK, resp.status, string(resp.body))
			recs := sinkRecords(sink)
			require.Len(t, recs, 3)
			want := event.TraceID(ns, "42")
			for i, rc := range recs {
				assert.Equal(t, want, rc.lr.TraceID(), "event %d", i)
				assert.Equal(t, event.StepSpanID("42", "7", 1), rc.lr.SpanID(), "event %d", i)
			}
			// The body keeps each id as it was sent.
			v, _ := recs[0].lr.Body().Map().Get("task_id")
			assert.Equal(t, pcommon.ValueTypeInt, v.Type())
			v, _ = recs[1].lr.Body().Map().Get("task_id")
			assert.Equal(t, pcommon.ValueTypeStr, v.Type())
			v, _ = recs[2].lr.Body().Map().Get("task_id")
			assert.Equal(t, pcommon.ValueTypeDouble, v.Type())
		})
	}
}

func TestLosslessValues(t *testing.T) {
	body := `{"event":"custom.thing","payload":{"i":9007199254740993,"neg":-12,"f":1.5,"whole":100.0,"exp":1e3,
"big":123456789012345678901234567890,"s":"caf\u00e9 \"q\"","t":true,"n":null,"a":[1,"x",null,[2],{"k":false}],"m":{"nested":{"deep":[]}}}}`
	recs, resp := postAndCollect(t, mediaJSON, []byte(body), nil)
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	require.Len(t, recs, 1)
	lr := recs[0].lr
	assert.Equal(t, "custom.thing", lr.EventName())
	m := lr.Body().Map()
	get := func(k string) pcommon.Value {
		v, ok := m.Get(k)
		require.True(t, ok, k)
		return v
	}
	assert.Equal(t, int64(9007199254740993), get("i").Int())
	assert.Equal(t, int64(-12), get("neg").Int())
	assert.Equal(t, 1.5, get("f").Double())
	assert.Equal(t, pcommon.ValueTypeDouble, get("whole").Type())
	assert.Equal(t, 1000.0, get("exp").Double())
	assert.Equal(t, pcommon.ValueTypeDouble, get("big").Type())
	assert.Equal(t, `café "q"`, get("s").Str())
	assert.True(t, get("t").Bool())
	assert.Equal(t, pcommon.ValueTypeEmpty, get("n").Type())
	assert.Equal(t, []any{int64(1), "x", nil, []any{int64(2)}, map[string]any{"k": false}}, get("a").Slice().AsRaw())
	assert.Equal(t, map[string]any{"nested": map[string]any{"deep": []any{}}}, get("m").Map().AsRaw())
	assert.Equal(t, referenceMap(t, []byte(body)).AsRaw()["payload"], m.AsRaw())
	// No task id: valid, no trace, receive time as the event time.
	assert.True(t, lr.TraceID().IsEmpty())
	assert.Equal(t, lr.ObservedTimestamp(), lr.Timestamp())
}

func TestHeadersSetCorrelationAndService(t *testing.T) {
	sink := new(consumertest.LogsSink)
	r := startReceiver(t, testConfig(), sink)
	body := `{"name":"task.completed","payload":{"task_id":1}}
{"name":"task.completed","payload":{"task_id":2,"correlation_id":"tsk_own_abcdef"}}`
	resp := do(t, http.MethodPost, r.url(r.cfg.Path), []byte(body), map[string]string{
		"Content-Type":     mediaNDJSON,
		"X-Correlation-ID": "tsk_hdr_123456",
		"X-Service-Name":   "billing",
	})
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	recs := sinkRecords(sink)
	require.Len(t, recs, 2)
	for _, rc := range recs {
		assert.Equal(t, "billing", rc.service)
	}
	c0, _ := recs[0].lr.Attributes().Get(event.AttrCorrelationID)
	assert.Equal(t, "tsk_hdr_123456", c0.Str())
	c1, _ := recs[1].lr.Attributes().Get(event.AttrCorrelationID)
	assert.Equal(t, "tsk_own_abcdef", c1.Str(), "the event's own correlation id wins")
}

func TestRecordsGroupedByService(t *testing.T) {
	sink := new(consumertest.LogsSink)
	r := startReceiver(t, testConfig(), sink)
	body := `[{"specversion":"1.0","type":"dev.tasker.task.completed","source":"a","id":"1","data":{"task_id":1}},
{"name":"task.completed","payload":{"task_id":2}},
{"specversion":"1.0","type":"dev.tasker.task.completed","source":"b","id":"2","data":{"task_id":3}},
{"specversion":"1.0","type":"dev.tasker.task.completed","source":"a","id":"3","data":{"task_id":4}}]`
	resp := post(t, r, mediaJSON, []byte(body))
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	require.Len(t, sink.AllLogs(), 1)
	ld := sink.AllLogs()[0]
	counts := map[string]int{}
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		rl := ld.ResourceLogs().At(i)
		svc, _ := rl.Resource().Attributes().Get("service.name")
		require.Equal(t, 1, rl.ScopeLogs().Len())
		assert.Equal(t, event.ScopeName, rl.ScopeLogs().At(0).Scope().Name())
		counts[svc.Str()] += rl.ScopeLogs().At(0).LogRecords().Len()
	}
	assert.Equal(t, map[string]int{"a": 2, defaultServiceName: 1, "b": 1}, counts)
}

func TestRedactionAtDecode(t *testing.T) {
	body := `{"name":"task.start_requested","payload":{"task_id":1,"task_context":{"customer_id":7,"API_Token":"sk_live_1","list":[{"client_secret":"s2","ok":1}],"password":{"nested":"hunter2"}}}}`

	sink := new(consumertest.LogsSink)
	r := startReceiver(t, testConfig(), sink)
	resp := post(t, r, "application/json", []byte(body))
	require.Equal(t, http.StatusOK, resp.status)
	got := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().AsRaw()
	assert.Equal(t, map[string]any{"task_id": int64(1), "task_context": map[string]any{
		"customer_id": int64(7), "API_Token": "[FILTERED]",
		"list":     []any{map[string]any{"client_secret": "[FILTERED]", "ok": int64(1)}},
		"password": "[FILTERED]",
	}}, got)

	cfg := testConfig()
	cfg.Redaction.Enabled = false
	raw := new(consumertest.LogsSink)
	r2 := startReceiver(t, cfg, raw)
	require.Equal(t, http.StatusOK, post(t, r2, "application/json", []byte(body)).status)
	task := raw.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().Map()
	ctx, _ := task.Get("task_context")
	tok, _ := ctx.Map().Get("API_Token")
	assert.Equal(t, "sk_live_1", tok.Str(), "redaction off keeps the payload as sent")
}
