package metrics

import (
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// BenchmarkObserve feeds the sample stream through Observe, over and over;
// one op is one event.
func BenchmarkObserve(b *testing.B) {
	s := loadSample(b)
	for _, tc := range []struct {
		name string
		cfg  func(*Config)
	}{
		{"default", nil},
		{"exemplars_off", func(c *Config) { c.Exemplars = false }},
		{"with_definitions", func(c *Config) {
			c.Definitions = []Definition{
				{Name: "app.step.events", Type: TypeCounter, Events: []string{"step.*"}, Labels: map[string]string{"event": "event.name"}},
				{Name: "app.step.execution", Unit: "s", Type: TypeHistogram, Events: []string{"step.completed"},
					Value: "payload.execution_duration", Labels: map[string]string{"step": "attributes.tasker.step.name"}},
			}
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			a := newAggregator(b, tc.cfg)
			n := len(s.records)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				a.Observe(s.records[i%n], s.res)
			}
			elapsed := time.Since(start)
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
		})
	}
}

// BenchmarkObserveChurn feeds 50 copies of the sample with distinct task ids
// through an aggregator that tracks fewer tasks and steps than that, so task
// and step entries are inserted and evicted all the time (the worst case of
// the bounded tables).
func BenchmarkObserveChurn(b *testing.B) {
	s := loadSample(b)
	const copies = 50
	var records []plog.LogRecord
	logs := plog.NewLogs()
	lrs := logs.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for c := 0; c < copies; c++ {
		suffix := "-" + strconv.Itoa(c)
		for _, lr := range s.records {
			cp := lrs.AppendEmpty()
			lr.CopyTo(cp)
			if v, ok := cp.Attributes().Get("tasker.task.id"); ok {
				v.SetStr(v.Str() + suffix)
			}
		}
	}
	for i := 0; i < lrs.Len(); i++ {
		records = append(records, lrs.At(i))
	}
	a := newAggregator(b, func(c *Config) { c.MaxTrackedTasks = 200; c.MaxTrackedSteps = 500 })
	n := len(records)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		a.Observe(records[i%n], s.res)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkObserveParallel measures contention on the aggregator's mutex.
func BenchmarkObserveParallel(b *testing.B) {
	s := loadSample(b)
	a := newAggregator(b, nil)
	n := len(s.records)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			a.Observe(s.records[i%n], s.res)
			i++
		}
	})
}

// BenchmarkAppendTo measures one snapshot of the sample's series.
func BenchmarkAppendTo(b *testing.B) {
	s := loadSample(b)
	a := newAggregator(b, nil)
	s.feed(a, 0, len(s.records))
	now := pcommon.NewTimestampFromTime(time.Now())
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a.AppendTo(pmetric.NewMetrics(), now)
	}
}
