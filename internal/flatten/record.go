// Package flatten turns pdata into flat records: one per span, per metric
// data point and per log record (event). It names the fields a record has
// and hands their typed values to an Encoder, so each output format (JSON,
// CSV) only decides how a string, a number or a map is spelled.
package flatten // import "github.com/otelcol-tasker/otelcol-tasker/internal/flatten"

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Signal is the kind of telemetry a record comes from.
type Signal int

const (
	Traces Signal = iota
	Metrics
	Logs
)

// Signals lists every signal, in a stable order.
var Signals = []Signal{Traces, Metrics, Logs}

func (s Signal) String() string {
	switch s {
	case Traces:
		return "traces"
	case Metrics:
		return "metrics"
	case Logs:
		return "logs"
	}
	return "unknown"
}

// Record is a view of one flat record inside a pdata batch. Only the handles
// of the record's signal are meaningful. Iterators reuse one Record for a
// whole batch, so a Record must not be kept after the callback returns.
type Record struct {
	Resource    pcommon.Resource
	Scope       pcommon.InstrumentationScope
	ServiceName string
	// Attrs are the record's own attributes: span attributes, data point
	// attributes (labels) or log record attributes.
	Attrs pcommon.Map

	Span ptrace.Span

	Metric       pmetric.Metric
	Number       pmetric.NumberDataPoint
	Histogram    pmetric.HistogramDataPoint
	ExpHistogram pmetric.ExponentialHistogramDataPoint
	Summary      pmetric.SummaryDataPoint

	Log plog.LogRecord

	// TimeFormat is used for timestamps nested in JSON values (span events,
	// exemplars); encoders apply their own format to top-level times.
	TimeFormat TimeFormat
	// Scratch is a reusable buffer for fields that build a JSON value.
	Scratch []byte
}

func serviceName(res pcommon.Resource) string {
	if v, ok := res.Attributes().Get("service.name"); ok {
		return v.AsString()
	}
	return ""
}

// EachSpan calls fn once per span of td.
func EachSpan(td ptrace.Traces, r *Record, fn func(*Record)) {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		r.Resource = rs.Resource()
		r.ServiceName = serviceName(r.Resource)
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			r.Scope = ss.Scope()
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				r.Span = spans.At(k)
				r.Attrs = r.Span.Attributes()
				fn(r)
			}
		}
	}
}

// EachLog calls fn once per log record of ld.
func EachLog(ld plog.Logs, r *Record, fn func(*Record)) {
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		r.Resource = rl.Resource()
		r.ServiceName = serviceName(r.Resource)
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			sl := sls.At(j)
			r.Scope = sl.Scope()
			lrs := sl.LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				r.Log = lrs.At(k)
				r.Attrs = r.Log.Attributes()
				fn(r)
			}
		}
	}
}

// EachPoint calls fn once per data point of md, whatever the metric type.
func EachPoint(md pmetric.Metrics, r *Record, fn func(*Record)) {
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		r.Resource = rm.Resource()
		r.ServiceName = serviceName(r.Resource)
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			sm := sms.At(j)
			r.Scope = sm.Scope()
			ms := sm.Metrics()
			for k := 0; k < ms.Len(); k++ {
				r.Metric = ms.At(k)
				eachPoint(r, fn)
			}
		}
	}
}

func eachPoint(r *Record, fn func(*Record)) {
	switch r.Metric.Type() {
	case pmetric.MetricTypeGauge:
		eachNumber(r, r.Metric.Gauge().DataPoints(), fn)
	case pmetric.MetricTypeSum:
		eachNumber(r, r.Metric.Sum().DataPoints(), fn)
	case pmetric.MetricTypeHistogram:
		dps := r.Metric.Histogram().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			r.Histogram = dps.At(i)
			r.Attrs = r.Histogram.Attributes()
			fn(r)
		}
	case pmetric.MetricTypeExponentialHistogram:
		dps := r.Metric.ExponentialHistogram().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			r.ExpHistogram = dps.At(i)
			r.Attrs = r.ExpHistogram.Attributes()
			fn(r)
		}
	case pmetric.MetricTypeSummary:
		dps := r.Metric.Summary().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			r.Summary = dps.At(i)
			r.Attrs = r.Summary.Attributes()
			fn(r)
		}
	}
}

func eachNumber(r *Record, dps pmetric.NumberDataPointSlice, fn func(*Record)) {
	for i := 0; i < dps.Len(); i++ {
		r.Number = dps.At(i)
		r.Attrs = r.Number.Attributes()
		fn(r)
	}
}

// PointTimestamp returns the timestamp of the current data point.
func (r *Record) PointTimestamp() pcommon.Timestamp {
	switch r.Metric.Type() {
	case pmetric.MetricTypeGauge, pmetric.MetricTypeSum:
		return r.Number.Timestamp()
	case pmetric.MetricTypeHistogram:
		return r.Histogram.Timestamp()
	case pmetric.MetricTypeExponentialHistogram:
		return r.ExpHistogram.Timestamp()
	case pmetric.MetricTypeSummary:
		return r.Summary.Timestamp()
	}
	return 0
}

// PointStartTimestamp returns the start timestamp of the current data point.
func (r *Record) PointStartTimestamp() pcommon.Timestamp {
	switch r.Metric.Type() {
	case pmetric.MetricTypeGauge, pmetric.MetricTypeSum:
		return r.Number.StartTimestamp()
	case pmetric.MetricTypeHistogram:
		return r.Histogram.StartTimestamp()
	case pmetric.MetricTypeExponentialHistogram:
		return r.ExpHistogram.StartTimestamp()
	case pmetric.MetricTypeSummary:
		return r.Summary.StartTimestamp()
	}
	return 0
}
