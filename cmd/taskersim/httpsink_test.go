// Sending to a taskerevents receiver over HTTP: every format, retries,
// refusals and headers, against a fake receiver that decodes what it gets.

package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
