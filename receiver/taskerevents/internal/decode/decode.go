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
// JSON is parsed with fastjson and converted straight into pcommon values.
// Strings are copied into arena chunks of a few KiB (an event's strings
// never span two chunks), so decoding costs no allocation per string, and a
// string a downstream component keeps holds at most one chunk alive. Member
// names, which payloads repeat, come from a table of owned strings instead
// (see keyTable).
package decode // import "github.com/otelcol-tasker/otelcol-tasker/receiver/taskerevents/internal/decode"

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"mime"
	"strings"
	"sync"

	"github.com/valyala/fastjson"
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
	AttrServiceName     = "service.name"
	AttrCloudEventID    = "cloudevents.event_id"
	AttrCloudEventSubj  = "cloudevents.event_subject"
	cloudEventsVersion  = "1.0"
	defaultMaxDepth     = 32
	maxParserDepth      = fastjson.MaxDepth - 8 // fastjson refuses deeper documents itself
	largeObjectMembers  = 128                   // see largeObject
	maxPooledParserSize = 1 << 20               // parsers that saw bigger events are not kept
)

// MaxDepthLimit is the highest usable Options.MaxDepth: the JSON parser
// refuses documents nested deeper than this on its own.
const MaxDepthLimit = maxParserDepth - 2

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
	// event.Filtered while decoding, at any depth.
	Redactor *event.Redactor
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
	d.pool.New = func() any { return &state{opts: &d.opts, seed: d.seed, keys: maps.Clone(d.seed)} }
	return d
}

// Decode decodes one request body into log records grouped into one
// ResourceLogs per service name. It returns the number of events. On error
// nothing is returned: the error is an *Error (bad content) or a
// *TooManyEventsError.
func (d *Decoder) Decode(req Request) (plog.Logs, int, error) {
	s := d.pool.Get().(*state)
	logs, n, err := s.decode(req)
	keep := s.largest <= maxPooledParserSize
	s.reset()
	if keep {
		d.pool.Put(s)
	}
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

// state is the per-request working set; pooled, so a parser's buffers and
// the span list are reused.
type state struct {
	opts    *Options
	parser  fastjson.Parser
	arena   arena
	seed    keyTable // the Decoder's, read only
	keys    keyTable // kept across requests
	num     []byte
	spans   []span
	logs    plog.Logs
	groups  []group
	byName  map[string]int
	last    int
	binary  *Binary
	service string
	largest int
	err     error // first conversion error, set inside Visit callbacks
}

func (s *state) reset() {
	s.arena = arena{}
	s.logs = plog.Logs{}
	clear(s.groups)
	s.groups = s.groups[:0]
	s.byName = nil
	s.binary = nil
	s.err = nil
	s.largest = 0
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
		s.binary = &req.Binary
		return s.logs, 1, s.decodeBinary(body)
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

// decodeEvent parses the event at sp and appends its record.
func (s *state) decodeEvent(body []byte, sp span, index int, forceCE bool) error {
	raw := body[sp.start:sp.end]
	if len(raw) > s.largest {
		s.largest = len(raw)
	}
	// The arena is refilled in small chunks, never one per request: a
	// component downstream that keeps one string of this event (a task name
	// in a pending span, a metric label) keeps at most a chunk alive.
	s.arena.reserve(len(raw) + len(s.service))
	v, err := s.parser.ParseBytes(raw)
	if err != nil {
		return s.fail(sp, index, syntaxReason(raw, sp, s.opts.MaxDepth, err))
	}
	o, err := v.Object()
	if err != nil {
		return s.fail(sp, index, fmt.Sprintf("event must be a JSON object, got %s", v.Type()))
	}
	var reason string
	if forceCE || o.Get("specversion") != nil {
		reason = s.cloudEvent(o)
	} else {
		reason = s.taskerEvent(o)
	}
	if reason != "" {
		return s.fail(sp, index, reason)
	}
	return nil
}

func (s *state) fail(sp span, index int, reason string) error {
	if sp.line > 0 {
		return &Error{Index: index, Line: sp.line, Reason: reason}
	}
	return &Error{Index: index, Reason: reason}
}

// nameKeys are the members that may hold a Tasker event's name, by priority.
var nameKeys = [...]string{"name", "event", "event_name"}

// taskerEvent reads a native ({"name", "timestamp", "payload"}) or flat
// (payload members at the top level next to the name) event. It returns
// the reason the event is refused, or "".
func (s *state) taskerEvent(o *fastjson.Object) string {
	var nameV *fastjson.Value
	nameKey := ""
	for _, k := range nameKeys {
		if nameV = o.Get(k); nameV != nil {
			nameKey = k
			break
		}
	}
	if nameV == nil {
		return `missing event name ("name", "event" or "event_name")`
	}
	nb, err := nameV.StringBytes()
	if err != nil {
		return fmt.Sprintf("event name %q must be a string, got %s", nameKey, nameV.Type())
	}
	if len(bytes.TrimSpace(nb)) == 0 {
		return fmt.Sprintf("event name %q is empty", nameKey)
	}

	lr := s.record("")
	lr.SetEventName(s.arena.str(nb))
	if reason := s.timestamp(lr, o.Get(event.FieldTimestamp), "timestamp"); reason != "" {
		return reason
	}
	body := lr.Body().SetEmptyMap()
	if payload := o.Get("payload"); payload != nil {
		po, err := payload.Object()
		if err != nil {
			return fmt.Sprintf("payload must be a JSON object, got %s", payload.Type())
		}
		return s.object(po, body, 1, "")
	}
	return s.object(o, body, 1, nameKey)
}

// cloudEvent reads a structured-mode CloudEvent.
func (s *state) cloudEvent(o *fastjson.Object) string {
	var ce Binary
	for _, a := range [...]struct {
		key string
		dst *string
	}{
		{"specversion", &ce.SpecVersion}, {"type", &ce.Type}, {"source", &ce.Source},
		{"id", &ce.ID}, {"time", &ce.Time}, {"subject", &ce.Subject},
	} {
		v := o.Get(a.key)
		if v == nil || v.Type() == fastjson.TypeNull {
			continue
		}
		b, err := v.StringBytes()
		if err != nil {
			return fmt.Sprintf("CloudEvents attribute %q must be a string, got %s", a.key, v.Type())
		}
		*a.dst = s.arena.str(b)
	}
	if v := o.Get("datacontenttype"); v != nil && v.Type() != fastjson.TypeNull {
		b, err := v.StringBytes()
		if err != nil {
			return fmt.Sprintf("CloudEvents attribute \"datacontenttype\" must be a string, got %s", v.Type())
		}
		if !IsJSONMediaType(string(b)) {
			return fmt.Sprintf("datacontenttype %q is not JSON: data must be a JSON object", b)
		}
	}
	if o.Get("data_base64") != nil {
		return "data_base64 is not supported: data must be a JSON object"
	}
	lr, reason := s.cloudEventRecord(&ce)
	if reason != "" {
		return reason
	}
	body := lr.Body().SetEmptyMap()
	data := o.Get("data")
	if data == nil || data.Type() == fastjson.TypeNull {
		return ""
	}
	do, err := data.Object()
	if err != nil {
		return fmt.Sprintf("data must be a JSON object, got %s", data.Type())
	}
	return s.object(do, body, 1, "")
}

// cloudEventRecord checks the context attributes of a CloudEvent and starts
// its record.
func (s *state) cloudEventRecord(ce *Binary) (plog.LogRecord, string) {
	switch ce.SpecVersion {
	case cloudEventsVersion:
	case "":
		return plog.LogRecord{}, "missing CloudEvents specversion"
	default:
		return plog.LogRecord{}, fmt.Sprintf("CloudEvents specversion %q is not supported (want %q)", ce.SpecVersion, cloudEventsVersion)
	}
	if ce.Type == "" {
		return plog.LogRecord{}, "missing CloudEvents type"
	}
	name := strings.TrimPrefix(ce.Type, s.opts.TypePrefix)
	if strings.TrimSpace(name) == "" {
		return plog.LogRecord{}, fmt.Sprintf("CloudEvents type %q names no event once the prefix %q is removed", ce.Type, s.opts.TypePrefix)
	}
	lr := s.record(ce.Source)
	lr.SetEventName(name)
	if ce.Time != "" {
		ts, ok := event.ParseTime(ce.Time)
		if !ok {
			return plog.LogRecord{}, fmt.Sprintf("bad CloudEvents time %q: want an RFC 3339 time", ce.Time)
		}
		lr.SetTimestamp(ts)
	}
	if ce.ID != "" {
		lr.Attributes().PutStr(AttrCloudEventID, ce.ID)
	}
	if ce.Subject != "" {
		lr.Attributes().PutStr(AttrCloudEventSubj, ce.Subject)
	}
	return lr, ""
}

// decodeBinary reads a binary-mode CloudEvent: attributes from headers, the
// body is the data.
func (s *state) decodeBinary(body []byte) error {
	lr, reason := s.cloudEventRecord(s.binary)
	if reason != "" {
		return &Error{Index: 0, Reason: reason}
	}
	m := lr.Body().SetEmptyMap()
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	s.largest = len(body)
	v, err := s.parser.ParseBytes(body)
	if err != nil {
		return &Error{Index: 0, Reason: syntaxReason(body, span{}, s.opts.MaxDepth, err)}
	}
	o, err := v.Object()
	if err != nil {
		return &Error{Index: 0, Reason: fmt.Sprintf("data must be a JSON object, got %s", v.Type())}
	}
	if reason := s.object(o, m, 1, ""); reason != "" {
		return &Error{Index: 0, Reason: reason}
	}
	return nil
}

// timestamp sets the record's time from an RFC 3339 string member.
func (s *state) timestamp(lr plog.LogRecord, v *fastjson.Value, key string) string {
	if v == nil || v.Type() == fastjson.TypeNull {
		return ""
	}
	b, err := v.StringBytes()
	if err != nil {
		return fmt.Sprintf("bad %s: want an RFC 3339 time string, got %s", key, v.Type())
	}
	ts, ok := event.ParseTime(b2s(b))
	if !ok {
		return fmt.Sprintf("bad %s %q: want an RFC 3339 time", key, b)
	}
	lr.SetTimestamp(ts)
	return ""
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

// syntaxReason explains why the parser refused raw. fastjson's messages give
// no position, so the error path asks encoding/json (whose validity scan is
// iterative, safe on any nesting) for the offset.
func syntaxReason(raw []byte, sp span, maxDepth int, parseErr error) string {
	var probe json.RawMessage
	err := json.Unmarshal(raw, &probe)
	var se *json.SyntaxError
	if errors.As(err, &se) && !strings.Contains(se.Error(), "exceeded max depth") {
		// se.Offset counts the bytes read up to and including the bad one.
		if sp.line > 0 {
			return fmt.Sprintf("invalid JSON at column %d: %s", se.Offset, se.Error())
		}
		return fmt.Sprintf("invalid JSON at byte offset %d: %s", int64(sp.start)+se.Offset-1, se.Error())
	}
	if se != nil || strings.Contains(parseErr.Error(), "too big depth") {
		return fmt.Sprintf("payload nesting deeper than %d levels (max_nesting_depth)", maxDepth)
	}
	return "invalid JSON: " + parseErr.Error()
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
