package sinktest_test

// This file regenerates the golden inputs in testdata/golden (it does not
// run otherwise): go test ./internal/sink/sinktest -run TestRegenerateGoldenInputs -regenerate-inputs
// then the exporters' expected files: go test ./exporter/... -run TestGolden -update

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
	"github.com/otelcol-tasker/otelcol-tasker/internal/fixtures"
	"github.com/otelcol-tasker/otelcol-tasker/internal/flatten/flattentest"
	"github.com/otelcol-tasker/otelcol-tasker/internal/sink/sinktest"
	"github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter"
)

var regenerate = flag.Bool("regenerate-inputs", false, "rewrite testdata/golden/*/{traces,metrics,logs}.json")

func TestRegenerateGoldenInputs(t *testing.T) {
	if !*regenerate {
		t.Skip("run with -regenerate-inputs")
	}
	out := filepath.Join("testdata", "golden")
	all := fixtures.NativeEvents()
	writeRouted(t, filepath.Join(out, "fixture"), all, false)
	writeRouted(t, filepath.Join(out, "failed-task-retries"), eventsOfTask(all, 2), true)
	writeRouted(t, filepath.Join(out, "redaction"), withSensitiveKeys(eventsOfTask(all, 1)), true)
	writeEdgeCases(t, out)
}

// eventsOfTask returns the fixture events of one task: task 2 fails after
// four retries, task 1 completes; both carry the planted secrets.
func eventsOfTask(all []fixtures.Event, id int64) []fixtures.Event {
	var out []fixtures.Event
	for _, ev := range all {
		if v, ok := ev.Payload["task_id"].(int64); ok && v == id {
			out = append(out, ev)
		}
	}
	return out
}

// withSensitiveKeys adds a "request" object with keys the default redaction
// filters (at several depths, in several cases, inside a list) and keys it
// keeps, to the first event and to every step.completed event. Every value
// to be filtered contains sinktest.PlantedMarker.
func withSensitiveKeys(events []fixtures.Event) []fixtures.Event {
	out := make([]fixtures.Event, len(events))
	for i, ev := range events {
		out[i] = ev
		if i > 0 && ev.Name != "step.completed" {
			continue
		}
		payload := make(map[string]any, len(ev.Payload)+1)
		for k, v := range ev.Payload {
			payload[k] = v
		}
		m := sinktest.PlantedMarker
		payload["request"] = map[string]any{
			"headers":       map[string]any{"Authorization": "Bearer " + m + "1", "Cookie": "session=" + m + "2", "X-Request-Id": "req-42"},
			"user":          map[string]any{"ssn": m + "3", "otp_code": m + "4", "name": "Zoë Ångström"},
			"client_secret": m + "5",
			"Api_Key":       m + "6",
			"tokens":        []any{map[string]any{"refresh_token": m + "7", "scope": "read"}},
			"salted_hash":   m + "8",
			"passwordless":  true,
			"monkey":        "not a key: kept",
		}
		out[i].Payload = payload
	}
	return out
}

var receivedAt = pcommon.NewTimestampFromTime(time.Date(2025, 11, 25, 20, 0, 0, 0, time.UTC))

// writeRouted runs events, normalized as the taskerevents receiver does, in
// batches of 50 through the eventrouter with its default config, and writes
// what its three sides emit, each merged into one batch.
func writeRouted(t *testing.T, dir string, events []fixtures.Event, indent bool) {
	ctx := context.Background()
	f := eventrouter.NewFactory()
	set := connectortest.NewNopSettings(f.Type())
	cfg := f.CreateDefaultConfig()
	traces, metrics, logs := new(consumertest.TracesSink), new(consumertest.MetricsSink), new(consumertest.LogsSink)
	tc, err := f.CreateLogsToTraces(ctx, set, cfg, traces)
	require.NoError(t, err)
	mc, err := f.CreateLogsToMetrics(ctx, set, cfg, metrics)
	require.NoError(t, err)
	lc, err := f.CreateLogsToLogs(ctx, set, cfg, logs)
	require.NoError(t, err)
	conns := []connector.Logs{tc, mc, lc}
	for _, c := range conns {
		require.NoError(t, c.Start(ctx, componenttest.NewNopHost()))
	}
	for i := 0; i < len(events); i += 50 {
		ld := plog.NewLogs()
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", "tasker-app")
		lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
		for _, ev := range events[i:min(i+50, len(events))] {
			lr := lrs.AppendEmpty()
			putSorted(lr.Body().SetEmptyMap(), ev.Payload)
			if ts, ok := event.ParseTime(ev.Timestamp); ok {
				lr.SetTimestamp(ts)
			}
			event.Normalize(lr, ev.Name, "", receivedAt)
		}
		for _, c := range conns {
			in := plog.NewLogs()
			ld.CopyTo(in)
			require.NoError(t, c.ConsumeLogs(ctx, in))
		}
	}
	for _, c := range conns {
		require.NoError(t, c.Shutdown(ctx))
	}
	td := ptrace.NewTraces()
	for _, x := range traces.AllTraces() {
		x.ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
	}
	md := pmetric.NewMetrics()
	for _, x := range metrics.AllMetrics() {
		x.ResourceMetrics().MoveAndAppendTo(md.ResourceMetrics())
	}
	pinTimestamps(md)
	lo := plog.NewLogs()
	for _, x := range logs.AllLogs() {
		x.ResourceLogs().MoveAndAppendTo(lo.ResourceLogs())
	}
	writeAll(t, dir, td, md, lo, indent)
}

// putSorted puts a decoded JSON object into m with its keys sorted (a Go
// map has no order; the inputs should not change when regenerated).
func putSorted(m pcommon.Map, raw map[string]any) {
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if sub, ok := raw[k].(map[string]any); ok {
			putSorted(m.PutEmptyMap(k), sub)
			continue
		}
		if err := m.PutEmpty(k).FromRaw(raw[k]); err != nil {
			panic(err)
		}
	}
}

// pinTimestamps replaces the router's wall-clock metric timestamps (when a
// series started, when it was emitted) with fixed ones, so that
// regenerating the inputs changes nothing.
func pinTimestamps(md pmetric.Metrics) {
	start, now := receivedAt, receivedAt+pcommon.Timestamp(time.Minute)
	rms := md.ResourceMetrics()
	for i := range rms.Len() {
		sms := rms.At(i).ScopeMetrics()
		for j := range sms.Len() {
			ms := sms.At(j).Metrics()
			for k := range ms.Len() {
				m := ms.At(k)
				switch m.Type() {
				case pmetric.MetricTypeSum:
					for _, dp := range m.Sum().DataPoints().All() {
						dp.SetStartTimestamp(start)
						dp.SetTimestamp(now)
					}
				case pmetric.MetricTypeGauge:
					for _, dp := range m.Gauge().DataPoints().All() {
						dp.SetStartTimestamp(start)
						dp.SetTimestamp(now)
					}
				case pmetric.MetricTypeHistogram:
					for _, dp := range m.Histogram().DataPoints().All() {
						dp.SetStartTimestamp(start)
						dp.SetTimestamp(now)
					}
				default:
					panic("pinTimestamps: the router emitted a " + m.Type().String())
				}
			}
		}
	}
}

// writeJSON writes b, indented for reading unless the case is large.
func writeJSON(t *testing.T, path string, b []byte, indent bool) {
	var buf bytes.Buffer
	if indent {
		require.NoError(t, json.Indent(&buf, b, "", "  "))
	} else {
		buf.Write(b)
	}
	buf.WriteByte('\n')
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
}

// writeAll writes the three batches, after checking that each reads back
// to the same JSON (NaN and infinities included).
func writeAll(t *testing.T, dir string, td ptrace.Traces, md pmetric.Metrics, ld plog.Logs, indent bool) {
	require.NoError(t, os.MkdirAll(dir, 0o755))
	b, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	require.NoError(t, err)
	back, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(b)
	require.NoError(t, err)
	b2, _ := (&ptrace.JSONMarshaler{}).MarshalTraces(back)
	require.Equal(t, string(b), string(b2))
	writeJSON(t, filepath.Join(dir, "traces.json"), b, indent)
	b, err = (&pmetric.JSONMarshaler{}).MarshalMetrics(md)
	require.NoError(t, err)
	mback, err := (&pmetric.JSONUnmarshaler{}).UnmarshalMetrics(b)
	require.NoError(t, err)
	b2, _ = (&pmetric.JSONMarshaler{}).MarshalMetrics(mback)
	require.Equal(t, string(b), string(b2))
	writeJSON(t, filepath.Join(dir, "metrics.json"), b, indent)
	b, err = (&plog.JSONMarshaler{}).MarshalLogs(ld)
	require.NoError(t, err)
	lback, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(b)
	require.NoError(t, err)
	b2, _ = (&plog.JSONMarshaler{}).MarshalLogs(lback)
	require.Equal(t, string(b), string(b2))
	writeJSON(t, filepath.Join(dir, "logs.json"), b, indent)
}

// strs are values that need care in JSON or CSV.
var strs = map[string]string{
	"formula.eq":    "=SUM(A1:A9)",
	"formula.plus":  "+1",
	"formula.minus": "-1",
	"formula.at":    "@cmd",
	"formula.tab":   "\tleading tab",
	"formula.cr":    "\rleading cr",
	"csv.comma":     "a,b",
	"csv.semicolon": "a;b",
	"csv.quote":     `he said "no"`,
	"csv.crlf":      "line1\r\nline2",
	"csv.spaces":    "  padded  ",
	"json.control":  "nul\x00 bell\x07 esc\x1b del\x7f",
	"json.html":     "<script>&amp;</script>",
	"json.seps":     "line\u2028para\u2029end",
	"utf8.accents":  "Zürich, Genève, São Paulo",
	"utf8.cjk":      "東京・서울・北京",
	"utf8.rtl":      "שלום مرحبا",
	"utf8.emoji":    "🚀 done ✅ 👩‍💻",
	"utf8.combined": "e\u0301 (e + combining acute)",
	"empty":         "",
}

// putEdge puts every edge value into m, keys sorted within each group.
func putEdge(m pcommon.Map) {
	keys := make([]string, 0, len(strs))
	for k := range strs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		m.PutStr(k, strs[k])
	}
	m.PutInt("int.max", math.MaxInt64)
	m.PutInt("int.min", math.MinInt64)
	m.PutInt("int.zero", 0)
	m.PutDouble("double.nan", math.NaN())
	m.PutDouble("double.inf", math.Inf(1))
	m.PutDouble("double.neginf", math.Inf(-1))
	m.PutDouble("double.negzero", math.Copysign(0, -1))
	m.PutDouble("double.max", math.MaxFloat64)
	m.PutDouble("double.smallest", math.SmallestNonzeroFloat64)
	m.PutDouble("double.integral", 3)
	m.PutEmptyBytes("bytes.empty")
	m.PutEmptyMap("map.empty")
	m.PutEmptySlice("slice.empty")
	m.PutEmptyMap("map.deep").PutEmptyMap("a").PutEmptyMap("b").PutEmptySlice("c").AppendEmpty().SetEmptyMap().PutStr("ü", "\"")
	m.PutEmpty("empty.value")
	m.PutStr("ключ, with \"quotes\"\nand newline", "key needs escaping too")
}

// writeEdgeCases writes the hand-built cases.
func writeEdgeCases(t *testing.T, out string) {
	writeAll(t, filepath.Join(out, "all-value-types"), flattentest.Traces(3), flattentest.Metrics(1), flattentest.Logs(3), true)
	writeAll(t, filepath.Join(out, "edge-values"), edgeTraces(), edgeMetrics(), edgeLogs(), true)

	// empty-batches: resources and scopes but no records.
	td := ptrace.NewTraces()
	td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	md := pmetric.NewMetrics()
	md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty()
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	writeAll(t, filepath.Join(out, "empty-batches"), td, md, ld, true)
}

func ts(d time.Duration) pcommon.Timestamp {
	return pcommon.NewTimestampFromTime(flattentest.Base.Add(d))
}

// edgeTraces: a span with nothing set, one with every edge value, one with
// a start only; a resource with no scopes and a scope with no spans.
func edgeTraces() ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "tasker, \"quoted\" — ünïcode")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	spans.AppendEmpty()
	s := spans.AppendEmpty()
	s.SetTraceID(pcommon.TraceID{0xff, 0xfe, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14})
	s.SetSpanID(pcommon.SpanID{0xaa, 1, 2, 3, 4, 5, 6, 7})
	s.SetName("=step \"charge\",\nretry ✓")
	s.SetStartTimestamp(ts(0))
	s.SetEndTimestamp(ts(-time.Millisecond)) // ends before it starts
	s.Status().SetCode(ptrace.StatusCodeError)
	s.Status().SetMessage("card declined: \"insufficient funds\"; code=51\r\nretry later")
	s.TraceState().FromRaw("tasker=1,vendor=ü")
	putEdge(s.Attributes())
	s = spans.AppendEmpty()
	s.SetTraceID(pcommon.TraceID{1})
	s.SetSpanID(pcommon.SpanID{2})
	s.SetStartTimestamp(ts(time.Second))
	td.ResourceSpans().AppendEmpty()
	td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	return td
}

// edgeMetrics: special doubles, extreme ints and counts, points with no
// value, metrics with no points, histograms with no buckets.
func edgeMetrics() pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	putEdge(rm.Resource().Attributes())
	ms := rm.ScopeMetrics().AppendEmpty().Metrics()
	g := ms.AppendEmpty()
	g.SetName("tasker.edge.gauge")
	g.SetUnit("µs")
	g.SetDescription("a gauge, \"described\"")
	gdps := g.SetEmptyGauge().DataPoints()
	for i, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 1e300, 5e-324} {
		dp := gdps.AppendEmpty()
		dp.SetDoubleValue(v)
		dp.SetTimestamp(ts(time.Duration(i)))
	}
	gdps.AppendEmpty().Attributes().PutStr("utf8.emoji", strs["utf8.emoji"]) // no value, no timestamp
	gdps.AppendEmpty().SetIntValue(math.MinInt64)
	ms.AppendEmpty().SetName("tasker.edge.no_data")
	sum := ms.AppendEmpty()
	sum.SetName("tasker.edge.empty_sum")
	sum.SetEmptySum()
	h := ms.AppendEmpty()
	h.SetName("tasker.edge.histogram")
	hdps := h.SetEmptyHistogram().DataPoints()
	hdps.AppendEmpty() // no buckets, no sum/min/max
	hdp := hdps.AppendEmpty()
	hdp.BucketCounts().FromRaw([]uint64{math.MaxUint64})
	hdp.SetCount(math.MaxUint64)
	hdp.SetSum(math.Inf(1))
	eh := ms.AppendEmpty()
	eh.SetName("tasker.edge.exp")
	edp := eh.SetEmptyExponentialHistogram().DataPoints().AppendEmpty()
	edp.SetScale(-10)
	edp.SetZeroThreshold(1e-9)
	q := ms.AppendEmpty()
	q.SetName("tasker.edge.summary")
	q.SetEmptySummary().DataPoints().AppendEmpty() // no quantiles
	return md
}

// edgeLogs: a record with nothing set, one body of every type, and one
// record with every edge attribute.
func edgeLogs() plog.Logs {
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	sl.Scope().SetName("scope, \"quoted\"")
	sl.LogRecords().AppendEmpty()
	bodies := []struct {
		name, severity string
		set            func(pcommon.Value)
	}{
		{"crlf", "", func(v pcommon.Value) { v.SetStr(strs["csv.crlf"] + " " + strs["utf8.emoji"]) }},
		{"formula", "TRACE", func(v pcommon.Value) { v.SetStr(strs["formula.eq"]) }},
		{"int", "DEBUG", func(v pcommon.Value) { v.SetInt(math.MinInt64) }},
		{"nan", "INFO", func(v pcommon.Value) { v.SetDouble(math.NaN()) }},
		{"neginf", "WARN", func(v pcommon.Value) { v.SetDouble(math.Inf(-1)) }},
		{"bool", "ERROR", func(v pcommon.Value) { v.SetBool(false) }},
		{"bytes", "FATAL", func(v pcommon.Value) { v.SetEmptyBytes().FromRaw([]byte("\x00\xff binary")) }},
		{"map", "é", func(v pcommon.Value) { putEdge(v.SetEmptyMap()) }},
		{"slice", "x,y", func(v pcommon.Value) {
			sl := v.SetEmptySlice()
			sl.AppendEmpty().SetStr(strs["json.control"])
			sl.AppendEmpty().SetEmptySlice().AppendEmpty().SetDouble(0.1)
			sl.AppendEmpty()
		}},
	}
	for i, b := range bodies {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(ts(time.Duration(i) * time.Millisecond))
		lr.SetEventName("edge." + b.name)
		lr.SetSeverityNumber(plog.SeverityNumber(i * 3))
		lr.SetSeverityText(b.severity)
		b.set(lr.Body())
	}
	lr := sl.LogRecords().AppendEmpty()
	lr.SetEventName("edge.attributes")
	putEdge(lr.Attributes())
	return ld
}
