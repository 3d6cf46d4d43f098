//go:build e2e

package e2etest

// Helpers shared by the end-to-end tests: the environment scripts/e2e.sh
// sets, the simulator's ground truth and the collector's event log (the
// clients of Jaeger's and Prometheus' query APIs are in queryapi_test.go).

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// settle bounds every wait for data still on its way (a router flush, a
// file flush, a Prometheus scrape, Jaeger's batch); the script already waits
// a few seconds, so the waits normally end at once.
const settle = 30 * time.Second

var httpClient = &http.Client{Timeout: 30 * time.Second}

// simSummary is the simulator's ground truth (its --summary-json output).
type simSummary struct {
	Tasks               int            `json:"tasks"`
	TasksCompleted      int            `json:"tasks_completed"`
	TasksFailed         int            `json:"tasks_failed"`
	StepAttempts        int            `json:"step_attempts"`
	StepsCompleted      int            `json:"steps_completed"`
	StepsFailedAttempts int            `json:"steps_failed_attempts"`
	Retries             int            `json:"retries"`
	DBQueries           int            `json:"db_queries"`
	SecretsPlanted      int            `json:"secrets_planted"`
	TaskIDs             []int64        `json:"task_ids"`
	Events              int            `json:"events"`
	EventsSent          int            `json:"events_sent"`
	ByName              map[string]int `json:"by_name"`
	WorkflowDuration    struct {
		Count int     `json:"count"`
		Min   float64 `json:"min"`
		Max   float64 `json:"max"`
		P95   float64 `json:"p95"`
		Mean  float64 `json:"mean"`
	} `json:"workflow_duration_seconds"`
	FirstTimestamp time.Time `json:"first_timestamp"`
	LastTimestamp  time.Time `json:"last_timestamp"`
	Error          string    `json:"error"`
}

func env(t testing.TB, k string) string {
	t.Helper()
	v := os.Getenv(k)
	if v == "" {
		t.Fatalf("%s is not set: run the end-to-end tests through `make e2e`", k)
	}
	return v
}

var (
	summaryOnce sync.Once
	summary     simSummary
	summaryErr  error
)

// loadSummary reads and sanity-checks the simulator's summary once.
func loadSummary(t testing.TB) simSummary {
	t.Helper()
	path := env(t, "E2E_SIM_SUMMARY")
	summaryOnce.Do(func() {
		b, err := os.ReadFile(path)
		if err != nil {
			summaryErr = err
			return
		}
		if err := json.Unmarshal(b, &summary); err != nil {
			summaryErr = fmt.Errorf("%s: %w", path, err)
			return
		}
		switch {
		case summary.Error != "":
			summaryErr = fmt.Errorf("the simulator reported an error: %s", summary.Error)
		case summary.Tasks == 0 || len(summary.TaskIDs) != summary.Tasks:
			summaryErr = fmt.Errorf("simulator summary names %d tasks and %d task ids", summary.Tasks, len(summary.TaskIDs))
		case summary.EventsSent != summary.Events:
			summaryErr = fmt.Errorf("the collector accepted %d of the %d events", summary.EventsSent, summary.Events)
		case summary.TasksCompleted+summary.TasksFailed != summary.Tasks:
			summaryErr = fmt.Errorf("%d tasks started but %d completed and %d failed: the run ended with tasks in flight",
				summary.Tasks, summary.TasksCompleted, summary.TasksFailed)
		case summary.TasksFailed == 0 || summary.StepsFailedAttempts == 0 || summary.Retries == 0 || summary.DBQueries == 0:
			summaryErr = fmt.Errorf("the workload lacks failures, retries or queries (%+v): the checks would prove little", summary)
		}
	})
	if summaryErr != nil {
		t.Fatal(summaryErr)
	}
	return summary
}

// timedOut is set once a wait has used all of settle: by then everything
// had its time, so later waits look once instead of adding up.
var timedOut atomic.Bool

// eventually calls check until it reports done or settle has passed. It
// does not fail: the caller compares the final state and says what is wrong.
func eventually(check func() (done bool)) {
	deadline := time.Now().Add(settle)
	for {
		if check() {
			return
		}
		if timedOut.Load() || time.Now().After(deadline) {
			timedOut.Store(true)
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func get(u string) ([]byte, error) {
	resp, err := httpClient.Get(u)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d %s", u, resp.StatusCode, bytes.TrimSpace(body))
	}
	return body, nil
}

func getJSON(u string, out any) error {
	body, err := get(u)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	return nil
}

// --- the collector's event log (JSON exporter, logs) ----------------------

// eventRecord is one record of events*.jsonl, the fields the tests use.
type eventRecord struct {
	EventName  string         `json:"event_name"`
	TraceID    string         `json:"trace_id"`
	SpanID     string         `json:"span_id"`
	Attributes map[string]any `json:"attributes"`
}

func (e *eventRecord) attr(k string) string { return str(e.Attributes[k]) }

// str formats a JSON scalar the way ids appear in attributes ("42").
func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// files returns the files under the data directory matching pattern
// (rotated files included, e.g. events-<time>.jsonl next to events.jsonl).
func files(t testing.TB, pattern string) []string {
	t.Helper()
	fs, err := filepath.Glob(filepath.Join(env(t, "E2E_DATA"), pattern))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(fs)
	return fs
}

// countLines counts the non-empty lines of the files matching pattern.
func countLines(t testing.TB, pattern string) int {
	n := 0
	for _, f := range files(t, pattern) {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			if len(bytes.TrimSpace(sc.Bytes())) > 0 {
				n++
			}
		}
		fh.Close()
	}
	return n
}

// waitLines waits until the files matching pattern hold want lines (the
// exporters flush every second) and returns the final count.
func waitLines(t testing.TB, pattern string, want int) int {
	var n int
	eventually(func() bool {
		n = countLines(t, pattern)
		return n >= want
	})
	// one more look: a count above want must not be hidden by an early stop
	time.Sleep(1500 * time.Millisecond)
	return countLines(t, pattern)
}

// readJSONL decodes every record of the files matching pattern into T.
func readJSONL[T any](t testing.TB, pattern string) []T {
	t.Helper()
	fs := files(t, pattern)
	if len(fs) == 0 {
		t.Fatalf("no file matches %s under %s", pattern, env(t, "E2E_DATA"))
	}
	var out []T
	for _, f := range fs {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		line := 0
		for sc.Scan() {
			line++
			if len(bytes.TrimSpace(sc.Bytes())) == 0 {
				continue
			}
			var rec T
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				t.Fatalf("%s:%d: not a JSON record: %v", f, line, err)
			}
			out = append(out, rec)
		}
		if err := sc.Err(); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		fh.Close()
	}
	return out
}

// readCSV reads the CSV files matching pattern. Every file must start with
// the same header and every row must have the header's number of cells
// (encoding/csv refuses a row of another width than the first).
func readCSV(t testing.TB, pattern string) (header []string, rows [][]string) {
	t.Helper()
	fs := files(t, pattern)
	if len(fs) == 0 {
		t.Fatalf("no file matches %s under %s", pattern, env(t, "E2E_DATA"))
	}
	for _, f := range fs {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		all, err := csv.NewReader(fh).ReadAll()
		fh.Close()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(all) == 0 {
			continue
		}
		if header != nil && !equalStrings(header, all[0]) {
			t.Fatalf("%s: header %v differs from %v", f, all[0], header)
		}
		header = all[0]
		rows = append(rows, all[1:]...)
	}
	return header, rows
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func column(t testing.TB, header []string, name string) int {
	t.Helper()
	for i, h := range header {
		if h == name {
			return i
		}
	}
	t.Fatalf("CSV header %v has no column %q", header, name)
	return -1
}

var (
	eventsOnce sync.Once
	eventsLog  []eventRecord
)

// loadEvents reads the JSON event log once, after waiting until it holds
// every event the simulator sent (or settle passed).
func loadEvents(t testing.TB) []eventRecord {
	t.Helper()
	s := loadSummary(t)
	eventsOnce.Do(func() {
		waitLines(t, "events*.jsonl", s.Events)
		eventsLog = readJSONL[eventRecord](t, "events*.jsonl")
	})
	if len(eventsLog) != s.Events {
		t.Fatalf("the JSON event log holds %d records, the simulator sent %d events", len(eventsLog), s.Events)
	}
	return eventsLog
}

// --- secrets ----------------------------------------------------------------

// The simulator plants an api_token "sk_live_" + 24 characters and a
// password "hunter2-" + three digits in every task context
// (internal/sim/sim.go). Their prefixes are enough to find any of them.
var secretMarkers = []string{"sk_live_", "hunter2-"}

func findSecret(b []byte) string {
	for _, m := range secretMarkers {
		if i := bytes.Index(b, []byte(m)); i >= 0 {
			end := min(len(b), i+40)
			return strings.TrimSpace(string(b[i:end]))
		}
	}
	return ""
}
