// Command report turns the results of scripts/bench.sh (one folder of JSON
// summaries, per-second samples, collector telemetry, the memory test and the
// Go microbenchmarks) into docs/BENCHMARKS.md and a PNG plot of throughput
// and resident memory over the run (drawn by gnuplot when it is installed).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The pipelines, in the order of the table.
var pipelines = []pipelineInfo{
	{"A", "product", "taskerevents (NDJSON) → eventrouter (traces + metrics + logs) → nop"},
	{"AD", "product, durable", "A with the router's state on file_storage (`storage: file_storage`)"},
	{"B", "floor", "otlp (OTLP/HTTP JSON logs) → nop"},
	{"C", "contrib", "otlp → transform (body fields → attributes) → signal_to_metrics (9 metrics) → nop"},
	{"D", "router metrics", "otlp → eventnormalize → eventrouter (metrics only) → nop"},
}

func init() { pipelines = append(pipelines, twoTierPipelines...) }

type pipelineInfo struct{ id, role, flow string }

// analysisFile is the hand-written part of the report.
const analysisFile = "bench/ANALYSIS.md"

func main() {
	dir := flag.String("results", ".e2e/bench", "folder written by scripts/bench.sh")
	out := flag.String("out", "docs/BENCHMARKS.md", "markdown file to write")
	plot := flag.String("plot", "docs/bench-throughput.png", "PNG plot to write (needs gnuplot)")
	flag.Parse()
	if err := run(*dir, *out, *plot); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

func run(dir, out, plot string) error {
	env := readEnv(filepath.Join(dir, "env.txt"))
	rows := make([]*row, 0, len(pipelines))
	byID := map[string]*row{}
	for _, p := range pipelines {
		r := loadRow(dir, p)
		rows = append(rows, r)
		byID[p.id] = r
	}
	plotNote := ""
	if err := drawPlot(dir, rows, plot); err != nil {
		plotNote = err.Error()
	}
	var b strings.Builder
	writeDoc(&b, env, rows, byID, dir, out, plot, plotNote)
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(out, []byte(b.String()), 0o644)
}
