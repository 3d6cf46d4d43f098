//go:build faults

package faults

// What reached the sink: spans by span id, events by content, and how a
// scenario's output compares with the reference run's.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// span is one span record of the sink's spans.jsonl.
type span struct {
	TraceID    string         `json:"trace_id"`
	SpanID     string         `json:"span_id"`
	Parent     string         `json:"parent_span_id"`
	Name       string         `json:"name"`
	Start      string         `json:"start_time"`
	End        string         `json:"end_time"`
	Status     string         `json:"status_code"`
	Attributes map[string]any `json:"attributes"`
	Events     []any          `json:"events"`

	line string // the record, canonical (keys sorted): equal spans, equal lines
}

func (s *span) id() string { return s.TraceID + "/" + s.SpanID }

func (s *span) unfinished() bool { return s.Attributes["tasker.span.unfinished"] == true }

// output is everything the sink wrote.
type output struct {
	spans        map[string][]*span // span id → its records, in file order
	spanRecords  int
	events       map[string]int // event (what the sender sent) → how many times
	eventAttrs   map[string]string
	eventRecords int
}

func readOutput(t testing.TB, s *sink) *output {
	t.Helper()
	o := &output{spans: map[string][]*span{}, events: map[string]int{}, eventAttrs: map[string]string{}}
	eachLine(t, s.spansPath(), func(line []byte) {
		var sp span
		canon := canonical(t, line, &sp)
		sp.line = canon
		o.spans[sp.id()] = append(o.spans[sp.id()], &sp)
		o.spanRecords++
	})
	eachLine(t, s.eventsPath(), func(line []byte) {
		id, attrs := eventKey(t, line)
		o.events[id]++
		if _, ok := o.eventAttrs[id]; !ok {
			o.eventAttrs[id] = attrs
		}
		o.eventRecords++
	})
	return o
}

// eventKey splits an event record into what identifies the event the
// sender sent (name, time, ids, payload) and the attributes the product
// derived from it. Some attributes depend on what the router had seen of
// the task when the event arrived (the task's correlation id on its later
// events), so they are compared apart.
func eventKey(t testing.TB, line []byte) (id, attrs string) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("sink event %q: %v", line, err)
	}
	a, err := json.Marshal(m["attributes"])
	if err != nil {
		t.Fatal(err)
	}
	delete(m, "attributes")
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), string(a)
}

// canonical decodes a JSON record (into v as well, when v is not nil) and
// encodes it again with sorted keys and exact numbers.
func canonical(t testing.TB, line []byte, v any) string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("sink record %q: %v", line, err)
	}
	if v != nil {
		if err := json.Unmarshal(line, v); err != nil {
			t.Fatalf("sink record %q: %v", line, err)
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// eachLine calls fn for every complete line of a file (none when it does
// not exist yet).
func eachLine(t testing.TB, path string, fn func([]byte)) {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<16)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return // EOF, or a line still being written
		}
		fn(line[:len(line)-1])
	}
}

// countLines counts the complete lines of a file (0 when it is missing).
func countLines(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return bytes.Count(b, []byte{'\n'})
}

// settle waits until the product holds nothing more to send and the sink's
// files have stopped growing: 1 s of quiet once they hold at least the
// records wanted, 3 s before (output lost for good stops growing too).
// It fails the test after 90 s.
func settle(t testing.TB, c *product, s *sink, wantSpans, wantEvents int) {
	t.Helper()
	last, changed := [2]int{-1, -1}, time.Now()
	waitFor(t, 90*time.Second, "the product to send everything and the sink's files to stop growing", func() bool {
		n := [2]int{countLines(s.spansPath()), countLines(s.eventsPath())}
		if n != last {
			last, changed = n, time.Now()
			return false
		}
		quiet := 3 * time.Second
		if n[0] >= wantSpans && n[1] >= wantEvents {
			quiet = time.Second
		}
		return time.Since(changed) >= quiet && c.settled()
	})
}

// spanCounts are the exact counts a workload's summary fixes.
type spanCounts struct {
	distinct, records, tasks, finishedTasks, attempts, unfinished int
}

func countSpans(o *output) spanCounts {
	c := spanCounts{distinct: len(o.spans), records: o.spanRecords}
	for _, recs := range o.spans {
		for _, sp := range recs {
			if sp.unfinished() {
				c.unfinished++
			}
		}
		sp := recs[0]
		switch {
		case strings.HasPrefix(sp.Name, "task "):
			c.tasks++
			if o := sp.Attributes["tasker.task.outcome"]; (o == "completed" || o == "failed") && !sp.unfinished() {
				c.finishedTasks++
			}
		case strings.HasPrefix(sp.Name, "step ") && sp.Name != "step batch":
			c.attempts++
		}
	}
	return c
}

// checkAgainstSummary holds a run without faults to the simulator's exact
// counts: every event once, every span once, complete.
func checkAgainstSummary(t testing.TB, o *output, sum simSummary) {
	t.Helper()
	c := countSpans(o)
	want := spanCounts{
		distinct: sum.expectedSpans(), records: sum.expectedSpans(), tasks: sum.Tasks,
		finishedTasks: sum.TasksCompleted + sum.TasksFailed, attempts: sum.StepAttempts,
	}
	if c != want {
		t.Errorf("spans %+v, the summary says %+v", c, want)
	}
	if sum.StepAttempts != sum.StepsCompleted+sum.StepsFailedAttempts {
		t.Errorf("summary: %d step attempts, %d completed + %d failed", sum.StepAttempts, sum.StepsCompleted, sum.StepsFailedAttempts)
	}
	if o.eventRecords != sum.Events {
		t.Errorf("the sink holds %d event records, the simulator sent %d events", o.eventRecords, sum.Events)
	}
	byName := map[string]int{}
	for ev, n := range o.events {
		var e struct {
			Name string `json:"event_name"`
		}
		if err := json.Unmarshal([]byte(ev), &e); err != nil {
			t.Fatal(err)
		}
		byName[e.Name] += n
	}
	for name, n := range sum.ByName {
		if byName[name] != n {
			t.Errorf("event %s: %d in the sink, %d sent", name, byName[name], n)
		}
	}
	if len(byName) != len(sum.ByName) {
		t.Errorf("event names in the sink %d, sent %d", len(byName), len(sum.ByName))
	}
}

// comparison is how a scenario's output differs from the reference's.
type comparison struct {
	spanCounts
	spansExpected int // distinct spans of the reference
	missing       int // reference spans absent
	differing     int // spans present with a record unequal to the reference's
	extra         int // span ids the reference does not have
	duplicates    int // records beyond the first of each span id
	examples      []string

	eventsExpected int // event records of the reference
	eventsMissing  int // reference events absent (or fewer times than there)
	eventRecords   int
	eventsAttrs    int // events whose attributes differ from the reference's

	files productFiles
}

// productFiles counts what the product's own JSON exporter wrote (the
// durable config's files, behind their persistent queues).
type productFiles struct {
	spans, spanRecords, events int
}

func readProductFiles(t testing.TB, dir string) productFiles {
	t.Helper()
	var f productFiles
	ids := map[string]bool{}
	eachLine(t, filepath.Join(dir, "data", "traces.jsonl"), func(line []byte) {
		var sp span
		if err := json.Unmarshal(line, &sp); err != nil {
			t.Fatalf("product traces.jsonl: %q: %v", line, err)
		}
		ids[sp.id()] = true
		f.spanRecords++
	})
	f.spans = len(ids)
	f.events = countLines(filepath.Join(dir, "data", "events.jsonl"))
	return f
}

func compare(ref, o *output) comparison {
	c := comparison{spanCounts: countSpans(o), spansExpected: len(ref.spans), eventsExpected: ref.eventRecords, eventRecords: o.eventRecords}
	c.duplicates = o.spanRecords - len(o.spans)
	ids := make([]string, 0, len(ref.spans))
	for id := range ref.spans {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		want := ref.spans[id][0]
		got, ok := o.spans[id]
		if !ok {
			c.missing++
			c.example("missing %s %q", id, want.Name)
			continue
		}
		for _, g := range got {
			if g.line != want.line {
				c.differing++
				c.example("differs %s %q: %s", id, want.Name, spanDiff(want, g))
				break
			}
		}
	}
	for id, recs := range o.spans {
		if _, ok := ref.spans[id]; !ok {
			c.extra++
			c.example("extra %s %q", id, recs[0].Name)
		}
	}
	for ev, n := range ref.events {
		if o.events[ev] < n {
			c.eventsMissing += n - o.events[ev]
		}
		if a, ok := o.eventAttrs[ev]; ok && a != ref.eventAttrs[ev] {
			c.eventsAttrs++
		}
	}
	return c
}

func (c *comparison) example(format string, args ...any) {
	if len(c.examples) < 8 {
		c.examples = append(c.examples, fmt.Sprintf(format, args...))
	}
}

// spanDiff names the fields in which got differs from want.
func spanDiff(want, got *span) string {
	var d []string
	f := func(name, w, g string) {
		if w != g {
			d = append(d, fmt.Sprintf("%s %q, want %q", name, g, w))
		}
	}
	f("parent", want.Parent, got.Parent)
	f("start", want.Start, got.Start)
	f("end", want.End, got.End)
	f("status", want.Status, got.Status)
	wa, _ := json.Marshal(want.Attributes)
	ga, _ := json.Marshal(got.Attributes)
	f("attributes", string(wa), string(ga))
	if len(want.Events) != len(got.Events) {
		d = append(d, fmt.Sprintf("%d span events, want %d", len(got.Events), len(want.Events)))
	}
	if len(d) == 0 {
		return "span events differ"
	}
	return strings.Join(d, "; ")
}

// String is the scenario's line in the test log.
func (c comparison) String() string {
	return fmt.Sprintf("spans: %d expected, %d distinct (%d missing, %d differing, %d extra), %d records, %d duplicate records (%.2f%%), %d unfinished; "+
		"tasks %d (%d finished), step attempts %d; events: %d expected, %d records, %d missing, %d with other attributes than in the reference; "+
		"the product's own JSON files: %d spans in %d records, %d events",
		c.spansExpected, c.distinct, c.missing, c.differing, c.extra, c.records, c.duplicates, c.dupPercent(), c.unfinished,
		c.tasks, c.finishedTasks, c.attempts, c.eventsExpected, c.eventRecords, c.eventsMissing, c.eventsAttrs,
		c.files.spans, c.files.spanRecords, c.files.events)
}

func (c comparison) dupPercent() float64 {
	if c.spansExpected == 0 {
		return 0
	}
	return 100 * float64(c.duplicates) / float64(c.spansExpected)
}

// check fails the test unless nothing is missing or wrong: every reference
// event in the sink, every reference span with its exact record, nothing
// else, no span unfinished, and at most maxDupPercent duplicate records;
// the product's own files hold as many spans and at least as many events.
func (c comparison) check(t testing.TB, maxDupPercent float64) {
	t.Helper()
	if c.missing+c.differing+c.extra+c.unfinished+c.eventsMissing > 0 || c.dupPercent() > maxDupPercent {
		t.Errorf("output differs from the reference run (duplicates allowed: %.0f%%): %s\nexamples:\n  %s",
			maxDupPercent, c, strings.Join(c.examples, "\n  "))
	}
	fileDups := 100 * float64(c.files.spanRecords-c.files.spans) / float64(max(c.spansExpected, 1))
	if c.files.spans != c.spansExpected || fileDups > maxDupPercent || c.files.events < c.eventsExpected {
		t.Errorf("the product's own JSON files: %d spans in %d records and %d events; want %d spans (duplicates allowed: %.0f%%) and at least %d events",
			c.files.spans, c.files.spanRecords, c.files.events, c.spansExpected, maxDupPercent, c.eventsExpected)
	}
}
