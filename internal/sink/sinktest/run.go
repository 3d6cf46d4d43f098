package sinktest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Start creates the exporter of the factory for the kind of data (a
// ptrace.Traces, pmetric.Metrics or plog.Logs value), starts it, and returns
// a function that consumes one such value and one that shuts the exporter
// down (called at the end of the test if the test did not).
func Start(tb testing.TB, f exporter.Factory, cfg component.Config, kind any) (consume func(data any) error, shutdown func() error) {
	tb.Helper()
	ctx := context.Background()
	set := exportertest.NewNopSettings(f.Type())
	set.ID = component.NewIDWithName(f.Type(), "audit")
	var c component.Component
	switch kind.(type) {
	case ptrace.Traces:
		e, err := f.CreateTraces(ctx, set, cfg)
		require.NoError(tb, err)
		c, consume = e, func(d any) error { return e.ConsumeTraces(ctx, d.(ptrace.Traces)) }
	case pmetric.Metrics:
		e, err := f.CreateMetrics(ctx, set, cfg)
		require.NoError(tb, err)
		c, consume = e, func(d any) error { return e.ConsumeMetrics(ctx, d.(pmetric.Metrics)) }
	case plog.Logs:
		e, err := f.CreateLogs(ctx, set, cfg)
		require.NoError(tb, err)
		c, consume = e, func(d any) error { return e.ConsumeLogs(ctx, d.(plog.Logs)) }
	default:
		tb.Fatalf("sinktest: no exporter for %T", kind)
	}
	require.NoError(tb, c.Start(ctx, componenttest.NewNopHost()))
	stopped := false
	shutdown = func() error {
		stopped = true
		return c.Shutdown(ctx)
	}
	tb.Cleanup(func() {
		if !stopped {
			require.NoError(tb, c.Shutdown(ctx))
		}
	})
	return consume, shutdown
}

// Export runs the factory's exporter over data (all of one kind), then
// shuts it down, so everything is written when it returns.
func Export(tb testing.TB, f exporter.Factory, cfg component.Config, data ...any) {
	tb.Helper()
	consume, shutdown := Start(tb, f, cfg, data[0])
	for _, d := range data {
		require.NoError(tb, consume(d))
	}
	require.NoError(tb, shutdown())
}

// BenchmarkExport pushes data (a batch of batchLen records, marked read-only
// and reused) through the factory's exporter and reports records/s.
func BenchmarkExport(b *testing.B, f exporter.Factory, cfg component.Config, data any, batchLen int) {
	consume, _ := Start(b, f, cfg, data)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		if err := consume(data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batchLen)/time.Since(start).Seconds(), "records/s")
}
