//go:build scale

package scale

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"
)

// spanRecord is one span of the sink's JSON file (jsonexporter, unix_nano).
type spanRecord struct {
	TraceID    string         `json:"trace_id"`
	SpanID     string         `json:"span_id"`
	Name       string         `json:"name"`
	Start      int64          `json:"start_time"`
	End        int64          `json:"end_time"`
	StatusCode string         `json:"status_code"`
	Attributes map[string]any `json:"attributes"`
}

func (s *spanRecord) attr(k string) string {
	v, ok := s.Attributes[k]
	if !ok {
		return ""
	}
	return fmt.Sprint(v)
}

func (s *spanRecord) unfinished() bool { return s.attr("tasker.span.unfinished") == "true" }

// kind classifies a span by the rules of processor/eventrouter/README.md.
func (s *spanRecord) kind() string {
	switch {
	case s.attr("db.query.text") != "":
		return "db"
	case strings.HasPrefix(s.Name, "task "):
		return "task"
	case s.Name == "step batch":
		return "batch"
	case strings.HasPrefix(s.Name, "step "):
		return "attempt"
	case strings.HasPrefix(s.Name, "handle "):
		return "handler"
	case strings.HasPrefix(s.Name, "enqueue "):
		return "enqueue"
	}
	return "orchestration" // finalize task, resolve dependencies
}

// key names what a span is about, independent of its id: the task, step
// attempt or query it describes.
func (s *spanRecord) key() string {
	switch s.kind() {
	case "task":
		return "task " + s.attr("tasker.task.id")
	case "attempt":
		return fmt.Sprintf("attempt %s/%s/%s", s.attr("tasker.task.id"), s.attr("tasker.step.id"), s.attr("tasker.step.attempt"))
	}
	return ""
}

func readSpans(t testing.TB, path string) []spanRecord {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []spanRecord
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 4<<20), 4<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var s spanRecord
		if err := json.Unmarshal(line, &s); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, s)
	}
	return out
}

// countLines counts complete lines of a file (a span being written is not
// counted).
func countLines(path string) int {
	b, _ := os.ReadFile(path)
	return bytes.Count(b, []byte("\n"))
}

// expected is what the simulator's stream says the spans must be: the
// complete task and step attempt spans with their exact times, and the
// number of database spans.
type expected struct {
	spans     map[string][2]int64 // key → start, end (Unix nanoseconds)
	tasks     int
	attempts  int
	dbQueries int
	events    int
}

// streamEvent is one line of taskersim --dry-run (native NDJSON).
type streamEvent struct {
	Name      string         `json:"name"`
	Timestamp string         `json:"timestamp"`
	Payload   map[string]any `json:"payload"`
}

// expectations reads the stream the simulator sends (the same seed and
// flags, written with --dry-run) and derives the spans terminal events
// describe: a task span from started_at to completed_at (else the event's
// time) of task.completed/failed, a step attempt span likewise from
// step.completed/failed.
func expectations(t testing.TB, path string) *expected {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	x := &expected{spans: map[string][2]int64{}}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e streamEvent
		d := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		d.UseNumber()
		if err := d.Decode(&e); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		x.events++
		p := e.Payload
		span := func(key string) {
			start := parseTime(t, p["started_at"])
			end := parseTime(t, p["completed_at"])
			if end == 0 {
				end = parseTime(t, e.Timestamp)
			}
			if _, dup := x.spans[key]; dup {
				t.Fatalf("the stream describes %s twice", key)
			}
			x.spans[key] = [2]int64{start, end}
		}
		switch e.Name {
		case "task.completed", "task.failed":
			x.tasks++
			span(fmt.Sprintf("task %v", p["task_id"]))
		case "step.completed", "step.failed":
			x.attempts++
			span(fmt.Sprintf("attempt %v/%v/%v", p["task_id"], p["step_id"], p["attempt_number"]))
		case "database.query_executed":
			x.dbQueries++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return x
}

func parseTime(t testing.TB, v any) int64 {
	s, _ := v.(string)
	if s == "" {
		return 0
	}
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("time %q: %v", s, err)
	}
	return ts.UnixNano()
}

// spanReport is what the sink holds, against the expectations.
type spanReport struct {
	Spans           int            `json:"spans"`
	Traces          int            `json:"traces"`
	TaskTraces      int            `json:"task_traces"` // traces with a task span
	TaskSpans       int            `json:"task_spans"`
	AttemptSpans    int            `json:"attempt_spans"`
	DBSpans         int            `json:"db_spans"`
	Unfinished      int            `json:"unfinished_spans"`
	UnfinishedKinds map[string]int `json:"unfinished_by_kind,omitempty"`
	DuplicateIDs    int            `json:"duplicate_span_ids"`          // span ids seen more than once
	DuplicateDone   int            `json:"duplicate_complete_span_ids"` // ... more than once complete
	MissingComplete int            `json:"expected_spans_missing_complete"`
	WrongTimes      int            `json:"complete_spans_with_wrong_times"`
	TracesPerTask   int            `json:"tasks_in_several_traces"`
	// Problems lists the first few discrepancies, for the log.
	Problems []string `json:"problems,omitempty"`
}

// compare checks the sink's spans against the expectations.
func compare(spans []spanRecord, x *expected) spanReport {
	r := spanReport{Spans: len(spans)}
	problem := func(format string, args ...any) {
		if len(r.Problems) < 10 {
			r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
		}
	}
	ids := map[string]int{}
	done := map[string]int{}
	traces := map[string]bool{}
	taskTraces := map[string]map[string]bool{} // task id → trace ids
	complete := map[string]spanRecord{}
	for i := range spans {
		s := &spans[i]
		id := s.TraceID + "/" + s.SpanID
		ids[id]++
		traces[s.TraceID] = true
		if s.unfinished() {
			r.Unfinished++
			if r.UnfinishedKinds == nil {
				r.UnfinishedKinds = map[string]int{}
			}
			r.UnfinishedKinds[s.kind()]++
		} else {
			done[id]++
		}
		if task := s.attr("tasker.task.id"); task != "" {
			if taskTraces[task] == nil {
				taskTraces[task] = map[string]bool{}
			}
			taskTraces[task][s.TraceID] = true
		}
		switch s.kind() {
		case "task":
			r.TaskSpans++
		case "attempt":
			r.AttemptSpans++
		case "db":
			r.DBSpans++
		}
		if k := s.key(); k != "" && !s.unfinished() {
			complete[k] = *s
		}
	}
	r.Traces = len(traces)
	for _, n := range ids {
		if n > 1 {
			r.DuplicateIDs++
		}
	}
	for _, n := range done {
		if n > 1 {
			r.DuplicateDone++
		}
	}
	for task, ts := range taskTraces {
		if len(ts) > 1 {
			r.TracesPerTask++
			problem("task %s is in %d traces", task, len(ts))
		}
	}
	withTask := map[string]bool{}
	for _, s := range spans {
		if s.kind() == "task" {
			withTask[s.TraceID] = true
		}
	}
	r.TaskTraces = len(withTask)
	keys := make([]string, 0, len(x.spans))
	for k := range x.spans {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		want := x.spans[k]
		got, ok := complete[k]
		switch {
		case !ok:
			r.MissingComplete++
			problem("%s: no complete span", k)
		case got.Start != want[0] || got.End != want[1]:
			r.WrongTimes++
			problem("%s: span %d..%d, the events say %d..%d", k, got.Start, got.End, want[0], want[1])
		}
	}
	return r
}

// loggedTaskIDs reads the task ids of a router's event log (jsonexporter
// records: attributes.tasker.task.id).
func loggedTaskIDs(t testing.TB, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, line := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var r struct {
			Attributes map[string]any `json:"attributes"`
		}
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if id, ok := r.Attributes["tasker.task.id"].(string); ok {
			ids = append(ids, id)
		}
	}
	return ids
}
