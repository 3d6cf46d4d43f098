//go:build scale

package scale

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// restartReport is what restarting one router mid-run changes, written to
// $SCALE_REPORT (docs/SCALING.md quotes it) and logged.
type restartReport struct {
	Tasks             int        `json:"tasks"`
	Events            int        `json:"events"`
	StoppedAfter      int        `json:"router_stopped_after_events"` // events the routers had accepted at SIGTERM
	StopSeconds       float64    `json:"router_stop_seconds"`         // SIGTERM to exit (its flush included)
	DownSeconds       float64    `json:"router_down_seconds"`         // SIGTERM to healthy again
	EventsProcessed   int        `json:"events_processed"`            // event log lines over the routers
	Spans             spanReport `json:"spans"`
	UnfinishedCounted float64    `json:"unfinished_counted_by_routers"`
	TasksCounted      float64    `json:"tasks_total_summed_after"`      // sum of tasker_tasks_total over the routers at the end
	TasksCountedLost  float64    `json:"tasks_total_lost_to_the_reset"` // the restarted router's count before the restart
	SettleSeconds     float64    `json:"settle_seconds"`                // start to every expected span complete at the sink
	HeldForTimeout    float64    `json:"spans_held_until_span_timeout"` // then still held: a tail without its terminal event
}

// TestRouterRestart restarts one router (SIGTERM, then the same config and
// ports) once a third of the events reached the routers, and measures what
// that changes. The ring is static, so the restarted router gets the rest
// of its tasks' events (the sidecars queue and retry them meanwhile) without
// the state it flushed at shutdown.
//
// What must hold (docs/SCALING.md, "When the ring changes"): no event is
// lost; every task and step attempt span the events describe is emitted
// complete, with its exact times, by the router that got its terminal event,
// even for a task whose head it never saw; no span id is emitted complete
// twice. What it changes is reported: spans emitted unfinished at shutdown
// (their complete version follows), and the counter reset Prometheus sees.
func TestRouterRestart(t *testing.T) {
	const tasks = 600
	// Events of a task that reach the restarted router after their task's
	// terminal event reached the old one (queued in a sidecar while it was
	// down) have no terminal event there: they wait for span_timeout. 10s
	// instead of the default 10m lets the test see them released.
	top := startTopology(t, "10s")
	x := writeStream(t, top.dir, tasks)
	summaryPath := filepath.Join(top.dir, "summary.json")
	begin := time.Now()
	sim := top.simCommand(t, tasks, summaryPath)
	simLog, err := os.Create(filepath.Join(top.dir, "taskersim.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer simLog.Close()
	sim.Stdout, sim.Stderr = simLog, simLog
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	simDone := make(chan error, 1)
	go func() { simDone <- sim.Wait() }()
	defer func() {
		if sim.ProcessState == nil {
			_ = sim.Process.Kill()
			<-simDone
		}
	}()

	// stop router-1 once the routers together accepted a third of the events
	var rep restartReport
	victim := top.routers[1]
	var lastTasks float64
	err = waitFor(60*time.Second, func() (bool, string) {
		var accepted float64
		for _, r := range top.routers {
			st, err := r.state()
			if err != nil {
				return false, err.Error()
			}
			accepted += st.accepted
			if r == victim {
				lastTasks = sum(st.tasker, "tasker_tasks_total", nil)
			}
		}
		rep.StoppedAfter = int(accepted)
		return accepted >= float64(x.events)/3, fmt.Sprintf("routers accepted %.0f events", accepted)
	})
	if err != nil {
		t.Fatalf("the run did not reach a third: %v", err)
	}
	downAt := time.Now()
	rep.StopSeconds = victim.stop(t).Seconds()
	victim.start(t, top.bin)
	rep.DownSeconds = time.Since(downAt).Seconds()
	rep.TasksCountedLost = lastTasks

	if err := <-simDone; err != nil {
		t.Fatalf("taskersim: %v\n%s", err, tail(simLog.Name(), 20))
	}
	s := readSummary(t, summaryPath)
	rep.Tasks, rep.Events = s.Tasks, s.Events
	if s.Events != x.events {
		t.Fatalf("taskersim sent %d events; the dry-run stream has %d", s.Events, x.events)
	}
	if rep.StoppedAfter >= s.Events {
		t.Fatalf("router-1 was stopped after every event had arrived (%d of %d): the run was too short", rep.StoppedAfter, s.Events)
	}

	// settled: every event in some router's event log, every span the
	// routers wrote also at the sink, and every span the terminal events
	// describe there complete; then what is still held (released at
	// span_timeout) is counted, and waited for
	settled := func(wantPending bool) func() (bool, string) {
		return func() (bool, string) {
			events, routerSpans, pending := 0, 0, 0.0
			for _, r := range top.routers {
				events += countLines(filepath.Join(r.dir, "data", "events.jsonl"))
				routerSpans += countLines(filepath.Join(r.dir, "data", "traces.jsonl"))
				st, err := r.state()
				if err != nil {
					return false, err.Error()
				}
				pending += st.pending
			}
			sink := countLines(top.spans)
			rep.EventsProcessed = events
			why := fmt.Sprintf("routers logged %d of %d events, hold %.0f spans, wrote %d spans, the sink has %d", events, s.Events, pending, routerSpans, sink)
			if events < s.Events || routerSpans != sink || sink == 0 || (!wantPending && pending != 0) {
				return false, why
			}
			if wantPending {
				sp := compare(readSpans(t, top.spans), x)
				rep.HeldForTimeout = pending
				return sp.MissingComplete == 0, fmt.Sprintf("%s; %d expected spans not complete at the sink", why, sp.MissingComplete)
			}
			return true, why
		}
	}
	if err := waitFor(60*time.Second, settled(true)); err != nil {
		t.Fatalf("the topology did not settle: %v", err)
	}
	rep.SettleSeconds = time.Since(begin).Seconds()
	if err := waitFor(60*time.Second, settled(false)); err != nil {
		t.Fatalf("held spans not released by span_timeout: %v", err)
	}
	for _, r := range top.routers {
		st, err := r.state()
		if err != nil {
			t.Fatal(err)
		}
		rep.UnfinishedCounted += st.unfinished
		rep.TasksCounted += sum(st.tasker, "tasker_tasks_total", nil)
	}
	rep.Spans = compare(readSpans(t, top.spans), x)
	b, _ := json.MarshalIndent(rep, "", "  ")
	t.Logf("restart of %s after %d of %d events:\n%s", victim.name, rep.StoppedAfter, s.Events, b)
	if path := os.Getenv("SCALE_REPORT"); path != "" {
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Error(err)
		}
	}

	if rep.EventsProcessed < s.Events {
		t.Errorf("events lost: the routers logged %d of %d", rep.EventsProcessed, s.Events)
	}
	if rep.Spans.MissingComplete != 0 || rep.Spans.WrongTimes != 0 {
		t.Errorf("%d expected spans missing complete, %d with wrong times: a router that gets a task's tail must emit the complete spans its terminal events describe", rep.Spans.MissingComplete, rep.Spans.WrongTimes)
	}
	if rep.Spans.DuplicateDone != 0 {
		t.Errorf("%d span ids emitted complete twice", rep.Spans.DuplicateDone)
	}
	if rep.Spans.TaskSpans < s.Tasks || rep.Spans.TracesPerTask != 0 {
		t.Errorf("%d task spans for %d tasks, %d tasks in several traces", rep.Spans.TaskSpans, s.Tasks, rep.Spans.TracesPerTask)
	}
	for _, p := range rep.Spans.Problems {
		t.Log(p)
	}
}
