package decode

import (
	"hash/maphash"
	"strings"
	"unicode/utf8"

	"github.com/otelcol-tasker/otelcol-tasker/internal/bytestr"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

// keyEntry is what the key table knows of one member name.
type keyEntry struct {
	// key is the name as the records hold it (mended if not valid UTF-8):
	// an owned string, never a view into a request, so that downstream
	// components may keep it forever.
	key string
	raw string // the name as sent (unescaped); key unless mended
	// objCap and arrCap are the sizes of the last object and array seen
	// under this name (for an event name: of its payload), a guess at the
	// capacity the next one needs. They are only hints: an entry may be
	// recycled while a hint is being written.
	objCap, arrCap uint16
	// next is the entry (see idx) of the member that followed this one last
	// time, first that of the first member of the last object under this
	// name: members come in the same order from one event to the next, so
	// a good guess saves hashing a name (see key). Hints too.
	next, first uint16
	idx         uint16 // 1 + the entry's index in the table, 0 if not in it
	sensitive   bool   // its value is replaced with event.Filtered
	attr        attr   // what the name means at the top of an event
}

// attr identifies the members of an event object the decoder reads itself.
type attr uint8

const (
	attrNone attr = iota
	attrName
	attrEvent
	attrEventName
	attrTimestamp
	attrPayload
	attrSpecVersion
	attrType
	attrSource
	attrID
	attrTime
	attrSubject
	attrDataContentType
	attrData
	attrDataBase64
	numAttrs
)

var attrNames = [numAttrs]string{
	attrName: "name", attrEvent: "event", attrEventName: "event_name",
	attrTimestamp: event.FieldTimestamp, attrPayload: "payload",
	attrSpecVersion: "specversion", attrType: "type", attrSource: "source",
	attrID: "id", attrTime: "time", attrSubject: "subject",
	attrDataContentType: "datacontenttype", attrData: "data", attrDataBase64: "data_base64",
}

// keyTable maps a member name as sent to its entry: open addressing over
// the name's bytes, cheaper than a Go map since the key is hashed once and
// never converted. Payloads reuse a few dozen names, so an entry saves both
// the arena copy of the name and the redactor's scan on every event. Event
// names are entered too: they repeat as much, and their entry sizes the
// next payload of that name.
type keyTable struct {
	// slots holds 0 (empty) or the 16 top bits of a name's hash above its
	// entry index + 1; a power of two long, at most half full.
	slots   []uint32
	entries []keyEntry // with room for maxKeyVerdicts: never reallocated
}

// maxKeyVerdicts bounds a state's key table; a payload with ever new key
// names just has it reset to the seed now and then. maxKeyLen keeps long
// names out of it (they are copied like values), so that it holds little
// memory.
const (
	maxKeyVerdicts = 1024
	maxKeyLen      = 128
	keySlots       = 2 * maxKeyVerdicts
)

var keySeed = maphash.MakeSeed()

// taskerKeys are the payload member names of Tasker's publishers (as
// internal/sim reproduces them), in every key table from the start: their
// strings are constants, which cost no allocation and no GC work.
var taskerKeys = [...]string{
	event.FieldTaskID, event.FieldTaskName, event.FieldStepID, event.FieldStepName,
	event.FieldAttemptNumber, event.FieldRetryLimit, event.FieldCorrelationID,
	event.FieldTimestamp, event.FieldStartedAt, event.FieldCompletedAt,
	event.FieldExecutionDuration, event.FieldTotalExecutionDuration, event.FieldDuration,
	event.FieldErrorMessage, event.FieldExceptionClass, event.FieldErrorClass,
	event.FieldBacktrace, event.FieldSQL, event.FieldFromState, event.FieldToState,
	event.FieldQueueName, event.FieldJobID, event.FieldStepIDs,
	event.FieldBackoffSeconds, event.FieldBackoffType,
	"event_type", "orchestration_event", "step_inputs", "step_dependencies",
	"step_results", "step_count", "processing_mode", "task_context", "task_type",
	"attempt", "query_name", "total_steps", "processed_steps_count",
	"base_delay", "multiplier", "jitter_enabled", "previous_attempts",
	"retry_reason", "backoff_strategy", "transitioned_at", "final_status",
	"completed_steps", "failed_steps", "pending_steps", "health_status",
	"completion_percentage", "current_execution_duration", "error_steps",
	"failed_steps_count", "registry_name", "entity_type", "entity_id",
	"entity_class", "options", "registered_at",
}

// newKeyEntry judges the member name raw, an owned string.
func newKeyEntry(raw string, r *event.Redactor) keyEntry {
	key := raw
	if !utf8.ValidString(raw) {
		key = strings.ToValidUTF8(raw, "\uFFFD") // as arena.str does for values
	}
	return keyEntry{key: key, raw: raw, sensitive: r.Sensitive(raw)}
}

// seedKeys returns the key table every state starts from.
func seedKeys(r *event.Redactor) keyTable {
	t := keyTable{slots: make([]uint32, keySlots), entries: make([]keyEntry, 0, maxKeyVerdicts)}
	enter := func(k string) *keyEntry {
		e, slot, tag := t.find([]byte(k))
		if e == nil {
			e = t.add(newKeyEntry(k, r), slot, tag)
		}
		return e
	}
	for _, k := range taskerKeys {
		enter(k)
	}
	for a := attrName; a < numAttrs; a++ {
		enter(attrNames[a]).attr = a
	}
	return t
}

// clone returns a copy of t with room for maxKeyVerdicts entries.
func (t *keyTable) clone() keyTable {
	c := keyTable{slots: make([]uint32, len(t.slots)), entries: make([]keyEntry, len(t.entries), maxKeyVerdicts)}
	copy(c.slots, t.slots)
	copy(c.entries, t.entries)
	return c
}

// resetTo makes t a copy of seed again, its entries included.
func (t *keyTable) resetTo(seed *keyTable) {
	copy(t.slots, seed.slots)
	t.entries = t.entries[:len(seed.entries)]
	copy(t.entries, seed.entries)
}

func (t *keyTable) len() int { return len(t.entries) }

// find returns the entry of name k, or nil and where to enter it (see add).
func (t *keyTable) find(k []byte) (e *keyEntry, slot int, tag uint32) {
	h := maphash.Bytes(keySeed, k)
	tag = uint32(h>>48) << 16
	mask := len(t.slots) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		sl := t.slots[i]
		if sl == 0 {
			return nil, i, tag
		}
		if sl&0xffff0000 == tag {
			if e := &t.entries[sl&0xffff-1]; e.raw == string(k) {
				return e, i, tag
			}
		}
	}
}

// add enters e in the empty slot find returned for its name; t must have
// room.
func (t *keyTable) add(e keyEntry, slot int, tag uint32) *keyEntry {
	e.idx = uint16(len(t.entries) + 1)
	t.entries = append(t.entries, e)
	t.slots[slot] = tag | uint32(len(t.entries))
	return &t.entries[len(t.entries)-1]
}

// key returns the entry for the member name k, entering it when new. guess
// is where the entry expected is kept (a next or first field); it is
// checked first, and updated. The entry stays valid until the table is next
// reset: read what is needed of it before the next call; its hints may be
// written later (at worst into a recycled entry).
func (s *state) key(k []byte, guess *uint16) *keyEntry {
	if i := int(*guess) - 1; i >= 0 && i < len(s.keys.entries) {
		if e := &s.keys.entries[i]; e.raw == string(k) {
			return e
		}
	}
	e := s.lookup(k)
	*guess = e.idx
	return e
}

// memberName reads a member name and its colon and returns the name's
// entry. *guess is where the entry expected is kept (see key); it is moved
// on to the entry's guess of the member that follows.
func (s *state) memberName(guess **uint16) (*keyEntry, bool) {
	if s.peek() != '"' {
		return nil, s.expected("a member name (a string)")
	}
	kb, _, ok := s.readStr()
	if !ok || !s.colon() {
		return nil, false
	}
	e := s.key(kb, *guess)
	*guess = &e.next
	return e, true
}

// lookup returns the entry for the member name k, entering it when new.
func (s *state) lookup(k []byte) *keyEntry {
	e, slot, tag := s.keys.find(k)
	if e != nil {
		return e
	}
	if len(k) > maxKeyLen {
		s.long = keyEntry{key: s.arena.str(k), sensitive: s.opts.Redactor.Sensitive(bytestr.View(k))}
		return &s.long
	}
	if s.keys.len() >= maxKeyVerdicts {
		s.keys.resetTo(s.seed)
		_, slot, tag = s.keys.find(k)
	}
	// The one copy, both the table's key and the entry's.
	return s.keys.add(newKeyEntry(string(k), s.opts.Redactor), slot, tag)
}
