package flatten

import (
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Encoder receives the typed value of one field. Implementations write it
// in their format; the field name and separators are their business too.
type Encoder interface {
	// Null marks a field that has no value for this record (an unset
	// timestamp, a histogram field on a gauge point, ...).
	Null()
	Str(s string)
	Int(v int64)
	Uint(v uint64)
	Float(v float64)
	Bool(v bool)
	// Time receives a timestamp; zero means unset.
	Time(ts pcommon.Timestamp)
	TraceID(id pcommon.TraceID)
	SpanID(id pcommon.SpanID)
	// Attributes receives the record's own attributes (Record.Attrs).
	Attributes(m pcommon.Map)
	// Map receives other maps (resource attributes).
	Map(m pcommon.Map)
	// Value receives a log body.
	Value(v pcommon.Value)
	// RawJSON receives a structured value already encoded as JSON (bucket
	// bounds, span events, ...). The slice is only valid during the call.
	RawJSON(b []byte)
}

// Field is one named column of a flat record.
type Field struct {
	Name  string
	write func(*Record, Encoder)
}

// Write hands the field's value for r to e.
func (f Field) Write(r *Record, e Encoder) { f.write(r, e) }

// AttributesField is the name of the field holding the record's attributes
// in every signal; encoders treat it specially (flattening, attribute
// columns).
const AttributesField = "attributes"

var (
	traceFields = []Field{
		{"trace_id", func(r *Record, e Encoder) { e.TraceID(r.Span.TraceID()) }},
		{"span_id", func(r *Record, e Encoder) { e.SpanID(r.Span.SpanID()) }},
		{"parent_span_id", func(r *Record, e Encoder) { e.SpanID(r.Span.ParentSpanID()) }},
		{"trace_state", func(r *Record, e Encoder) { e.Str(r.Span.TraceState().AsRaw()) }},
		{"name", func(r *Record, e Encoder) { e.Str(r.Span.Name()) }},
		{"kind", func(r *Record, e Encoder) { e.Str(r.Span.Kind().String()) }},
		{"start_time", func(r *Record, e Encoder) { e.Time(r.Span.StartTimestamp()) }},
		{"end_time", func(r *Record, e Encoder) { e.Time(r.Span.EndTimestamp()) }},
		{"duration_ms", func(r *Record, e Encoder) {
			if d, ok := spanDuration(r.Span); ok {
				e.Float(float64(d) / 1e6)
			} else {
				e.Null()
			}
		}},
		{"duration_ns", func(r *Record, e Encoder) {
			if d, ok := spanDuration(r.Span); ok {
				e.Int(d)
			} else {
				e.Null()
			}
		}},
		{"status_code", func(r *Record, e Encoder) { e.Str(r.Span.Status().Code().String()) }},
		{"status_message", func(r *Record, e Encoder) { e.Str(r.Span.Status().Message()) }},
		{"service_name", func(r *Record, e Encoder) { e.Str(r.ServiceName) }},
		{AttributesField, func(r *Record, e Encoder) { e.Attributes(r.Attrs) }},
		{"events", func(r *Record, e Encoder) {
			r.Scratch = appendSpanEvents(r.Scratch[:0], r.Span.Events(), r.TimeFormat)
			e.RawJSON(r.Scratch)
		}},
		{"links", func(r *Record, e Encoder) {
			r.Scratch = appendSpanLinks(r.Scratch[:0], r.Span.Links())
			e.RawJSON(r.Scratch)
		}},
		{"scope_name", func(r *Record, e Encoder) { e.Str(r.Scope.Name()) }},
		{"scope_version", func(r *Record, e Encoder) { e.Str(r.Scope.Version()) }},
		{"resource_attributes", func(r *Record, e Encoder) { e.Map(r.Resource.Attributes()) }},
	}

	metricFields = []Field{
		{"metric_name", func(r *Record, e Encoder) { e.Str(r.Metric.Name()) }},
		{"metric_type", func(r *Record, e Encoder) { e.Str(metricTypeName(r.Metric.Type())) }},
		{"unit", func(r *Record, e Encoder) { e.Str(r.Metric.Unit()) }},
		{"description", func(r *Record, e Encoder) { e.Str(r.Metric.Description()) }},
		{"timestamp", func(r *Record, e Encoder) { e.Time(r.PointTimestamp()) }},
		{"start_timestamp", func(r *Record, e Encoder) { e.Time(r.PointStartTimestamp()) }},
		{"value", writePointValue},
		{"count", func(r *Record, e Encoder) {
			switch r.Metric.Type() {
			case pmetric.MetricTypeHistogram:
				e.Uint(r.Histogram.Count())
			case pmetric.MetricTypeExponentialHistogram:
				e.Uint(r.ExpHistogram.Count())
			case pmetric.MetricTypeSummary:
				e.Uint(r.Summary.Count())
			default:
				e.Null()
			}
		}},
		{"sum", func(r *Record, e Encoder) {
			switch {
			case r.Metric.Type() == pmetric.MetricTypeHistogram && r.Histogram.HasSum():
				e.Float(r.Histogram.Sum())
			case r.Metric.Type() == pmetric.MetricTypeExponentialHistogram && r.ExpHistogram.HasSum():
				e.Float(r.ExpHistogram.Sum())
			case r.Metric.Type() == pmetric.MetricTypeSummary:
				e.Float(r.Summary.Sum())
			default:
				e.Null()
			}
		}},
		{"min", func(r *Record, e Encoder) {
			switch {
			case r.Metric.Type() == pmetric.MetricTypeHistogram && r.Histogram.HasMin():
				e.Float(r.Histogram.Min())
			case r.Metric.Type() == pmetric.MetricTypeExponentialHistogram && r.ExpHistogram.HasMin():
				e.Float(r.ExpHistogram.Min())
			default:
				e.Null()
			}
		}},
		{"max", func(r *Record, e Encoder) {
			switch {
			case r.Metric.Type() == pmetric.MetricTypeHistogram && r.Histogram.HasMax():
				e.Float(r.Histogram.Max())
			case r.Metric.Type() == pmetric.MetricTypeExponentialHistogram && r.ExpHistogram.HasMax():
				e.Float(r.ExpHistogram.Max())
			default:
				e.Null()
			}
		}},
		{"bucket_bounds", func(r *Record, e Encoder) {
			if r.Metric.Type() != pmetric.MetricTypeHistogram {
				e.Null()
				return
			}
			r.Scratch = AppendFloats(r.Scratch[:0], r.Histogram.ExplicitBounds())
			e.RawJSON(r.Scratch)
		}},
		{"bucket_counts", func(r *Record, e Encoder) {
			if r.Metric.Type() != pmetric.MetricTypeHistogram {
				e.Null()
				return
			}
			r.Scratch = AppendUints(r.Scratch[:0], r.Histogram.BucketCounts())
			e.RawJSON(r.Scratch)
		}},
		{"temporality", func(r *Record, e Encoder) {
			var t pmetric.AggregationTemporality
			switch r.Metric.Type() {
			case pmetric.MetricTypeSum:
				t = r.Metric.Sum().AggregationTemporality()
			case pmetric.MetricTypeHistogram:
				t = r.Metric.Histogram().AggregationTemporality()
			case pmetric.MetricTypeExponentialHistogram:
				t = r.Metric.ExponentialHistogram().AggregationTemporality()
			default:
				e.Null()
				return
			}
			e.Str(temporalityName(t))
		}},
		{"monotonic", func(r *Record, e Encoder) {
			if r.Metric.Type() != pmetric.MetricTypeSum {
				e.Null()
				return
			}
			e.Bool(r.Metric.Sum().IsMonotonic())
		}},
		{"quantiles", func(r *Record, e Encoder) {
			if r.Metric.Type() != pmetric.MetricTypeSummary {
				e.Null()
				return
			}
			r.Scratch = appendQuantiles(r.Scratch[:0], r.Summary.QuantileValues())
			e.RawJSON(r.Scratch)
		}},
		{"scale", func(r *Record, e Encoder) {
			if r.Metric.Type() != pmetric.MetricTypeExponentialHistogram {
				e.Null()
				return
			}
			e.Int(int64(r.ExpHistogram.Scale()))
		}},
		{"zero_count", func(r *Record, e Encoder) {
			if r.Metric.Type() != pmetric.MetricTypeExponentialHistogram {
				e.Null()
				return
			}
			e.Uint(r.ExpHistogram.ZeroCount())
		}},
		{"positive_offset", func(r *Record, e Encoder) {
			if r.Metric.Type() != pmetric.MetricTypeExponentialHistogram {
				e.Null()
				return
			}
			e.Int(int64(r.ExpHistogram.Positive().Offset()))
		}},
		{"positive_bucket_counts", func(r *Record, e Encoder) {
			if r.Metric.Type() != pmetric.MetricTypeExponentialHistogram {
				e.Null()
				return
			}
			r.Scratch = AppendUints(r.Scratch[:0], r.ExpHistogram.Positive().BucketCounts())
			e.RawJSON(r.Scratch)
		}},
		{"negative_offset", func(r *Record, e Encoder) {
			if r.Metric.Type() != pmetric.MetricTypeExponentialHistogram {
				e.Null()
				return
			}
			e.Int(int64(r.ExpHistogram.Negative().Offset()))
		}},
		{"negative_bucket_counts", func(r *Record, e Encoder) {
			if r.Metric.Type() != pmetric.MetricTypeExponentialHistogram {
				e.Null()
				return
			}
			r.Scratch = AppendUints(r.Scratch[:0], r.ExpHistogram.Negative().BucketCounts())
			e.RawJSON(r.Scratch)
		}},
		{"exemplars", func(r *Record, e Encoder) {
			var ex pmetric.ExemplarSlice
			switch r.Metric.Type() {
			case pmetric.MetricTypeGauge, pmetric.MetricTypeSum:
				ex = r.Number.Exemplars()
			case pmetric.MetricTypeHistogram:
				ex = r.Histogram.Exemplars()
			case pmetric.MetricTypeExponentialHistogram:
				ex = r.ExpHistogram.Exemplars()
			default:
				e.Null()
				return
			}
			r.Scratch = appendExemplars(r.Scratch[:0], ex, r.TimeFormat)
			e.RawJSON(r.Scratch)
		}},
		{"service_name", func(r *Record, e Encoder) { e.Str(r.ServiceName) }},
		{AttributesField, func(r *Record, e Encoder) { e.Attributes(r.Attrs) }},
		{"scope_name", func(r *Record, e Encoder) { e.Str(r.Scope.Name()) }},
		{"scope_version", func(r *Record, e Encoder) { e.Str(r.Scope.Version()) }},
		{"resource_attributes", func(r *Record, e Encoder) { e.Map(r.Resource.Attributes()) }},
	}

	logFields = []Field{
		{"timestamp", func(r *Record, e Encoder) { e.Time(r.Log.Timestamp()) }},
		{"observed_timestamp", func(r *Record, e Encoder) { e.Time(r.Log.ObservedTimestamp()) }},
		{"event_name", func(r *Record, e Encoder) { e.Str(eventName(r)) }},
		{"severity", func(r *Record, e Encoder) {
			switch {
			case r.Log.SeverityText() != "":
				e.Str(r.Log.SeverityText())
			case r.Log.SeverityNumber() != 0:
				e.Str(r.Log.SeverityNumber().String())
			default:
				e.Str("")
			}
		}},
		{"severity_text", func(r *Record, e Encoder) { e.Str(r.Log.SeverityText()) }},
		{"severity_number", func(r *Record, e Encoder) { e.Int(int64(r.Log.SeverityNumber())) }},
		{"trace_id", func(r *Record, e Encoder) { e.TraceID(r.Log.TraceID()) }},
		{"span_id", func(r *Record, e Encoder) { e.SpanID(r.Log.SpanID()) }},
		{"flags", func(r *Record, e Encoder) { e.Uint(uint64(r.Log.Flags())) }},
		{"service_name", func(r *Record, e Encoder) { e.Str(r.ServiceName) }},
		{AttributesField, func(r *Record, e Encoder) { e.Attributes(r.Attrs) }},
		{"body", func(r *Record, e Encoder) { e.Value(r.Log.Body()) }},
		{"scope_name", func(r *Record, e Encoder) { e.Str(r.Scope.Name()) }},
		{"scope_version", func(r *Record, e Encoder) { e.Str(r.Scope.Version()) }},
		{"resource_attributes", func(r *Record, e Encoder) { e.Map(r.Resource.Attributes()) }},
	}

	defaults = map[Signal][]string{
		Traces: {
			"trace_id", "span_id", "parent_span_id", "name", "kind", "start_time", "end_time",
			"duration_ms", "status_code", "status_message", "service_name", AttributesField,
		},
		Metrics: {
			"metric_name", "metric_type", "unit", "timestamp", "start_timestamp", "value",
			"count", "sum", "min", "max", "bucket_bounds", "bucket_counts", "service_name", AttributesField,
		},
		Logs: {
			"timestamp", "observed_timestamp", "event_name", "severity", "severity_number",
			"trace_id", "span_id", "service_name", AttributesField, "body",
		},
	}
)

// All returns every field a record of signal s can have, in documentation
// order.
func All(s Signal) []Field {
	switch s {
	case Traces:
		return traceFields
	case Metrics:
		return metricFields
	case Logs:
		return logFields
	}
	return nil
}

// Lookup finds the field called name in signal s.
func Lookup(s Signal, name string) (Field, bool) {
	for _, f := range All(s) {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// Known reports whether name is a field of at least one signal.
func Known(name string) bool {
	for _, s := range Signals {
		if _, ok := Lookup(s, name); ok {
			return true
		}
	}
	return false
}

func spanDuration(s ptrace.Span) (int64, bool) {
	start, end := s.StartTimestamp(), s.EndTimestamp()
	if start == 0 || end == 0 {
		return 0, false
	}
	return int64(end) - int64(start), true
}

func writePointValue(r *Record, e Encoder) {
	switch r.Metric.Type() {
	case pmetric.MetricTypeGauge, pmetric.MetricTypeSum:
		switch r.Number.ValueType() {
		case pmetric.NumberDataPointValueTypeInt:
			e.Int(r.Number.IntValue())
		case pmetric.NumberDataPointValueTypeDouble:
			e.Float(r.Number.DoubleValue())
		default:
			e.Null()
		}
	default:
		e.Null()
	}
}

func metricTypeName(t pmetric.MetricType) string {
	switch t {
	case pmetric.MetricTypeGauge:
		return "gauge"
	case pmetric.MetricTypeSum:
		return "sum"
	case pmetric.MetricTypeHistogram:
		return "histogram"
	case pmetric.MetricTypeExponentialHistogram:
		return "exponential_histogram"
	case pmetric.MetricTypeSummary:
		return "summary"
	}
	return "empty"
}

func temporalityName(t pmetric.AggregationTemporality) string {
	switch t {
	case pmetric.AggregationTemporalityCumulative:
		return "cumulative"
	case pmetric.AggregationTemporalityDelta:
		return "delta"
	}
	return "unspecified"
}

// eventName prefers the log record's EventName and falls back to the
// event.name attribute older OTLP senders use.
func eventName(r *Record) string {
	if n := r.Log.EventName(); n != "" {
		return n
	}
	if v, ok := r.Attrs.Get("event.name"); ok && v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	return ""
}

// AppendJSONTime appends a timestamp as a JSON value: null when unset, a
// number for unix_nano, a quoted string for rfc3339.
func AppendJSONTime(dst []byte, ts pcommon.Timestamp, f TimeFormat) []byte {
	switch {
	case ts == 0:
		return append(dst, "null"...)
	case f == TimeUnixNano:
		return strconv.AppendUint(dst, uint64(ts), 10)
	}
	dst = append(dst, '"')
	dst = AppendRFC3339(dst, uint64(ts))
	return append(dst, '"')
}

func appendIDString(dst []byte, hex []byte) []byte {
	dst = append(dst, '"')
	dst = append(dst, hex...)
	return append(dst, '"')
}

func appendSpanEvents(dst []byte, evs ptrace.SpanEventSlice, f TimeFormat) []byte {
	dst = append(dst, '[')
	for i := 0; i < evs.Len(); i++ {
		ev := evs.At(i)
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"time":`...)
		dst = AppendJSONTime(dst, ev.Timestamp(), f)
		dst = append(dst, `,"name":`...)
		dst = AppendString(dst, ev.Name())
		dst = append(dst, `,"attributes":`...)
		dst = AppendMap(dst, ev.Attributes(), nil)
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

func appendSpanLinks(dst []byte, links ptrace.SpanLinkSlice) []byte {
	dst = append(dst, '[')
	var idBuf [32]byte
	for i := 0; i < links.Len(); i++ {
		l := links.At(i)
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"trace_id":`...)
		dst = appendIDString(dst, AppendTraceID(idBuf[:0], l.TraceID()))
		dst = append(dst, `,"span_id":`...)
		dst = appendIDString(dst, AppendSpanID(idBuf[:0], l.SpanID()))
		dst = append(dst, `,"attributes":`...)
		dst = AppendMap(dst, l.Attributes(), nil)
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

func appendQuantiles(dst []byte, qs pmetric.SummaryDataPointValueAtQuantileSlice) []byte {
	dst = append(dst, '[')
	for i := 0; i < qs.Len(); i++ {
		q := qs.At(i)
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"quantile":`...)
		dst = AppendFloat(dst, q.Quantile())
		dst = append(dst, `,"value":`...)
		dst = AppendFloat(dst, q.Value())
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

func appendExemplars(dst []byte, ex pmetric.ExemplarSlice, f TimeFormat) []byte {
	dst = append(dst, '[')
	var idBuf [32]byte
	for i := 0; i < ex.Len(); i++ {
		x := ex.At(i)
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"timestamp":`...)
		dst = AppendJSONTime(dst, x.Timestamp(), f)
		dst = append(dst, `,"value":`...)
		switch x.ValueType() {
		case pmetric.ExemplarValueTypeInt:
			dst = strconv.AppendInt(dst, x.IntValue(), 10)
		case pmetric.ExemplarValueTypeDouble:
			dst = AppendFloat(dst, x.DoubleValue())
		default:
			dst = append(dst, "null"...)
		}
		dst = append(dst, `,"trace_id":`...)
		dst = appendIDString(dst, AppendTraceID(idBuf[:0], x.TraceID()))
		dst = append(dst, `,"span_id":`...)
		dst = appendIDString(dst, AppendSpanID(idBuf[:0], x.SpanID()))
		dst = append(dst, `,"attributes":`...)
		dst = AppendMap(dst, x.FilteredAttributes(), nil)
		dst = append(dst, '}')
	}
	return append(dst, ']')
}
