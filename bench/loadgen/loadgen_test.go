package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/otelcol-tasker/otelcol-tasker/bench/internal/workload"
)

// fakeCollector answers like the taskerevents receiver (NDJSON) or the OTLP
// receiver (JSON) and counts what it really accepted. Every 5th request is
// partly refused, every 7th refused with 503, so the load generator's
// accounting is checked against the server's own count, not against itself.
type fakeCollector struct {
	format   workload.Format
	delay    time.Duration
	requests atomic.Int64
	accepted atomic.Int64
}

func (f *fakeCollector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := f.requests.Add(1)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if r.Header.Get("Content-Type") != f.format.ContentType() {
		w.WriteHeader(http.StatusUnsupportedMediaType)
		return
	}
	events := 0
	switch f.format {
	case workload.NDJSON:
		events = bytes.Count(bytes.TrimSpace(body), []byte("\n")) + 1
	case workload.OTLPJSON:
		req := plogotlp.NewExportRequest()
		if err := req.UnmarshalJSON(body); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		events = req.Logs().LogRecordCount()
	}
	time.Sleep(f.delay)
	refused := 0
	switch {
	case n%7 == 0:
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	case n%5 == 0:
		refused = 10
	}
	f.accepted.Add(int64(events - refused))
	w.Header().Set("Content-Type", "application/json")
	if f.format == workload.NDJSON {
		fmt.Fprintf(w, `{"accepted":%d}`, events-refused)
		return
	}
	if refused > 0 {
		fmt.Fprintf(w, `{"partialSuccess":{"rejectedLogRecords":"%d","errorMessage":"full"}}`, refused)
		return
	}
	fmt.Fprint(w, `{}`)
}

func TestSaturateAccounting(t *testing.T) {
	for _, format := range []workload.Format{workload.NDJSON, workload.OTLPJSON} {
		t.Run(string(format), func(t *testing.T) {
			set, err := workload.Build(format, 100)
			if err != nil {
				t.Fatal(err)
			}
			fc := &fakeCollector{format: format}
			srv := httptest.NewServer(fc)
			defer srv.Close()

			s := newSender(srv.URL, format, set, 4, 5*time.Second)
			defer s.close()
			m := newSampler(s, 0)
			p := m.phase("saturate")
			var stop atomic.Bool
			const maxRequests = 70
			s.saturate(context.Background(), 4, maxRequests, &stop)
			r := m.finish(p)

			if r.Requests != maxRequests || fc.requests.Load() != maxRequests {
				t.Fatalf("requests: loadgen %d, server %d, want %d", r.Requests, fc.requests.Load(), maxRequests)
			}
			// 10 of 70 refused with 503, 12 others partly (10 events each)
			wantAccepted := (maxRequests-10)*100 - 12*10
			if int64(r.EventsAccepted) != fc.accepted.Load() || r.EventsAccepted != wantAccepted {
				t.Fatalf("accepted: loadgen %d, server %d, want %d", r.EventsAccepted, fc.accepted.Load(), wantAccepted)
			}
			if s.accepted.Load() != int64(wantAccepted) {
				t.Fatalf("run total %d, want %d", s.accepted.Load(), wantAccepted)
			}
			if r.EventsSent != maxRequests*100 {
				t.Fatalf("sent %d events, want %d", r.EventsSent, maxRequests*100)
			}
			if r.Errors["http_503"] != 10 || r.Errors["partial"] != 12 || r.ErrorCount != 22 {
				t.Fatalf("errors %v", r.Errors)
			}
			if r.LatencyP50Ms <= 0 || r.LatencyP99Ms < r.LatencyP50Ms || r.LatencyMaxMs < r.LatencyP99Ms {
				t.Fatalf("latencies p50 %v p99 %v max %v", r.LatencyP50Ms, r.LatencyP99Ms, r.LatencyMaxMs)
			}
		})
	}
}

func TestRateModeKeepsSchedule(t *testing.T) {
	set, err := workload.Build(workload.NDJSON, 50)
	if err != nil {
		t.Fatal(err)
	}
	fc := &fakeCollector{format: workload.NDJSON, delay: 20 * time.Millisecond}
	srv := httptest.NewServer(fc)
	defer srv.Close()
	s := newSender(srv.URL, workload.NDJSON, set, 8, 5*time.Second)
	defer s.close()
	m := newSampler(s, 0)
	p := m.phase("rate")
	start := time.Now()
	if err := s.atRate(context.Background(), 8, 100, 500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	r := m.finish(p)
	if r.Requests != 50 {
		t.Fatalf("requests = %d, want 100/s × 0.5s", r.Requests)
	}
	if elapsed < 450*time.Millisecond || elapsed > 3*time.Second {
		t.Fatalf("took %v for a 0.5 s schedule", elapsed)
	}
	// every request waits 20 ms in the server, 8 connections carry 100/s
	// with room to spare: latency is the server's delay plus loopback.
	if r.LatencyP50Ms < 20 || r.LatencyP50Ms > 500 {
		t.Fatalf("p50 = %v ms, want about 20", r.LatencyP50Ms)
	}
}

func TestRateModeCountsQueueingFromSchedule(t *testing.T) {
	set, err := workload.Build(workload.NDJSON, 10)
	if err != nil {
		t.Fatal(err)
	}
	// one connection, 50 ms per request, asked for 100 requests/s: the
	// schedule falls behind and latency must show it (no coordinated omission).
	fc := &fakeCollector{format: workload.NDJSON, delay: 50 * time.Millisecond}
	srv := httptest.NewServer(fc)
	defer srv.Close()
	s := newSender(srv.URL, workload.NDJSON, set, 1, 5*time.Second)
	defer s.close()
	m := newSampler(s, 0)
	p := m.phase("rate")
	if err := s.atRate(context.Background(), 1, 100, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	r := m.finish(p)
	if r.Requests != 20 {
		t.Fatalf("requests = %d, want 20", r.Requests)
	}
	// the 20th request was planned at 190 ms and could only start at ~950 ms
	if r.LatencyMaxMs < 500 {
		t.Fatalf("max latency %v ms hides the queueing", r.LatencyMaxMs)
	}
}

func TestAcceptedEvents(t *testing.T) {
	for _, tc := range []struct {
		format workload.Format
		body   string
		n      int
		want   int
		ok     bool
	}{
		{workload.NDJSON, `{"accepted":1000}`, 1000, 1000, true},
		{workload.NDJSON, `{"accepted":990}`, 1000, 990, true},
		{workload.NDJSON, `{"accepted":1001}`, 1000, 0, false},
		{workload.NDJSON, `{}`, 1000, 0, false},
		{workload.NDJSON, `not json`, 1000, 0, false},
		{workload.OTLPJSON, ``, 1000, 1000, true},
		{workload.OTLPJSON, `{}`, 1000, 1000, true},
		{workload.OTLPJSON, `{"partialSuccess":{}}`, 1000, 1000, true},
		{workload.OTLPJSON, `{"partialSuccess":{"rejectedLogRecords":"7"}}`, 1000, 993, true},
		{workload.OTLPJSON, `{"partialSuccess":{"rejectedLogRecords":7}}`, 1000, 993, true},
		{workload.OTLPJSON, `{"partialSuccess":{"rejectedLogRecords":"x"}}`, 1000, 0, false},
	} {
		got, ok := acceptedEvents(tc.format, []byte(tc.body), tc.n)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s %q: got %d %v, want %d %v", tc.format, tc.body, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseStatCPU(t *testing.T) {
	// a command name with spaces and a parenthesis, utime 250, stime 50 ticks
	stat := []byte("1234 (otel col) x) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 100 1000 200 18446744073709551615\n")
	got, err := parseStatCPU(stat)
	if err != nil {
		t.Fatal(err)
	}
	if got != 300/clockTicks {
		t.Fatalf("cpu = %v s, want %v", got, 300/clockTicks)
	}
	if _, err := parseStatCPU([]byte("garbage")); err == nil {
		t.Fatal("garbage parsed")
	}
	// the test's own process
	p, err := readProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if p.rssBytes <= 0 || p.hwmBytes < p.rssBytes {
		t.Fatalf("rss %d hwm %d", p.rssBytes, p.hwmBytes)
	}
}
