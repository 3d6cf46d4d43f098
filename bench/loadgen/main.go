// Command loadgen drives a collector with Tasker events for the pipeline
// benchmarks: it prepares every request body before the run (NDJSON for the
// taskerevents receiver, OTLP/HTTP JSON for the otlp receiver), keeps many
// keep-alive connections busy, counts the events the collector accepted from
// its answers, and reads the collector's CPU time and memory from /proc.
//
// Modes:
//
//	saturate  warm up, then as many requests as the collector takes for -duration
//	rate      a fixed event rate (-rate) for -duration, for request latency
//	run       saturate, then -latency-duration at -rate-fraction of the
//	          saturation rate (what scripts/bench.sh uses)
//	open      -tasks tasks that start and never end, then hold for -hold while
//	          sampling the collector's memory
//
// Every load loop is bounded by time and by -max-requests.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/otelcol-tasker/otelcol-tasker/bench/internal/workload"
)

type options struct {
	mode            string
	url             string
	format          string
	label           string
	batch           int
	conns           int
	warmup          time.Duration
	duration        time.Duration
	latencyDuration time.Duration
	rate            float64 // events per second (rate mode)
	rateFraction    float64
	maxRequests     uint64
	timeout         time.Duration
	pid             int
	out             string
	samples         string
	idBase          int64
	tasks           int
	hold            time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.mode, "mode", "run", "saturate, rate, run or open")
	flag.StringVar(&o.url, "url", "http://127.0.0.1:28088/v1/events", "endpoint to POST to")
	flag.StringVar(&o.format, "format", string(workload.NDJSON), "body format: ndjson (taskerevents) or otlp-json (otlp /v1/logs)")
	flag.StringVar(&o.label, "label", "", "name of the measured pipeline, copied to the summary")
	flag.IntVar(&o.batch, "batch", 1000, "events per request")
	flag.IntVar(&o.conns, "conns", 8, "concurrent keep-alive connections (requests in flight)")
	flag.DurationVar(&o.warmup, "warmup", 5*time.Second, "saturating load before the measured window")
	flag.DurationVar(&o.duration, "duration", 20*time.Second, "measured window (saturate, rate)")
	flag.DurationVar(&o.latencyDuration, "latency-duration", 15*time.Second, "run mode: fixed-rate phase after saturation")
	flag.Float64Var(&o.rate, "rate", 0, "rate mode: events per second")
	flag.Float64Var(&o.rateFraction, "rate-fraction", 0.5, "run mode: latency phase rate as a fraction of the saturation rate")
	flag.Uint64Var(&o.maxRequests, "max-requests", 1_000_000, "upper bound on requests of the whole run")
	flag.DurationVar(&o.timeout, "timeout", 30*time.Second, "per-request timeout")
	flag.IntVar(&o.pid, "pid", 0, "collector pid: sample its CPU time and memory from /proc")
	flag.StringVar(&o.out, "out", "", "write the summary as JSON to this file")
	flag.StringVar(&o.samples, "samples", "", "write one line a second (throughput, CPU, RSS) as CSV to this file")
	flag.Int64Var(&o.idBase, "id-base", 0, "offset of the task ids, to keep runs against one collector apart")
	flag.IntVar(&o.tasks, "tasks", 100_000, "open mode: tasks to start")
	flag.DurationVar(&o.hold, "hold", 5*time.Second, "open mode: how long to hold and sample after the last request")
	flag.Float64Var(&clockTicks, "clk-tck", 100, "USER_HZ of /proc/<pid>/stat (getconf CLK_TCK)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sum, err := run(ctx, o, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	if o.out != "" {
		b, _ := json.MarshalIndent(sum, "", "  ")
		if err := os.WriteFile(o.out, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
	}
	if sum.Failed() {
		os.Exit(2)
	}
}

// Summary is what one loadgen run measured.
type Summary struct {
	Label       string        `json:"label"`
	Mode        string        `json:"mode"`
	URL         string        `json:"url"`
	Format      string        `json:"format"`
	Batch       int           `json:"batch"`
	Conns       int           `json:"conns"`
	BodyBytes   int           `json:"avg_body_bytes"`
	PrepSeconds float64       `json:"prepare_seconds"`
	Phases      []PhaseResult `json:"phases"`
	// Collector memory (when a pid was given).
	PeakRSSBytes  int64 `json:"peak_rss_bytes,omitempty"`
	EndRSSBytes   int64 `json:"end_rss_bytes,omitempty"`
	StartRSSBytes int64 `json:"start_rss_bytes,omitempty"`
	// Open mode.
	OpenTasks int `json:"open_tasks,omitempty"`
	// Events accepted over the whole run, every phase included: what the
	// collector's own receiver counter must show.
	TotalAccepted int64 `json:"total_accepted"`
}

// Failed reports whether no event at all was accepted: the run measured
// nothing and the script must not write a table from it.
func (s *Summary) Failed() bool {
	for _, p := range s.Phases {
		if p.EventsAccepted > 0 {
			return false
		}
	}
	return true
}

// Phase returns the named phase, or nil.
func (s *Summary) Phase(name string) *PhaseResult {
	for i := range s.Phases {
		if s.Phases[i].Name == name {
			return &s.Phases[i]
		}
	}
	return nil
}

func run(ctx context.Context, o options, log io.Writer) (*Summary, error) {
	if o.batch <= 0 || o.conns <= 0 {
		return nil, errors.New("-batch and -conns must be positive")
	}
	format := workload.Format(o.format)
	prep := time.Now()
	var set *workload.Set
	var err error
	if o.mode == "open" {
		set, err = workload.BuildStarts(format, o.batch)
	} else {
		set, err = workload.Build(format, o.batch)
	}
	if err != nil {
		return nil, err
	}
	sum := &Summary{
		Label: o.label, Mode: o.mode, URL: o.url, Format: o.format, Batch: o.batch, Conns: o.conns,
		BodyBytes:   set.Bytes() / len(set.Templates),
		PrepSeconds: time.Since(prep).Seconds(),
	}
	fmt.Fprintf(log, "loadgen %s: %d bodies of %d events (%.0f KiB each) prepared in %.1fs\n",
		o.label, len(set.Templates), o.batch, float64(sum.BodyBytes)/1024, sum.PrepSeconds)

	s := newSender(o.url, format, set, o.conns, o.timeout)
	s.idBase = o.idBase
	defer s.close()

	smp := newSampler(s, o.pid)
	if o.pid > 0 {
		if p, err := readProc(o.pid); err == nil {
			sum.StartRSSBytes = p.rssBytes
		} else {
			return nil, fmt.Errorf("collector pid %d: %w", o.pid, err)
		}
	}
	smp.start()

	switch o.mode {
	case "saturate", "run":
		sat := runSaturate(ctx, s, smp, o)
		sum.Phases = append(sum.Phases, sat...)
		if o.mode == "run" && ctx.Err() == nil {
			measured := sum.Phase("saturate")
			rate := o.rateFraction * measured.EventsPerSec
			if rate > 0 {
				sum.Phases = append(sum.Phases, runRate(ctx, s, smp, o, "latency", rate, o.latencyDuration))
			}
		}
	case "rate":
		if o.rate <= 0 {
			return nil, errors.New("rate mode needs -rate (events per second)")
		}
		sum.Phases = append(sum.Phases, runRate(ctx, s, smp, o, "rate", o.rate, o.duration))
	case "open":
		sum.OpenTasks = o.tasks
		n := uint64((o.tasks + o.batch - 1) / o.batch)
		p := smp.phase("open")
		var stopFlag atomic.Bool
		stopAt := time.AfterFunc(o.duration, func() { stopFlag.Store(true) })
		s.saturate(ctx, o.conns, n, &stopFlag)
		stopAt.Stop()
		sum.Phases = append(sum.Phases, smp.finish(p))
		h := smp.phase("hold")
		select {
		case <-time.After(o.hold):
		case <-ctx.Done():
		}
		sum.Phases = append(sum.Phases, smp.finish(h))
	default:
		return nil, fmt.Errorf("unknown mode %q", o.mode)
	}
	smp.stop()
	sum.TotalAccepted = s.accepted.Load()
	if o.pid > 0 {
		if p, err := readProc(o.pid); err == nil {
			sum.PeakRSSBytes, sum.EndRSSBytes = p.hwmBytes, p.rssBytes
		}
	}
	if o.samples != "" {
		if err := smp.writeCSV(o.samples, o.label); err != nil {
			return nil, err
		}
	}
	for _, p := range sum.Phases {
		fmt.Fprintf(log, "loadgen %s %-8s %6.1fs %8d req %10d events %10.0f ev/s  p50 %7.1fms p99 %7.1fms  cpu %6.2fs (%.2f s/Mev)  errors %v\n",
			o.label, p.Name, p.Seconds, p.Requests, p.EventsAccepted, p.EventsPerSec,
			p.LatencyP50Ms, p.LatencyP99Ms, p.CPUSeconds, p.CPUSecondsPerMillion, p.Errors)
	}
	if sum.PeakRSSBytes > 0 {
		fmt.Fprintf(log, "loadgen %s peak RSS %.1f MiB, RSS at end %.1f MiB\n", o.label,
			float64(sum.PeakRSSBytes)/(1<<20), float64(sum.EndRSSBytes)/(1<<20))
	}
	return sum, nil
}

// runSaturate runs the warm-up and the measured window back to back with the
// same workers, so the window starts in steady state; requests are counted
// in the phase in which they complete.
func runSaturate(ctx context.Context, s *sender, smp *sampler, o options) []PhaseResult {
	var out []PhaseResult
	var stopFlag atomic.Bool
	var wg sync.WaitGroup
	wu := smp.phase("warmup")
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.saturate(ctx, o.conns, o.maxRequests, &stopFlag)
	}()
	sleep(ctx, o.warmup)
	m := smp.phase("saturate")
	out = append(out, smp.finish(wu))
	sleep(ctx, o.duration)
	d := smp.phase("drain")
	out = append(out, smp.finish(m))
	stopFlag.Store(true)
	wg.Wait()
	smp.finish(d)
	return out
}

func runRate(ctx context.Context, s *sender, smp *sampler, o options, name string, eventsPerSec float64, d time.Duration) PhaseResult {
	p := smp.phase(name)
	rps := eventsPerSec / float64(o.batch)
	if err := s.atRate(ctx, o.conns, rps, d); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
	}
	r := smp.finish(p)
	r.TargetRPS = rps
	return r
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
}
