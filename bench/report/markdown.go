// Writing docs/BENCHMARKS.md: the tables, verdicts and microbenchmarks.

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

func writeDoc(b *strings.Builder, env map[string]string, rows []*row, by map[string]*row, dir, out, plot, plotNote string) {
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	p("# Benchmarks\n\n")
	p("<!-- Written by `make bench` (scripts/bench.sh → bench/report); edits are overwritten. -->\n\n")
	p("A sidecar runs next to every service that emits events, so what it spends per event is the price of the product. ")
	p("Absolute times drift on a shared machine, so every comparison below is a ratio of figures measured in the same run, one pipeline after the other, with the same binary, load generator and event stream.\n\n")

	p("Run of %s on this machine: %s cores (%s), %s memory, Linux %s. ", orDash(env["DATE"]), orDash(env["NPROC"]), orDash(env["CPU_MODEL"]), orDash(env["MEM_TOTAL"]), orDash(env["KERNEL"]))
	p("Load average %s at the start, %s at the end; the machine is shared with other work.\n\n", orDash(env["LOAD_START"]), orDash(env["LOAD_END"]))
	p("Versions: %s; collector `%s` (%s, built %s), core %s, contrib %s.\n\n", orDash(env["GO_VERSION"]), orDash(env["BINARY"]), orDash(env["COLLECTOR_VERSION"]), orDash(env["BINARY_BUILT"]), orDash(env["CORE_VERSION"]), orDash(env["CONTRIB_VERSION"]))
	p("Reproduce: `%s` (this run took %s min; `scripts/bench.sh --help` lists the knobs).\n\n", orDash(env["COMMAND"]), orDash(env["MINUTES"]))

	p("## Targets\n\n")
	p("| Target | Measured | Verdict |\n| --- | --- | --- |\n")
	a, bb, c, d := by["A"], by["B"], by["C"], by["D"]
	if ok(a) {
		p("| A ≥ 100,000 events/s on one core | %s events/s measured (collector at %.2f cores); %s events per CPU-second | %s |\n",
			num(a.eps), a.cpuUtil, num(1e6/a.cpuPerM), verdict(a.eps >= 100_000, a.cpuUtil))
	} else {
		p("| A ≥ 100,000 events/s on one core | not measured: %s | — |\n", a.skipped)
	}
	if ok(a) && ok(bb) {
		ratio := a.cpuPerM / bb.cpuPerM
		p("| A ≤ 1.5× B's CPU per event | %.2f× (%.2f vs %.2f µs/event) | %s |\n", ratio, a.cpuPerM, bb.cpuPerM, yesNo(ratio <= 1.5))
	} else {
		p("| A ≤ 1.5× B's CPU per event | not measured | — |\n")
	}
	if ad := by["AD"]; ok(a) && ok(ad) {
		ratio := ad.cpuPerM / a.cpuPerM
		p("| A-durable ≤ 1.3× A's CPU per event | %.2f× (%.2f vs %.2f µs/event); %s events/s | %s |\n", ratio, ad.cpuPerM, a.cpuPerM, num(ad.eps), yesNo(ratio <= 1.3))
	} else {
		p("| A-durable ≤ 1.3× A's CPU per event | not measured (%s) | — |\n", missing(a, ad))
	}
	if ok(c) && ok(d) && ok(bb) {
		dc, cc := d.cpuPerM-bb.cpuPerM, c.cpuPerM-bb.cpuPerM
		p("| D's cost above the floor ≤ ½ of C's | D %.2f µs/event, C %.2f µs/event: %.2f of C's | %s |\n", dc, cc, dc/cc, yesNo(dc <= cc/2))
	} else {
		p("| D's cost above the floor ≤ ½ of C's | not measured (%s) | — |\n", missing(bb, c, d))
	}
	for _, line := range twoTierTargets(by) {
		p("%s\n", line)
	}
	mt, mtErr := readMemtest(dir)
	if mtErr == nil {
		p("| ≤ 512 bytes per pending span | %.0f bytes (live heap, %s open tasks) | %s |\n", mt.BytesPerPendingSpan, num(float64(mt.Tasks)), yesNo(mt.BytesPerPendingSpan <= 512))
	} else {
		p("| ≤ 512 bytes per pending span | not measured: %s | — |\n", mtErr)
	}
	open, openErr := readOpen(dir)
	if openErr == nil {
		peak := float64(open.PeakRSS) / (1 << 20)
		p("| RSS < 250 MiB with 100,000 open tasks | %.1f MiB peak (%.1f MiB at rest after the tasks) | %s |\n", peak, float64(open.EndRSS)/(1<<20), yesNo(peak < 250))
	} else {
		p("| RSS < 250 MiB with 100,000 open tasks | not measured: %s | — |\n", openErr)
	}
	p("\n")
	// The analysis of what the figures mean (why a target is missed, what
	// was profiled) is written by people, in bench/ANALYSIS.md, and kept
	// across runs; the numbers around it are regenerated.
	if analysis, err := os.ReadFile(analysisFile); err == nil {
		p("%s\n", strings.TrimSpace(string(analysis)))
		p("\n")
	}

	writeTwoTier(b, by)

	p("## Pipelines, side by side\n\n")
	p("Every pipeline runs in the same binary with `GOMAXPROCS=1`%s; the load generator keeps %s requests of %s events in flight on keep-alive connections%s. ",
		pinNote(env["PINNED"]), orDash(env["CONNS"]), orDash(env["BATCH"]), genPinNote(env["PINNED"]))
	p("Saturation: %s of warm-up, then %s measured; latency: %s at half the measured saturation rate, timed from each request's planned start. ", orDash(env["WARMUP"]), orDash(env["DURATION"]), orDash(env["LATENCY_DURATION"]))
	p("CPU is the collector's utime+stime from `/proc/<pid>/stat` over the measured window; peak RSS is its VmHWM. ")
	if n := env["ROUNDS"]; n != "" && n != "1" {
		p("Each pipeline runs %s rounds (every pipeline once, then every pipeline again, ...); its saturation figures are those of its round with the least CPU per event (other processes on a shared machine only ever add cost, and one disturbed round would otherwise move a ratio), peak RSS is the highest of its rounds and latencies are medians. Every round is in the table below. ", n)
	}
	p("Configurations: [`bench/configs/`](../bench/configs/).\n\n")
	p("| | Pipeline | events/s at saturation | collector CPU (cores) | CPU s per 1M events | × B | above floor (µs/event) | peak RSS (MiB) | p50 / p99 at 50%% load (ms) | errors |\n")
	p("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, r := range rows {
		if !ok(r) {
			p("| **%s** %s | %s | not measured: %s | | | | | | | |\n", r.info.id, r.info.role, r.info.flow, r.skipped)
			continue
		}
		ratio, above := "—", "—"
		if ok(bb) {
			ratio = fmt.Sprintf("%.2f", r.cpuPerM/bb.cpuPerM)
			above = fmt.Sprintf("%.2f", r.cpuPerM-bb.cpuPerM)
			if r == bb {
				above = "0 (floor)"
			}
		}
		p("| **%s** %s | %s | %s | %.2f | %.2f | %s | %s | %.1f | %.1f / %.1f | %d |\n",
			r.info.id, r.info.role, r.info.flow, num(r.eps), r.cpuUtil, r.cpuPerM, ratio, above, r.peakRSS, r.p50, r.p99, r.errors)
	}
	p("\nCPU seconds per million events is also the CPU time per event in microseconds. \"Above floor\" is a pipeline's CPU per event minus B's: what its own components cost, which is how C and D compare. ")
	p("When the collector's CPU during saturation is well under one core, the machine (other processes on the collector's core, or the load generator) limited the throughput, not the pipeline; the CPU-per-event figures stay comparable, and 10⁶ ÷ (CPU s per 1M events) is the rate one full core would sustain.\n\n")

	// Accounting check against the collector's own telemetry.
	p("Accounting: the load generator counts the events each answer accepted (`{\"accepted\": N}` from taskerevents, `partialSuccess` from OTLP); the collector's own counters must agree.\n\n")
	p("| | events accepted (load generator, whole run) | receiver accepted (collector) | receiver refused | load generator errors | router spans emitted | router spans pending at the end | router spans unfinished |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, r := range rows {
		if !ok(r) {
			continue
		}
		acc := r.rounds[0].TotalAccepted
		_, hasRouter := r.collector["otelcol_eventrouter_events_routed"]
		_, hasTraces := r.collector["otelcol_eventrouter_spans_emitted"]
		router := func(name string) string {
			if _, ok := r.collector[name]; ok {
				return num(r.collector[name])
			}
			if hasRouter && hasTraces {
				return "0" // counters appear at their first increment
			}
			return "—"
		}
		p("| %s | %s | %s | %s | %d | %s | %s | %s |\n", r.info.id, num(float64(acc)),
			num(r.collector["otelcol_receiver_accepted_log_records"]), num(r.collector["otelcol_receiver_refused_log_records"]), r.errors,
			router("otelcol_eventrouter_spans_emitted"), router("otelcol_eventrouter_spans_pending"), router("otelcol_eventrouter_spans_unfinished"))
	}
	p("\nThe collector's counters are read once, at the end of each pipeline's first round. The router holds a task's spans until 5 s after its last event (`task_end_grace`), and at most `max_pending` spans and span events (200,000 by default); when that bound is reached the oldest task is emitted early.")
	for _, r := range rows {
		if pending, ok := r.collector["otelcol_eventrouter_spans_pending"]; ok && pending >= 0.95*200_000 {
			p(" In pipeline %s the router was at that bound (%s held) when the run ended: at this rate, tasks arrive faster than the grace period lets them go.", r.info.id, num(pending))
		}
	}
	p("\n\n")
	if plotNote == "" {
		rel, _ := filepath.Rel(filepath.Dir(out), plot)
		p("![Throughput and resident memory of each pipeline over its run](%s)\n\n", filepath.ToSlash(rel))
		p("One sample a second: events accepted per second and the collector's resident set size, for each pipeline from its warm-up to the end of its latency phase (the drop halfway is the switch to half the saturation rate).\n\n")
	} else {
		p("No plot: %s.\n\n", plotNote)
	}

	if len(rows) > 0 && anyRounds(rows) > 1 {
		p("### Every round\n\n| Pipeline | round | events/s | CPU (cores) | CPU s per 1M events | peak RSS (MiB) | p99 at 50%% (ms) |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
		for _, r := range rows {
			for i, s := range r.rounds {
				sat := s.phase("saturate")
				p99 := 0.0
				if l := s.phase("latency"); l != nil {
					p99 = l.P99
				}
				p("| %s | %d | %s | %.2f | %.2f | %.1f | %.1f |\n", r.info.id, i+1, num(sat.EventsPerSec), sat.CPUUtil, sat.CPUPerMillion, float64(s.PeakRSS)/(1<<20), p99)
			}
		}
		p("\n")
	}

	p("## Memory with 100,000 open tasks\n\n")
	p("Tasks that start (`task.start_requested`) and never finish are the router's worst case: each holds a pending task span until `span_timeout` (10 minutes by default).\n\n")
	if mtErr == nil {
		p("- In process (`go test ./bench/ -run TestOpenTasksMemory`, compiled from the working tree at the time of the run, which may be newer than the binary): the eventrouter connector (default config, traces output) fed %s normalized start events holds %s pending spans; the live heap after GC grows from %.1f MiB to %.1f MiB: **%.0f bytes and %.1f heap objects per pending span** (target ≤ 512 bytes). Feeding them took %.2f s.\n",
			num(float64(mt.Tasks)), num(float64(mt.PendingSpans)), float64(mt.HeapBefore)/(1<<20), float64(mt.HeapAfter)/(1<<20), mt.BytesPerPendingSpan, mt.ObjectsPerSpan, mt.FeedSeconds)
	} else {
		p("- In process: not measured (%s).\n", mtErr)
	}
	if openErr == nil {
		var hold *phase
		if hold = open.phase("hold"); hold == nil {
			hold = &phase{}
		}
		sent := open.phase("open")
		acc := 0
		if sent != nil {
			acc = sent.EventsAccepted
		}
		p("- Against the binary (pipeline A's configuration, `loadgen -mode open`): %s start events accepted in batches of %d; RSS %.1f MiB before, %.1f MiB after, peak %.1f MiB (target < 250 MiB). This is the whole product (receiver, traces, metrics with its bounded task table, logs) and includes the Go runtime's headroom (GOGC=100).\n",
			num(float64(acc)), open.Batch, float64(open.StartRSS)/(1<<20), float64(open.EndRSS)/(1<<20), float64(open.PeakRSS)/(1<<20))
	} else {
		p("- Against the binary: not measured (%s).\n", openErr)
	}
	p("\n")

	writeMicro(b, dir)

	p("## How it is measured\n\n")
	p("- **Workload.** The Tasker sample (%s: 646 events of 20 tasks, ~340 bytes each in NDJSON), repeated with fresh task ids: each 1,000-event request carries tasks no earlier request had (the ids and correlation ids are rewritten per copy; consecutive requests share the tasks that straddle them, as a real sender's batches would). Bodies are encoded before the run; a sender only patches the 12-digit task ids in place.\n", "`internal/fixtures/data/sample-native.ndjson`")
	p("- **S and F** forward to a sink, another collector process (three OTLP gRPC receivers → nop, `bench/configs/sink.yaml`) pinned with the load generator; only the forwarding collector is measured. S's load_balancing ring has three endpoints, as a sidecar in front of three routers. Their exporters run without a sending queue, so each request is forwarded before it is answered and the events counted are the events sent: with the queue, the collector on its one core accepted faster than it sent, and the backlog (about 60 MiB a second) made its heap grow for the whole window.\n")
	p("- **A** (and **S**) post NDJSON to the taskerevents receiver; **B, C, D** (and **F, N, R**) post the same events as OTLP/HTTP JSON log records (`EventName` set, the payload as a map body, `service.name=tasker`), as an application with an OpenTelemetry logs SDK would send them, encoded with pdata's `plogotlp` JSON marshaler. They are not normalized: D and R normalize them at the edge with the eventnormalize processor (the router reads normalized records only), C's transform processor lifts the fields its metrics need.\n")
	p("- **C** is the best contrib configuration we could write for the same nine metrics as the router's tasker preset (tasks and steps by status, workflow and step duration histograms, retries, backoff histogram, tasks enqueued by queue, database query duration by table and operation, events by name), durations of failures computed from `started_at` like the router does. signal_to_metrics aggregates each request alone and emits deltas, learns no task names across events and keeps no gauges; D keeps cumulative series, joins task names, computes three more metrics (tasks and steps in flight, slow operations) and exemplars. D does more work than C, so the comparison favours C.\n")
	p("- **AD** is A with `storage: file_storage` on the router: before answering a request it writes the tasks the request changed to a bbolt file (the contrib `file_storage` extension, no fsync) in one transaction, and deletes a task once its spans are delivered. The storage folder is in the scratch folder and emptied before every round. CPU is the collector's own; the kernel's writeback of the file to disk is not counted.\n")
	p("- **Exporters** are `nop`: they discard, so only the sidecar's own work is measured (the debug exporter formats every item even at basic verbosity).\n")
	p("- **Ports** are unusual loopback ports (taskerevents 28088, OTLP/HTTP 28318, health 28133, telemetry 28888) so that a running `make run` is not disturbed.\n")
	p("- **Pinning.** `taskset -c 1` for the collector and `taskset -c 0` for the load generator when the machine has two or more cores. The machine is shared: other processes may run on either core, which lowers throughput (see the CPU column) more than it changes CPU per event.\n")
}

func writeMicro(b *strings.Builder, dir string) {
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	p("## Component microbenchmarks\n\n")
	raw, err := os.ReadFile(filepath.Join(dir, "micro.txt"))
	if err != nil {
		p("Not run in this report. `scripts/bench.sh --micro` runs `go test -run='^$' -bench=. -benchmem -cpu=1 -benchtime=1s` on `./receiver/... ./processor/... ./exporter/... ./internal/...` and rewrites this section.\n\n")
		return
	}
	menv := readEnv(filepath.Join(dir, "micro-env.txt"))
	p("`%s`, run %s (load average %s at the start). One op is what the benchmark's name says (an event, a batch, the whole sample); the custom columns (events/s, allocs/event, ...) are the benchmarks' own.\n\n",
		orDash(menv["COMMAND"]), orDash(menv["DATE"]), orDash(menv["LOAD_START"]))
	pkg := ""
	var fails []string
	for _, l := range strings.Split(string(raw), "\n") {
		switch {
		case strings.HasPrefix(l, "pkg: "):
			pkg = strings.TrimPrefix(l, "pkg: ")
		case strings.HasPrefix(l, "Benchmark"):
			f := strings.Fields(l)
			if len(f) < 4 {
				continue
			}
			if pkg != "" {
				p("\n**%s**\n\n| benchmark | ns/op | B/op | allocs/op | its own figures |\n| --- | ---: | ---: | ---: | --- |\n", shortPkg(pkg))
				pkg = ""
			}
			std := map[string]string{}
			var other []string
			for _, kv := range pairs(f[2:]) {
				v, unit, _ := strings.Cut(kv, " ")
				switch unit {
				case "ns/op", "B/op", "allocs/op":
					std[unit] = v
				default:
					other = append(other, kv)
				}
			}
			p("| %s | %s | %s | %s | %s |\n", f[0], orDash(std["ns/op"]), orDash(std["B/op"]), orDash(std["allocs/op"]), strings.Join(other, ", "))
		case strings.HasPrefix(l, "FAIL\t") || strings.HasPrefix(l, "FAIL "):
			f := strings.Fields(l)
			if len(f) >= 2 {
				fails = append(fails, shortPkg(f[1])+" "+strings.Join(f[2:], " "))
			}
		}
	}
	p("\n")
	if len(fails) > 0 {
		p("Not measured in this run (the package did not build or a benchmark failed): %s.\n\n", strings.Join(fails, "; "))
	}
}

func shortPkg(p string) string {
	return strings.TrimPrefix(p, "github.com/otelcol-tasker/otelcol-tasker/")
}

// pairs turns "123 ns/op 45 B/op" into ["123 ns/op", "45 B/op"].
func pairs(f []string) []string {
	var out []string
	for i := 0; i+1 < len(f); i += 2 {
		out = append(out, f[i]+" "+f[i+1])
	}
	return out
}

func ok(r *row) bool { return r != nil && len(r.rounds) > 0 }

func anyRounds(rows []*row) int {
	n := 0
	for _, r := range rows {
		n = max(n, len(r.rounds))
	}
	return n
}

func missing(rs ...*row) string {
	var out []string
	for _, r := range rs {
		if !ok(r) {
			out = append(out, r.info.id+": "+r.skipped)
		}
	}
	return strings.Join(out, "; ")
}

func yesNo(ok bool) string {
	if ok {
		return "met"
	}
	return "**not met**"
}

func verdict(ok bool, util float64) string {
	if ok {
		return "met"
	}
	if util < 0.9 {
		return "**not met** here (collector below one core: machine-limited)"
	}
	return "**not met**"
}

func pinNote(pinned string) string {
	if pinned == "yes" {
		return ", pinned to core 1 with `taskset -c 1`"
	}
	return " (not pinned: taskset unavailable or a single core)"
}

func genPinNote(pinned string) string {
	if pinned == "yes" {
		return " from core 0"
	}
	return ""
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// num formats a number with thousands separators.
func num(v float64) string {
	s := strconv.FormatInt(int64(v+0.5), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}
