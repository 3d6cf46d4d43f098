package metrics

import (
	"sort"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// overflowLabel marks the series that collects every label set beyond
// max_series_per_metric (the OpenTelemetry SDK's convention).
const overflowLabel = "otel.metric.overflow"

// keySep separates label values in a series key; 0xff never occurs in UTF-8.
const keySep = 0xff

type kind uint8

const (
	kindCounter   kind = iota // monotonic cumulative sum
	kindUpDown                // non-monotonic cumulative sum (in-flight counts)
	kindGauge                 // last value
	kindHistogram             // explicit-bucket histogram
)

// desc describes one metric.
type desc struct {
	name, unit, description string
	kind                    kind
	labels                  []string
	bounds                  []float64 // histograms
	ints                    bool      // counter/updown values are whole numbers
}

// exemplar is the latest event that fed a series.
type exemplar struct {
	trace pcommon.TraceID
	span  pcommon.SpanID
	ts    pcommon.Timestamp
	value float64
	ok    bool
}

// series is one label set of one metric.
type series struct {
	svc    int32    // index of the service (resource) it belongs to
	labels []string // values in desc.labels order; nil for the overflow series
	start  pcommon.Timestamp

	value float64 // counter, updown, gauge

	count    uint64 // histogram
	sum      float64
	min, max float64
	buckets  []uint64

	ex exemplar
}

func (s *series) add(v float64, ex *exemplar) {
	s.value += v
	if ex != nil && ex.ok {
		s.ex = *ex
		s.ex.value = v
	}
}

func (s *series) observe(v float64, bounds []float64, ex *exemplar) {
	s.buckets[bucketIndex(bounds, v)]++
	if s.count == 0 || v < s.min {
		s.min = v
	}
	if s.count == 0 || v > s.max {
		s.max = v
	}
	s.count++
	s.sum += v
	if ex != nil && ex.ok {
		s.ex = *ex
		s.ex.value = v
	}
}

// bucketIndex returns the bucket of v: bucket i holds (bounds[i-1], bounds[i]].
func bucketIndex(bounds []float64, v float64) int {
	if len(bounds) <= 16 {
		for i, b := range bounds {
			if v <= b {
				return i
			}
		}
		return len(bounds)
	}
	return sort.SearchFloat64s(bounds, v)
}

// table holds the series of one metric.
type table struct {
	desc
	max      int
	index    map[string]*series
	bySvc    [][]*series // creation order, per service index
	overflow *series
	budget   *budget // shared by every table of an aggregator
}

func newTable(d desc, max int, b *budget) *table {
	return &table{desc: d, max: max, index: make(map[string]*series, 16), budget: b}
}

// find returns the series of key (service index + label values, built by
// the caller into key with offsets ends[i] = end of label i), creating it
// when there is room and folding it into the overflow series when not. A
// negative svc means the event's service itself did not fit: overflow.
func (t *table) find(key []byte, ends []int, svc int32, now func() pcommon.Timestamp) *series {
	if svc >= 0 {
		if s, ok := t.index[string(key)]; ok {
			return s
		}
	}
	full := svc < 0 || len(t.index) >= t.max
	if !full && !t.budget.take(seriesCost+len(key)+bucketCost*len(t.bounds)) {
		t.budget.refused++
		full = true
	}
	if full {
		if t.overflow == nil {
			t.overflow = t.newSeries(0, nil, now())
		}
		return t.overflow
	}
	k := string(key)
	labels := make([]string, len(ends))
	begin := svcKeyLen
	for i, end := range ends {
		labels[i] = k[begin:end]
		begin = end + 1
	}
	s := t.newSeries(svc, labels, now())
	t.index[k] = s
	for int(svc) >= len(t.bySvc) {
		t.bySvc = append(t.bySvc, nil)
	}
	t.bySvc[svc] = append(t.bySvc[svc], s)
	return s
}

func (t *table) newSeries(svc int32, labels []string, now pcommon.Timestamp) *series {
	s := &series{svc: svc, labels: labels, start: now}
	if t.kind == kindHistogram {
		s.buckets = make([]uint64, len(t.bounds)+1)
	}
	return s
}

// svcKeyLen is the length of the service index prefix of every series key.
const svcKeyLen = 4

// appendTo writes the series of service svc (and, for the primary service,
// the overflow series) as one metric; nothing when there are none.
func (t *table) appendTo(sm pmetric.ScopeMetrics, svc int, now pcommon.Timestamp, exemplars bool) {
	var list []*series
	if svc < len(t.bySvc) {
		list = t.bySvc[svc]
	}
	withOverflow := svc == 0 && t.overflow != nil
	if len(list) == 0 && !withOverflow {
		return
	}
	m := sm.Metrics().AppendEmpty()
	m.SetName(t.name)
	m.SetUnit(t.unit)
	m.SetDescription(t.description)
	n := len(list)
	if withOverflow {
		n++
	}
	switch t.kind {
	case kindCounter, kindUpDown:
		sum := m.SetEmptySum()
		sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		sum.SetIsMonotonic(t.kind == kindCounter)
		dps := sum.DataPoints()
		dps.EnsureCapacity(n)
		for _, s := range list {
			t.numberPoint(dps.AppendEmpty(), s, now, exemplars)
		}
		if withOverflow {
			t.numberPoint(dps.AppendEmpty(), t.overflow, now, exemplars)
		}
	case kindGauge:
		dps := m.SetEmptyGauge().DataPoints()
		dps.EnsureCapacity(n)
		for _, s := range list {
			t.numberPoint(dps.AppendEmpty(), s, now, false)
		}
		if withOverflow {
			t.numberPoint(dps.AppendEmpty(), t.overflow, now, false)
		}
	case kindHistogram:
		h := m.SetEmptyHistogram()
		h.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		dps := h.DataPoints()
		dps.EnsureCapacity(n)
		for _, s := range list {
			t.histogramPoint(dps.AppendEmpty(), s, now, exemplars)
		}
		if withOverflow {
			t.histogramPoint(dps.AppendEmpty(), t.overflow, now, exemplars)
		}
	}
}

func (t *table) putLabels(attrs pcommon.Map, s *series) {
	if s.labels == nil {
		attrs.PutBool(overflowLabel, true)
		return
	}
	attrs.EnsureCapacity(len(t.labels))
	for i, name := range t.labels {
		attrs.PutStr(name, s.labels[i])
	}
}

func (t *table) numberPoint(dp pmetric.NumberDataPoint, s *series, now pcommon.Timestamp, exemplars bool) {
	t.putLabels(dp.Attributes(), s)
	if t.kind != kindGauge {
		dp.SetStartTimestamp(min(s.start, now))
	}
	dp.SetTimestamp(now)
	if t.ints {
		dp.SetIntValue(int64(s.value))
	} else {
		dp.SetDoubleValue(s.value)
	}
	if exemplars && s.ex.ok {
		e := dp.Exemplars().AppendEmpty()
		e.SetTimestamp(s.ex.ts)
		e.SetTraceID(s.ex.trace)
		e.SetSpanID(s.ex.span)
		if t.ints {
			e.SetIntValue(int64(s.ex.value))
		} else {
			e.SetDoubleValue(s.ex.value)
		}
	}
}

func (t *table) histogramPoint(dp pmetric.HistogramDataPoint, s *series, now pcommon.Timestamp, exemplars bool) {
	t.putLabels(dp.Attributes(), s)
	dp.SetStartTimestamp(min(s.start, now)) // a caller's now read just before a series was created
	dp.SetTimestamp(now)
	dp.SetCount(s.count)
	dp.SetSum(s.sum)
	if s.count > 0 {
		dp.SetMin(s.min)
		dp.SetMax(s.max)
	}
	dp.ExplicitBounds().FromRaw(t.bounds)
	dp.BucketCounts().FromRaw(s.buckets)
	if exemplars && s.ex.ok {
		e := dp.Exemplars().AppendEmpty()
		e.SetTimestamp(s.ex.ts)
		e.SetTraceID(s.ex.trace)
		e.SetSpanID(s.ex.span)
		e.SetDoubleValue(s.ex.value)
	}
}
