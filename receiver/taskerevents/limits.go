package taskerevents // import "github.com/otelcol-tasker/otelcol-tasker/receiver/taskerevents"

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"
)

// checkHeaders applies the length and character policy to every header
// whose value the receiver copies into events: the correlation and service
// headers and, for a binary-mode CloudEvent, every ce-* header (context
// attributes and extensions alike). A non-zero status refuses the request:
// 431 for a value longer than max_header_value_length, 400 for a value
// with control characters or (once percent-decoded) invalid UTF-8.
func (r *eventsReceiver) checkHeaders(h http.Header, binary bool) (int, string) {
	for _, name := range [...]string{r.cfg.CorrelationHeader, r.cfg.ServiceHeader} {
		if name == "" {
			continue
		}
		if status, msg := r.checkHeader(name, h.Get(name), false); status != 0 {
			return status, msg
		}
	}
	if !binary {
		return 0, ""
	}
	for name, vs := range h {
		if len(name) < 3 || !strings.EqualFold(name[:3], "ce-") {
			continue
		}
		for _, v := range vs {
			if status, msg := r.checkHeader(name, v, true); status != 0 {
				return status, msg
			}
		}
	}
	return 0, ""
}

func (r *eventsReceiver) checkHeader(name, v string, percentEncoded bool) (int, string) {
	if max := r.cfg.MaxHeaderValueLength; len(v) > max {
		return http.StatusRequestHeaderFieldsTooLarge, fmt.Sprintf("header %s is %d bytes, longer than the %d allowed (max_header_value_length): its value is copied into every event of the request",
			name, len(v), max)
	}
	if percentEncoded {
		v = percentDecode(v)
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c == 0x7f {
			return http.StatusBadRequest, fmt.Sprintf("header %s has a control character (0x%02x) at byte %d: header values copied into events must be printable", name, c, i)
		}
	}
	if !utf8.ValidString(v) {
		return http.StatusBadRequest, fmt.Sprintf("header %s is not valid UTF-8", name)
	}
	return 0, ""
}

// headerCopies are the header values copied into every event of a
// request (the correlation id into each record, the service name into
// each record's output). The first copy is paid for by the header itself;
// the others may together be no longer than the body:
// (correlation + service bytes) × (events − 1) ≤ body bytes. Header copies
// then at most double what the body puts into the outputs, however many
// events it holds; a request of one event is never refused for them.
type headerCopies struct {
	correlation, service           string // header names
	correlationBytes, serviceBytes int
}

func (c headerCopies) check(events, bodyBytes int) error {
	per := c.correlationBytes + c.serviceBytes
	if per == 0 || per*(events-1) <= bodyBytes {
		return nil
	}
	return &headerCopiesError{c: c, events: events, body: bodyBytes}
}

// headerCopiesError refuses a request whose header copies would outweigh
// its body (431).
type headerCopiesError struct {
	c            headerCopies
	events, body int
}

func (e *headerCopiesError) Error() string {
	names := e.c.correlation
	switch {
	case e.c.correlationBytes == 0:
		names = e.c.service
	case e.c.serviceBytes > 0:
		names += " and " + e.c.service
	}
	per := e.c.correlationBytes + e.c.serviceBytes
	return fmt.Sprintf("%s (%d bytes) would be copied into each of %d events of a %d-byte body: header values copied into events may be no longer than the average event (%d bytes here)",
		names, per, e.events, e.body, e.body/(e.events-1))
}

// binaryRequired checks the context attributes CloudEvents 1.0 requires of
// a binary-mode event (ce-type is checked by the decoder with the rest).
func binaryRequired(h http.Header) string {
	for _, name := range [...]string{"Ce-Specversion", "Ce-Id", "Ce-Source"} {
		if strings.TrimSpace(h.Get(name)) == "" {
			return fmt.Sprintf("binary-mode CloudEvent without %s: CloudEvents 1.0 requires the ce-specversion, ce-id, ce-source and ce-type headers, non-empty",
				strings.ToLower(name))
		}
	}
	return ""
}

// bodyDeadline keeps a request body moving: the body may take
// body_timeout, plus one second for every min_body_rate bytes it has
// delivered. A sender that keeps up that rate is never cut, however large
// its body; one that trickles (a byte a second) or stalls is cut once its
// allowance runs out, and its connection and goroutine are freed.
type bodyDeadline struct {
	rc      *http.ResponseController
	body    io.Reader
	start   time.Time
	grace   time.Duration
	rate    float64 // bytes per second
	n       int64
	expired bool
}

func (r *eventsReceiver) newBodyDeadline(w http.ResponseWriter, body io.Reader) io.Reader {
	if r.cfg.BodyTimeout <= 0 {
		return body
	}
	d := &bodyDeadline{rc: http.NewResponseController(w), body: body, start: time.Now(),
		grace: r.cfg.BodyTimeout, rate: float64(r.cfg.MinBodyRate)}
	if d.rc.SetReadDeadline(d.deadline()) != nil {
		return body // the connection cannot take deadlines (a test recorder)
	}
	return d
}

func (d *bodyDeadline) deadline() time.Time {
	allowance := d.grace
	if d.rate > 0 {
		allowance += time.Duration(float64(d.n) / d.rate * float64(time.Second))
	}
	return d.start.Add(allowance)
}

func (d *bodyDeadline) Read(p []byte) (int, error) {
	n, err := d.body.Read(p)
	if n > 0 {
		d.n += int64(n)
		_ = d.rc.SetReadDeadline(d.deadline())
	}
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		d.expired = true
	}
	return n, err
}

// done lifts the deadline: the server sets its own for the next request.
func (d *bodyDeadline) done() { _ = d.rc.SetReadDeadline(time.Time{}) }

// lowerContentEncoding makes content codings case-insensitive (RFC 9110,
// 8.4.1) before confighttp's decompressor, which matches them exactly:
// "GZIP" and " gzip " are gzip.
func lowerContentEncoding(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if vs := req.Header.Values("Content-Encoding"); len(vs) == 1 {
			if v := strings.ToLower(strings.TrimSpace(vs[0])); v != vs[0] {
				req.Header.Set("Content-Encoding", v)
			}
		}
		next.ServeHTTP(w, req)
	})
}

// serverErrorLog receives what net/http logs about connections (the
// handler never reaches them): failed TLS handshakes, mostly, which any
// client can cause at will. They are logged at WARN without a stack
// trace, at most once per source address per interval, with the number of
// others suppressed meanwhile.
type serverErrorLog struct {
	logger   *zap.Logger
	interval time.Duration
	now      func() time.Time

	mu      sync.Mutex
	sources map[string]*sourceLog
}

type sourceLog struct {
	last       time.Time
	suppressed int
}

// maxLogSources bounds the table of sources; past it, it is cleared.
const maxLogSources = 4096

func newServerErrorLog(logger *zap.Logger, interval time.Duration) *serverErrorLog {
	return &serverErrorLog{
		logger:   logger.WithOptions(zap.AddStacktrace(zap.FatalLevel)),
		interval: interval,
		now:      time.Now,
		sources:  map[string]*sourceLog{},
	}
}

const tlsHandshakePrefix = "http: TLS handshake error from "

func (l *serverErrorLog) Write(p []byte) (int, error) {
	line := string(bytes.TrimRight(p, "\n"))
	rest, ok := strings.CutPrefix(line, tlsHandshakePrefix)
	if !ok {
		l.logger.Warn("HTTP server error", zap.String("error", line))
		return len(p), nil
	}
	addr, reason, _ := strings.Cut(rest, ": ")
	source := addr
	if host, _, err := net.SplitHostPort(addr); err == nil {
		source = host
	}
	l.mu.Lock()
	s := l.sources[source]
	now := l.now()
	if s != nil && now.Sub(s.last) < l.interval {
		s.suppressed++
		l.mu.Unlock()
		return len(p), nil
	}
	suppressed := 0
	if s == nil {
		if len(l.sources) >= maxLogSources {
			clear(l.sources)
		}
		s = &sourceLog{}
		l.sources[source] = s
	} else {
		suppressed = s.suppressed
	}
	s.last, s.suppressed = now, 0
	l.mu.Unlock()
	l.logger.Warn("TLS handshake failed",
		zap.String("source", source), zap.String("error", reason),
		zap.Int("suppressed_since_last", suppressed), zap.Duration("interval", l.interval))
	return len(p), nil
}

// percentDecode decodes the %XX escapes of a ce-* header value as
// binaryAttributes does; a malformed one leaves the value as it is.
func percentDecode(v string) string {
	if strings.IndexByte(v, '%') >= 0 {
		if u, err := url.PathUnescape(v); err == nil {
			return u
		}
	}
	return v
}
