package jsonexporter

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"

	"github.com/otelcol-tasker/otelcol-tasker/exporter/jsonexporter/internal/metadata"
	"github.com/otelcol-tasker/otelcol-tasker/internal/flatten/flattentest"
)

const benchBatch = 1000

// benchmarkExport pushes batches of benchBatch records through a real
// exporter (exporterhelper included, queue off) into a file in a temp dir,
// and reports records/s.
func benchmarkExport(b *testing.B, consume func(*testing.B, *Config) func() error) {
	cfg := fileConfig(filepath.Join(b.TempDir(), "out.jsonl"))
	push := consume(b, cfg)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		if err := push(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*benchBatch)/time.Since(start).Seconds(), "records/s")
}

func BenchmarkTraces(b *testing.B) {
	benchmarkExport(b, func(b *testing.B, cfg *Config) func() error {
		e, err := NewFactory().CreateTraces(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
		require.NoError(b, err)
		require.NoError(b, e.Start(context.Background(), componenttest.NewNopHost()))
		b.Cleanup(func() { require.NoError(b, e.Shutdown(context.Background())) })
		td := flattentest.WorkflowTraces(benchBatch)
		td.MarkReadOnly()
		return func() error { return e.ConsumeTraces(context.Background(), td) }
	})
}

func BenchmarkMetrics(b *testing.B) {
	benchmarkExport(b, func(b *testing.B, cfg *Config) func() error {
		e, err := NewFactory().CreateMetrics(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
		require.NoError(b, err)
		require.NoError(b, e.Start(context.Background(), componenttest.NewNopHost()))
		b.Cleanup(func() { require.NoError(b, e.Shutdown(context.Background())) })
		md := flattentest.WorkflowMetrics(benchBatch)
		md.MarkReadOnly()
		return func() error { return e.ConsumeMetrics(context.Background(), md) }
	})
}

func BenchmarkLogs(b *testing.B) {
	benchmarkExport(b, func(b *testing.B, cfg *Config) func() error {
		e, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
		require.NoError(b, err)
		require.NoError(b, e.Start(context.Background(), componenttest.NewNopHost()))
		b.Cleanup(func() { require.NoError(b, e.Shutdown(context.Background())) })
		ld := flattentest.WorkflowLogs(benchBatch)
		ld.MarkReadOnly()
		return func() error { return e.ConsumeLogs(context.Background(), ld) }
	})
}
