// Reading one event object in one pass: which kind it is (native, flat or
// CloudEvent, see eventScan), its members, its body and its timestamp.

package decode

import (
	"math"
	"strings"

	"github.com/otelcol-tasker/otelcol-tasker/internal/bytestr"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

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
		if (a <= attrEventName || a == attrType) && s.peek() == '"' {
			// An event name: entered in the table like member names, as
			// they repeat as much. (e is a seeded entry: still valid.)
			// Not the timestamp, which never repeats: each one entered
			// took a slot of the table (reset when full, losing the
			// members' hints) and a verdict of the redactor's cache.
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
