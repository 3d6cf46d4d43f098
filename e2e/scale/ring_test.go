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

// ringReport is what a change of the router set mid-run changes: one of
// the scenarios below, written to $SCALE_REPORT_DIR/<scenario>.json (docs/SCALING.md
// quotes them) and logged.
type ringReport struct {
	Scenario        string     `json:"scenario"`
	Tasks           int        `json:"tasks"`
	Events          int        `json:"events"`
	ChangedAfter    int        `json:"changed_after_events"` // events the sidecars had taken at the change
	ChangeSeconds   float64    `json:"change_seconds"`       // the change itself (stop, flush, start)
	EventsProcessed int        `json:"events_processed"`     // event log lines over the routers
	TasksSplit      int        `json:"tasks_on_several_routers"`
	Spans           spanReport `json:"spans"`
	TasksCounted    float64    `json:"tasks_total_summed_after"`      // tasker_tasks_total over the routers at the end
	SettleSeconds   float64    `json:"settle_seconds"`                // start to nothing held
	HeldForTimeout  float64    `json:"spans_held_until_span_timeout"` // once every event was processed
	// DelayedByTimeout counts the expected complete spans among them: the
	// head of a task whose terminal event went to another router.
	DelayedByTimeout int `json:"expected_spans_delayed_to_span_timeout"`
}

// ringRun is one scenario: the topology, the workload in flight, and what
// it measured.
type ringRun struct {
	t       *testing.T
	top     *topology
	x       *expected
	summary string
	begin   time.Time
	simDone chan error
	simLog  string
	rep     ringReport
}

// startRing starts a topology whose routers release held spans after 20 s
// (events that reach a router after their task's terminal event went
// elsewhere wait for span_timeout; the default 10m would outlast the test,
// and 20 s is past the quiet time below) with the default task_end_grace,
// then the workload in the background.
func startRing(t *testing.T, scenario string, tasks int, opts topoOptions) *ringRun {
	t.Helper()
	opts.spanTimeout = "20s"
	// After a change, the sidecars redeliver what they queued on their own
	// retry schedules (200 ms doubling): the shipped task_end_grace (5 s)
	// lets a task's late parts join it, as in production.
	opts.defaultGrace = true
	top := startTopology(t, opts)
	run := &ringRun{t: t, top: top, x: writeStream(t, top.dir, tasks), summary: filepath.Join(top.dir, "summary.json"), rep: ringReport{Scenario: scenario}}
	run.begin = time.Now()
	sim := top.simCommand(t, tasks, run.summary)
	run.simLog = filepath.Join(top.dir, "taskersim.log")
	logf, err := os.Create(run.simLog)
	if err != nil {
		t.Fatal(err)
	}
	sim.Stdout, sim.Stderr = logf, logf
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	run.simDone = make(chan error, 1)
	go func() { run.simDone <- sim.Wait(); logf.Close() }()
	t.Cleanup(func() {
		if sim.ProcessState == nil {
			_ = sim.Process.Kill()
			<-run.simDone
		}
	})
	return run
}

// atAThird waits until the sidecars together took a third of the events
// (the simulator sends the rest after the change).
func (run *ringRun) atAThird() {
	run.t.Helper()
	err := waitFor(60*time.Second, func() (bool, string) {
		var accepted float64
		for _, s := range run.top.sidecars {
			tel, err := scrape("http://" + s.telemetry + "/metrics")
			if err != nil {
				return false, err.Error()
			}
			accepted += sum(tel, "otelcol_receiver_accepted_log_records", nil)
		}
		run.rep.ChangedAfter = int(accepted)
		return accepted >= float64(run.x.events)/3, fmt.Sprintf("sidecars took %.0f events", accepted)
	})
	if err != nil {
		run.t.Fatalf("the run did not reach a third: %v", err)
	}
}

// finish waits for the simulator and for the topology to settle, measures,
// reports, and checks what must hold whatever the ring does: no event
// lost; every task and step attempt span the events describe emitted
// complete, with its exact times, by the router that got its terminal
// event, even for a task whose head it never saw; no span id emitted
// complete twice; one trace per task.
func (run *ringRun) finish() ringReport {
	t, top, x := run.t, run.top, run.x
	t.Helper()
	if err := <-run.simDone; err != nil {
		t.Fatalf("taskersim: %v\n%s", err, tail(run.simLog, 20))
	}
	s := readSummary(t, run.summary)
	run.rep.Tasks, run.rep.Events = s.Tasks, s.Events
	if s.Events != x.events {
		t.Fatalf("taskersim sent %d events; the dry-run stream has %d", s.Events, x.events)
	}
	if run.rep.ChangedAfter >= s.Events {
		t.Fatalf("the ring changed after every event had arrived (%d of %d): the run was too short", run.rep.ChangedAfter, s.Events)
	}
	// quiet: every event in some router's event log, every span the
	// routers wrote also at the sink, and no new span for task_end_grace
	// (5 s) and a second: what is then still held waits for span_timeout.
	// Then: released, nothing held.
	lastSpans, lastChange := -1, time.Now()
	state := func() (events, routerSpans, sink int, pending float64, err error) {
		for _, r := range top.routers {
			events += countLines(filepath.Join(r.dir, "data", "events.jsonl"))
			routerSpans += countLines(filepath.Join(r.dir, "data", "traces.jsonl"))
			st, err := r.state()
			if err != nil {
				return 0, 0, 0, 0, err
			}
			pending += st.pending
		}
		return events, routerSpans, countLines(top.spans), pending, nil
	}
	err := waitFor(60*time.Second, func() (bool, string) {
		events, routerSpans, sink, pending, err := state()
		if err != nil {
			return false, err.Error()
		}
		if routerSpans != lastSpans {
			lastSpans, lastChange = routerSpans, time.Now()
		}
		run.rep.EventsProcessed, run.rep.HeldForTimeout = events, pending
		return events >= s.Events && routerSpans == sink && time.Since(lastChange) >= 6*time.Second,
			fmt.Sprintf("routers logged %d of %d events, wrote %d spans, the sink has %d", events, s.Events, routerSpans, sink)
	})
	if err != nil {
		t.Fatalf("the topology did not settle: %v", err)
	}
	run.rep.DelayedByTimeout = compare(readSpans(t, top.spans), x).MissingComplete
	err = waitFor(60*time.Second, func() (bool, string) {
		_, routerSpans, sink, pending, err := state()
		if err != nil {
			return false, err.Error()
		}
		return pending == 0 && routerSpans == sink, fmt.Sprintf("routers hold %.0f spans, wrote %d, the sink has %d", pending, routerSpans, sink)
	})
	if err != nil {
		t.Fatalf("held spans not released by span_timeout: %v", err)
	}
	run.rep.SettleSeconds = time.Since(run.begin).Seconds()
	for _, r := range top.routers {
		st, err := r.state()
		if err != nil {
			t.Fatal(err)
		}
		run.rep.TasksCounted += sum(st.tasker, "tasker_tasks_total", nil)
	}
	run.rep.TasksSplit = tasksOnSeveralRouters(t, top)
	run.rep.Spans = compare(readSpans(t, top.spans), x)
	run.report()

	r := run.rep
	if r.EventsProcessed < s.Events {
		t.Errorf("events lost: the routers logged %d of %d", r.EventsProcessed, s.Events)
	}
	if r.Spans.MissingComplete != 0 || r.Spans.WrongTimes != 0 {
		t.Errorf("%d expected spans missing complete, %d with wrong times: a router that gets a task's tail must emit the complete spans its terminal events describe", r.Spans.MissingComplete, r.Spans.WrongTimes)
	}
	if r.Spans.DuplicateDone != 0 {
		t.Errorf("%d span ids emitted complete twice", r.Spans.DuplicateDone)
	}
	if r.Spans.TaskTraces != s.Tasks || r.Spans.Traces != s.Tasks || r.Spans.TracesPerTask != 0 {
		t.Errorf("%d traces, %d with a task span, for %d tasks; %d tasks in several traces", r.Spans.Traces, r.Spans.TaskTraces, s.Tasks, r.Spans.TracesPerTask)
	}
	for _, p := range r.Spans.Problems {
		t.Log(p)
	}
	return r
}

func (run *ringRun) report() {
	b, _ := json.MarshalIndent(run.rep, "", "  ")
	run.t.Logf("%s after %d of %d events:\n%s", run.rep.Scenario, run.rep.ChangedAfter, run.rep.Events, b)
	if dir := os.Getenv("SCALE_REPORT_DIR"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, run.rep.Scenario+".json"), append(b, '\n'), 0o644); err != nil {
			run.t.Error(err)
		}
	}
}

// tasksOnSeveralRouters counts the tasks whose events more than one router
// logged.
func tasksOnSeveralRouters(t *testing.T, top *topology) int {
	t.Helper()
	seen := map[string]map[int]bool{}
	for i, r := range top.routers {
		for _, id := range loggedTaskIDs(t, filepath.Join(r.dir, "data", "events.jsonl")) {
			if seen[id] == nil {
				seen[id] = map[int]bool{}
			}
			seen[id][i] = true
		}
	}
	n := 0
	for _, rs := range seen {
		if len(rs) > 1 {
			n++
		}
	}
	return n
}

// TestRouterRestart restarts one router (SIGTERM, then the same config,
// ports and storage) once a third of the events reached the routers, with
// the shipped router config: its pending tasks are on file_storage, so the
// restarted router continues them. The ring is static: its share of the
// events waits in the sidecars' queues while it is down.
func TestRouterRestart(t *testing.T) {
	run := restartOne(t, "router-restart", topoOptions{})
	if r := run.rep; r.Spans.Unfinished != 0 || r.Spans.DuplicateIDs != 0 {
		t.Errorf("with storage, a restart emitted %d spans unfinished and %d span ids twice, want none", r.Spans.Unfinished, r.Spans.DuplicateIDs)
	}
}

// TestRouterRestartWithoutStorage is the same without the storage
// extension: the stopping router emits the tasks it holds, their open
// spans unfinished, and gets their tails after the restart.
func TestRouterRestartWithoutStorage(t *testing.T) {
	restartOne(t, "router-restart-without-storage", topoOptions{noStorage: true})
}

func restartOne(t *testing.T, scenario string, opts topoOptions) *ringRun {
	run := startRing(t, scenario, 600, opts)
	run.atAThird()
	victim := run.top.routers[1]
	at := time.Now()
	victim.stop(t)
	victim.start(t, run.top.bin)
	run.rep.ChangeSeconds = time.Since(at).Seconds()
	run.finish()
	return run
}

// TestRingGrows starts with the sidecars' ring naming two routers (the
// third runs idle), and once a third of the events reached them, restarts
// each sidecar (SIGTERM: its queue flushed; then the same ports) with all
// three in its ring, as a dns or k8s resolver does when the tier grows. A
// third of the trace ids move to the new router: the tasks in flight among
// them split, their head on an old router, their tail on the new one.
func TestRingGrows(t *testing.T) {
	run := startRing(t, "ring-grows", 600, topoOptions{ring: []int{0, 1}})
	run.atAThird()
	at := time.Now()
	for _, s := range run.top.sidecars {
		s.stop(t)
		run.top.writeSidecarConfig(t, s, []int{0, 1, 2})
		s.start(t, run.top.bin)
	}
	run.rep.ChangeSeconds = time.Since(at).Seconds()
	r := run.finish()
	if r.TasksSplit == 0 {
		t.Errorf("no task split between routers: the ring did not change")
	}
}
