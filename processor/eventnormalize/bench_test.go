package eventnormalize

import (
	"context"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
)

// BenchmarkProcessLogs normalizes a batch of 1,000 OTLP events of a
// simulated workload (b.N batches; the copy of the input is not timed).
func BenchmarkProcessLogs(b *testing.B) {
	evs := simEvents(b, 50)[:1000]
	in := asOTLP(evs)
	p := newNormalizer(createDefaultConfig().(*Config))
	batch := plog.NewLogs()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		in.CopyTo(batch)
		b.StartTimer()
		if _, err := p.processLogs(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "ns/event")
}
