// Package smoke runs the built collector with the default configuration
// (config/otelcol-tasker.yaml) the way a new user does with `make run`,
// posts the Tasker sample and checks what comes out: the answer, the
// Prometheus scrape endpoint, the JSON/CSV files under data/ and the debug
// output, and that no planted secret reaches any of them.
package smoke

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	repoRoot      = "../.."
	defaultConfig = repoRoot + "/config/otelcol-tasker.yaml"
	sampleFile    = repoRoot + "/internal/fixtures/data/sample-native.ndjson"
	summaryFile   = repoRoot + "/internal/fixtures/data/sample-native.summary.json"
)

func binary(t *testing.T) string {
	if b := os.Getenv("OTELCOL_TASKER_BIN"); b != "" {
		return b
	}
	b, err := filepath.Abs(repoRoot + "/bin/otelcol-tasker")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(b); err != nil {
		t.Fatalf("%s is missing: run `make build` first (make test does)", b)
	}
	return b
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// syncBuffer collects the collector's output while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type collector struct {
	events, metrics, health string
	dir                     string
	out                     *syncBuffer
}

// startCollector runs the default config on free loopback ports in a fresh
// working directory (so data/ lands there).
func startCollector(t *testing.T) *collector {
	t.Helper()
	cfg, err := filepath.Abs(defaultConfig)
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{events: freePort(t), metrics: freePort(t), health: freePort(t), dir: t.TempDir(), out: &syncBuffer{}}
	args := []string{
		"--config", cfg,
		"--set=receivers::taskerevents::endpoint=" + c.events,
		"--set=receivers::otlp::protocols::grpc::endpoint=" + freePort(t),
		"--set=receivers::otlp::protocols::http::endpoint=" + freePort(t),
		"--set=exporters::prometheus::endpoint=" + c.metrics,
		"--set=extensions::health_check::endpoint=" + c.health,
		"--set=extensions::pprof::endpoint=" + freePort(t),
		"--set=extensions::zpages::endpoint=" + freePort(t),
		"--set=service::telemetry::metrics::level=none",
		// quicker than the defaults, so the test need not wait 15 s
		"--set=connectors::eventrouter::metrics::flush_interval=500ms",
		"--set=connectors::eventrouter::traces::task_end_grace=500ms",
	}
	cmd := exec.Command(binary(t), args...)
	cmd.Dir = c.dir
	cmd.Stdout, cmd.Stderr = c.out, c.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("collector output (tail):\n%s", tail(c.out.String(), 4000))
		}
	})
	waitFor(t, 60*time.Second, "the health check", func() bool {
		resp, err := http.Get("http://" + c.health + "/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return c
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if ok() {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", d, what)
}

type summary struct {
	Tasks       int            `json:"tasks"`
	TasksFailed int            `json:"tasks_failed"`
	Events      int            `json:"events"`
	ByName      map[string]int `json:"by_name"`
}

func loadSummary(t *testing.T) summary {
	b, err := os.ReadFile(summaryFile)
	if err != nil {
		t.Fatal(err)
	}
	var s summary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// expectedSpans is what the tasker preset makes of the sample: one span per
// task, step batch, step attempt, handler, database query, enqueue and
// finalization pass (see processor/eventrouter/README.md).
func expectedSpans(s summary) int {
	n := s.Tasks
	for _, name := range []string{
		"workflow.viable_steps_discovered", "step.completed", "step.failed", "step.before_handle",
		"database.query_executed", "observability.task.enqueue", "workflow.task_finalization_started",
	} {
		n += s.ByName[name]
	}
	return n
}

var secretRE = regexp.MustCompile(`"(api_token|password)":"([^"]+)"`)

func plantedSecrets(t *testing.T) []string {
	b, err := os.ReadFile(sampleFile)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var out []string
	for _, m := range secretRE.FindAllSubmatch(b, -1) {
		if v := string(m[2]); !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		t.Fatal("the sample plants no secrets: the leak check would prove nothing")
	}
	return out
}

func countLines(t *testing.T, path string) int {
	f, err := os.Open(path)
	if err != nil {
		return -1
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) > 0 {
			n++
		}
	}
	return n
}

func scrape(t *testing.T, addr string) string {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// sumSeries adds the values of every sample of a metric whose labels contain
// all of match.
func sumSeries(exposition, metric string, match ...string) float64 {
	var total float64
	for _, line := range strings.Split(exposition, "\n") {
		if !strings.HasPrefix(line, metric+"{") && !strings.HasPrefix(line, metric+" ") {
			continue
		}
		ok := true
		for _, m := range match {
			ok = ok && strings.Contains(line, m)
		}
		if !ok {
			continue
		}
		fields := strings.Fields(line[strings.LastIndex(line, "}")+1:])
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err == nil {
			total += v
		}
	}
	return total
}

func TestDefaultConfigEndToEnd(t *testing.T) {
	sum := loadSummary(t)
	c := startCollector(t)

	body, err := os.ReadFile(sampleFile)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post("http://"+c.events+"/v1/events", "application/x-ndjson", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(answer)) != fmt.Sprintf(`{"accepted":%d}`, sum.Events) {
		t.Fatalf("POST sample: %d %s, want 200 {\"accepted\":%d}", resp.StatusCode, answer, sum.Events)
	}

	// metrics: the router flushes on its interval, the exporter serves them
	var exposition string
	waitFor(t, 30*time.Second, "tasker_tasks_total to reach the sample's task count", func() bool {
		exposition = scrape(t, c.metrics)
		return sumSeries(exposition, "tasker_tasks_total") == float64(sum.Tasks)
	})
	if got := sumSeries(exposition, "tasker_tasks_total", `status="failed"`); got != float64(sum.TasksFailed) {
		t.Errorf("failed tasks = %v, want %d", got, sum.TasksFailed)
	}

	// files: every event once, every span once
	data := filepath.Join(c.dir, "data")
	wantSpans := expectedSpans(sum)
	waitFor(t, 30*time.Second, "the JSON and CSV files to hold every event and span", func() bool {
		return countLines(t, filepath.Join(data, "events.jsonl")) == sum.Events &&
			countLines(t, filepath.Join(data, "traces.jsonl")) == wantSpans &&
			countLines(t, filepath.Join(data, "events.csv")) == sum.Events+1 &&
			countLines(t, filepath.Join(data, "traces.csv")) == wantSpans+1
	})
	for _, f := range []string{"events.csv", "traces.csv", "metrics.csv"} {
		fh, err := os.Open(filepath.Join(data, f))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(fh).ReadAll() // fails on a row of another width
		fh.Close()
		if err != nil || len(rows) < 2 {
			t.Errorf("%s: %d rows, %v", f, len(rows), err)
		}
	}

	// the debug exporter shows events in detail in the collector's output
	if out := c.out.String(); !strings.Contains(out, "step.completed") && !strings.Contains(out, "task.initialize_requested") {
		t.Errorf("the collector's output shows no event name")
	}

	// nothing leaked anywhere
	outputs := map[string]string{"collector output": c.out.String(), "metrics scrape": exposition}
	entries, _ := os.ReadDir(data)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(data, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		outputs["data/"+e.Name()] = string(b)
	}
	for _, secret := range plantedSecrets(t) {
		for where, text := range outputs {
			if strings.Contains(text, secret) {
				t.Errorf("secret %q reached %s", secret, where)
			}
		}
	}
}

func TestBadEventIsRefusedWithA400(t *testing.T) {
	c := startCollector(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+c.events+"/v1/events",
		strings.NewReader("{\"name\":\"task.completed\",\"payload\":{}}\n{\"payload\":{}}\n"))
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "line 2") {
		t.Fatalf("got %d %s, want 400 naming line 2", resp.StatusCode, b)
	}
}
