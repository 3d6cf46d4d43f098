package jsonexporter

import (
	"path/filepath"
	"testing"

	"github.com/otelcol-tasker/otelcol-tasker/internal/flatten/flattentest"
	"github.com/otelcol-tasker/otelcol-tasker/internal/sink/sinktest"
)

const benchBatch = 1000

// The benchmarks push batches of benchBatch records through a real exporter
// (exporterhelper included, queue off) into a file in a temp dir.

func BenchmarkTraces(b *testing.B) {
	td := flattentest.WorkflowTraces(benchBatch)
	td.MarkReadOnly()
	sinktest.BenchmarkExport(b, NewFactory(), fileConfig(filepath.Join(b.TempDir(), "out.jsonl")), td, benchBatch)
}

func BenchmarkMetrics(b *testing.B) {
	md := flattentest.WorkflowMetrics(benchBatch)
	md.MarkReadOnly()
	sinktest.BenchmarkExport(b, NewFactory(), fileConfig(filepath.Join(b.TempDir(), "out.jsonl")), md, benchBatch)
}

func BenchmarkLogs(b *testing.B) {
	ld := flattentest.WorkflowLogs(benchBatch)
	ld.MarkReadOnly()
	sinktest.BenchmarkExport(b, NewFactory(), fileConfig(filepath.Join(b.TempDir(), "out.jsonl")), ld, benchBatch)
}
