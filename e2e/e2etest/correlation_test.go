//go:build e2e

package e2etest

import (
	"net/url"
	"strconv"
	"testing"
	"time"
)

// TestExemplarsOpenTraces: trace ids carried by the exemplars of the workflow
// duration histogram are traces in Jaeger, the trace of a task the
// simulator ran.
func TestExemplarsOpenTraces(t *testing.T) {
	s := loadSummary(t)
	prom, jaeger := env(t, "E2E_PROMETHEUS"), env(t, "E2E_JAEGER")
	taskOfTrace := map[string]string{}
	for id, tr := range taskTraces(t) {
		taskOfTrace[tr.TraceID] = id
	}

	var res struct {
		Status string `json:"status"`
		Data   []struct {
			SeriesLabels map[string]string `json:"seriesLabels"`
			Exemplars    []struct {
				Labels map[string]string `json:"labels"`
				Value  string            `json:"value"`
			} `json:"exemplars"`
		} `json:"data"`
	}
	q := url.Values{
		"query": {"tasker_workflow_duration_seconds_bucket"},
		"start": {strconv.FormatInt(s.FirstTimestamp.Add(-time.Minute).Unix(), 10)},
		"end":   {strconv.FormatInt(time.Now().Add(time.Minute).Unix(), 10)},
	}
	if err := getJSON(prom+"/api/v1/query_exemplars?"+q.Encode(), &res); err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, series := range res.Data {
		for _, ex := range series.Exemplars {
			id := ex.Labels["trace_id"]
			if id == "" {
				t.Errorf("an exemplar of %v has no trace_id: %v", series.SeriesLabels, ex.Labels)
				continue
			}
			ids[id] = true
		}
	}
	if len(ids) == 0 {
		t.Fatalf("Prometheus holds no exemplar of tasker_workflow_duration_seconds_bucket (status %q)", res.Status)
	}
	fetched := 0
	for id := range ids {
		if _, ok := taskOfTrace[id]; !ok {
			t.Errorf("exemplar trace id %s is not the trace of any task", id)
		}
		if fetched < 10 {
			fetched++
			tr, err := traceByID(jaeger, id)
			if err != nil {
				t.Errorf("exemplar trace %s: %v", id, err)
				continue
			}
			if tr.TraceID != id || len(tr.Spans) == 0 {
				t.Errorf("/api/traces/%s returned trace %s with %d spans", id, tr.TraceID, len(tr.Spans))
			}
		}
	}
	t.Logf("%d exemplar trace ids, all traces of tasks; %d fetched by id", len(ids), fetched)
}

// TestEventLogOpensTraces: every event of a task carries its task's trace id,
// which is the task's trace in Jaeger, and a query event's span id is the
// query's span.
func TestEventLogOpensTraces(t *testing.T) {
	jaeger := env(t, "E2E_JAEGER")
	evs := loadEvents(t)
	trs := taskTraces(t)
	var sample *eventRecord
	bad := 0
	for i := range evs {
		e := &evs[i]
		task := e.attr("tasker.task.id")
		if task == "" {
			continue
		}
		tr, ok := trs[task]
		if !ok || tr.TraceID != e.TraceID {
			bad++
			if bad <= 5 {
				t.Errorf("event %s of task %s carries trace id %s, the task's trace in Jaeger is %s", e.EventName, task, e.TraceID, tr.TraceID)
			}
		}
		if sample == nil && e.EventName == "database.query_executed" {
			sample = e
		}
	}
	if bad > 5 {
		t.Errorf("... %d events in all", bad)
	}
	if sample == nil {
		t.Fatal("no database.query_executed event in the log")
	}
	// Open one record's trace by id, as a user following a log line would.
	tr, err := traceByID(jaeger, sample.TraceID)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, sp := range tr.Spans {
		if sp.SpanID == sample.SpanID {
			found = sp.tagStr("span.kind") == "client"
		}
	}
	if !found {
		t.Errorf("trace %s has no client span %s, the span id of the query event", sample.TraceID, sample.SpanID)
	}
}
