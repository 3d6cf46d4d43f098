package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/otelcol-tasker/otelcol-tasker/bench/internal/workload"
)

// sender posts the prepared bodies and accounts for what the collector
// accepted. It is safe for concurrent use by many workers.
type sender struct {
	client      *http.Client
	url         string
	contentType string
	format      workload.Format
	bodies      bodySource
	idBase      int64

	seq      atomic.Uint64 // next request of the stream
	accepted atomic.Int64  // events accepted since start, for the sampler
	stats    atomic.Pointer[phaseStats]
}

// bodySource yields the body of request seq, written into buf.
type bodySource interface {
	Patch(buf []byte, seq uint64, idBase int64) ([]byte, int)
}

func newSender(url string, format workload.Format, bodies bodySource, conns int, timeout time.Duration) *sender {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	s := &sender{
		client:      &http.Client{Transport: tr, Timeout: timeout},
		url:         url,
		contentType: format.ContentType(),
		format:      format,
		bodies:      bodies,
	}
	s.stats.Store(newPhaseStats("idle"))
	return s
}

func (s *sender) close() { s.client.CloseIdleConnections() }

// send posts the next request of the stream. scheduled is when the request
// should have started (rate mode: latency counts from then, so a stalled
// collector is not hidden by the generator waiting for it); zero means now.
func (s *sender) send(ctx context.Context, buf []byte, scheduled time.Time, seq uint64) []byte {
	body, n := s.bodies.Patch(buf, seq, s.idBase)
	start := time.Now()
	if scheduled.IsZero() || scheduled.After(start) {
		scheduled = start
	}
	accepted, errKind := s.post(ctx, body, n)
	done := time.Now()
	s.accepted.Add(int64(accepted))
	s.stats.Load().record(n, accepted, done.Sub(scheduled), errKind)
	return body
}

// post sends one body and returns how many events the collector accepted,
// and an error class ("" when the request succeeded).
func (s *sender) post(ctx context.Context, body []byte, n int) (int, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return 0, "request"
	}
	req.Header.Set("Content-Type", s.contentType)
	resp, err := s.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, "cancelled"
		}
		return 0, "transport"
	}
	respBody, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return 0, "transport"
	}
	if resp.StatusCode != http.StatusOK {
		return 0, "http_" + strconv.Itoa(resp.StatusCode)
	}
	accepted, ok := acceptedEvents(s.format, respBody, n)
	if !ok {
		return 0, "bad_response"
	}
	if accepted < n {
		return accepted, "partial"
	}
	return accepted, ""
}

// acceptedEvents reads how many of n events a 200 response accepted: the
// taskerevents receiver answers {"accepted": N}; the OTLP receiver answers
// an ExportLogsServiceResponse whose partialSuccess names the rejected ones.
func acceptedEvents(format workload.Format, body []byte, n int) (int, bool) {
	if format == workload.NDJSON {
		var r struct {
			Accepted *int `json:"accepted"`
		}
		if json.Unmarshal(body, &r) != nil || r.Accepted == nil || *r.Accepted < 0 || *r.Accepted > n {
			return 0, false
		}
		return *r.Accepted, true
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return n, true
	}
	var r struct {
		PartialSuccess struct {
			RejectedLogRecords json.RawMessage `json:"rejectedLogRecords"`
		} `json:"partialSuccess"`
	}
	if json.Unmarshal(body, &r) != nil {
		return 0, false
	}
	raw := bytes.Trim(r.PartialSuccess.RejectedLogRecords, `"`)
	if len(raw) == 0 {
		return n, true
	}
	rejected, err := strconv.Atoi(string(raw))
	if err != nil || rejected < 0 || rejected > n {
		return 0, false
	}
	return n - rejected, true
}

// phaseStats collects what completed during one phase of the run.
type phaseStats struct {
	name  string
	start time.Time

	mu        sync.Mutex
	end       time.Time
	requests  int
	sent      int // events in the requests
	accepted  int
	errors    map[string]int
	latencies []time.Duration
}

func newPhaseStats(name string) *phaseStats {
	return &phaseStats{name: name, start: time.Now(), errors: map[string]int{}, latencies: make([]time.Duration, 0, 4096)}
}

func (p *phaseStats) record(sent, accepted int, latency time.Duration, errKind string) {
	p.mu.Lock()
	p.requests++
	p.sent += sent
	p.accepted += accepted
	if errKind != "" {
		p.errors[errKind]++
	}
	p.latencies = append(p.latencies, latency)
	p.mu.Unlock()
}

// PhaseResult is the summary of one phase.
type PhaseResult struct {
	Name           string         `json:"name"`
	Seconds        float64        `json:"seconds"`
	Requests       int            `json:"requests"`
	EventsSent     int            `json:"events_sent"`
	EventsAccepted int            `json:"events_accepted"`
	EventsPerSec   float64        `json:"events_per_sec"`
	RequestsPerSec float64        `json:"requests_per_sec"`
	TargetRPS      float64        `json:"target_rps,omitempty"`
	Errors         map[string]int `json:"errors"`
	ErrorCount     int            `json:"error_count"`
	LatencyP50Ms   float64        `json:"latency_p50_ms"`
	LatencyP99Ms   float64        `json:"latency_p99_ms"`
	LatencyMaxMs   float64        `json:"latency_max_ms"`
	// Collector process figures over the phase (when a pid was given).
	CPUSeconds           float64 `json:"cpu_seconds,omitempty"`
	CPUUtilization       float64 `json:"cpu_utilization,omitempty"` // cores
	CPUSecondsPerMillion float64 `json:"cpu_seconds_per_million_events,omitempty"`
}

// result closes the phase at end and summarizes it.
func (p *phaseStats) result(end time.Time) PhaseResult {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.end = end
	secs := end.Sub(p.start).Seconds()
	r := PhaseResult{
		Name:           p.name,
		Seconds:        secs,
		Requests:       p.requests,
		EventsSent:     p.sent,
		EventsAccepted: p.accepted,
		Errors:         map[string]int{},
	}
	for k, v := range p.errors {
		r.Errors[k] = v
		r.ErrorCount += v
	}
	if secs > 0 {
		r.EventsPerSec = float64(p.accepted) / secs
		r.RequestsPerSec = float64(p.requests) / secs
	}
	if len(p.latencies) > 0 {
		l := append([]time.Duration(nil), p.latencies...)
		sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
		r.LatencyP50Ms = ms(percentile(l, 0.50))
		r.LatencyP99Ms = ms(percentile(l, 0.99))
		r.LatencyMaxMs = ms(l[len(l)-1])
	}
	return r
}

// percentile returns the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(q*float64(len(sorted))+0.999999999) - 1
	if rank < 0 {
		rank = 0
	}
	if rank >= len(sorted) {
		rank = len(sorted) - 1
	}
	return sorted[rank]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// saturate keeps conns requests in flight until stop is set, the context
// ends (an abort: in-flight requests are cancelled) or request number
// maxRequests of the run would start. Stopping lets the requests in flight finish, so the collector's
// work on them is not wasted inside a measured window.
func (s *sender) saturate(ctx context.Context, conns int, maxRequests uint64, stop *atomic.Bool) {
	var wg sync.WaitGroup
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for ctx.Err() == nil && !stop.Load() {
				seq := s.seq.Add(1) - 1
				if seq >= maxRequests {
					return
				}
				buf = s.send(ctx, buf, time.Time{}, seq)
			}
		}()
	}
	wg.Wait()
}

// atRate starts requests at a fixed rate (requests per second) for d, on at
// most conns connections. When every connection is busy the schedule is not
// skipped: later requests wait, and their latency counts from their planned
// start.
func (s *sender) atRate(ctx context.Context, conns int, rps float64, d time.Duration) error {
	if rps <= 0 {
		return fmt.Errorf("rate must be positive, got %v", rps)
	}
	total := int(rps * d.Seconds())
	if total < 1 {
		total = 1
	}
	interval := time.Duration(float64(time.Second) / rps)
	tickets := make(chan time.Time, conns)
	var wg sync.WaitGroup
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for at := range tickets {
				buf = s.send(ctx, buf, at, s.seq.Add(1)-1)
			}
		}()
	}
	start := time.Now()
	for i := 0; i < total && ctx.Err() == nil; i++ {
		at := start.Add(time.Duration(i) * interval)
		if wait := time.Until(at); wait > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
			}
		}
		select {
		case tickets <- at:
		case <-ctx.Done():
		}
	}
	close(tickets)
	wg.Wait()
	return nil
}
