package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

// traceBackend is an OTLP/HTTP traces endpoint (protobuf) that keeps every
// span it accepts, or refuses with status when set.
type traceBackend struct {
	t        *testing.T
	mu       sync.Mutex
	spans    ptrace.SpanSlice
	services map[string]int
	status   int
}

func (b *traceBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	assert.Equal(b.t, "/v1/traces", r.URL.Path)
	if b.status != 0 {
		http.Error(w, "refused", b.status)
		return
	}
	raw, err := io.ReadAll(r.Body)
	require.NoError(b.t, err)
	req := ptraceotlp.NewExportRequest()
	require.NoError(b.t, req.UnmarshalProto(raw))
	rss := req.Traces().ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		svc, _ := rss.At(i).Resource().Attributes().Get("service.name")
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			b.services[svc.Str()] += sss.At(j).Spans().Len()
			sss.At(j).Spans().MoveAndAppendTo(b.spans)
		}
	}
	resp, err := ptraceotlp.NewExportResponse().MarshalProto()
	require.NoError(b.t, err)
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(resp)
}

func newTraceBackend(t *testing.T) (*traceBackend, string) {
	b := &traceBackend{t: t, spans: ptrace.NewSpanSlice(), services: map[string]int{}}
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	return b, strings.TrimPrefix(srv.URL, "http://")
}

// attemptEnd is a step.completed or step.failed event the collector got.
type attemptEnd struct {
	failed             bool
	task, step, name   string
	attempt            int64
	startedAt, endedAt string
}

func attemptEnds(t *testing.T, events []string) []attemptEnd {
	var out []attemptEnd
	for _, e := range events {
		parts := strings.SplitN(e, "|", 3)
		if parts[0] != "step.completed" && parts[0] != "step.failed" {
			continue
		}
		var p struct {
			TaskID    json.Number `json:"task_id"`
			StepID    json.Number `json:"step_id"`
			StepName  string      `json:"step_name"`
			Attempt   int64       `json:"attempt_number"`
			StartedAt string      `json:"started_at"`
		}
		require.NoError(t, json.Unmarshal([]byte(parts[2]), &p))
		out = append(out, attemptEnd{parts[0] == "step.failed", p.TaskID.String(), p.StepID.String(),
			p.StepName, p.Attempt, p.StartedAt, parts[1]})
	}
	return out
}

func msText(ts interface{ AsTime() time.Time }) string {
	return ts.AsTime().UTC().Format("2006-01-02T15:04:05.000Z")
}

// Every attempt the collector hears of ends with exactly one handler span,
// in the task's trace (namespace included), a child of the attempt's span,
// with the attempt's times and outcome; the summary counts them.
func TestAppSpansAreChildrenOfTheirAttempts(t *testing.T) {
	for _, ns := range []string{"", "shop-eu"} {
		t.Run("namespace="+ns, func(t *testing.T) {
			c, events := newCollector(t, nil)
			b, otlp := newTraceBackend(t)
			args := append([]string{"--endpoint", events, "--app-spans", "--app-spans-endpoint", otlp,
				"--trace-namespace", ns, "--batch", "30", "--json"}, workload...)
			code, stdout, stderr := runSim(t, args...)
			require.Equal(t, exitOK, code, stderr)
			var s summary
			require.NoError(t, json.Unmarshal([]byte(stdout), &s))

			c.mu.Lock()
			ends := attemptEnds(t, c.events)
			c.mu.Unlock()
			b.mu.Lock()
			defer b.mu.Unlock()
			require.Equal(t, s.StepAttempts, int64(len(ends)), "one end event per attempt")
			require.Equal(t, int64(len(ends)), s.AppSpansSent)
			require.Equal(t, len(ends), b.spans.Len())
			assert.Equal(t, map[string]int{"tasker-handlers": len(ends)}, b.services)
			assert.Equal(t, otlp, s.AppSpansDestination)

			byParent := map[string]ptrace.Span{}
			for i := 0; i < b.spans.Len(); i++ {
				sp := b.spans.At(i)
				key := sp.TraceID().String() + "/" + sp.ParentSpanID().String()
				require.NotContains(t, byParent, key, "two spans under one attempt")
				byParent[key] = sp
			}
			failed := 0
			for _, e := range ends {
				what := fmt.Sprintf("task %s step %s attempt %d", e.task, e.step, e.attempt)
				sp, ok := byParent[event.TraceID(ns, e.task).String()+"/"+event.StepSpanID(e.task, e.step, e.attempt).String()]
				require.True(t, ok, "no span under %s", what)
				assert.Equal(t, "process "+e.name, sp.Name(), what)
				assert.Equal(t, e.startedAt, msText(sp.StartTimestamp()), what)
				assert.Equal(t, e.endedAt, msText(sp.EndTimestamp()), what)
				attempt, _ := sp.Attributes().Get(event.AttrStepAttempt)
				assert.Equal(t, e.attempt, attempt.Int(), what)
				if e.failed {
					failed++
					assert.Equal(t, ptrace.StatusCodeError, sp.Status().Code(), what)
				} else {
					assert.Equal(t, ptrace.StatusCodeUnset, sp.Status().Code(), what)
				}
			}
			assert.Equal(t, s.StepsFailedAttempts, int64(failed))
			assert.Positive(t, failed, "the workload fails some attempts")
		})
	}
}

// A refusing traces endpoint fails the run and says so; nothing is counted.
func TestAppSpansRefused(t *testing.T) {
	_, events := newCollector(t, nil)
	b, otlp := newTraceBackend(t)
	b.status = http.StatusBadRequest
	args := append([]string{"--endpoint", events, "--app-spans", "--app-spans-endpoint", otlp, "--json"}, workload...)
	code, stdout, stderr := runSim(t, args...)
	assert.Equal(t, exitSend, code)
	assert.Contains(t, stderr, "application spans")
	var s summary
	require.NoError(t, json.Unmarshal([]byte(stdout), &s))
	assert.Zero(t, s.AppSpansSent)
}

func TestAppSpansUsage(t *testing.T) {
	code, _, stderr := runSim(t, "--app-spans", "--dry-run")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--app-spans and --dry-run")
	code, _, stderr = runSim(t, "--app-spans", "--app-spans-endpoint", "http://")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--app-spans-endpoint")
}
