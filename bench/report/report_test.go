package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeSummary writes a load generator summary for pipeline id with the
// given saturation rate and CPU per million events.
func writeSummary(t *testing.T, dir, id string, round int, eps, cpuPerM float64) {
	t.Helper()
	s := map[string]any{
		"label": id, "batch": 1000, "conns": 8, "peak_rss_bytes": 100 << 20, "total_accepted": 1000000,
		"phases": []map[string]any{
			{"name": "saturate", "seconds": 20, "events_accepted": int(eps * 20), "events_per_sec": eps,
				"cpu_utilization": 0.99, "cpu_seconds_per_million_events": cpuPerM, "errors": map[string]int{}},
			{"name": "latency", "seconds": 15, "latency_p50_ms": 5, "latency_p99_ms": 9, "errors": map[string]int{}},
		},
	}
	b, _ := json.Marshal(s)
	if err := os.WriteFile(filepath.Join(dir, id+"-r"+string(rune('0'+round))+".json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReportRatios(t *testing.T) {
	dir := t.TempDir()
	writeSummary(t, dir, "A", 1, 110_000, 9.0)
	writeSummary(t, dir, "AD", 1, 95_000, 10.8)
	writeSummary(t, dir, "B", 1, 220_000, 4.5)
	writeSummary(t, dir, "C", 1, 100_000, 10.5)
	// D over two rounds: 6.0 and 8.0 µs/event; the round that cost least counts
	writeSummary(t, dir, "D", 1, 130_000, 8.0)
	writeSummary(t, dir, "D", 2, 140_000, 6.0)
	if err := os.WriteFile(filepath.Join(dir, "memtest.json"), []byte(`{"tasks":100000,"pending_spans":100000,"bytes_per_pending_span":400}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "micro.txt"), []byte("pkg: github.com/otelcol-tasker/otelcol-tasker/internal/event\nBenchmarkNormalize \t 1000\t 707.2 ns/op\t 392 B/op\t 7 allocs/op\nFAIL\tgithub.com/otelcol-tasker/otelcol-tasker/internal/fixtures [build failed]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "BENCHMARKS.md")
	if err := run(dir, out, filepath.Join(dir, "plot.png")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, want := range []string{
		"| A ≥ 100,000 events/s on one core | 110,000 events/s measured",
		"| A ≤ 1.5× B's CPU per event | 2.00× (9.00 vs 4.50 µs/event) | **not met** |",
		"| A-durable ≤ 1.3× A's CPU per event | 1.20× (10.80 vs 9.00 µs/event); 95,000 events/s | met |",
		"| **AD** product, durable | A with the router's state on file_storage (`storage: file_storage`) | 95,000 | 0.99 | 10.80 | 2.40 | 6.30 |",
		// D above floor 6.0-4.5 = 1.5, C 10.5-4.5 = 6.0: 0.25 of C's
		"| D's cost above the floor ≤ ½ of C's | D 1.50 µs/event, C 6.00 µs/event: 0.25 of C's | met |",
		"| ≤ 512 bytes per pending span | 400 bytes",
		"| **B** floor | otlp (OTLP/HTTP JSON logs) → nop | 220,000 | 0.99 | 4.50 | 1.00 | 0 (floor) |",
		"| **D** router metrics | otlp → eventnormalize → eventrouter (metrics only) → nop | 140,000 | 0.99 | 6.00 | 1.33 | 1.50 |",
		"| BenchmarkNormalize | 707.2 | 392 | 7 |",
		"internal/fixtures [build failed]",
		"RSS < 250 MiB with 100,000 open tasks | not measured",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

// TestReportTwoTier: S against F, and the router tier sized from R less the
// edge normalization (N − B).
func TestReportTwoTier(t *testing.T) {
	dir := t.TempDir()
	writeSummary(t, dir, "B", 1, 220_000, 4.0)
	writeSummary(t, dir, "S", 1, 150_000, 6.0)
	writeSummary(t, dir, "F", 1, 140_000, 6.5)
	writeSummary(t, dir, "N", 1, 180_000, 5.5)
	writeSummary(t, dir, "R", 1, 100_000, 9.5)
	out := filepath.Join(dir, "BENCHMARKS.md")
	if err := run(dir, out, filepath.Join(dir, "plot.png")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, want := range []string{
		"| S ≤ F's CPU per event (the sidecar costs no more than a plain OTLP forwarder) | S 6.00, F 6.50 µs/event: 0.92× | met |",
		// 9.5 − (5.5 − 4.0) = 8.0 µs/event: 125,000 events/s per core
		"R − (N − B) = 9.50 − (5.50 − 4.00) = **8.00 µs of CPU per event**, that is **125,000 events per second per router core**",
		// 1M / 125k = 8 cores; at 70 %: ceil(11.43) = 12
		"needs 8 router cores at full load; at 70% (room for bursts and for a router that restarts) **12 routers of one core**",
		"together spend 6.00 µs per event (S), 6.0 cores for 1,000,000 events/s",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}
