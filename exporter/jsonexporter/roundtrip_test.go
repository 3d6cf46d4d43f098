package jsonexporter

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-tasker/otelcol-tasker/internal/flatten/flattentest"
)

func TestSpansRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "traces.jsonl")
	td := flattentest.Traces(6)
	export(t, fileConfig(path), td)
	recs := readNDJSONFile(t, path)
	require.Len(t, recs, td.SpanCount())

	i := 0
	for _, rs := range td.ResourceSpans().All() {
		svc, _ := rs.Resource().Attributes().Get("service.name")
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				r := recs[i]
				i++
				assert.Len(t, r, 12, "default fields only")
				tid, sid, pid := s.TraceID(), s.SpanID(), s.ParentSpanID()
				assert.Equal(t, flattentest.HexID(tid[:]), r["trace_id"])
				assert.Equal(t, flattentest.HexID(sid[:]), r["span_id"])
				assert.Equal(t, flattentest.HexID(pid[:]), r["parent_span_id"])
				assert.Equal(t, s.Name(), r["name"])
				assert.Equal(t, s.Kind().String(), r["kind"])
				assertTime(t, s.StartTimestamp(), r["start_time"], "start_time")
				assertTime(t, s.EndTimestamp(), r["end_time"], "end_time")
				assertFloat(t, float64(s.EndTimestamp()-s.StartTimestamp())/1e6, r["duration_ms"], "duration_ms")
				assert.Equal(t, s.Status().Code().String(), r["status_code"])
				assert.Equal(t, s.Status().Message(), r["status_message"])
				assert.Equal(t, svc.Str(), r["service_name"])
				assert.Equal(t, canonical(t, s.Attributes().AsRaw()), r["attributes"])
			}
		}
	}
}

func TestPointsRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "metrics.jsonl")
	md := flattentest.Metrics(3)
	cfg := fileConfig(path)
	cfg.Include = []string{
		"metric_name", "metric_type", "unit", "timestamp", "start_timestamp", "value", "count", "sum", "min", "max",
		"bucket_bounds", "bucket_counts", "temporality", "monotonic", "quantiles", "scale", "zero_count",
		"positive_offset", "positive_bucket_counts", "negative_offset", "negative_bucket_counts", "exemplars",
		"service_name", "attributes", "scope_name",
	}
	export(t, cfg, md)
	recs := readNDJSONFile(t, path)
	require.Len(t, recs, md.DataPointCount())

	i := 0
	for _, rm := range md.ResourceMetrics().All() {
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				check := func(r map[string]any, attrs pcommon.Map, tsv, start pcommon.Timestamp) {
					assert.Equal(t, m.Name(), r["metric_name"])
					assert.Equal(t, m.Unit(), r["unit"])
					assert.Equal(t, "tasker-app", r["service_name"])
					assert.Equal(t, sm.Scope().Name(), r["scope_name"])
					assertTime(t, tsv, r["timestamp"], "timestamp")
					assertTime(t, start, r["start_timestamp"], "start_timestamp")
					assert.Equal(t, canonical(t, attrs.AsRaw()), r["attributes"])
				}
				switch m.Type() {
				case pmetric.MetricTypeGauge, pmetric.MetricTypeSum:
					var dps pmetric.NumberDataPointSlice
					if m.Type() == pmetric.MetricTypeGauge {
						dps = m.Gauge().DataPoints()
						assert.Equal(t, "gauge", recs[i]["metric_type"])
						assert.Nil(t, recs[i]["temporality"])
					} else {
						dps = m.Sum().DataPoints()
						assert.Equal(t, "sum", recs[i]["metric_type"])
						assert.Equal(t, "cumulative", recs[i]["temporality"])
						assert.Equal(t, true, recs[i]["monotonic"])
					}
					for _, dp := range dps.All() {
						r := recs[i]
						i++
						check(r, dp.Attributes(), dp.Timestamp(), dp.StartTimestamp())
						if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
							assert.Equal(t, json.Number(pcommon.NewValueInt(dp.IntValue()).AsString()), r["value"])
						} else {
							assertFloat(t, dp.DoubleValue(), r["value"], "value")
						}
						for _, k := range []string{"count", "sum", "min", "max", "bucket_bounds", "bucket_counts"} {
							assert.Nil(t, r[k], k)
						}
						wantEx := []any{}
						for _, ex := range dp.Exemplars().All() {
							tid, sid := ex.TraceID(), ex.SpanID()
							wantEx = append(wantEx, map[string]any{
								"timestamp": ex.Timestamp().AsTime().Format("2006-01-02T15:04:05.000000000Z"),
								"value":     ex.DoubleValue(), "trace_id": flattentest.HexID(tid[:]), "span_id": flattentest.HexID(sid[:]),
								"attributes": ex.FilteredAttributes().AsRaw(),
							})
						}
						assert.Equal(t, canonical(t, wantEx), r["exemplars"], "exemplars")
					}
				case pmetric.MetricTypeHistogram:
					for _, dp := range m.Histogram().DataPoints().All() {
						r := recs[i]
						i++
						check(r, dp.Attributes(), dp.Timestamp(), dp.StartTimestamp())
						assert.Equal(t, "histogram", r["metric_type"])
						assert.Nil(t, r["value"])
						assert.Equal(t, json.Number(pcommon.NewValueInt(int64(dp.Count())).AsString()), r["count"])
						assertFloat(t, dp.Sum(), r["sum"], "sum")
						assertFloat(t, dp.Min(), r["min"], "min")
						assertFloat(t, dp.Max(), r["max"], "max")
						assert.Equal(t, canonical(t, dp.ExplicitBounds().AsRaw()), r["bucket_bounds"])
						assert.Equal(t, canonical(t, dp.BucketCounts().AsRaw()), r["bucket_counts"])
					}
				case pmetric.MetricTypeExponentialHistogram:
					for _, dp := range m.ExponentialHistogram().DataPoints().All() {
						r := recs[i]
						i++
						check(r, dp.Attributes(), dp.Timestamp(), dp.StartTimestamp())
						assert.Equal(t, "exponential_histogram", r["metric_type"])
						assert.Equal(t, json.Number("3"), r["scale"])
						assert.Equal(t, json.Number("1"), r["zero_count"])
						assert.Equal(t, json.Number("-2"), r["positive_offset"])
						assert.Equal(t, canonical(t, dp.Positive().BucketCounts().AsRaw()), r["positive_bucket_counts"])
						assert.Equal(t, canonical(t, dp.Negative().BucketCounts().AsRaw()), r["negative_bucket_counts"])
						assertFloat(t, dp.Sum(), r["sum"], "sum")
						assert.Nil(t, r["min"])
					}
				case pmetric.MetricTypeSummary:
					for _, dp := range m.Summary().DataPoints().All() {
						r := recs[i]
						i++
						check(r, dp.Attributes(), dp.Timestamp(), dp.StartTimestamp())
						assert.Equal(t, "summary", r["metric_type"])
						assert.Equal(t, json.Number("4"), r["count"])
						assertFloat(t, dp.Sum(), r["sum"], "sum")
						assert.Equal(t, canonical(t, []any{map[string]any{"quantile": 0.99, "value": 3.0}}), r["quantiles"])
					}
				}
			}
		}
	}
	assert.Equal(t, len(recs), i)
}

func TestEventsRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.jsonl")
	ld := flattentest.Logs(7)
	export(t, fileConfig(path), ld)
	recs := readNDJSONFile(t, path)
	require.Len(t, recs, ld.LogRecordCount())

	lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i, lr := range lrs.All() {
		r := recs[i]
		assertTime(t, lr.Timestamp(), r["timestamp"], "timestamp")
		assertTime(t, lr.ObservedTimestamp(), r["observed_timestamp"], "observed_timestamp")
		assert.Equal(t, flattentest.EventName(lr), r["event_name"])
		assert.Equal(t, flattentest.Severity(lr), r["severity"])
		assert.Equal(t, json.Number(pcommon.NewValueInt(int64(lr.SeverityNumber())).AsString()), r["severity_number"])
		tid, sid := lr.TraceID(), lr.SpanID()
		assert.Equal(t, flattentest.HexID(tid[:]), r["trace_id"])
		assert.Equal(t, flattentest.HexID(sid[:]), r["span_id"])
		assert.Equal(t, "tasker-app", r["service_name"])
		assert.Equal(t, canonical(t, lr.Attributes().AsRaw()), r["attributes"])
		assert.Equal(t, canonical(t, lr.Body().AsRaw()), r["body"], "body of record %d", i)
	}
}

func TestJSONOptions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.jsonl")
	cfg := fileConfig(path)
	cfg.Include = []string{"name", "timestamp", "event_name", "attributes", "start_time"}
	cfg.Exclude = []string{"start_time"}
	cfg.FieldMapping = map[string]string{"timestamp": "collected_at", "name": "span"}
	cfg.FlattenAttributes = true
	cfg.AttributePrefix = "attr."
	cfg.IncludeMetadata = true
	cfg.AdditionalFields = map[string]string{"environment": "prod", "cluster": "eu-1"}
	cfg.TimeFormat = "unix_nano"

	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetTimestamp(1_700_000_000_000_000_001)
	lr.SetEventName("task.completed")
	lr.Attributes().PutStr("tasker.task.id", "42")
	lr.Attributes().PutEmptyMap("m").PutInt("x", 1)
	export(t, cfg, ld)

	recs := readNDJSONFile(t, path)
	require.Len(t, recs, 1)
	r := recs[0]
	meta := r["_meta"].(map[string]any)
	delete(r, "_meta")
	assert.Equal(t, map[string]any{
		"collected_at":        json.Number("1700000000000000001"),
		"event_name":          "task.completed",
		"attr.tasker.task.id": "42",
		"attr.m":              map[string]any{"x": json.Number("1")},
		"environment":         "prod",
		"cluster":             "eu-1",
	}, r)
	assert.Equal(t, "json/audit", meta["exporter"])
	assert.Contains(t, meta, "version")
	_, err := meta["exported_at"].(json.Number).Int64()
	assert.NoError(t, err, "exported_at follows time_format")

	// Field order is the configured order, additional fields sorted, _meta last.
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(raw), `{"collected_at":1700000000000000001,"event_name":"task.completed","attr.tasker.task.id":"42","attr.m":{"x":1},"cluster":"eu-1","environment":"prod","_meta":{"exporter":"json/audit","version":`), string(raw))
}

func TestPretty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.json")
	cfg := fileConfig(path)
	cfg.Pretty = true
	td := flattentest.Traces(2)
	export(t, cfg, td)
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(raw), "{\n  \"trace_id\": \"")
	// One object after another: a json.Decoder reads them all.
	d := json.NewDecoder(strings.NewReader(string(raw)))
	n := 0
	for d.More() {
		var m map[string]any
		require.NoError(t, d.Decode(&m))
		n++
	}
	assert.Equal(t, td.SpanCount(), n)
}

func TestSpecialFloatsAndEmptyValues(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.jsonl")
	md := pmetric.NewMetrics()
	ms := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics()
	for _, v := range []float64{nan(), inf(1), inf(-1)} {
		ms.AppendEmpty().SetEmptyGauge().DataPoints().AppendEmpty().SetDoubleValue(v)
	}
	export(t, fileConfig(path), md)
	recs := readNDJSONFile(t, path)
	require.Len(t, recs, 3)
	assert.Equal(t, "NaN", recs[0]["value"])
	assert.Equal(t, "+Inf", recs[1]["value"])
	assert.Equal(t, "-Inf", recs[2]["value"])
	assert.Nil(t, recs[0]["timestamp"], "unset timestamps are null")

	path = filepath.Join(t.TempDir(), "t.jsonl")
	td := ptrace.NewTraces()
	td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().SetName("bare")
	export(t, fileConfig(path), td)
	recs = readNDJSONFile(t, path)
	assert.Equal(t, "", recs[0]["trace_id"])
	assert.Nil(t, recs[0]["duration_ms"])
	assert.Equal(t, map[string]any{}, recs[0]["attributes"])
}
