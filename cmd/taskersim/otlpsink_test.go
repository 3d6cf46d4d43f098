// Sending OTLP/HTTP logs: records, retries and refusals.

package main

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
)

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
