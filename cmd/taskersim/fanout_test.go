package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFanout: with two HTTP and two OTLP endpoints and --otlp-share, every
// event is sent once, every endpoint gets a share, and each task goes over
// one protocol only, about the share of tasks over OTLP.
func TestFanout(t *testing.T) {
	want := reference(t) // name|time|payload of every event, in order
	h1, u1 := newCollector(t, nil)
	h2, u2 := newCollector(t, nil)
	var otlp []*otlpCollector
	var otlpEPs []string
	for range 2 {
		c := &otlpCollector{t: t, services: map[string]bool{}}
		srv := httptest.NewServer(c)
		t.Cleanup(srv.Close)
		otlp = append(otlp, c)
		otlpEPs = append(otlpEPs, strings.TrimPrefix(srv.URL, "http://"))
	}
	args := append([]string{"--endpoint", u1 + "," + u2, "--otlp-endpoint", strings.Join(otlpEPs, ","),
		"--otlp-share", "0.34", "--batch", "10", "--json"}, workload...)
	code, stdout, stderr := runSim(t, args...)
	require.Equal(t, 0, code, stderr)

	var s summary
	require.NoError(t, json.Unmarshal([]byte(stdout), &s))
	assert.Equal(t, int64(len(want)), s.EventsSent)

	taskOf := regexp.MustCompile(`"task_id":(\d+)`)
	httpTasks, otlpTasks := map[string]bool{}, map[string]bool{}
	var httpEvents []string
	for _, c := range []*collector{h1, h2} {
		c.mu.Lock()
		assert.NotEmpty(t, c.events, "an HTTP endpoint got nothing")
		for _, e := range c.events {
			httpEvents = append(httpEvents, e)
			if m := taskOf.FindStringSubmatch(e); m != nil {
				httpTasks[m[1]] = true
			}
		}
		c.mu.Unlock()
	}
	otlpEvents := 0
	for _, c := range otlp {
		c.mu.Lock()
		assert.NotEmpty(t, c.names, "an OTLP endpoint got nothing")
		otlpEvents += len(c.names)
		for _, b := range c.bodies {
			if v, ok := b.Get("task_id"); ok {
				otlpTasks[v.AsString()] = true
			}
		}
		c.mu.Unlock()
	}
	assert.Equal(t, len(want), len(httpEvents)+otlpEvents, "every event sent exactly once")
	for id := range otlpTasks {
		assert.False(t, httpTasks[id], "task %s went over both protocols", id)
	}
	assert.Equal(t, int64(len(otlpTasks)), s.TasksOTLP)
	assert.Equal(t, 25, len(httpTasks)+len(otlpTasks))
	assert.True(t, s.TasksOTLP >= 3 && s.TasksOTLP <= 15, "tasks over OTLP: %d of 25 for a share of 0.34", s.TasksOTLP)

	// the HTTP events are exactly the reference's events of the HTTP tasks
	// (registry events included)
	var wantHTTP []string
	for _, e := range want {
		if m := taskOf.FindStringSubmatch(e); m == nil || !otlpTasks[m[1]] {
			wantHTTP = append(wantHTTP, e)
		}
	}
	sort.Strings(wantHTTP)
	sort.Strings(httpEvents)
	assert.Equal(t, wantHTTP, httpEvents)
}

func TestFanoutUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--otlp-share", "0.5"}, "--otlp-share needs --otlp-endpoint"},
		{[]string{"--otlp-endpoint", "127.0.0.1:4318", "--otlp-share", "1.5"}, "--otlp-share must be between 0 and 1"},
		{[]string{"--endpoint", "http://127.0.0.1:1/v1/events,127.0.0.1:2"}, `--endpoint "127.0.0.1:2"`},
		{[]string{"--endpoint", ","}, "--endpoint is empty"},
	} {
		code, _, stderr := runSim(t, tc.args...)
		assert.Equal(t, exitUsage, code, tc.args)
		assert.Contains(t, stderr, tc.msg, tc.args)
	}
}

// TestOTLPRetriesAResetConnection: a collector that drops the connection
// of a request (as one that restarts does) gets the batch again, and
// nothing is lost or duplicated.
func TestOTLPRetriesAResetConnection(t *testing.T) {
	var want []string
	for _, e := range reference(t) {
		parts := strings.SplitN(e, "|", 3)
		want = append(want, parts[0]+"|"+parts[1])
	}
	c := &otlpCollector{t: t, services: map[string]bool{}}
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 2 {
			conn, _, err := w.(http.Hijacker).Hijack()
			require.NoError(t, err)
			conn.Close() // no answer: the client sees the connection go
			return
		}
		c.ServeHTTP(w, r)
	}))
	defer srv.Close()
	code, stdout, stderr := runSim(t, append([]string{"--otlp-endpoint", srv.URL, "--batch", "100", "--json"}, workload...)...)
	require.Equal(t, 0, code, stderr)
	var s summary
	require.NoError(t, json.Unmarshal([]byte(stdout), &s))
	assert.Equal(t, int64(1), s.Retried)
	c.mu.Lock()
	defer c.mu.Unlock()
	assert.Equal(t, want, c.names)
}
