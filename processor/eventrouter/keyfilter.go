package eventrouter // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter"

import (
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-tasker/otelcol-tasker/internal/bounded"
	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
	"github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/assembly"
)

// keyFilter wraps event.Redactor with a table of what the router knows
// about each key it meets: its redaction verdict, and whether it is an
// attribute or payload field span assembly reads. The same few dozen keys
// come back in every event, so one map lookup per key answers everything,
// instead of matching every fragment again.
type keyFilter struct {
	r     *event.Redactor
	known []bool // verdicts for assembly.KnownKeys, by id
	body  []bool // verdicts for the payload fields of bodyFields, by index
	cache *bounded.Cache[keyInfo]
}

// keyInfo is what the router knows about one key.
type keyInfo struct {
	sensitive bool  // values under the key are redacted (event.Redactor.Sensitive)
	attr      uint8 // id of a known attribute key (assembly.KnownKeys), else assembly.KeyUnknown
	body      uint8 // 1 + index of a payload field copied onto spans (assembly.BodyFields), else 0
	field     uint8 // payload field span assembly reads for times and batches, else fieldNone
}

// Payload fields span assembly reads.
const (
	fieldNone uint8 = iota
	fieldStartedAt
	fieldCompletedAt
	fieldDuration   // in seconds
	fieldDurationMS // in milliseconds
	fieldStepIDs
)

const maxCachedKeys = 4096

func newKeyFilter(cfg event.RedactionConfig) *keyFilter {
	f := &keyFilter{r: event.NewRedactor(cfg)}
	f.known = make([]bool, len(assembly.KnownKeys))
	for i, k := range assembly.KnownKeys {
		f.known[i] = i > 0 && f.r.Sensitive(k)
	}
	f.body = make([]bool, len(assembly.BodyFields))
	for i, bf := range assembly.BodyFields {
		f.body[i] = f.r.Sensitive(bf.Field) || f.r.Sensitive(bf.Attr)
	}
	// the keys span assembly reads are known from the start
	f.cache = bounded.NewCache[keyInfo](maxCachedKeys)
	for k := range assemblyKeys {
		f.cache.Put(k, f.newInfo(k))
	}
	return f
}

var (
	bodyFieldIndex = func() map[string]int {
		m := make(map[string]int, len(assembly.BodyFields))
		for i, bf := range assembly.BodyFields {
			m[bf.Field] = i
		}
		return m
	}()
	timingFields = map[string]uint8{
		event.FieldStartedAt:   fieldStartedAt,
		event.FieldCompletedAt: fieldCompletedAt,
		event.FieldDuration:    fieldDuration,
		// a terminal event's duration gives its span's start when it has
		// no started_at
		event.FieldExecutionDuration:      fieldDuration,
		event.FieldTotalExecutionDuration: fieldDuration,
		event.FieldDurationMS:             fieldDurationMS,
		event.FieldStepIDs:                fieldStepIDs,
	}
	// assemblyKeys is what span assembly knows about the keys it reads,
	// without redaction verdicts: a smaller table than a filter's, for
	// reading events when no verdict is wanted
	assemblyKeys = func() map[string]keyInfo {
		var none keyFilter
		m := map[string]keyInfo{}
		for _, k := range assembly.KnownKeys[1:] {
			m[k] = none.newInfo(k)
		}
		for _, bf := range assembly.BodyFields {
			m[bf.Field] = none.newInfo(bf.Field)
		}
		for k := range timingFields {
			m[k] = none.newInfo(k)
		}
		return m
	}()
)

func (f *keyFilter) newInfo(k string) keyInfo {
	in := keyInfo{sensitive: f.r.Sensitive(k), attr: assembly.KeyID(k), field: timingFields[k]}
	if i, ok := bodyFieldIndex[k]; ok {
		in.body = uint8(i + 1)
	}
	return in
}

func (f *keyFilter) enabled() bool { return f.r != nil }

// info returns what the router knows about key k.
func (f *keyFilter) info(k string) keyInfo {
	if in, ok := f.cache.Get(k); ok {
		return in
	}
	in := f.newInfo(k)
	f.cache.Put(k, in)
	return in
}

// keyMemo answers keyFilter.info for the keys met during one call, by the
// address of their bytes. The taskerevents receiver and event.Normalize give
// a key the same string in every event, so comparing a pointer and a length
// answers most lookups without hashing the key. The strings remembered may
// be views into the batch being read: a memo is cleared when its call ends,
// and serves one goroutine at a time.
type keyMemo struct {
	f     *keyFilter
	slots [keyMemoSlots]keyMemoSlot
}

type keyMemoSlot struct {
	k  string
	in keyInfo
}

const (
	keyMemoBits  = 10
	keyMemoSlots = 1 << keyMemoBits
)

// info answers for k; a nil memo asks the filter each time.
func (m *keyMemo) info(k string, f *keyFilter) keyInfo {
	if m == nil {
		return f.info(k)
	}
	if m.f != f {
		m.clear()
		m.f = f
	}
	p := unsafe.StringData(k)
	h := uintptr(unsafe.Pointer(p))
	s := &m.slots[uint64(h+uintptr(len(k)))*0x9E3779B97F4A7C15>>(64-keyMemoBits)]
	if p != nil && unsafe.StringData(s.k) == p && len(s.k) == len(k) {
		return s.in
	}
	in := f.lookup(k)
	s.k, s.in = k, in
	return in
}

func (m *keyMemo) clear() {
	*m = keyMemo{}
}

// lookup returns what the router knows about k: with redaction on, the
// filter's table (verdict included), else span assembly's fixed table.
func (f *keyFilter) lookup(k string) keyInfo {
	if f.enabled() {
		return f.info(k)
	}
	return assemblyKeys[k]
}

func (f *keyFilter) sensitive(key string) bool {
	if f.r == nil {
		return false
	}
	return f.info(key).sensitive
}

// valueNeedsRedaction reports whether redactMap would change the value v of
// a key whose info is in.
func (f *keyFilter) valueNeedsRedaction(in keyInfo, v pcommon.Value, km *keyMemo) bool {
	switch t := v.Type(); {
	case in.sensitive:
		return !(t == pcommon.ValueTypeStr && v.Str() == event.Filtered)
	case t == pcommon.ValueTypeMap || t == pcommon.ValueTypeSlice || t == pcommon.ValueTypeStr:
		return f.needsRedactionValue(v, km)
	}
	return false
}

// needsRedaction reports whether redactMap would change m. km, when not
// nil, is the calling pipeline's memo of key facts.
func (f *keyFilter) needsRedaction(m pcommon.Map, km *keyMemo) bool {
	if f.r == nil {
		return false
	}
	found := false
	m.Range(func(k string, v pcommon.Value) bool {
		found = f.valueNeedsRedaction(km.info(k, f), v, km)
		return !found
	})
	return found
}

func (f *keyFilter) needsRedactionValue(v pcommon.Value, km *keyMemo) bool {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		_, found := f.r.Scrub(v.Str())
		return found
	case pcommon.ValueTypeMap:
		return f.needsRedaction(v.Map(), km)
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		for i := 0; i < s.Len(); i++ {
			if f.needsRedactionValue(s.At(i), km) {
				return true
			}
		}
	}
	return false
}

// redactMap replaces the values of sensitive keys at any depth, like
// event.Redactor.RedactMap, and returns how many it replaced.
func (f *keyFilter) redactMap(m pcommon.Map) int {
	if f.r == nil {
		return 0
	}
	n := 0
	m.Range(func(k string, v pcommon.Value) bool {
		if f.sensitive(k) {
			if !(v.Type() == pcommon.ValueTypeStr && v.Str() == event.Filtered) {
				v.SetStr(event.Filtered)
				n++
			}
			return true
		}
		n += f.redactValue(v)
		return true
	})
	return n
}

func (f *keyFilter) redactValue(v pcommon.Value) int {
	switch v.Type() {
	case pcommon.ValueTypeStr: // a credential in free text (event.Scrub)
		if s, ok := f.r.Scrub(v.Str()); ok {
			v.SetStr(s)
			return 1
		}
	case pcommon.ValueTypeMap:
		return f.redactMap(v.Map())
	case pcommon.ValueTypeSlice:
		n := 0
		s := v.Slice()
		for i := 0; i < s.Len(); i++ {
			n += f.redactValue(s.At(i))
		}
		return n
	}
	return 0
}

// spanValue is v as a span may carry it: a string cut to
// event.DefaultMaxValueLength and, with redaction on, scrubbed of
// credentials (event.Scrub). A copy is made only when it changes, so input
// the receiver bounded and scrubbed costs two length checks and two byte
// searches.
func (f *keyFilter) spanValue(v pcommon.Value) pcommon.Value {
	if v.Type() != pcommon.ValueTypeStr {
		return v
	}
	s := v.Str()
	cut, cutOK := event.Truncate(s, event.DefaultMaxValueLength)
	clean, scrubbed := f.r.Scrub(cut)
	if !cutOK && !scrubbed {
		return v
	}
	return pcommon.NewValueStr(clean)
}

// recordNeedsRedaction reports whether the record's attributes or body hold
// a sensitive value.
func (f *keyFilter) recordNeedsRedaction(lr plog.LogRecord, km *keyMemo) bool {
	return f.needsRedaction(lr.Attributes(), km) || f.needsRedactionValue(lr.Body(), km)
}

func (f *keyFilter) redactRecord(lr plog.LogRecord) {
	f.redactMap(lr.Attributes())
	f.redactValue(lr.Body())
}

// resourceRedactor is the filter as span assembly sees it: it redacts the
// resources spans are emitted with.
type resourceRedactor struct{ f *keyFilter }

func (r resourceRedactor) NeedsRedaction(m pcommon.Map) bool { return r.f.needsRedaction(m, nil) }
func (r resourceRedactor) RedactMap(m pcommon.Map)           { r.f.redactMap(m) }
