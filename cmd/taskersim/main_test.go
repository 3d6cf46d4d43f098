package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.uber.org/goleak"

	"github.com/otelcol-tasker/otelcol-tasker/internal/fixtures"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const startTime = "2025-11-25T19:46:39Z"

// workload are the flags that fix the stream in every test.
var workload = []string{"--seed", "11", "--start-time", startTime, "--tasks", "25", "--fail-rate", "0.3", "--fatal-rate", "0.15", "--db-queries", "1"}

func runSim(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// canon renders one event as a comparable string: name, time, payload.
func canon(t *testing.T, name, ts string, payload json.RawMessage) string {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(payload))
	d.UseNumber()
	var m map[string]any
	require.NoError(t, d.Decode(&m))
	b, err := json.Marshal(m) // sorted keys
	require.NoError(t, err)
	return name + "|" + ts + "|" + string(b)
}

func canonNative(t *testing.T, raw []byte) string {
	var e struct {
		Name      string          `json:"name"`
		Timestamp string          `json:"timestamp"`
		Payload   json.RawMessage `json:"payload"`
	}
	require.NoError(t, json.Unmarshal(raw, &e))
	return canon(t, e.Name, e.Timestamp, e.Payload)
}

func canonFlat(t *testing.T, raw []byte) string {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var m map[string]any
	require.NoError(t, d.Decode(&m))
	name := m["name"].(string)
	delete(m, "name")
	p, err := json.Marshal(m)
	require.NoError(t, err)
	return canon(t, name, m["timestamp"].(string), p)
}

func canonCloudEvent(t *testing.T, raw []byte) string {
	var e struct {
		SpecVersion string          `json:"specversion"`
		Type        string          `json:"type"`
		Source      string          `json:"source"`
		ID          string          `json:"id"`
		Time        string          `json:"time"`
		Data        json.RawMessage `json:"data"`
	}
	require.NoError(t, json.Unmarshal(raw, &e))
	require.Equal(t, "1.0", e.SpecVersion)
	require.Equal(t, "/tasker/engine", e.Source)
	require.Len(t, e.ID, 32)
	require.True(t, strings.HasPrefix(e.Type, "dev.tasker."), e.Type)
	return canon(t, strings.TrimPrefix(e.Type, "dev.tasker."), e.Time, e.Data)
}

// reference is the stream of the workload, from a dry run, in canonical form.
func reference(t *testing.T, extra ...string) []string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "ref.ndjson")
	code, _, stderr := runSim(t, append(append([]string{"--out", out}, workload...), extra...)...)
	require.Equal(t, 0, code, stderr)
	return canonLines(t, out)
}

func canonLines(t *testing.T, path string) []string {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, canonNative(t, sc.Bytes()))
	}
	require.NoError(t, sc.Err())
	return out
}

func TestDryRunIsReproducible(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.ndjson"), filepath.Join(dir, "b.ndjson")
	sa, sb := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	code, _, stderr := runSim(t, append([]string{"--out", a, "--summary-json", sa}, workload...)...)
	require.Equal(t, 0, code, stderr)
	code, _, stderr = runSim(t, append([]string{"--dry-run", "--out", b, "--summary-json", sb}, workload...)...)
	require.Equal(t, 0, code, stderr)
	ba, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	require.NotEmpty(t, ba)
	require.Equal(t, ba, bb, "same seed and flags give the same stream")

	// The summary equals the counts recomputed from the stream.
	var got map[string]any
	raw, err := os.ReadFile(sa)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &got))
	byName := map[string]float64{}
	tasks := map[string]float64{}
	lines := strings.Split(strings.TrimSpace(string(ba)), "\n")
	for _, line := range lines {
		var e struct {
			Name string `json:"name"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &e))
		byName[e.Name]++
	}
	tasks["tasks"] = byName["task.initialize_requested"]
	tasks["tasks_completed"] = byName["task.completed"]
	tasks["tasks_failed"] = byName["task.failed"]
	tasks["step_attempts"] = byName["step.execution_requested"]
	tasks["steps_completed"] = byName["step.completed"]
	tasks["steps_failed_attempts"] = byName["step.failed"]
	tasks["retries"] = byName["step.retry_requested"]
	tasks["db_queries"] = byName["database.query_executed"]
	tasks["events"] = float64(len(lines))
	tasks["events_sent"] = float64(len(lines))
	for k, v := range tasks {
		assert.Equal(t, v, got[k], k)
	}
	gotByName := map[string]float64{}
	for k, v := range got["by_name"].(map[string]any) {
		gotByName[k] = v.(float64)
	}
	assert.Equal(t, byName, gotByName)
	assert.Len(t, got["task_ids"], 25)
	assert.Positive(t, got["tasks_failed"])

	// Every key of the fixture's summary is there.
	raw, err = json.Marshal(fixtures.NativeSummary())
	require.NoError(t, err)
	var fixture map[string]any
	require.NoError(t, json.Unmarshal(raw, &fixture))
	for k := range fixture {
		assert.Contains(t, got, k)
	}
	wd := got["workflow_duration_seconds"].(map[string]any)
	assert.Positive(t, wd["min"])
	assert.GreaterOrEqual(t, wd["p95"], wd["min"])
	assert.GreaterOrEqual(t, wd["max"], wd["p95"])
}

func TestDryRunToStdout(t *testing.T) {
	code, stdout, stderr := runSim(t, append([]string{"--dry-run", "--json"}, workload...)...)
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	assert.Len(t, lines, len(reference(t)), "stdout holds only the stream")
	assert.Contains(t, stderr, `"events_sent"`, "the summary goes to stderr")
}

// collector is a fake taskerevents receiver that decodes what it gets.
type collector struct {
	t        *testing.T
	mu       sync.Mutex
	events   []string
	requests int
	times    []time.Time
	// respond may answer instead of accepting: it gets the request number (from 1).
	respond func(w http.ResponseWriter, n int) bool
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests++
	c.times = append(c.times, time.Now())
	if c.respond != nil && c.respond(w, c.requests) {
		_, _ = io.Copy(io.Discard, r.Body)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if !assert.NoError(c.t, err) {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		body = zr
	}
	raw, err := io.ReadAll(body)
	require.NoError(c.t, err)
	switch ct := r.Header.Get("Content-Type"); ct {
	case "application/x-ndjson":
		for _, line := range bytes.Split(bytes.TrimSpace(raw), []byte("\n")) {
			if bytes.HasPrefix(line, []byte(`{"name":`)) && bytes.Contains(line, []byte(`"payload":`)) {
				c.events = append(c.events, canonNative(c.t, line))
			} else {
				c.events = append(c.events, canonFlat(c.t, line))
			}
		}
	case "application/json", "application/cloudevents-batch+json":
		var items []json.RawMessage
		require.NoError(c.t, json.Unmarshal(raw, &items), "body is a JSON array")
		for _, it := range items {
			switch {
			case ct == "application/cloudevents-batch+json":
				c.events = append(c.events, canonCloudEvent(c.t, it))
			case bytes.Contains(it, []byte(`"payload":{`)):
				c.events = append(c.events, canonNative(c.t, it))
			default:
				c.events = append(c.events, canonFlat(c.t, it))
			}
		}
	default:
		c.t.Errorf("unexpected content type %q", ct)
		w.WriteHeader(http.StatusUnsupportedMediaType)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func newCollector(t *testing.T, respond func(http.ResponseWriter, int) bool) (*collector, string) {
	c := &collector{t: t, respond: respond}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return c, srv.URL + "/v1/events"
}

func TestSendEveryFormat(t *testing.T) {
	want := reference(t)
	for _, format := range []string{"ndjson", "native", "flat", "flat-ndjson", "cloudevents"} {
		for _, gz := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/gzip=%v", format, gz), func(t *testing.T) {
				c, url := newCollector(t, nil)
				args := append([]string{"--endpoint", url, "--format", format, "--batch", "7", "--json"}, workload...)
				if gz {
					args = append(args, "--gzip")
				}
				code, stdout, stderr := runSim(t, args...)
				require.Equal(t, 0, code, stderr)
				assert.Equal(t, want, c.events, "every event arrives once, in order, unchanged")
				assert.Equal(t, (len(want)+6)/7, c.requests)
				var s map[string]any
				require.NoError(t, json.Unmarshal([]byte(stdout), &s))
				assert.Equal(t, float64(len(want)), s["events_sent"])
				assert.Equal(t, float64(c.requests), s["requests"])
			})
		}
	}
}

func TestSendersInParallel(t *testing.T) {
	want := reference(t)
	c, url := newCollector(t, nil)
	code, _, stderr := runSim(t, append([]string{"--endpoint", url, "--batch", "5", "--senders", "4"}, workload...)...)
	require.Equal(t, 0, code, stderr)
	assert.ElementsMatch(t, want, c.events, "nothing lost or duplicated")
}

func TestRetryAfter503(t *testing.T) {
	want := reference(t)
	c, url := newCollector(t, func(w http.ResponseWriter, n int) bool {
		if n == 2 {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "pipeline busy", http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	code, stdout, stderr := runSim(t, append([]string{"--endpoint", url, "--batch", "50", "--json"}, workload...)...)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, want, c.events, "the refused batch is sent again, nothing lost or duplicated")
	require.GreaterOrEqual(t, len(c.times), 3)
	assert.GreaterOrEqual(t, c.times[2].Sub(c.times[1]), time.Second, "Retry-After is honoured")
	assert.Contains(t, stderr, "503")
	var s map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &s))
	assert.Equal(t, float64(1), s["requests_retried"])
}

func TestRetryAfterIsBounded(t *testing.T) {
	c, url := newCollector(t, func(w http.ResponseWriter, n int) bool {
		if n == 1 {
			w.Header().Set("Retry-After", "3600")
			w.WriteHeader(http.StatusTooManyRequests)
			return true
		}
		return false
	})
	code, _, stderr := runSim(t, "--endpoint", url, "--tasks", "2", "--max-retry-wait", "100ms")
	require.Equal(t, 0, code, stderr)
	require.GreaterOrEqual(t, len(c.times), 2)
	assert.Less(t, c.times[1].Sub(c.times[0]), 30*time.Second, "a huge Retry-After is capped")
}

func TestBadRequestStops(t *testing.T) {
	c, url := newCollector(t, func(w http.ResponseWriter, n int) bool {
		if n == 3 {
			http.Error(w, `event 12: "name" is missing`, http.StatusBadRequest)
			return true
		}
		return false
	})
	code, stdout, stderr := runSim(t, append([]string{"--endpoint", url, "--batch", "10", "--json"}, workload...)...)
	assert.Equal(t, exitSend, code)
	assert.Contains(t, stderr, "400 Bad Request")
	assert.Contains(t, stderr, `"name" is missing`, "the collector's message is printed")
	assert.Equal(t, 3, c.requests, "nothing is sent after a refusal")
	var s map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &s))
	assert.Equal(t, float64(20), s["events_sent"])
	assert.Contains(t, s["error"], "400")
}

func TestRetriesRunOut(t *testing.T) {
	c, url := newCollector(t, func(w http.ResponseWriter, n int) bool {
		w.WriteHeader(http.StatusServiceUnavailable)
		return true
	})
	code, _, stderr := runSim(t, "--endpoint", url, "--tasks", "1", "--max-retries", "2", "--max-retry-wait", "10ms")
	assert.Equal(t, exitSend, code)
	assert.Contains(t, stderr, "giving up after 2 retries")
	assert.Equal(t, 3, c.requests)
}

func TestUnreachableCollector(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	code, _, stderr := runSim(t, "--endpoint", url, "--tasks", "1", "--max-retries", "1", "--max-retry-wait", "10ms")
	assert.Equal(t, exitSend, code)
	assert.Contains(t, stderr, "giving up after 1 retries")
}

// otlpCollector accepts OTLP/HTTP logs and keeps the decoded records.
type otlpCollector struct {
	t        *testing.T
	mu       sync.Mutex
	names    []string
	unnamed  int
	services map[string]bool
	bodies   []pcommon.Map
	status   int // answer with this instead of accepting, when set
	busyOnce bool
	requests int
}

func (c *otlpCollector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	assert.Equal(c.t, "/v1/logs", r.URL.Path)
	assert.Equal(c.t, "application/x-protobuf", r.Header.Get("Content-Type"))
	c.requests++
	if c.busyOnce && c.requests == 2 {
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	if c.status != 0 {
		http.Error(w, "bad logs", c.status)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		require.NoError(c.t, err)
		body = zr
	}
	raw, err := io.ReadAll(body)
	require.NoError(c.t, err)
	req := plogotlp.NewExportRequest()
	require.NoError(c.t, req.UnmarshalProto(raw))
	rls := req.Logs().ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		if v, ok := rls.At(i).Resource().Attributes().Get("service.name"); ok {
			c.services[v.Str()] = true
		}
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				if lr.EventName() == "" {
					c.unnamed++
					continue
				}
				c.names = append(c.names, lr.EventName()+"|"+lr.Timestamp().AsTime().UTC().Format("2006-01-02T15:04:05.000Z"))
				m := pcommon.NewMap()
				lr.Body().Map().CopyTo(m)
				c.bodies = append(c.bodies, m)
			}
		}
	}
	resp, err := plogotlp.NewExportResponse().MarshalProto()
	require.NoError(c.t, err)
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(resp)
}

func TestOTLP(t *testing.T) {
	var want []string
	for _, e := range reference(t) {
		parts := strings.SplitN(e, "|", 3)
		want = append(want, parts[0]+"|"+parts[1])
	}
	for _, gz := range []bool{false, true} {
		t.Run(fmt.Sprintf("gzip=%v", gz), func(t *testing.T) {
			c := &otlpCollector{t: t, services: map[string]bool{}}
			srv := httptest.NewServer(c)
			defer srv.Close()
			endpoint := strings.TrimPrefix(srv.URL, "http://") // host:port, as for a collector
			args := append([]string{"--otlp-endpoint", endpoint, "--batch", "40", "--json"}, workload...)
			if gz {
				args = append(args, "--gzip")
			}
			code, stdout, stderr := runSim(t, args...)
			require.Equal(t, 0, code, stderr)
			c.mu.Lock()
			defer c.mu.Unlock()
			assert.Equal(t, want, c.names, "every event is one record with EventName set")
			assert.Zero(t, c.unnamed)
			assert.Equal(t, map[string]bool{"tasker-sim": true}, c.services)
			var s map[string]any
			require.NoError(t, json.Unmarshal([]byte(stdout), &s))
			assert.Equal(t, float64(len(want)), s["events_sent"])

			// Bodies are maps with Tasker's types.
			var sawTask, sawList bool
			for _, m := range c.bodies {
				if v, ok := m.Get("task_id"); ok {
					require.Equal(t, pcommon.ValueTypeInt, v.Type())
					sawTask = true
				}
				if v, ok := m.Get("step_ids"); ok {
					require.Equal(t, pcommon.ValueTypeSlice, v.Type())
					sawList = true
				}
				if v, ok := m.Get("task_context"); ok {
					require.Equal(t, pcommon.ValueTypeMap, v.Type())
				}
			}
			assert.True(t, sawTask)
			assert.True(t, sawList)
		})
	}
}

func TestOTLPRetryAfter503(t *testing.T) {
	var want []string
	for _, e := range reference(t) {
		parts := strings.SplitN(e, "|", 3)
		want = append(want, parts[0]+"|"+parts[1])
	}
	c := &otlpCollector{t: t, services: map[string]bool{}, busyOnce: true}
	srv := httptest.NewServer(c)
	defer srv.Close()
	code, _, stderr := runSim(t, append([]string{"--otlp-endpoint", srv.URL, "--batch", "100"}, workload...)...)
	require.Equal(t, 0, code, stderr)
	c.mu.Lock()
	defer c.mu.Unlock()
	assert.Equal(t, want, c.names, "the refused export is repeated, nothing lost or duplicated")
	assert.Greater(t, c.requests, len(want)/100+1)
}

func TestOTLPRefused(t *testing.T) {
	c := &otlpCollector{t: t, services: map[string]bool{}, status: http.StatusBadRequest}
	srv := httptest.NewServer(c)
	defer srv.Close()
	code, _, stderr := runSim(t, "--otlp-endpoint", srv.URL, "--tasks", "2", "--batch", "10")
	assert.Equal(t, exitSend, code)
	assert.Contains(t, stderr, "400")
}

func TestRateStreamsInRealTime(t *testing.T) {
	begin := time.Now()
	code, stdout, stderr := runSim(t, "--dry-run", "--json", "--rate", "400", "--tasks", "4", "--seed", "3", "--out", filepath.Join(t.TempDir(), "s.ndjson"))
	require.Equal(t, 0, code, stderr)
	elapsed := time.Since(begin)
	var s struct {
		First string `json:"first_timestamp"`
		Last  string `json:"last_timestamp"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &s))
	first, err := time.Parse(time.RFC3339Nano, s.First)
	require.NoError(t, err)
	last, err := time.Parse(time.RFC3339Nano, s.Last)
	require.NoError(t, err)
	assert.WithinDuration(t, begin, first, 2*time.Second, "timestamps follow the wall clock")
	assert.GreaterOrEqual(t, elapsed, last.Sub(first)-50*time.Millisecond, "events are held back until their time")
}

func TestDurationEndsRun(t *testing.T) {
	out := filepath.Join(t.TempDir(), "s.ndjson")
	code, stdout, stderr := runSim(t, "--out", out, "--json", "--duration", "200ms", "--seed", "9")
	require.Equal(t, 0, code, stderr)
	var s map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &s))
	assert.Positive(t, s["tasks"])
	assert.Equal(t, s["tasks"], s["tasks_completed"].(float64)+s["tasks_failed"].(float64), "tasks in flight finish")
}

func TestCancelStopsGracefully(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"--out", filepath.Join(t.TempDir(), "s.ndjson"), "--json", "--tasks", "0", "--rate", "1000"}, &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	var s map[string]any
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &s))
	assert.Equal(t, s["tasks"], s["tasks_completed"].(float64)+s["tasks_failed"].(float64))
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--format", "xml"}, "--format"},
		{[]string{"--batch", "0"}, "--batch"},
		{[]string{"--fail-rate", "2"}, "--fail-rate"},
		{[]string{"--retry-limit", "0"}, "--retry-limit"},
		{[]string{"--templates", "order_fulfillment,nope"}, "--templates"},
		{[]string{"--start-time", "yesterday"}, "--start-time"},
		{[]string{"--endpoint", "127.0.0.1:8088"}, "--endpoint"},
		{[]string{"--otlp-endpoint", "127.0.0.1:4318", "--dry-run"}, "exclude"},
		{[]string{"--header", "novalue"}, "name=value"},
		{[]string{"stray"}, "unexpected"},
	} {
		code, _, stderr := runSim(t, tc.args...)
		assert.Equal(t, exitUsage, code, tc.args)
		assert.Contains(t, stderr, tc.msg, tc.args)
	}
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2025, 11, 25, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"1":                             time.Second,
		" 120 ":                         2 * time.Minute,
		"Tue, 25 Nov 2025 12:00:05 GMT": 5 * time.Second,
		"Tue, 25 Nov 2025 11:00:00 GMT": 0,
	} {
		got, ok := retryAfter(in, now)
		assert.True(t, ok, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "-1", "soon"} {
		_, ok := retryAfter(in, now)
		assert.False(t, ok, in)
	}
}

func TestHeadersAreSent(t *testing.T) {
	var got http.Header
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = r.Header.Clone()
		mu.Unlock()
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	defer srv.Close()
	code, _, stderr := runSim(t, "--endpoint", srv.URL, "--tasks", "1", "--header", "X-Tasker-Service=billing", "--header", "Authorization=Bearer t0k")
	require.Equal(t, 0, code, stderr)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, "billing", got.Get("X-Tasker-Service"))
	assert.Equal(t, "Bearer t0k", got.Get("Authorization"))
}
