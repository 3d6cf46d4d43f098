// Command taskersim behaves like a Tasker workflow engine: it runs simulated
// tasks (step DAGs with parallel steps, failures, retries with backoff,
// database queries) and sends their lifecycle events to a collector, over
// HTTP in the taskerevents receiver's formats or as OTLP log records, or
// writes them to a file. At the end it prints what it sent, as ground truth
// for tests and benchmarks of the pipeline. See README.md.
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
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/otelcol-tasker/otelcol-tasker/internal/sim"
)

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		fmt.Fprintln(os.Stderr, "taskersim: stopping: no new tasks, finishing those in flight (interrupt again to abort)")
		cancel()
		<-sigs
		os.Exit(130)
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes.
const (
	exitOK    = 0
	exitSend  = 1 // the collector refused data or could not be reached
	exitUsage = 2
)

// run is the whole program; ctx cancellation stops it gracefully (no new
// tasks, tasks in flight finish and are sent).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseOptions(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintln(stderr, "taskersim:", err)
		return exitUsage
	}
	cfg, err := o.simConfig()
	if err != nil {
		fmt.Fprintln(stderr, "taskersim:", err)
		return exitUsage
	}
	gen, err := sim.New(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "taskersim:", err)
		return exitUsage
	}

	// Sending runs under its own context: a graceful stop must not abort
	// requests carrying events already generated.
	sendCtx, cancelSend := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSend()
	snk, dest, err := o.newSink(sendCtx, stdout, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "taskersim:", err)
		return exitUsage
	}
	var app *appSpans
	if o.appSpans {
		if app, err = newAppSpans(sendCtx, o); err != nil {
			_ = snk.Close()
			fmt.Fprintln(stderr, "taskersim:", err)
			return exitUsage
		}
		snk = &withAppSpans{sink: snk, app: app}
	}

	stopOnCancel := context.AfterFunc(ctx, gen.Stop)
	defer stopOnCancel()
	if o.duration > 0 {
		t := time.AfterFunc(o.duration, gen.Stop)
		defer t.Stop()
	}

	var generated atomic.Int64
	begin := time.Now()
	if o.showProgress(stderr) {
		done := make(chan struct{})
		defer close(done)
		go progress(done, stderr, begin, gen, &generated, snk)
	}

	pace := newPacer(o.rate > 0, begin, cfg.Start.UnixMilli(), o.flushInterval)
	var sendErr error
	for {
		ev, ok := gen.Next()
		if !ok {
			break
		}
		if err := pace.wait(ev.Time, snk); err != nil {
			sendErr = err
			break
		}
		if err := snk.Add(ev); err != nil {
			sendErr = err
			break
		}
		generated.Add(1)
	}
	if err := snk.Close(); sendErr == nil {
		sendErr = err
	}
	elapsed := time.Since(begin)

	s := summary{
		Stats:       gen.Stats(),
		Seed:        cfg.Seed,
		Format:      string(o.format),
		Destination: dest,
		EventsSent:  snk.Sent(),
		Requests:    snk.Requests(),
		Retried:     snk.Retried(),
		Elapsed:     elapsed.Seconds(),
	}
	if f, ok := snk.(*fanoutSink); ok {
		s.TasksOTLP = f.tasksOTLP
	}
	if elapsed > 0 {
		s.Rate = float64(s.EventsSent) / elapsed.Seconds()
	}
	if app != nil {
		s.AppSpansSent = app.sent()
		s.AppSpansDestination = o.appSpansEndpoint
	}
	code := exitOK
	if sendErr != nil {
		s.Error = sendErr.Error()
		fmt.Fprintln(stderr, "taskersim: error:", sendErr)
		code = exitSend
	}
	out := stdout
	if o.streamToStdout() {
		out = stderr // keep the stream clean
	}
	if o.jsonSummary {
		writeJSON(out, s)
	} else {
		s.writeText(out)
	}
	if o.summaryJSON != "" {
		f, err := os.Create(o.summaryJSON)
		if err == nil {
			writeJSON(f, s)
			err = f.Close()
		}
		if err != nil {
			fmt.Fprintln(stderr, "taskersim: summary:", err)
			code = max(code, exitSend)
		}
	}
	return code
}

// sink receives events in order and delivers them.
type sink interface {
	// Add takes one event (valid only during the call). An error is fatal.
	Add(ev *sim.Event) error
	// FlushIfOlder sends a partial batch whose first event waited longer
	// than age; the pacer calls it while waiting for simulated time.
	FlushIfOlder(age time.Duration) error
	// Close sends what is left, waits for every request and returns the
	// first error.
	Close() error
	Sent() int64     // events the destination accepted
	Requests() int64 // requests made (HTTP and OTLP)
	Retried() int64  // requests repeated after a refusal or network error
}

// pacer holds each event back until the wall clock reaches its simulated
// time, so that --rate runs stream in real time.
type pacer struct {
	on            bool
	wall0         time.Time
	sim0          int64
	flushInterval time.Duration
}

func newPacer(on bool, wall0 time.Time, sim0 int64, flush time.Duration) *pacer {
	return &pacer{on: on, wall0: wall0, sim0: sim0, flushInterval: flush}
}

func (p *pacer) wait(simMS int64, snk sink) error {
	if !p.on {
		return nil
	}
	due := p.wall0.Add(time.Duration(simMS-p.sim0) * time.Millisecond)
	for {
		d := time.Until(due)
		if d <= time.Millisecond {
			return nil
		}
		if err := snk.FlushIfOlder(p.flushInterval); err != nil {
			return err
		}
		time.Sleep(min(d, p.flushInterval))
	}
}

func progress(done <-chan struct{}, w io.Writer, begin time.Time, gen *sim.Generator, generated *atomic.Int64, snk sink) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var lastSent int64
	for {
		select {
		case <-done:
			return
		case <-tick.C:
			sent := snk.Sent()
			fmt.Fprintf(w, "taskersim: %5.0fs  tasks %d started, %d finished  events %d generated, %d sent  %d events/s\n",
				time.Since(begin).Seconds(), gen.TasksStarted(), gen.TasksFinished(), generated.Load(), sent, sent-lastSent)
			lastSent = sent
		}
	}
}

// summary is what the run sent: the generator's ground truth plus run facts.
type summary struct {
	sim.Stats
	Seed        int64   `json:"seed"`
	Format      string  `json:"format"`
	Destination string  `json:"destination"`
	EventsSent  int64   `json:"events_sent"`
	Requests    int64   `json:"requests"`
	Retried     int64   `json:"requests_retried"`
	TasksOTLP   int64   `json:"tasks_otlp,omitempty"` // tasks sent over OTLP when --otlp-share splits them
	Elapsed     float64 `json:"elapsed_seconds"`
	Rate        float64 `json:"events_per_second"`
	// With --app-spans: the handler spans the OTLP endpoint accepted.
	AppSpansSent        int64  `json:"app_spans_sent,omitempty"`
	AppSpansDestination string `json:"app_spans_destination,omitempty"`
	Error               string `json:"error,omitempty"`
}

func writeJSON(w io.Writer, s summary) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(s)
}

func (s summary) writeText(w io.Writer) {
	fmt.Fprintf(w, "taskersim: sent %d of %d events to %s (%s) in %.2fs, %.0f events/s",
		s.EventsSent, s.Events, s.Destination, s.Format, s.Elapsed, s.Rate)
	if s.Requests > 0 {
		fmt.Fprintf(w, ", %d requests, %d retried", s.Requests, s.Retried)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  tasks              %d  completed %d  failed %d  ids %s\n",
		s.Tasks, s.TasksCompleted, s.TasksFailed, idRange(s.TaskIDs))
	fmt.Fprintf(w, "  step attempts      %d  completed %d  failed attempts %d  retries %d  steps failed %d\n",
		s.StepAttempts, s.StepsCompleted, s.StepsFailedAttempts, s.Retries, s.StepsFailed)
	fmt.Fprintf(w, "  db queries         %d\n", s.DBQueries)
	if s.TasksOTLP > 0 {
		fmt.Fprintf(w, "  tasks over OTLP    %d\n", s.TasksOTLP)
	}
	if s.AppSpansDestination != "" {
		fmt.Fprintf(w, "  app spans          %d sent to %s\n", s.AppSpansSent, s.AppSpansDestination)
	}
	fmt.Fprintf(w, "  secrets planted    %d task contexts\n", s.SecretsPlanted)
	d := s.WorkflowDuration
	fmt.Fprintf(w, "  workflow duration  min %.3fs  p95 %.3fs  max %.3fs  mean %.3fs\n", d.Min, d.P95, d.Max, d.Mean)
	if s.FirstTimestamp != "" {
		fmt.Fprintf(w, "  event time         %s .. %s  seed %d\n", s.FirstTimestamp, s.LastTimestamp, s.Seed)
	}
	fmt.Fprintf(w, "  events by name\n")
	for _, name := range sim.EventNames {
		if n := s.ByName[name]; n > 0 {
			fmt.Fprintf(w, "    %-40s %d\n", name, n)
		}
	}
	if s.Error != "" {
		fmt.Fprintf(w, "  error: %s\n", s.Error)
	}
}

// idRange prints a contiguous id list as first..last.
func idRange(ids []int64) string {
	if len(ids) == 0 {
		return "none"
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] != ids[i-1]+1 {
			var b strings.Builder
			for j, id := range ids {
				if j > 0 {
					b.WriteByte(',')
				}
				fmt.Fprint(&b, id)
			}
			return b.String()
		}
	}
	return fmt.Sprintf("%d..%d", ids[0], ids[len(ids)-1])
}
