//go:build scale

package scale

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// simSummary is the part of taskersim's summary the checks read.
type simSummary struct {
	Tasks               int            `json:"tasks"`
	TasksCompleted      int            `json:"tasks_completed"`
	TasksFailed         int            `json:"tasks_failed"`
	StepAttempts        int            `json:"step_attempts"`
	StepsCompleted      int            `json:"steps_completed"`
	StepsFailedAttempts int            `json:"steps_failed_attempts"`
	DBQueries           int            `json:"db_queries"`
	Events              int            `json:"events"`
	EventsSent          int            `json:"events_sent"`
	TasksOTLP           int            `json:"tasks_otlp"`
	ByName              map[string]int `json:"by_name"`
	Elapsed             float64        `json:"elapsed_seconds"`
}

// workload fixes the simulated stream: the same flags with --dry-run write
// the stream the expectations come from.
func workload(tasks int) []string {
	return []string{"--seed", "12", "--start-time", "2026-01-01T00:00:00Z", "--tasks", fmt.Sprint(tasks),
		"--concurrency", "60", "--fail-rate", "0.2", "--fatal-rate", "0.05", "--db-queries", "0.5"}
}

// writeStream writes the stream of the workload to a file, and derives the
// expected spans from it.
func writeStream(t *testing.T, dir string, tasks int) *expected {
	t.Helper()
	path := filepath.Join(dir, "stream.ndjson")
	args := append([]string{"--dry-run", "--out", path}, workload(tasks)...)
	if out, err := exec.Command(binary(t, "TASKERSIM_BIN", "taskersim"), args...).CombinedOutput(); err != nil {
		t.Fatalf("taskersim --dry-run: %v\n%s", err, out)
	}
	return expectations(t, path)
}

// simCommand sends the workload through the sidecars: each event to one of
// them at random, a third of the tasks over OTLP/HTTP, the rest as NDJSON.
func (top *topology) simCommand(t *testing.T, tasks int, summaryPath string) *exec.Cmd {
	t.Helper()
	var http, otlp []string
	for _, s := range top.sidecars {
		http = append(http, "http://"+s.events+"/v1/events")
		otlp = append(otlp, s.otlpHTTP)
	}
	args := append([]string{
		"--endpoint", strings.Join(http, ","), "--otlp-endpoint", strings.Join(otlp, ","), "--otlp-share", "0.33",
		"--batch", "50", "--senders", "2", "--json", "--summary-json", summaryPath,
	}, workload(tasks)...)
	return exec.Command(binary(t, "TASKERSIM_BIN", "taskersim"), args...)
}

func readSummary(t *testing.T, path string) simSummary {
	t.Helper()
	var s simSummary
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// routerState is one scrape of a router.
type routerState struct {
	accepted, emitted, pending, unfinished float64
	tasker                                 []sample
}

func (r *router) state() (routerState, error) {
	tel, err := scrape("http://" + r.telemetry + "/metrics")
	if err != nil {
		return routerState{}, err
	}
	prom, err := scrape("http://" + r.metrics + "/metrics")
	if err != nil {
		return routerState{}, err
	}
	return routerState{
		accepted:   sum(tel, "otelcol_receiver_accepted_log_records", nil),
		emitted:    sum(tel, "otelcol_eventrouter_spans_emitted", nil),
		pending:    sum(tel, "otelcol_eventrouter_spans_pending", nil),
		unfinished: sum(tel, "otelcol_eventrouter_spans_unfinished", nil),
		tasker:     prom,
	}, nil
}

// quiet waits until the routers together accepted events events, hold no
// span, have flushed their task counts, and the sink wrote every span
// they emitted (plus emittedBefore, spans of router processes gone since).
func (top *topology) quiet(t *testing.T, events, tasks int, emittedBefore float64) []routerState {
	t.Helper()
	var states []routerState
	err := waitFor(90*time.Second, func() (bool, string) {
		states = states[:0]
		var accepted, emitted, pending, tasksTotal float64
		for _, r := range top.routers {
			st, err := r.state()
			if err != nil {
				return false, err.Error()
			}
			states = append(states, st)
			accepted += st.accepted
			emitted += st.emitted
			pending += st.pending
			tasksTotal += sum(st.tasker, "tasker_tasks_total", nil)
		}
		lines := countLines(top.spans)
		why := fmt.Sprintf("routers accepted %.0f of %d events, hold %.0f spans, counted %.0f of %d tasks; sink has %d of %.0f spans emitted",
			accepted, events, pending, tasksTotal, tasks, lines, emitted+emittedBefore)
		return accepted >= float64(events) && pending == 0 && tasksTotal >= float64(tasks) && float64(lines) == emitted+emittedBefore, why
	})
	if err != nil {
		t.Fatalf("the topology did not settle: %v", err)
	}
	return states
}

// TestTwoTier: events of each task sent through random sidecars, a third
// of the tasks over OTLP, give exactly what one collector gives: one trace
// per task, every task and step attempt span complete with the times its
// events carry, no unfinished span, no duplicate span id, and metrics that
// sum over the routers to the simulator's counts, every router with a share.
func TestTwoTier(t *testing.T) {
	const tasks = 300
	top := startTopology(t, topoOptions{})
	x := writeStream(t, top.dir, tasks)
	summaryPath := filepath.Join(top.dir, "summary.json")
	begin := time.Now()
	if out, err := top.simCommand(t, tasks, summaryPath).CombinedOutput(); err != nil {
		t.Fatalf("taskersim: %v\n%s", err, out)
	}
	s := readSummary(t, summaryPath)
	if s.EventsSent != s.Events || s.Events != x.events {
		t.Fatalf("taskersim sent %d of %d events; the dry-run stream has %d", s.EventsSent, s.Events, x.events)
	}
	if s.TasksOTLP == 0 || s.TasksOTLP == s.Tasks {
		t.Fatalf("tasks over OTLP: %d of %d; want a share", s.TasksOTLP, s.Tasks)
	}
	states := top.quiet(t, s.Events, s.Tasks, 0)
	settled := time.Since(begin)

	r := compare(readSpans(t, top.spans), x)
	t.Logf("%d tasks (%d over OTLP), %d events through %d sidecars to %d routers, settled in %s: %+v",
		s.Tasks, s.TasksOTLP, s.Events, numSidecars, numRouters, settled.Round(time.Millisecond), r)
	checks := []struct {
		what      string
		got, want int
	}{
		{"traces", r.Traces, s.Tasks},
		{"traces with a task span", r.TaskTraces, s.Tasks},
		{"task spans", r.TaskSpans, s.Tasks},
		{"step attempt spans", r.AttemptSpans, s.StepAttempts},
		{"database spans", r.DBSpans, s.DBQueries},
		{"unfinished spans", r.Unfinished, 0},
		{"duplicate span ids", r.DuplicateIDs, 0},
		{"expected spans missing or unfinished", r.MissingComplete, 0},
		{"spans with times other than their events'", r.WrongTimes, 0},
		{"tasks in several traces", r.TracesPerTask, 0},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %d, want %d", c.what, c.got, c.want)
		}
	}
	for _, p := range r.Problems {
		t.Log(p)
	}
	checkMetrics(t, top, states, s)
}

// checkMetrics: every tasker_* series of a router carries its instance, the
// sums over the routers are the simulator's counts, every router counted
// some tasks.
func checkMetrics(t *testing.T, top *topology, states []routerState, s simSummary) {
	t.Helper()
	type total struct {
		name, status string
		want         int
	}
	totals := []total{
		{"tasker_tasks_total", "", s.Tasks},
		{"tasker_tasks_total", "completed", s.TasksCompleted},
		{"tasker_tasks_total", "failed", s.TasksFailed},
		{"tasker_steps_total", "", s.StepAttempts},
		{"tasker_steps_total", "completed", s.StepsCompleted},
		{"tasker_steps_total", "failed", s.StepsFailedAttempts},
	}
	got := make([]float64, len(totals))
	for i, st := range states {
		name := top.routers[i].name
		for _, smp := range st.tasker {
			if strings.HasPrefix(smp.name, "tasker_") && smp.labels["tasker_router_instance"] != name {
				t.Errorf("%s: %s%v has no tasker_router_instance=%q", name, smp.name, smp.labels, name)
				break
			}
		}
		mine := sum(st.tasker, "tasker_tasks_total", nil)
		if mine == 0 {
			t.Errorf("%s counted no task: the ring gave it no share", name)
		}
		t.Logf("%s: %.0f tasks", name, mine)
		for j, tt := range totals {
			match := map[string]string{}
			if tt.status != "" {
				match["status"] = tt.status
			}
			got[j] += sum(st.tasker, tt.name, match)
		}
	}
	for j, tt := range totals {
		if got[j] != float64(tt.want) {
			t.Errorf("sum over routers of %s{status=%q} = %.0f, want %d", tt.name, tt.status, got[j], tt.want)
		}
	}
}

// TestWithoutEdgeNormalization is the control: sidecars without
// eventnormalize forward OTLP events without their trace ids, so the load
// balancer spreads them at random, and the routers, which read normalized
// records only, count every one of them as not normalized and make no span
// of them. The tasks sent over HTTP are unaffected.
func TestWithoutEdgeNormalization(t *testing.T) {
	const tasks = 60
	top := startTopology(t, topoOptions{noEdgeNormalize: true})
	summaryPath := filepath.Join(top.dir, "summary.json")
	if out, err := top.simCommand(t, tasks, summaryPath).CombinedOutput(); err != nil {
		t.Fatalf("taskersim: %v\n%s", err, out)
	}
	s := readSummary(t, summaryPath)
	var overOTLP float64
	for _, sc := range top.sidecars {
		tel, err := scrape("http://" + sc.telemetry + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		overOTLP += sum(tel, "otelcol_receiver_accepted_log_records", map[string]string{"receiver": "otlp"})
	}
	if overOTLP == 0 || s.TasksOTLP == 0 {
		t.Fatalf("no event went over OTLP (%v events, %d tasks)", overOTLP, s.TasksOTLP)
	}
	top.quiet(t, s.Events, s.Tasks-s.TasksOTLP, 0)
	var notNormalized float64
	for _, r := range top.routers {
		tel, err := scrape("http://" + r.telemetry + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		notNormalized += sum(tel, "otelcol_eventrouter_events_not_normalized", nil)
	}
	r := compare(readSpans(t, top.spans), &expected{spans: map[string][2]int64{}})
	t.Logf("%d of %d tasks over OTLP (%.0f events) without edge normalization: %.0f counted not normalized, %d traces",
		s.TasksOTLP, s.Tasks, overOTLP, notNormalized, r.TaskTraces)
	if notNormalized != overOTLP {
		t.Errorf("routers counted %.0f events not normalized; %.0f went over OTLP", notNormalized, overOTLP)
	}
	if r.TaskTraces != s.Tasks-s.TasksOTLP {
		t.Errorf("%d traces with a task span; want the %d tasks sent over HTTP", r.TaskTraces, s.Tasks-s.TasksOTLP)
	}
}
