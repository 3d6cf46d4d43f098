package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
