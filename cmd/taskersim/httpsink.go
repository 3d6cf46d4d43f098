package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/otelcol-tasker/otelcol-tasker/internal/sim"
)

// batch is one request body under construction or in flight.
type batch struct {
	buf   []byte
	n     int
	first time.Time // when its first event was added
}

// httpSink posts batches of events to the taskerevents receiver. The
// generator goroutine encodes into the current batch; --senders goroutines
// post full batches, retrying 429/5xx and network errors (honouring
// Retry-After, bounded) and stopping everything on any other refusal.
type httpSink struct {
	o      *options
	client *http.Client
	enc    sim.Encoder
	stderr io.Writer

	cur  *batch
	work chan *batch
	free sync.Pool
	wg   sync.WaitGroup

	ctx    context.Context
	cancel context.CancelFunc
	mu     sync.Mutex
	err    error

	sent, requests, retried atomic.Int64
}

func newHTTPSink(ctx context.Context, o *options, stderr io.Writer) *httpSink {
	ctx, cancel := context.WithCancel(ctx)
	s := &httpSink{
		o:      o,
		client: &http.Client{Timeout: o.timeout},
		enc:    sim.Encoder{Format: o.format, Source: o.source},
		stderr: stderr,
		work:   make(chan *batch, o.senders),
		ctx:    ctx,
		cancel: cancel,
	}
	s.free.New = func() any { return &batch{buf: make([]byte, 0, 512*o.batch)} }
	for range o.senders {
		s.wg.Add(1)
		go s.sender()
	}
	return s
}

func (s *httpSink) Add(ev *sim.Event) error {
	if err := s.failed(); err != nil {
		return err
	}
	b := s.cur
	if b == nil {
		b = s.free.Get().(*batch)
		b.buf, b.n, b.first = b.buf[:0], 0, time.Now()
		s.cur = b
		if s.o.format.Array() {
			b.buf = append(b.buf, '[')
		}
	} else if s.o.format.Array() {
		b.buf = append(b.buf, ',')
	}
	b.buf = s.enc.Append(b.buf, ev)
	if !s.o.format.Array() {
		b.buf = append(b.buf, '\n')
	}
	b.n++
	if b.n >= s.o.batch {
		return s.dispatch()
	}
	return nil
}

func (s *httpSink) FlushIfOlder(age time.Duration) error {
	if s.cur != nil && time.Since(s.cur.first) >= age {
		return s.dispatch()
	}
	return s.failed()
}

// dispatch hands the current batch to a sender; it blocks while all senders
// are busy, which paces the generator to what the collector takes.
func (s *httpSink) dispatch() error {
	b := s.cur
	s.cur = nil
	if s.o.format.Array() {
		b.buf = append(b.buf, ']')
	}
	select {
	case s.work <- b:
		return nil
	case <-s.ctx.Done():
		if err := s.failed(); err != nil {
			return err
		}
		return s.ctx.Err()
	}
}

func (s *httpSink) Close() error {
	var err error
	if s.cur != nil && s.failed() == nil {
		err = s.dispatch()
	}
	close(s.work)
	s.wg.Wait()
	s.cancel()
	s.client.CloseIdleConnections()
	if ferr := s.failed(); ferr != nil {
		return ferr
	}
	return err
}

func (s *httpSink) Sent() int64     { return s.sent.Load() }
func (s *httpSink) Requests() int64 { return s.requests.Load() }
func (s *httpSink) Retried() int64  { return s.retried.Load() }

func (s *httpSink) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *httpSink) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
	s.cancel()
}

func (s *httpSink) sender() {
	defer s.wg.Done()
	var zbuf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&zbuf, gzip.BestSpeed) // a load generator favours speed over ratio
	for b := range s.work {
		if s.failed() != nil {
			continue // drain: the run is over
		}
		body := b.buf
		if s.o.gzip {
			zbuf.Reset()
			zw.Reset(&zbuf)
			_, _ = zw.Write(body)
			_ = zw.Close()
			body = zbuf.Bytes()
		}
		if err := s.post(body); err != nil {
			s.fail(err)
		} else {
			s.sent.Add(int64(b.n))
		}
		s.free.Put(b)
	}
}

// refusedError is a response the simulator must not retry.
type refusedError struct {
	status string
	body   string
}

func (e *refusedError) Error() string {
	if e.body == "" {
		return "collector refused the request: " + e.status
	}
	return "collector refused the request: " + e.status + ": " + e.body
}

// post sends one body until it is accepted, refused, or retries run out.
func (s *httpSink) post(body []byte) error {
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, s.o.endpoint, bytes.NewReader(body))
		if err != nil {
			return err
		}
		for k, v := range s.o.headers {
			req.Header[k] = v
		}
		req.Header.Set("Content-Type", s.o.format.ContentType())
		if s.o.gzip {
			req.Header.Set("Content-Encoding", "gzip")
		}
		req.Header.Set("User-Agent", "taskersim")
		s.requests.Add(1)
		resp, err := s.client.Do(req)

		var reason string
		wait := backoff(attempt, s.o.maxRetryWait)
		if err != nil {
			if s.ctx.Err() != nil {
				return s.ctx.Err()
			}
			reason = err.Error()
		} else {
			msg := readMessage(resp.Body)
			resp.Body.Close()
			switch code := resp.StatusCode; {
			case code >= 200 && code < 300:
				return nil
			case code == http.StatusTooManyRequests || code >= 500:
				reason = resp.Status
				if ra, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
					wait = ra
				}
			default:
				return &refusedError{status: resp.Status, body: msg}
			}
		}
		if attempt >= s.o.maxRetries {
			return fmt.Errorf("giving up after %d retries: %s", attempt, reason)
		}
		wait = min(wait, s.o.maxRetryWait)
		s.retried.Add(1)
		fmt.Fprintf(s.stderr, "taskersim: %s, retrying in %s\n", reason, wait)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-s.ctx.Done():
			t.Stop()
			return s.ctx.Err()
		}
	}
}

// readMessage reads the start of an error body for the user, and drains the
// rest so the connection can be reused.
func readMessage(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, 2048))
	_, _ = io.Copy(io.Discard, io.LimitReader(r, 1<<20))
	return strings.TrimSpace(string(b))
}

// backoff is the wait before retry number attempt+1 when the server gives no
// Retry-After: 100ms doubling, capped.
func backoff(attempt int, limit time.Duration) time.Duration {
	d := 100 * time.Millisecond << min(attempt, 20)
	return min(d, limit)
}

// retryAfter reads a Retry-After header: delay seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(secs * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
