//go:build e2e

package e2etest

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEventFiles: the JSON and CSV event logs hold one record per event the
// simulator sent, registry events without a trace included, with the
// simulator's count for every event name.
func TestEventFiles(t *testing.T) {
	s := loadSummary(t)
	evs := loadEvents(t) // fails unless the JSON log holds exactly s.Events records

	byName := map[string]int{}
	noTrace := 0
	for _, e := range evs {
		byName[e.EventName]++
		if e.TraceID == "" {
			noTrace++
		}
	}
	if d := multisetDiff(byName, s.ByName); d != "" {
		t.Errorf("events.jsonl: counts by name differ from the simulator's: %s", d)
	}
	if want := s.ByName["handler.registered"]; want == 0 || noTrace != want {
		t.Errorf("events.jsonl: %d records without a trace id, want the %d handler.registered events", noTrace, want)
	}

	if n := waitLines(t, "events*.csv", s.Events+1); n < s.Events+1 {
		t.Logf("events.csv has %d lines so far", n)
	}
	header, rows := readCSV(t, "events*.csv")
	if len(rows) != s.Events {
		t.Errorf("events.csv: %d rows, the simulator sent %d events", len(rows), s.Events)
	}
	nameCol := column(t, header, "event_name")
	csvByName := map[string]int{}
	for i, r := range rows {
		if len(r) != len(header) {
			t.Fatalf("events.csv row %d: %d cells, header has %d", i+1, len(r), len(header))
		}
		csvByName[r[nameCol]]++
	}
	if d := multisetDiff(csvByName, s.ByName); d != "" {
		t.Errorf("events.csv: counts by name differ from the simulator's: %s", d)
	}
}

type spanRecord struct {
	TraceID      string `json:"trace_id"`
	SpanID       string `json:"span_id"`
	ParentSpanID string `json:"parent_span_id"`
	Name         string `json:"name"`
	StatusCode   string `json:"status_code"`
}

// TestSpanFiles: the JSON and CSV span files hold exactly the spans Jaeger
// holds, one record each.
func TestSpanFiles(t *testing.T) {
	trs := taskTraces(t)
	inJaeger := map[string]string{} // trace/span → name
	for _, tr := range trs {
		for _, sp := range tr.Spans {
			inJaeger[sp.TraceID+"/"+sp.SpanID] = sp.OperationName
		}
	}
	total := 0
	for _, tr := range trs {
		total += len(tr.Spans)
	}
	if len(inJaeger) != total {
		t.Errorf("Jaeger holds %d spans but only %d distinct trace/span ids", total, len(inJaeger))
	}

	waitLines(t, "spans*.jsonl", total)
	recs := readJSONL[spanRecord](t, "spans*.jsonl")
	if len(recs) != total {
		t.Errorf("spans.jsonl: %d records, Jaeger holds %d spans", len(recs), total)
	}
	seen := map[string]bool{}
	missing := 0
	for _, r := range recs {
		k := r.TraceID + "/" + r.SpanID
		if seen[k] {
			t.Errorf("spans.jsonl: span %s twice", k)
		}
		seen[k] = true
		if name, ok := inJaeger[k]; !ok || name != r.Name {
			missing++
			if missing <= 5 {
				t.Errorf("spans.jsonl: span %s %q is not in Jaeger under that name (%q)", k, r.Name, name)
			}
		}
	}

	waitLines(t, "spans*.csv", total+1)
	header, rows := readCSV(t, "spans*.csv")
	if len(rows) != total {
		t.Errorf("spans.csv: %d rows, Jaeger holds %d spans", len(rows), total)
	}
	tc, sc, nc := column(t, header, "trace_id"), column(t, header, "span_id"), column(t, header, "name")
	for i, r := range rows {
		if len(r) != len(header) {
			t.Fatalf("spans.csv row %d: %d cells, header has %d", i+1, len(r), len(header))
		}
		if name, ok := inJaeger[r[tc]+"/"+r[sc]]; !ok || name != r[nc] {
			t.Fatalf("spans.csv row %d: span %s/%s %q is not in Jaeger under that name", i+1, r[tc], r[sc], r[nc])
		}
	}
}

// TestNoSecrets: none of the api_token and password values the simulator
// planted reaches an output file, the Prometheus scrape or Jaeger, while the
// redacted fields are there, filtered.
func TestNoSecrets(t *testing.T) {
	s := loadSummary(t)
	loadEvents(t) // every event is written before the files are scanned
	if s.SecretsPlanted == 0 {
		t.Fatal("the simulator planted no secrets: nothing to check")
	}
	dir := env(t, "E2E_DATA")
	scanned := 0
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		scanned++
		if sec := findSecret(b); sec != "" {
			t.Errorf("%s holds a planted secret: %s", p, sec)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if scanned < 4 {
		t.Errorf("only %d files under %s", scanned, dir)
	}

	// The collector's own log (errors may quote payloads).
	if b, err := os.ReadFile(filepath.Join(env(t, "E2E_DIR"), "collector.log")); err != nil {
		t.Error(err)
	} else if sec := findSecret(b); sec != "" {
		t.Errorf("collector.log holds a planted secret: %s", sec)
	}

	// The redacted keys are still there, so the check above is not vacuous.
	b, err := os.ReadFile(filepath.Join(dir, "events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"api_token":"[FILTERED]"`, `"password":"[FILTERED]"`} {
		if n := bytes.Count(b, []byte(k)); n < s.SecretsPlanted {
			t.Errorf("events.jsonl: %s %d times, want at least once per planted task context (%d)", k, n, s.SecretsPlanted)
		}
	}

	// The Prometheus scrape, straight from the collector's exporter.
	resp, err := http.Get(env(t, "E2E_METRICS"))
	if err != nil {
		t.Fatal(err)
	}
	scrape, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(scrape), "tasker_tasks_total") {
		t.Fatalf("the scrape of %s has no tasker_tasks_total", env(t, "E2E_METRICS"))
	}
	if sec := findSecret(scrape); sec != "" {
		t.Errorf("the Prometheus scrape holds a planted secret: %s", sec)
	}

	// Every span Jaeger holds.
	start, end := searchWindow(s)
	body, err := get(env(t, "E2E_JAEGER") + "/api/traces?service=tasker&limit=100000&start=" + start + "&end=" + end)
	if err != nil {
		t.Fatal(err)
	}
	if sec := findSecret(body); sec != "" {
		t.Errorf("Jaeger holds a planted secret: %s", sec)
	}
}
