package csvexporter

import (
	"path/filepath"
	"testing"

	"github.com/otelcol-tasker/otelcol-tasker/internal/flatten"
	"github.com/otelcol-tasker/otelcol-tasker/internal/sink/sinktest"
)

const benchBatch = 1000

// The benchmarks push batches of benchBatch records through a real exporter
// (exporterhelper included, queue off) into a file in a temp dir.

func BenchmarkTraces(b *testing.B) { benchmark(b, flatten.Traces) }

func BenchmarkMetrics(b *testing.B) { benchmark(b, flatten.Metrics) }

func BenchmarkLogs(b *testing.B) { benchmark(b, flatten.Logs) }

func benchmark(b *testing.B, s flatten.Signal) {
	sinktest.BenchmarkWorkflow(b, NewFactory(), fileConfig(filepath.Join(b.TempDir(), "out.csv")), s, benchBatch)
}
