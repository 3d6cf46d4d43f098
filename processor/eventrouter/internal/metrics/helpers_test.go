package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/goleak"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
	"github.com/otelcol-tasker/otelcol-tasker/internal/fixtures"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const sampleService = "tasker-sample"

// rawEvent is one line of the native fixture, kept for computing expected
// values independently of the aggregator.
type rawEvent = fixtures.Event

type summary = fixtures.Summary

type sample struct {
	raw     []rawEvent
	logs    plog.Logs
	records []plog.LogRecord
	res     pcommon.Resource
	sum     summary
}

// loadSample decodes the native fixture the way the receiver does: payload
// into the body map (whole numbers as ints), then event.Normalize.
func loadSample(tb testing.TB) *sample {
	tb.Helper()
	s := &sample{logs: plog.NewLogs(), raw: fixtures.NativeEvents()}
	rl := s.logs.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", sampleService)
	s.res = rl.Resource()
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	received := pcommon.NewTimestampFromTime(time.Date(2025, 11, 25, 20, 0, 0, 0, time.UTC))
	for _, raw := range s.raw {
		lr := lrs.AppendEmpty()
		require.NoError(tb, lr.Body().SetEmptyMap().FromRaw(raw.Payload))
		if ts, ok := event.ParseTime(raw.Timestamp); ok {
			lr.SetTimestamp(ts)
		}
		event.Normalize(lr, raw.Name, "", received)
	}
	for i := 0; i < lrs.Len(); i++ {
		s.records = append(s.records, lrs.At(i))
	}
	s.sum = fixtures.NativeSummary()
	require.Len(tb, s.records, s.sum.Events)
	return s
}

func (s *sample) feed(a *Aggregator, from, to int) {
	for _, lr := range s.records[from:to] {
		a.Observe(lr, s.res)
	}
}

// point is one data point of any type, flattened for assertions.
type point struct {
	service   string
	attrs     map[string]string
	value     float64 // sum / gauge value
	count     uint64  // histogram
	sum       float64 // histogram
	buckets   []uint64
	bounds    []float64
	start, ts pcommon.Timestamp
	exemplars []pmetric.Exemplar
}

type metricInfo struct {
	unit      string
	typ       pmetric.MetricType
	monotonic bool
	temporal  pmetric.AggregationTemporality
	points    []point
}

func snapshot(a *Aggregator) (pmetric.Metrics, map[string]*metricInfo) {
	md := pmetric.NewMetrics()
	a.AppendTo(md, pcommon.NewTimestampFromTime(time.Now()))
	return md, collect(md)
}

func collect(md pmetric.Metrics) map[string]*metricInfo {
	out := map[string]*metricInfo{}
	for i := 0; i < md.ResourceMetrics().Len(); i++ {
		rm := md.ResourceMetrics().At(i)
		svc, _ := rm.Resource().Attributes().Get("service.name")
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				mi := out[m.Name()]
				if mi == nil {
					mi = &metricInfo{unit: m.Unit(), typ: m.Type()}
					out[m.Name()] = mi
				}
				attrs := func(a pcommon.Map) map[string]string {
					r := map[string]string{}
					a.Range(func(k string, v pcommon.Value) bool { r[k] = v.AsString(); return true })
					return r
				}
				exs := func(es pmetric.ExemplarSlice) []pmetric.Exemplar {
					var r []pmetric.Exemplar
					for e := 0; e < es.Len(); e++ {
						r = append(r, es.At(e))
					}
					return r
				}
				numberPoints := func(dps pmetric.NumberDataPointSlice) {
					for d := 0; d < dps.Len(); d++ {
						dp := dps.At(d)
						v := dp.DoubleValue()
						if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
							v = float64(dp.IntValue())
						}
						mi.points = append(mi.points, point{service: svc.Str(), attrs: attrs(dp.Attributes()), value: v,
							start: dp.StartTimestamp(), ts: dp.Timestamp(), exemplars: exs(dp.Exemplars())})
					}
				}
				switch m.Type() {
				case pmetric.MetricTypeSum:
					mi.monotonic = m.Sum().IsMonotonic()
					mi.temporal = m.Sum().AggregationTemporality()
					numberPoints(m.Sum().DataPoints())
				case pmetric.MetricTypeGauge:
					numberPoints(m.Gauge().DataPoints())
				case pmetric.MetricTypeHistogram:
					mi.temporal = m.Histogram().AggregationTemporality()
					dps := m.Histogram().DataPoints()
					for d := 0; d < dps.Len(); d++ {
						dp := dps.At(d)
						mi.points = append(mi.points, point{service: svc.Str(), attrs: attrs(dp.Attributes()),
							count: dp.Count(), sum: dp.Sum(), buckets: dp.BucketCounts().AsRaw(), bounds: dp.ExplicitBounds().AsRaw(),
							start: dp.StartTimestamp(), ts: dp.Timestamp(), exemplars: exs(dp.Exemplars())})
					}
				}
			}
		}
	}
	return out
}

// total adds the values (sums, gauges) or counts (histograms) of the points
// whose attributes include every pair of match.
func (mi *metricInfo) total(match ...string) float64 {
	if mi == nil {
		return 0
	}
	var t float64
next:
	for _, p := range mi.points {
		for i := 0; i+1 < len(match); i += 2 {
			if p.attrs[match[i]] != match[i+1] {
				continue next
			}
		}
		if p.buckets != nil {
			t += float64(p.count)
		} else {
			t += p.value
		}
	}
	return t
}

// seriesKey identifies a point across snapshots.
func seriesKey(name string, p point) string {
	var b strings.Builder
	b.WriteString(name)
	b.WriteString("|" + p.service)
	for _, k := range sortedKeys(p.attrs) {
		b.WriteString("|" + k + "=" + p.attrs[k])
	}
	return b.String()
}

func newAggregator(tb testing.TB, mutate func(*Config)) *Aggregator {
	tb.Helper()
	cfg := DefaultConfig()
	if mutate != nil {
		mutate(&cfg)
	}
	a, err := New(cfg)
	require.NoError(tb, err)
	return a
}

// num reads a decoded JSON number (int64 or float64) as float64.
func num(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// mustNum is num for values the fixture always has.
func mustNum(v any) float64 {
	f, ok := num(v)
	if !ok {
		panic("not a number")
	}
	return f
}
