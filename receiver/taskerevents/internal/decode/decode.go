// Package decode turns the body of one HTTP request carrying workflow events
// (Tasker native or flat JSON, JSON arrays, NDJSON, CloudEvents 1.0 in
// structured, batched or binary mode) into plog records, one per event.
//
// It only decodes: each record gets its event name, its own timestamp when
// the event carries one, the payload as its body (a lossless map) and, for
// CloudEvents, the event id. Normalization (ids, severity, attributes) is the
// caller's job. A request is all or nothing: the first bad event fails the
// whole body with an *Error naming it.
//
// Each event is read in one pass by a small scanner (scan.go) that checks
// the JSON strictly (RFC 8259) and writes pcommon values as it goes, with no
// tree in between. Strings are copied into arena chunks of a few KiB (an
// event's strings never span two chunks), so decoding costs no allocation
// per string, and a string a downstream component keeps holds at most one
// chunk alive. Member names, which payloads repeat, come from a table of
// owned strings instead (see keyTable).
package decode // import "github.com/otelcol-tasker/otelcol-tasker/receiver/taskerevents/internal/decode"

import (
	"bytes"
	"fmt"
	"mime"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

// Format says how a request body is laid out.
type Format uint8

const (
	// JSON is one event object or a JSON array of them. Each object is read
	// as a CloudEvent when it has a "specversion" member, else as a Tasker
	// event (native when it has a "payload" member, flat otherwise).
	JSON Format = iota + 1
	// NDJSON holds one event object per line, read like JSON objects; blank
	// lines are skipped.
	NDJSON
	// CloudEvent is one structured-mode CloudEvent.
	CloudEvent
	// CloudEventBatch is a JSON array of structured-mode CloudEvents.
	CloudEventBatch
	// BinaryCloudEvent is the data of one binary-mode CloudEvent; its
	// attributes come in Request.Binary.
	BinaryCloudEvent
)

// Attribute keys the decoder writes (OpenTelemetry semantic conventions).
const (
	AttrServiceName    = "service.name"
	AttrCloudEventID   = "cloudevents.event_id"
	AttrCloudEventSubj = "cloudevents.event_subject"
	cloudEventsVersion = "1.0"
	defaultMaxDepth    = 32
	largeObjectMembers = 128 // see largeObject
)

// MaxDepthLimit is the highest usable Options.MaxDepth: it keeps a payload
// within maxNesting, the bound on what the decoder only validates and on its
// recursion (the limit is what it was with the previous parser).
const MaxDepthLimit = maxNesting - 10

// Options tune a Decoder.
type Options struct {
	// TypePrefix is stripped from a CloudEvents type to get the event name.
	TypePrefix string
	// MaxDepth bounds the nesting of a payload: the payload object is level
	// 1, each nested object or array one more. 0 means 32.
	MaxDepth int
	// MaxEvents bounds the events of one request; 0 means no bound.
	MaxEvents int
	// Redactor, when set, replaces the values of sensitive payload keys with
	// event.Filtered while decoding, at any depth, and scrubs credentials
	// out of every string (event.Scrub).
	Redactor *event.Redactor
	// MaxStringLength cuts longer string values of a payload to this many
	// bytes, ending with event.Truncated; 0 means no bound.
	MaxStringLength int
	// MaxContextAttribute bounds the CloudEvents attributes copied into a
	// record (id, source, subject, type); 0 means no bound.
	MaxContextAttribute int
}

// Binary holds the ce-* headers of a binary-mode CloudEvent.
type Binary struct {
	SpecVersion, Type, Source, ID, Time, Subject string
}

// Request is one body to decode.
type Request struct {
	Format Format
	Body   []byte
	// Binary is read for BinaryCloudEvent only.
	Binary Binary
	// Service is the service.name of events that do not name their own
	// (CloudEvents source).
	Service string
}

// Error reports content the decoder refuses: the sender's request is bad.
type Error struct {
	// Index is the 0-based position of the bad event in the body, -1 when
	// the problem is not with one event.
	Index int
	// Line is the 1-based NDJSON line of the bad event, 0 for other formats.
	Line   int
	Reason string
}

func (e *Error) Error() string {
	switch {
	case e.Line > 0:
		return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
	case e.Index >= 0:
		return fmt.Sprintf("event %d: %s", e.Index, e.Reason)
	}
	return e.Reason
}

// TooManyEventsError reports a request carrying more events than
// Options.MaxEvents.
type TooManyEventsError struct{ Limit int }

func (e *TooManyEventsError) Error() string {
	return fmt.Sprintf("request carries more than %d events (max_events_per_request)", e.Limit)
}

// Decoder decodes request bodies. It is safe for concurrent use.
type Decoder struct {
	opts Options
	seed keyTable // read only once New returns
	pool sync.Pool
}

// New returns a Decoder.
func New(opts Options) *Decoder {
	if opts.MaxDepth <= 0 {
		opts.MaxDepth = defaultMaxDepth
	}
	if opts.MaxDepth > MaxDepthLimit {
		opts.MaxDepth = MaxDepthLimit
	}
	d := &Decoder{opts: opts, seed: seedKeys(opts.Redactor)}
	d.pool.New = func() any {
		return &state{opts: &d.opts, seed: &d.seed, keys: d.seed.clone(), body: pcommon.NewValueEmpty()}
	}
	return d
}

// Decode decodes one request body into log records grouped into one
// ResourceLogs per service name. It returns the number of events. On error
// nothing is returned: the error is an *Error (bad content) or a
// *TooManyEventsError.
func (d *Decoder) Decode(req Request) (plog.Logs, int, error) {
	s := d.pool.Get().(*state)
	logs, n, err := s.decode(req)
	s.reset()
	d.pool.Put(s)
	if err != nil {
		return plog.Logs{}, 0, err
	}
	return logs, n, nil
}

// span is the byte range of one event in the body, and its NDJSON line.
type span struct{ start, end, line int }

type group struct {
	service string
	records plog.LogRecordSlice
}

// state is the per-request working set; pooled, so that the scanner's
// buffer, the key table and the span list are reused.
type state struct {
	scanner
	opts  *Options
	arena arena
	seed  *keyTable // the Decoder's, read only
	keys  keyTable  // kept across requests
	long  keyEntry  // the entry of a name too long for the table
	// topFirst and guess are the guesses (see key) of the first member of
	// an event, and of names nothing predicts.
	topFirst, guess uint16

	// body is the body of the event being decoded, moved into its record
	// once the event is read (its record cannot be made before: its
	// service may be a CloudEvents source read after the data). bodyMap is
	// its map while flat members are added to it.
	body    pcommon.Value
	bodyMap pcommon.Map
	// base is the nesting depth (see maxNesting) of the body's level 0.
	base int
	// deferred is the first content error met in the body (see
	// deferContent).
	deferred string
	// held are the members of what may be a flat event not read into its
	// body yet (see member).
	held []heldMember

	spans   []span
	logs    plog.Logs
	groups  []group
	byName  map[string]int
	last    int
	service string
}

func (s *state) reset() {
	s.load(nil) // keep no view into the request
	if cap(s.tmp) > 64<<10 {
		s.tmp = nil
	}
	if s.body.Type() != pcommon.ValueTypeEmpty { // left by a refused event
		s.body = pcommon.NewValueEmpty()
	}
	s.bodyMap = pcommon.Map{}
	s.deferred = ""
	s.arena = arena{}
	s.logs = plog.Logs{}
	clear(s.groups)
	s.groups = s.groups[:0]
	s.byName = nil
	if cap(s.spans) > 1<<16 {
		s.spans = nil
	}
	s.spans = s.spans[:0]
}

func (s *state) decode(req Request) (plog.Logs, int, error) {
	s.logs = plog.NewLogs()
	s.service = req.Service
	s.last = -1
	body := req.Body

	var forceCE bool
	switch req.Format {
	case BinaryCloudEvent:
		s.arena.reserve(len(body) + len(req.Binary.Source) + len(req.Service) + 64)
		return s.logs, 1, s.decodeBinary(body, &req.Binary)
	case NDJSON:
		if err := s.splitLines(body); err != nil {
			return s.logs, 0, err
		}
	case JSON, CloudEvent, CloudEventBatch:
		forceCE = req.Format != JSON
		trimmed := bytes.TrimLeft(body, " \t\r\n")
		switch {
		case len(trimmed) == 0:
			return s.logs, 0, &Error{Index: -1, Reason: "request body is empty"}
		case trimmed[0] == '[' && req.Format != CloudEvent:
			if err := s.splitArray(body, len(body)-len(trimmed)); err != nil {
				return s.logs, 0, err
			}
		case trimmed[0] == '{' && req.Format != CloudEventBatch:
			s.spans = append(s.spans, span{start: 0, end: len(body)})
		default:
			want := "a JSON object or array"
			switch req.Format {
			case CloudEvent:
				want = "a JSON object (one structured CloudEvent)"
			case CloudEventBatch:
				want = "a JSON array of CloudEvents"
			}
			return s.logs, 0, &Error{Index: -1, Reason: "request body must be " + want}
		}
	default:
		return s.logs, 0, &Error{Index: -1, Reason: "unknown body format"}
	}

	if max := s.opts.MaxEvents; max > 0 && len(s.spans) > max {
		return s.logs, 0, &TooManyEventsError{Limit: max}
	}
	for i, sp := range s.spans {
		if err := s.decodeEvent(body, sp, i, forceCE); err != nil {
			return s.logs, 0, err
		}
	}
	return s.logs, len(s.spans), nil
}

// decodeEvent reads the event at sp and appends its record.
func (s *state) decodeEvent(body []byte, sp span, index int, forceCE bool) error {
	raw := body[sp.start:sp.end]
	// The arena is refilled in small chunks, never one per request: a
	// component downstream that keeps one string of this event (a task name
	// in a pending span, a metric label) keeps at most a chunk alive.
	s.arena.reserve(len(raw) + len(s.service))
	s.load(raw)
	if s.event(forceCE) {
		return nil
	}
	if sp.line > 0 {
		return &Error{Index: index, Line: sp.line, Reason: s.reason(body, sp)}
	}
	return &Error{Index: index, Reason: s.reason(body, sp)}
}

// reason explains the failure recorded while reading the event at sp.
func (s *state) reason(body []byte, sp span) string {
	switch s.errKind {
	case errSyntax:
		at := sp.start + s.errAt
		if sp.line > 0 {
			lineStart := bytes.LastIndexByte(body[:sp.start], '\n') + 1
			return fmt.Sprintf("invalid JSON at column %d: %s", at-lineStart+1, s.errWhat)
		}
		return fmt.Sprintf("invalid JSON at byte offset %d: %s", at, s.errWhat)
	case errNesting:
		return tooDeep(s.opts.MaxDepth)
	}
	return s.errWhat
}

// record appends a record to the ResourceLogs of the service (the request's
// default when empty).
func (s *state) record(service string) plog.LogRecord {
	if service == "" {
		service = s.service
	}
	if s.last >= 0 && s.groups[s.last].service == service {
		return s.groups[s.last].records.AppendEmpty()
	}
	i, ok := s.findGroup(service)
	if !ok {
		rl := s.logs.ResourceLogs().AppendEmpty()
		if service != "" {
			rl.Resource().Attributes().PutStr(AttrServiceName, service)
		}
		sl := rl.ScopeLogs().AppendEmpty()
		sl.Scope().SetName(event.ScopeName)
		recs := sl.LogRecords()
		if len(s.groups) == 0 {
			recs.EnsureCapacity(max(len(s.spans), 1))
		}
		i = len(s.groups)
		s.groups = append(s.groups, group{service: service, records: recs})
		if s.byName != nil {
			s.byName[service] = i
		}
	}
	s.last = i
	return s.groups[i].records.AppendEmpty()
}

func (s *state) findGroup(service string) (int, bool) {
	if s.byName != nil {
		i, ok := s.byName[service]
		return i, ok
	}
	for i := range s.groups {
		if s.groups[i].service == service {
			return i, true
		}
	}
	if len(s.groups) >= 8 { // many sources: index them
		s.byName = make(map[string]int, 2*len(s.groups))
		for i := range s.groups {
			s.byName[s.groups[i].service] = i
		}
	}
	return 0, false
}

// IsJSONMediaType reports whether a media type (parameters allowed) is JSON:
// application/json, text/json or any type with the +json suffix.
func IsJSONMediaType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json")
}
