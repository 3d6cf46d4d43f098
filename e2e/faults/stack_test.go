//go:build faults

package faults

// The three programs of a scenario: the sink (the product's OTLP backend),
// the product (config/otelcol-tasker-durable.yaml) and the simulator.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

const (
	durableConfig = repoRoot + "/config/otelcol-tasker-durable.yaml"
	sinkConfig    = "testdata/sink.yaml"
	startTimeout  = 60 * time.Second
)

// The workload of every scenario: the same flags give the same events, ids
// and times, so every scenario's output can be compared with the reference
// run's. 200 tasks at 1500 events/s: about 6,600 events over 5 s, long
// enough to break things while it runs.
var workload = []string{
	"--tasks", "200", "--rate", "1500", "--seed", "20261202",
	"--start-time", "2026-01-01T00:00:00Z",
}

// sink is a collector that writes every span and event it takes to JSON
// files (testdata/sink.yaml) before it answers.
type sink struct {
	dir, otlp, health, metrics string
	p                          *proc
}

func startSink(t testing.TB, dir string) *sink {
	t.Helper()
	s := &sink{dir: filepath.Join(dir, "sink"), otlp: freePort(t), health: freePort(t), metrics: freePort(t)}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s.start(t)
	return s
}

func (s *sink) start(t testing.TB) {
	t.Helper()
	cfg, err := filepath.Abs(sinkConfig)
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"SINK_OTLP=" + s.otlp, "SINK_HEALTH=" + s.health, "SINK_DIR=" + s.dir, "SINK_METRICS_PORT=" + portOf(s.metrics)}
	s.p = startProc(t, "sink", filepath.Join(s.dir, "sink.log"), env, binary(t, "OTELCOL_TASKER_BIN", "otelcol-tasker"), "--config", cfg)
	waitReady(t, s.p, s.health)
}

func (s *sink) stop(t testing.TB) { s.p.stop(t, syscall.SIGTERM) }

func (s *sink) spansPath() string  { return filepath.Join(s.dir, "spans.jsonl") }
func (s *sink) eventsPath() string { return filepath.Join(s.dir, "events.jsonl") }

// waitReady waits for a collector's health check, failing early (with its
// log) when the process exits.
func waitReady(t testing.TB, p *proc, health string) {
	t.Helper()
	if !poll(startTimeout, func() bool { return p.exited() || healthy(health) }) || p.exited() {
		t.Fatalf("%s did not become healthy on %s within %v (exited: %v, %v); log:\n%s", p.name, health, startTimeout, p.exited(), p.err, p.logTail())
	}
}

// product is the collector under test: the shipped durable config with its
// listeners on free loopback ports, its storage and files in the scenario's
// directory and its OTLP exporter pointed at the sink.
type product struct {
	dir, events, health, metrics string
	sinkOTLP                     string
	override                     string // the second --config file
	p                            *proc
	runs                         int
}

func startProduct(t testing.TB, dir string, s *sink) *product {
	t.Helper()
	c := &product{dir: filepath.Join(dir, "product"), events: freePort(t), health: freePort(t), metrics: freePort(t), sinkOTLP: s.otlp}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	c.override = filepath.Join(c.dir, "override.yaml")
	if err := os.WriteFile(c.override, []byte(c.overrideYAML(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	c.start(t)
	return c
}

// overrideYAML is merged over the durable config: maps merge key by key, so
// only addresses, paths and the router's grace period change; everything
// that makes the config durable (storage, queues, retries, flush thresholds,
// the pipelines) is the shipped file's. A 1 s grace (default 5 s) releases
// tasks while the 5 s workload still runs, so that a restart finds tasks
// pending, tasks being delivered and tombstones, as in production.
func (c *product) overrideYAML(t testing.TB) string {
	q := strconv.Quote
	d := func(name string) string { return q(filepath.Join(c.dir, name)) }
	return fmt.Sprintf(`extensions:
  health_check: {endpoint: %s}
  pprof: {endpoint: %s}
  zpages: {endpoint: %s}
  file_storage/router: {directory: %s, compaction: {directory: %s}}
  file_storage/queue: {directory: %s, compaction: {directory: %s}}
connectors:
  eventrouter: {traces: {task_end_grace: 1s}}
receivers:
  taskerevents: {endpoint: %s}
  otlp: {protocols: {grpc: {endpoint: %s}, http: {endpoint: %s}}}
exporters:
  prometheus: {endpoint: %s}
  json: {traces_path: %s, metrics_path: %s, logs_path: %s}
  csv: {traces_path: %s, metrics_path: %s, logs_path: %s}
service:
  telemetry:
    metrics:
      readers:
        - pull: {exporter: {prometheus: {host: 127.0.0.1, port: %s}}}
`, q(c.health), q(freePort(t)), q(freePort(t)),
		d("storage/router"), d("storage/router"), d("storage/queue"), d("storage/queue"),
		q(c.events), q(freePort(t)), q(freePort(t)),
		q(freePort(t)),
		d("data/traces.jsonl"), d("data/metrics.jsonl"), d("data/events.jsonl"),
		d("data/traces.csv"), d("data/metrics.csv"), d("data/events.csv"),
		portOf(c.metrics))
}

func (c *product) start(t testing.TB) {
	t.Helper()
	cfg, err := filepath.Abs(durableConfig)
	if err != nil {
		t.Fatal(err)
	}
	c.runs++
	env := []string{"OTELCOL_TASKER_OTLP_ENDPOINT=http://" + c.sinkOTLP}
	c.p = startProc(t, fmt.Sprintf("product (run %d)", c.runs), filepath.Join(c.dir, "product.log"), env,
		binary(t, "OTELCOL_TASKER_BIN", "otelcol-tasker"), "--config", cfg, "--config", c.override)
	waitReady(t, c.p, c.health)
}

// restart stops the product with sig (SIGKILL: a crash; SIGTERM: a rolling
// deploy) and starts it again on the same ports and storage.
func (c *product) restart(t testing.TB, sig syscall.Signal) {
	t.Helper()
	c.p.stop(t, sig)
	c.start(t)
}

// accepted is what this run of the product acknowledged on taskerevents.
func (c *product) accepted() float64 {
	m, err := scrape(c.metrics)
	if err != nil {
		return 0
	}
	return m.sum("otelcol_receiver_accepted_log_records", `receiver="taskerevents"`)
}

// emitted is the spans this run of the router released.
func (c *product) emitted() float64 {
	m, err := scrape(c.metrics)
	if err != nil {
		return 0
	}
	return m.sum("otelcol_eventrouter_spans_emitted")
}

// settled reports whether the product holds nothing more to send: no span
// pending in the router and every exporter queue empty.
func (c *product) settled() bool {
	m, err := scrape(c.metrics)
	if err != nil || !m.has("otelcol_exporter_queue_size") {
		return false
	}
	return m.sum("otelcol_eventrouter_spans_pending") == 0 && m.sum("otelcol_exporter_queue_size") == 0
}

// simSummary is the part of the simulator's summary the suite reads
// (internal/sim.Stats and the run facts of cmd/taskersim).
type simSummary struct {
	Tasks               int            `json:"tasks"`
	TasksCompleted      int            `json:"tasks_completed"`
	TasksFailed         int            `json:"tasks_failed"`
	StepAttempts        int            `json:"step_attempts"`
	StepsCompleted      int            `json:"steps_completed"`
	StepsFailedAttempts int            `json:"steps_failed_attempts"`
	Events              int            `json:"events"`
	ByName              map[string]int `json:"by_name"`
	EventsSent          int            `json:"events_sent"`
	Requests            int            `json:"requests"`
	Retried             int            `json:"requests_retried"`
	Error               string         `json:"error"`
	TaskIDs             []int64        `json:"task_ids"`
}

// expectedSpans is what the tasker preset makes of a workload: one span per
// task, step batch, step attempt (completed or failed), handler, database
// query, enqueue and finalization pass (processor/eventrouter/README.md).
func (s simSummary) expectedSpans() int {
	n := s.Tasks
	for _, name := range []string{
		"workflow.viable_steps_discovered", "step.completed", "step.failed", "step.before_handle",
		"database.query_executed", "observability.task.enqueue", "workflow.task_finalization_started",
	} {
		n += s.ByName[name]
	}
	return n
}

// sim is one run of taskersim with the workload.
type sim struct {
	p       *proc
	summary string
}

// startSim sends the workload to the product; it retries every refused or
// failed request until it is acknowledged.
func startSim(t testing.TB, dir, name string, c *product) *sim {
	t.Helper()
	return runSim(t, dir, name, "--endpoint", "http://"+c.events+"/v1/events",
		"--batch", "50", "--senders", "2", "--timeout", "5s",
		"--max-retries", "1000000", "--max-retry-wait", "500ms")
}

// runSim runs taskersim with the workload and args (a destination).
func runSim(t testing.TB, dir, name string, args ...string) *sim {
	t.Helper()
	s := &sim{summary: filepath.Join(dir, name+".summary.json")}
	argv := append([]string{binary(t, "TASKERSIM_BIN", "taskersim"), "--summary-json", s.summary, "--json"}, workload...)
	s.p = startProc(t, name, filepath.Join(dir, name+".log"), nil, append(argv, args...)...)
	return s
}

// wait waits (bounded) for the simulator to finish and returns its summary;
// it fails the test unless every event was acknowledged.
func (s *sim) wait(t testing.TB, d time.Duration) simSummary {
	t.Helper()
	select {
	case <-s.p.done:
	case <-time.After(d):
		t.Fatalf("%s still running after %v; log:\n%s", s.p.name, d, s.p.logTail())
	}
	b, err := os.ReadFile(s.summary)
	if err != nil {
		t.Fatalf("%s: %v (exit %v); log:\n%s", s.p.name, err, s.p.err, s.p.logTail())
	}
	var sum simSummary
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	if s.p.err != nil || sum.Error != "" || sum.EventsSent != sum.Events {
		t.Fatalf("%s: %d of %d events acknowledged (exit %v, %q)", s.p.name, sum.EventsSent, sum.Events, s.p.err, sum.Error)
	}
	return sum
}
