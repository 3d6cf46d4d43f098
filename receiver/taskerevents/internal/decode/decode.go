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
	"math"
	"mime"
	"strings"
	"sync"

	"github.com/otelcol-tasker/otelcol-tasker/internal/bytestr"

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

// bodySource tells what the body being built holds.
type bodySource uint8

const (
	bodyNone    bodySource = iota
	bodyFlat               // the members of a flat event read so far
	bodyPayload            // a native event's payload
	bodyData               // a CloudEvent's data
)

// eventScan is what the decoder learns of an event object while reading it.
//
// The decoder reads an event in one pass, and the members that decide how
// to read it may come in any order: it is a CloudEvent when it has a
// "specversion" member, else a native Tasker event when it has a "payload",
// else a flat one whose name is its "name", "event" or "event_name" (by
// priority) and whose body is its other members. So each member is read as
// what the members before it make of the event, which is what the members
// after it make of it too in any event seen in practice; the few events
// that prove it wrong (a "specversion" after the data, a "name" after an
// "event") have their body read again at the end, from the offsets kept here.
type eventScan struct {
	open    int                // offset of the event's '{'
	at      [numAttrs]int      // offset of the first value of each attr, -1 if none
	names   [attrType + 1]name // the event names (and CloudEvents type) read
	members int
	ce      bool
	body    bodySource
	// skipped has bit a set when a member of attr a (a name) was left out
	// of a flat body as the event's name.
	skipped   uint16
	flatLarge bool // a flat body of more than largeObjectMembers members
}

// heldMember is a member held back from a flat body: its name's entry (a
// seeded one, never recycled) and the offset of its value.
type heldMember struct {
	e  *keyEntry
	at int
}

// name is an event name (or CloudEvents type) read from the table. e may be
// recycled before the event is done: it is only used for hints.
type name struct {
	key string
	e   *keyEntry
}

// nameEntry returns the entry of the event's name known so far, whose hint
// sizes the body.
func (ev *eventScan) nameEntry() *keyEntry {
	if ev.ce {
		return ev.names[attrType].e
	}
	for _, n := range ev.names[attrName : attrEventName+1] {
		if n.e != nil {
			return n.e
		}
	}
	return nil
}

// event reads the event object at s.i (see eventScan) and appends its
// record.
func (s *state) event(forceCE bool) bool {
	s.ws()
	if s.peek() != '{' {
		at := s.i
		if !s.skip(1) || !s.end() {
			return false
		}
		return s.content("event must be a JSON object, got %s", s.kindAt(at))
	}
	ev := eventScan{open: s.i, ce: forceCE}
	s.held = s.held[:0]
	for i := range ev.at {
		ev.at[i] = -1
	}
	s.i++
	s.ws()
	if s.peek() == '}' {
		s.i++
	} else {
		guess := &s.topFirst
		for {
			e, ok := s.memberName(&guess)
			if !ok || !s.member(&ev, e) {
				return false
			}
			if more, ok := s.next('}'); !more {
				if !ok {
					return false
				}
				break
			}
		}
	}
	if !s.end() {
		return false
	}
	if ev.ce {
		return s.cloudEvent(&ev)
	}
	return s.taskerEvent(&ev)
}

// member reads the value of a member of the event object, named e: into
// the body when it belongs there as far as the members before it tell,
// else only to validate it.
func (s *state) member(ev *eventScan, e *keyEntry) bool {
	a, at := e.attr, s.i
	first := a != attrNone && ev.at[a] < 0
	read := false // the value is read already
	ev.members++
	if first {
		ev.at[a] = at
		if a <= attrType && s.peek() == '"' {
			// An event name: entered in the table like member names, as
			// they repeat as much. (e is a seeded entry: still valid.)
			v, _, ok := s.readStr()
			if !ok {
				return false
			}
			n := s.lookup(v)
			ev.names[a] = name{n.key, n}
			read = true
		}
		if a == attrSpecVersion && !ev.ce {
			ev.ce = true
			s.dropBody(ev) // what was read into it is not this event's
		}
	}
	switch {
	case ev.ce:
		if a == attrData && first && s.peek() == '{' {
			return s.bodyObject(ev, bodyData)
		}
	case a == attrPayload:
		if first {
			s.dropBody(ev)
			if s.peek() == '{' {
				return s.bodyObject(ev, bodyPayload)
			}
		}
	case ev.at[attrPayload] >= 0:
		// a native event: only its payload is read
	case ev.members > largeObjectMembers:
		ev.flatLarge = true // its body is read at the end
	case a >= attrName && a <= attrEventName && ev.nameCandidate(a):
		ev.skipped |= 1 << a
	case a != attrNone && ev.body != bodyFlat:
		// A flat body starts with the first member of no meaning to the
		// decoder: what comes before the "payload" of a native event or
		// the "specversion" of a CloudEvent (a "timestamp", a "type") is
		// only held back, not read into a body that will be dropped.
		s.held = append(s.held, heldMember{e, at})
	default:
		s.i = at
		return s.flatMember(ev, e)
	}
	return read || s.skip(2)
}

// dropBody forgets the body read so far.
func (s *state) dropBody(ev *eventScan) {
	ev.body = bodyNone
	s.deferred = ""
	s.held = s.held[:0]
}

// nameCandidate tells whether a member of attr a (a name) may be the
// event's name: no member of a higher priority came before it.
func (ev *eventScan) nameCandidate(a attr) bool {
	for h := attrName; h < a; h++ {
		if ev.at[h] >= 0 {
			return false
		}
	}
	return true
}

// newBody starts the event's body anew.
func (s *state) newBody(ev *eventScan, src bodySource) pcommon.Map {
	ev.body = src
	s.deferred = ""
	s.bodyMap = s.body.SetEmptyMap()
	return s.bodyMap
}

// bodyObject reads the object at s.i as the event's body.
func (s *state) bodyObject(ev *eventScan, src bodySource) bool {
	at := s.i
	m := s.newBody(ev, src)
	s.base = 1
	if s.object(m, 1, ev.nameEntry(), attrNone) {
		return true
	}
	return s.deferContent(at, 2)
}

// flatMember adds the member at s.i, named e, to the body of a flat event.
func (s *state) flatMember(ev *eventScan, e *keyEntry) bool {
	if ev.body != bodyFlat && !s.startFlat(ev) {
		return false
	}
	return s.flatValue(e)
}

// startFlat starts the body of a flat event with the members held back.
func (s *state) startFlat(ev *eventScan) bool {
	at := s.i
	m := s.newBody(ev, bodyFlat)
	if n := ev.nameEntry(); n != nil && n.objCap > 0 {
		m.EnsureCapacity(int(n.objCap))
	}
	for _, p := range s.held {
		s.i = p.at
		if !s.flatValue(p.e) {
			return false
		}
	}
	s.held = s.held[:0]
	s.i = at
	return true
}

// flatValue adds the member at s.i, named e, to the body being built.
func (s *state) flatValue(e *keyEntry) bool {
	s.base = 0
	if e.sensitive {
		s.bodyMap.PutEmpty(e.key).SetStr(event.Filtered)
		return s.skip(2)
	}
	at := s.i
	if s.value(s.bodyMap.PutEmpty(e.key), 1, e) {
		return true
	}
	return s.deferContent(at, 2)
}

// deferContent follows a failure to read the body value at offset at, of
// nesting depth depth. A content error (nesting beyond max_nesting_depth, a
// number out of range) counts only once the event is known to be valid
// JSON, and only if the value is the event's body in the end (see
// eventScan): it is kept in s.deferred and the value validated instead.
func (s *state) deferContent(at, depth int) bool {
	if s.errKind != errContent {
		return false
	}
	if s.deferred == "" {
		s.deferred = s.errWhat
	}
	s.errKind, s.errWhat = errNone, ""
	s.i = at
	return s.skip(depth)
}

// taskerEvent makes the record of a native ({"name", "timestamp",
// "payload"}) or flat (payload members at the top level next to the name)
// event.
func (s *state) taskerEvent(ev *eventScan) bool {
	a := attrName
	for a <= attrEventName && ev.at[a] < 0 {
		a++
	}
	if a > attrEventName {
		return s.content(`missing event name ("name", "event" or "event_name")`)
	}
	n := ev.names[a]
	if n.e == nil {
		return s.content("event name %q must be a string, got %s", attrNames[a], s.kindAt(ev.at[a]))
	}
	if strings.TrimSpace(n.key) == "" {
		return s.content("event name %q is empty", attrNames[a])
	}
	lr := s.record("")
	lr.SetEventName(n.key)
	if !s.timestamp(lr, ev.at[attrTimestamp]) {
		return false
	}
	if p := ev.at[attrPayload]; p >= 0 {
		if s.b[p] != '{' {
			return s.content("payload must be a JSON object, got %s", s.kindAt(p))
		}
	} else if ev.flatLarge || ev.skipped&^(1<<a) != 0 {
		// The body read on the way is not right: read it again.
		s.i, s.base = ev.open, 0
		if !s.object(s.newBody(ev, bodyFlat), 1, nil, a) {
			return false
		}
	} else {
		if len(s.held) > 0 && !s.startFlat(ev) {
			return false
		}
		if ev.body == bodyFlat {
			n.e.objCap = uint16(min(s.bodyMap.Len(), math.MaxUint16))
		}
	}
	return s.finish(lr, ev)
}

// finish moves the body read into the record lr.
func (s *state) finish(lr plog.LogRecord, ev *eventScan) bool {
	if s.deferred != "" {
		return s.content("%s", s.deferred)
	}
	if ev.body == bodyNone {
		lr.Body().SetEmptyMap()
		return true
	}
	s.body.MoveTo(lr.Body())
	s.bodyMap = pcommon.Map{} // the record's now: never written through again
	return true
}

// timestamp sets the record's time from the RFC 3339 string at offset at.
func (s *state) timestamp(lr plog.LogRecord, at int) bool {
	if at < 0 || s.b[at] == 'n' {
		return true
	}
	if s.b[at] != '"' {
		return s.content("bad timestamp: want an RFC 3339 time string, got %s", s.kindAt(at))
	}
	b := s.strAt(at)
	ts, ok := event.ParseTime(bytestr.View(b))
	if !ok {
		return s.content("bad timestamp %q: want an RFC 3339 time", b)
	}
	lr.SetTimestamp(ts)
	return true
}

// strAt returns the (valid) string at offset at, unescaped, as readStr.
func (s *state) strAt(at int) []byte {
	s.i = at
	v, _, _ := s.readStr()
	return v
}

// cloudEvent makes the record of a structured-mode CloudEvent.
func (s *state) cloudEvent(ev *eventScan) bool {
	var ce Binary
	for _, a := range [...]struct {
		attr attr
		dst  *string
	}{
		{attrSpecVersion, &ce.SpecVersion}, {attrType, &ce.Type}, {attrSource, &ce.Source},
		{attrID, &ce.ID}, {attrTime, &ce.Time}, {attrSubject, &ce.Subject},
	} {
		at := ev.at[a.attr]
		switch {
		case at < 0 || s.b[at] == 'n':
		case s.b[at] != '"':
			return s.content("CloudEvents attribute %q must be a string, got %s", attrNames[a.attr], s.kindAt(at))
		case a.attr == attrType:
			*a.dst = ev.names[attrType].key
		default:
			*a.dst = s.arena.str(s.strAt(at))
		}
	}
	if at := ev.at[attrDataContentType]; at >= 0 && s.b[at] != 'n' {
		if s.b[at] != '"' {
			return s.content("CloudEvents attribute \"datacontenttype\" must be a string, got %s", s.kindAt(at))
		}
		if b := s.strAt(at); !IsJSONMediaType(string(b)) {
			return s.content("datacontenttype %q is not JSON: data must be a JSON object", b)
		}
	}
	if ev.at[attrDataBase64] >= 0 {
		return s.content("data_base64 is not supported: data must be a JSON object")
	}
	lr, reason := s.cloudEventRecord(&ce)
	if reason != "" {
		return s.content("%s", reason)
	}
	if at := ev.at[attrData]; at >= 0 && s.b[at] != 'n' {
		if s.b[at] != '{' {
			return s.content("data must be a JSON object, got %s", s.kindAt(at))
		}
		if ev.body != bodyData { // the data came before the "specversion"
			s.i = at
			if !s.bodyObject(ev, bodyData) {
				return false
			}
		}
	}
	return s.finish(lr, ev)
}

// cloudEventRecord checks the context attributes of a CloudEvent and starts
// its record.
func (s *state) cloudEventRecord(ce *Binary) (plog.LogRecord, string) {
	if reason := s.contextAttributes(ce); reason != "" {
		return plog.LogRecord{}, reason
	}
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

// contextAttributes bounds the CloudEvents attributes a record copies and
// scrubs credentials out of them.
func (s *state) contextAttributes(ce *Binary) string {
	for _, a := range [...]struct {
		name string
		v    *string
	}{{"type", &ce.Type}, {"source", &ce.Source}, {"id", &ce.ID}, {"subject", &ce.Subject}} {
		if max := s.opts.MaxContextAttribute; max > 0 && len(*a.v) > max {
			return fmt.Sprintf("CloudEvents attribute %q is %d bytes, longer than the %d allowed (max_header_value_length)", a.name, len(*a.v), max)
		}
		if a.name != "type" {
			*a.v, _ = s.opts.Redactor.Scrub(*a.v)
		}
	}
	return ""
}

// decodeBinary reads a binary-mode CloudEvent: attributes from headers, the
// body is the data.
func (s *state) decodeBinary(body []byte, attrs *Binary) error {
	lr, reason := s.cloudEventRecord(attrs)
	if reason != "" {
		return &Error{Index: 0, Reason: reason}
	}
	m := lr.Body().SetEmptyMap()
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	s.load(body)
	s.ws()
	at := s.i
	ok := false
	switch {
	case s.peek() != '{':
		if ok = s.skip(1) && s.end(); ok {
			ok = s.content("data must be a JSON object, got %s", s.kindAt(at))
		}
	default:
		s.base = 0
		ok = (s.object(m, 1, nil, attrNone) || s.deferContent(at, 1)) && s.end()
		if ok && s.deferred != "" {
			ok = s.content("%s", s.deferred)
		}
	}
	if ok {
		return nil
	}
	return &Error{Index: 0, Reason: s.reason(body, span{})}
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
