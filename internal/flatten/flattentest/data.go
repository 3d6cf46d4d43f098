// Package flattentest builds pdata batches that exercise every field and
// value type of flat records, for the json and csv exporters' tests and
// benchmarks.
package flattentest // import "github.com/otelcol-tasker/otelcol-tasker/internal/flatten/flattentest"

import (
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Base is the time the generated data starts at.
var Base = time.Date(2026, 2, 28, 23, 59, 58, 123456789, time.UTC)

func ts(offset time.Duration) pcommon.Timestamp {
	return pcommon.NewTimestampFromTime(Base.Add(offset))
}

// PutAllTypes puts one attribute of every pcommon value type into m, plus
// strings that need escaping in JSON and quoting in CSV.
func PutAllTypes(m pcommon.Map, i int) {
	m.PutStr("str", "value "+strconv.Itoa(i))
	m.PutStr("quoted", `say "hi", then
leave; tab	end \ backslash`)
	m.PutStr("unicode", "héllo wörld ✓ \u2028 日本")
	m.PutInt("int", int64(-42*i))
	m.PutInt("big", 1<<53+int64(i))
	m.PutDouble("double", -3.25+float64(i))
	m.PutDouble("tiny", 1.5e-9)
	m.PutBool("bool", i%2 == 0)
	m.PutEmptyBytes("bytes").FromRaw([]byte{0, 1, 2, 0xfe, 0xff, byte(i)})
	inner := m.PutEmptyMap("map")
	inner.PutStr("k", "v")
	inner.PutInt("n", int64(i))
	inner.PutEmptySlice("list").AppendEmpty().SetBool(true)
	sl := m.PutEmptySlice("slice")
	sl.AppendEmpty().SetStr("a")
	sl.AppendEmpty().SetInt(2)
	sl.AppendEmpty().SetDouble(3.5)
	sl.AppendEmpty()
	m.PutEmpty("empty")
	m.PutStr("tasker.task.id", strconv.Itoa(1000+i))
}

// Traces returns two resources with spans of every kind and status, span
// events, links and attributes of every type. It has n spans per resource.
func Traces(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	for r := 0; r < 2; r++ {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", "svc-"+strconv.Itoa(r))
		rs.Resource().Attributes().PutStr("host.name", "h1")
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName("tasker")
		ss.Scope().SetVersion("1.2.3")
		for i := 0; i < n; i++ {
			s := ss.Spans().AppendEmpty()
			s.SetTraceID(pcommon.TraceID{byte(r), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, byte(i)})
			s.SetSpanID(pcommon.SpanID{byte(r), 1, 2, 3, 4, 5, 6, byte(i + 1)})
			if i > 0 {
				s.SetParentSpanID(pcommon.SpanID{byte(r), 1, 2, 3, 4, 5, 6, 1})
			}
			s.SetName("step.process_" + strconv.Itoa(i))
			s.SetKind(ptrace.SpanKind(i % 6))
			start := time.Duration(i) * time.Millisecond
			s.SetStartTimestamp(ts(start))
			s.SetEndTimestamp(ts(start + time.Duration(1234567+i)))
			s.Status().SetCode(ptrace.StatusCode(i % 3))
			if s.Status().Code() == ptrace.StatusCodeError {
				s.Status().SetMessage(`boom, "bad" thing`)
			}
			PutAllTypes(s.Attributes(), i)
			ev := s.Events().AppendEmpty()
			ev.SetName("retry")
			ev.SetTimestamp(ts(start + time.Microsecond))
			ev.Attributes().PutInt("attempt", 2)
			l := s.Links().AppendEmpty()
			l.SetTraceID(pcommon.TraceID{9})
			l.SetSpanID(pcommon.SpanID{9})
		}
	}
	return td
}

// Metrics returns one point each of an int gauge, a negative double gauge, a
// monotonic cumulative sum, a histogram, an exponential histogram and a
// summary, n times over (with different attributes).
func Metrics(n int) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "tasker-app")
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("eventrouter")
	for i := 0; i < n; i++ {
		g := sm.Metrics().AppendEmpty()
		g.SetName("tasker.queue.depth")
		g.SetUnit("{task}")
		dp := g.SetEmptyGauge().DataPoints().AppendEmpty()
		dp.SetTimestamp(ts(time.Duration(i) * time.Second))
		dp.SetIntValue(int64(7 + i))
		PutAllTypes(dp.Attributes(), i)

		ng := sm.Metrics().AppendEmpty()
		ng.SetName("tasker.temperature")
		ng.SetUnit("Cel")
		ndp := ng.SetEmptyGauge().DataPoints().AppendEmpty()
		ndp.SetTimestamp(ts(time.Duration(i) * time.Second))
		ndp.SetDoubleValue(-3)
		ndp.Attributes().PutStr("room", "-cold")

		s := sm.Metrics().AppendEmpty()
		s.SetName("tasker.tasks")
		s.SetUnit("{task}")
		sum := s.SetEmptySum()
		sum.SetIsMonotonic(true)
		sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		sdp := sum.DataPoints().AppendEmpty()
		sdp.SetStartTimestamp(ts(-time.Hour))
		sdp.SetTimestamp(ts(time.Duration(i) * time.Second))
		sdp.SetDoubleValue(12.5 + float64(i))
		sdp.Attributes().PutStr("tasker.task.name", "=cmd|' /C calc'!A0")
		ex := sdp.Exemplars().AppendEmpty()
		ex.SetDoubleValue(1.5)
		ex.SetTimestamp(ts(0))
		ex.SetTraceID(pcommon.TraceID{1})

		h := sm.Metrics().AppendEmpty()
		h.SetName("tasker.workflow.duration")
		h.SetUnit("s")
		hist := h.SetEmptyHistogram()
		hist.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		hdp := hist.DataPoints().AppendEmpty()
		hdp.SetStartTimestamp(ts(-time.Hour))
		hdp.SetTimestamp(ts(time.Duration(i) * time.Second))
		hdp.ExplicitBounds().FromRaw([]float64{0.005, 0.1, 1, 2.5})
		hdp.BucketCounts().FromRaw([]uint64{1, 2, 3, 4, uint64(i)})
		hdp.SetCount(10 + uint64(i))
		hdp.SetSum(4.75)
		hdp.SetMin(0.001)
		hdp.SetMax(3.2)
		hdp.Attributes().PutStr("tasker.step.name", "fetch")

		e := sm.Metrics().AppendEmpty()
		e.SetName("tasker.exp")
		edp := e.SetEmptyExponentialHistogram().DataPoints().AppendEmpty()
		edp.SetTimestamp(ts(time.Duration(i) * time.Second))
		edp.SetScale(3)
		edp.SetCount(6)
		edp.SetZeroCount(1)
		edp.SetSum(-2)
		edp.Positive().SetOffset(-2)
		edp.Positive().BucketCounts().FromRaw([]uint64{1, 2})
		edp.Negative().BucketCounts().FromRaw([]uint64{2})

		q := sm.Metrics().AppendEmpty()
		q.SetName("tasker.latency")
		qdp := q.SetEmptySummary().DataPoints().AppendEmpty()
		qdp.SetTimestamp(ts(time.Duration(i) * time.Second))
		qdp.SetCount(4)
		qdp.SetSum(8)
		qv := qdp.QuantileValues().AppendEmpty()
		qv.SetQuantile(0.99)
		qv.SetValue(3)
	}
	return md
}

// Logs returns n event records with map bodies, plus string and empty
// bodies, severities, trace context and attributes of every type.
func Logs(n int) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "tasker-app")
	sl := rl.ScopeLogs().AppendEmpty()
	for i := 0; i < n; i++ {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(ts(time.Duration(i) * time.Millisecond))
		lr.SetObservedTimestamp(ts(time.Duration(i)*time.Millisecond + time.Second))
		lr.SetEventName("step.completed")
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.SetTraceID(pcommon.TraceID{1, 2, 3, byte(i)})
		lr.SetSpanID(pcommon.SpanID{4, 5, byte(i)})
		PutAllTypes(lr.Attributes(), i)
		switch i % 3 {
		case 0:
			body := lr.Body().SetEmptyMap()
			body.PutInt("task_id", int64(i))
			body.PutDouble("execution_duration", 0.25)
			body.PutStr("error_message", "line1\nline2, \"quoted\"")
			body.PutEmptyMap("nested").PutEmptySlice("ids").AppendEmpty().SetInt(3)
		case 1:
			lr.Body().SetStr("@SUM(1+1)*cmd|' /C calc'!A0")
			lr.SetSeverityNumber(plog.SeverityNumberError)
			lr.SetSeverityText("ERROR")
			lr.SetEventName("")
			lr.Attributes().PutStr("event.name", "step.failed")
		}
	}
	return ld
}

// WorkflowTraces returns n spans shaped like the eventrouter's step spans:
// a handful of tasker attributes, one resource.
func WorkflowTraces(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "tasker-app")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	spans.EnsureCapacity(n)
	for i := 0; i < n; i++ {
		s := spans.AppendEmpty()
		s.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, byte(i)})
		s.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, byte(i)})
		s.SetParentSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 0})
		s.SetName("step.process_payment")
		s.SetKind(ptrace.SpanKindInternal)
		s.SetStartTimestamp(ts(time.Duration(i) * time.Millisecond))
		s.SetEndTimestamp(ts(time.Duration(i)*time.Millisecond + 12345678))
		s.Status().SetCode(ptrace.StatusCodeOk)
		a := s.Attributes()
		a.PutStr("tasker.task.id", strconv.Itoa(10000+i))
		a.PutStr("tasker.task.name", "order_fulfillment")
		a.PutStr("tasker.step.id", strconv.Itoa(50000+i))
		a.PutStr("tasker.step.name", "process_payment")
		a.PutInt("tasker.step.attempt", 1)
		a.PutInt("tasker.step.retry_limit", 3)
		a.PutStr("tasker.correlation_id", "tsk_k2x9a_7hq2ma")
		a.PutDouble("tasker.step.execution_duration", 0.012345)
	}
	return td
}

// WorkflowLogs returns n event records shaped like the receiver's output:
// event name, trace context, tasker attributes and a map body.
func WorkflowLogs(n int) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "tasker-app")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	lrs.EnsureCapacity(n)
	for i := 0; i < n; i++ {
		lr := lrs.AppendEmpty()
		lr.SetTimestamp(ts(time.Duration(i) * time.Millisecond))
		lr.SetObservedTimestamp(ts(time.Duration(i)*time.Millisecond + time.Millisecond))
		lr.SetEventName("step.completed")
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, byte(i)})
		lr.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, byte(i)})
		a := lr.Attributes()
		a.PutStr("tasker.task.id", strconv.Itoa(10000+i))
		a.PutStr("tasker.step.id", strconv.Itoa(50000+i))
		a.PutStr("tasker.step.name", "process_payment")
		a.PutInt("tasker.step.attempt", 1)
		b := lr.Body().SetEmptyMap()
		b.PutInt("task_id", int64(10000+i))
		b.PutInt("step_id", int64(50000+i))
		b.PutStr("step_name", "process_payment")
		b.PutDouble("execution_duration", 0.012345)
		b.PutStr("started_at", "2026-02-28T23:59:58.123Z")
		b.PutStr("completed_at", "2026-02-28T23:59:58.135Z")
	}
	return ld
}

// WorkflowMetrics returns n data points: histograms and counters with a few
// labels, in equal parts.
func WorkflowMetrics(n int) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "tasker-app")
	ms := rm.ScopeMetrics().AppendEmpty().Metrics()
	c := ms.AppendEmpty()
	c.SetName("tasker.steps")
	c.SetUnit("{step}")
	sum := c.SetEmptySum()
	sum.SetIsMonotonic(true)
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	h := ms.AppendEmpty()
	h.SetName("tasker.step.duration")
	h.SetUnit("s")
	hist := h.SetEmptyHistogram()
	hist.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	for i := 0; i < n; i++ {
		if i%2 == 0 {
			dp := sum.DataPoints().AppendEmpty()
			dp.SetStartTimestamp(ts(-time.Hour))
			dp.SetTimestamp(ts(0))
			dp.SetIntValue(int64(i))
			dp.Attributes().PutStr("tasker.task.name", "order_fulfillment")
			dp.Attributes().PutStr("tasker.step.name", "step_"+strconv.Itoa(i))
			dp.Attributes().PutStr("status", "completed")
			continue
		}
		dp := hist.DataPoints().AppendEmpty()
		dp.SetStartTimestamp(ts(-time.Hour))
		dp.SetTimestamp(ts(0))
		dp.ExplicitBounds().FromRaw([]float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10})
		dp.BucketCounts().FromRaw([]uint64{0, 1, 4, 9, 20, 7, 3, 1, 0, 0, 0, 0})
		dp.SetCount(45)
		dp.SetSum(3.21)
		dp.SetMin(0.006)
		dp.SetMax(0.9)
		dp.Attributes().PutStr("tasker.task.name", "order_fulfillment")
		dp.Attributes().PutStr("tasker.step.name", "step_"+strconv.Itoa(i))
	}
	return md
}
