package csvexporter

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/otelcol-tasker/otelcol-tasker/internal/flatten/flattentest"
)

// jsonCell parses a JSON cell, numbers kept exact.
func jsonCell(t *testing.T, s string) any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	require.NoError(t, d.Decode(&v), "cell %q", s)
	return v
}

// canonical is v as encoding/json writes and reads it back.
func canonical(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return jsonCell(t, string(b))
}

// withoutKeys returns m's raw form minus keys.
func withoutKeys(m pcommon.Map, keys ...string) map[string]any {
	raw := m.AsRaw()
	for _, k := range keys {
		delete(raw, k)
	}
	return raw
}

func TestSpansRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "traces.csv")
	cfg := fileConfig(path)
	cfg.Traces.AttributeColumns = []string{"tasker.task.id", "quoted", "int", "double", "bool", "map", "bytes", "absent"}
	td := flattentest.Traces(6)
	export(t, cfg, td)

	header, rows := readCSVFile(t, path)
	assert.Equal(t, []string{
		"trace_id", "span_id", "parent_span_id", "name", "kind", "start_time", "end_time", "duration_ms",
		"status_code", "status_message", "service_name", "label_tasker.task.id", "label_quoted", "label_int",
		"label_double", "label_bool", "label_map", "label_bytes", "label_absent", "attributes",
	}, header)
	require.Len(t, rows, td.SpanCount())

	i := 0
	for _, rs := range td.ResourceSpans().All() {
		svc, _ := rs.Resource().Attributes().Get("service.name")
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				r := rows[i]
				i++
				tid, sid, pid := s.TraceID(), s.SpanID(), s.ParentSpanID()
				assert.Equal(t, flattentest.HexID(tid[:]), r["trace_id"])
				assert.Equal(t, flattentest.HexID(sid[:]), r["span_id"])
				assert.Equal(t, flattentest.HexID(pid[:]), r["parent_span_id"])
				assert.Equal(t, s.Name(), r["name"])
				assert.Equal(t, s.Kind().String(), r["kind"])
				assertTime(t, s.StartTimestamp(), r["start_time"], "start_time")
				assertTime(t, s.EndTimestamp(), r["end_time"], "end_time")
				d, err := strconv.ParseFloat(r["duration_ms"], 64)
				require.NoError(t, err)
				assert.Equal(t, float64(s.EndTimestamp()-s.StartTimestamp())/1e6, d)
				assert.Equal(t, s.Status().Code().String(), r["status_code"])
				assert.Equal(t, s.Status().Message(), r["status_message"])
				assert.Equal(t, svc.Str(), r["service_name"])

				attrs := s.Attributes()
				for _, k := range []string{"tasker.task.id", "quoted", "int", "bool", "bytes"} {
					v, _ := attrs.Get(k)
					assert.Equal(t, v.AsString(), r["label_"+k], k)
				}
				dv, _ := attrs.Get("double")
				got, err := strconv.ParseFloat(r["label_double"], 64)
				require.NoError(t, err)
				assert.Equal(t, dv.Double(), got)
				mv, _ := attrs.Get("map")
				assert.Equal(t, canonical(t, mv.Map().AsRaw()), jsonCell(t, r["label_map"]))
				assert.Empty(t, r["label_absent"])
				assert.Equal(t, canonical(t, withoutKeys(attrs, cfg.Traces.AttributeColumns...)), jsonCell(t, r["attributes"]))
			}
		}
	}
}

func TestPointsRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "metrics.csv")
	cfg := fileConfig(path)
	cfg.Metrics.AttributeColumns = []string{"room"}
	md := flattentest.Metrics(2)
	export(t, cfg, md)
	_, rows := readCSVFile(t, path)
	require.Len(t, rows, md.DataPointCount())

	i := 0
	for _, m := range md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().All() {
		r := rows[i]
		i++
		assert.Equal(t, m.Name(), r["metric_name"])
		assert.Equal(t, m.Unit(), r["unit"])
		assert.Equal(t, "tasker-app", r["service_name"])
		switch m.Type() {
		case pmetric.MetricTypeGauge, pmetric.MetricTypeSum:
			var dp pmetric.NumberDataPoint
			if m.Type() == pmetric.MetricTypeGauge {
				dp = m.Gauge().DataPoints().At(0)
				assert.Equal(t, "gauge", r["metric_type"])
			} else {
				dp = m.Sum().DataPoints().At(0)
				assert.Equal(t, "sum", r["metric_type"])
			}
			assertTime(t, dp.Timestamp(), r["timestamp"], "timestamp")
			assertTime(t, dp.StartTimestamp(), r["start_timestamp"], "start_timestamp")
			if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
				assert.Equal(t, strconv.FormatInt(dp.IntValue(), 10), r["value"])
			} else {
				v, err := strconv.ParseFloat(r["value"], 64)
				require.NoError(t, err, "numeric cells are never formula-escaped: %q", r["value"])
				assert.Equal(t, dp.DoubleValue(), v)
			}
			for _, k := range []string{"count", "sum", "min", "max", "bucket_bounds", "bucket_counts"} {
				assert.Empty(t, r[k], k)
			}
			assert.Equal(t, canonical(t, withoutKeys(dp.Attributes(), "room")), jsonCell(t, r["attributes"]))
			if room, ok := dp.Attributes().Get("room"); ok {
				assert.Equal(t, "'"+room.Str(), r["label_room"], "text starting with - is escaped")
			}
		case pmetric.MetricTypeHistogram:
			dp := m.Histogram().DataPoints().At(0)
			assert.Equal(t, "histogram", r["metric_type"])
			assert.Empty(t, r["value"])
			assert.Equal(t, strconv.FormatUint(dp.Count(), 10), r["count"])
			assert.Equal(t, "4.75", r["sum"])
			assert.Equal(t, "0.001", r["min"])
			assert.Equal(t, "3.2", r["max"])
			assert.Equal(t, canonical(t, dp.ExplicitBounds().AsRaw()), jsonCell(t, r["bucket_bounds"]))
			assert.Equal(t, canonical(t, dp.BucketCounts().AsRaw()), jsonCell(t, r["bucket_counts"]))
		case pmetric.MetricTypeExponentialHistogram:
			assert.Equal(t, "exponential_histogram", r["metric_type"])
			assert.Equal(t, "6", r["count"])
			assert.Equal(t, "-2", r["sum"], "negative numbers stay numbers")
		case pmetric.MetricTypeSummary:
			assert.Equal(t, "summary", r["metric_type"])
			assert.Equal(t, "4", r["count"])
			assert.Equal(t, "8", r["sum"])
		}
	}
}

func TestEventsRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.csv")
	cfg := fileConfig(path)
	cfg.EscapeFormulas = false // exact round trip of every string
	ld := flattentest.Logs(6)
	export(t, cfg, ld)
	_, rows := readCSVFile(t, path)
	require.Len(t, rows, ld.LogRecordCount())

	for i, lr := range ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().All() {
		r := rows[i]
		assertTime(t, lr.Timestamp(), r["timestamp"], "timestamp")
		assertTime(t, lr.ObservedTimestamp(), r["observed_timestamp"], "observed_timestamp")
		assert.Equal(t, flattentest.EventName(lr), r["event_name"])
		assert.Equal(t, flattentest.Severity(lr), r["severity"])
		assert.Equal(t, strconv.Itoa(int(lr.SeverityNumber())), r["severity_number"])
		tid, sid := lr.TraceID(), lr.SpanID()
		assert.Equal(t, flattentest.HexID(tid[:]), r["trace_id"])
		assert.Equal(t, flattentest.HexID(sid[:]), r["span_id"])
		assert.Equal(t, canonical(t, lr.Attributes().AsRaw()), jsonCell(t, r["attributes"]))
		switch lr.Body().Type() {
		case pcommon.ValueTypeMap:
			assert.Equal(t, canonical(t, lr.Body().Map().AsRaw()), jsonCell(t, r["body"]))
		default:
			assert.Equal(t, lr.Body().AsString(), r["body"])
		}
	}
}

func TestQuotingAndFormulaEscaping(t *testing.T) {
	cells := []string{
		"=1+2", "+1", "-1", "@SUM(A1)", "\tTAB", "\rCR", "plain", "a,b", `a "quoted" word`, "line\nbreak",
		" leading space", "'already", "", "-", "semi;colon",
	}
	for _, sep := range []string{",", ";", "\t", "|"} {
		for _, escape := range []bool{true, false} {
			path := filepath.Join(t.TempDir(), "events.csv")
			cfg := fileConfig(path)
			cfg.Separator = sep
			cfg.EscapeFormulas = escape
			cfg.Logs.Columns = []string{"body", "attributes"}
			cfg.Logs.AttributeColumns = []string{"s", "neg_int", "neg_double", "formula_in_list"}
			ld := plog.NewLogs()
			lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
			for _, c := range cells {
				lr := lrs.AppendEmpty()
				lr.Body().SetStr(c)
				lr.Attributes().PutStr("s", c)
				lr.Attributes().PutInt("neg_int", -5)
				lr.Attributes().PutDouble("neg_double", -2.5)
				lr.Attributes().PutEmptySlice("formula_in_list").AppendEmpty().SetStr(c)
				lr.Attributes().PutStr("rest", c)
			}
			export(t, cfg, ld)
			f, err := os.Open(path)
			require.NoError(t, err)
			_, rows := readCSV(t, f, rune(sep[0]))
			f.Close()
			require.Len(t, rows, len(cells))
			for i, c := range cells {
				want := c
				if escape && c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
					want = "'" + c
				}
				assert.Equal(t, want, rows[i]["body"], "sep %q escape %v cell %q", sep, escape, c)
				assert.Equal(t, want, rows[i]["label_s"])
				assert.Equal(t, "-5", rows[i]["label_neg_int"], "numbers are never escaped")
				assert.Equal(t, "-2.5", rows[i]["label_neg_double"])
				assert.Equal(t, canonical(t, []any{c}), jsonCell(t, rows[i]["label_formula_in_list"]), "JSON cells start with [ or {")
				assert.Equal(t, map[string]any{"rest": c}, jsonCell(t, rows[i]["attributes"]))
			}
		}
	}
}

func TestEveryRowHasTheHeaderColumns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.csv")
	cfg := fileConfig(path)
	cfg.Logs.AttributeColumns = []string{"a", "b", "c"}
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for i := range 40 {
		lr := lrs.AppendEmpty()
		// A different subset of attributes, and a varying number of extra ones, on each row.
		for j, k := range []string{"a", "b", "c"} {
			if i&(1<<j) != 0 {
				lr.Attributes().PutStr(k, strings.Repeat("x,", i))
			}
		}
		for j := range i % 7 {
			lr.Attributes().PutInt("extra"+strconv.Itoa(j), int64(j))
		}
	}
	export(t, cfg, ld)
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	header, rows := readCSV(t, bytes.NewReader(raw), ',') // encoding/csv rejects a row with a different cell count
	assert.Len(t, rows, 40)
	assert.Len(t, header, 13)
	assert.Empty(t, rows[0]["label_a"])
	assert.Equal(t, strings.Repeat("x,", 7), rows[7]["label_c"])
}

func TestSingleColumnEmptyCell(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.csv")
	cfg := fileConfig(path)
	cfg.Logs.Columns = []string{"event_name"}
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	lrs.AppendEmpty()
	lrs.AppendEmpty().SetEventName("x")
	export(t, cfg, ld)
	_, rows := readCSVFile(t, path)
	require.Len(t, rows, 2, "an empty row is not a blank line")
	assert.Equal(t, "", rows[0]["event_name"])
}

func TestUnixNanoTimes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.csv")
	cfg := fileConfig(path)
	cfg.TimeFormat = "unix_nano"
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().SetTimestamp(1_700_000_000_000_000_042)
	export(t, cfg, ld)
	_, rows := readCSVFile(t, path)
	assert.Equal(t, "1700000000000000042", rows[0]["timestamp"])
	assert.Empty(t, rows[0]["observed_timestamp"])
}
