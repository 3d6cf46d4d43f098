package assembly // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/assembly"

import (
	"encoding/binary"
	"hash/maphash"
	"math"
	"strings"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/xpdata/entity"
)

// This file holds the compact forms of what the Assembler keeps while a
// task is pending. A sidecar holds every open task of its service, so the
// bytes per pending span are its price (bench/opentasks_test.go measures
// them; TestPendingSpanMemory keeps them bounded).
//
// The held forms contain no Go pointers. A task's spans, attributes and
// strings live in a few slices of its own (taskState), addressed by offsets,
// so the garbage collector marks a handful of objects per task and scans
// none of their contents. With pointers in them, the pending state (200,000
// spans at the default bound) was scanned at every cycle: the GC's mark
// workers and write barriers took about a quarter of the sidecar's CPU at
// saturation.
//
// Nothing held is a view into an input batch: the taskerevents receiver
// hands out strings that share one buffer per request, and a single held
// substring would keep the whole request alive. Held strings are therefore
// copied into the task's byte buffer, or, for values that repeat from task
// to task (names, types, states), into the Assembler's symbol table.

// ref is a held string: bytes of the task's buffer, or an entry of the
// Assembler's symbol table when n has symBit set (off is then its index).
type ref struct{ off, n uint32 }

const symBit = 1 << 31

// attr is one attribute held on a span or span event (24 bytes, against 48
// for the KV it is made from). A known key is only its id. The key of any
// other attribute is kept in v: alone for a number or a boolean, in front
// of the string value otherwise, n then being the key's length.
type attr struct {
	v    ref
	n    uint64 // int64, float64 bits, 0/1, or len(key) (see above)
	id   uint8  // of known keys, else KeyUnknown
	typ  uint8  // a pcommon.ValueType
	prio int8
}

// key is the attribute's key; st is the task holding it.
func (a *Assembler) key(st *taskState, x *attr) string {
	switch {
	case x.id != KeyUnknown:
		return KnownKeys[x.id]
	case x.typ == typStr:
		return a.str(st, x.v)[:x.n]
	}
	return a.str(st, x.v)
}

// value is the string value of x.
func (a *Assembler) value(st *taskState, x *attr) string {
	switch {
	case x.typ != typStr:
		return ""
	case x.id == KeyUnknown:
		return a.str(st, x.v)[x.n:]
	}
	return a.str(st, x.v)
}

// num is the value of a number or boolean.
func (x *attr) num() uint64 {
	if x.typ == typStr {
		return 0
	}
	return x.n
}

func (a *Assembler) putAttr(st *taskState, x *attr, m pcommon.Map) {
	k := a.key(st, x)
	switch x.typ {
	case typStr:
		m.PutStr(k, a.value(st, x))
	case typInt:
		m.PutInt(k, int64(x.n))
	case typDouble:
		m.PutDouble(k, math.Float64frombits(x.n))
	case typBool:
		m.PutBool(k, x.n != 0)
	}
}

// sameKey reports whether x, held by st, holds the attribute in.
func (a *Assembler) sameKey(st *taskState, x *attr, in *KV) bool {
	return x.id == in.id && (in.id != KeyUnknown || a.key(st, x) == in.key)
}

// lessValue orders two values of one key, to break ties the same way
// whatever order the events came in.
func lessValue(at uint8, as string, an uint64, bt uint8, bs string, bn uint64) bool {
	if at != bt {
		return at < bt
	}
	switch at {
	case typStr:
		return as < bs
	case typInt:
		return int64(an) < int64(bn)
	case typDouble:
		return math.Float64frombits(an) < math.Float64frombits(bn)
	}
	return an < bn
}

// internedValue marks the known attributes whose values repeat from task to
// task (names, types, states, outcomes): they become symbols. Values of the
// others (ids, messages, query texts) are copied into the task's buffer.
var internedValue = func() (t [256]bool) {
	for _, k := range []string{
		"tasker.task.name", "tasker.step.name", "tasker.state.from", "tasker.state.to",
		"tasker.queue.name", "error.type", "db.operation.name", "db.collection.name",
		"tasker.task.outcome", "tasker.step.outcome", "messaging.destination.name", "exception.type",
		"tasker.backoff.type", "tasker.retry.reason", "tasker.retry.backoff_strategy",
		"tasker.batch.processing_mode", "tasker.orchestration.final_status", "tasker.reenqueue.reason",
		"tasker.task.type", "tasker.task.health_status", "tasker.db.query_name", "tasker.dependency.name",
	} {
		id, ok := keyIDs[k]
		if !ok {
			panic("assembly: interned key is not a known key: " + k)
		}
		t[id] = true
	}
	return t
}()

// symbols keeps one owned copy of strings that repeat across tasks: held
// ones are referred to by index. Indexes must stay valid while any task
// holds them, so the table never forgets; it is bounded (in count and in
// the length of a string), and once full a new string is held in its
// task's buffer instead.
type symbols struct {
	m    map[string]uint32
	list []string
}

const (
	maxSymbols   = 4096
	maxSymbolLen = 256
)

// lookup returns the symbol of s, adding it when there is room.
func (t *symbols) lookup(s string) (ref, bool) {
	if i, ok := t.m[s]; ok {
		return ref{off: i, n: symBit}, true
	}
	if len(t.list) >= maxSymbols || len(s) > maxSymbolLen {
		return ref{}, false
	}
	return t.add(strings.Clone(s)), true
}

// bytes returns the symbol string of b, without allocating when it is known
// (a plain copy when it cannot be added).
func (t *symbols) bytes(b []byte) string {
	if i, ok := t.m[string(b)]; ok {
		return t.list[i]
	}
	if len(t.list) >= maxSymbols || len(b) > maxSymbolLen {
		return string(b)
	}
	r := t.add(string(b))
	return t.list[r.off]
}

func (t *symbols) add(s string) ref {
	if t.m == nil {
		t.m = make(map[string]uint32, 256)
	}
	i := uint32(len(t.list))
	t.list = append(t.list, s)
	t.m[s] = i
	return ref{off: i, n: symBit}
}

// str returns the held string r of task st.
func (a *Assembler) str(st *taskState, r ref) string {
	switch {
	case r.n&symBit != 0:
		return a.syms.list[r.off]
	case r.n == 0:
		return ""
	}
	return unsafe.String(&st.buf[r.off], int(r.n))
}

// hold copies s into the task's buffer. The buffer only grows: the strings
// emitted with the task's spans are views into it, so it is never reused.
func (st *taskState) hold(s string) ref {
	if s == "" {
		return ref{}
	}
	off := len(st.buf)
	st.buf = append(st.buf, s...)
	return ref{off: uint32(off), n: uint32(len(s))}
}

// intern holds s as a symbol, or in the task's buffer when the table is
// full.
func (a *Assembler) intern(st *taskState, s string) ref {
	if s == "" {
		return ref{}
	}
	if r, ok := a.syms.lookup(s); ok {
		return r
	}
	return st.hold(s)
}

// sharedRes is one distinct resource the held tasks came with. Most tasks of
// a sidecar share one resource, so it is kept once, not once per task.
type sharedRes struct {
	orig pcommon.Resource // as received, to compare new resources with
	res  pcommon.Resource // redacted: what the spans are emitted with
	hash uint64
	refs int        // tasks holding it
	next *sharedRes // same hash
	enc  []byte     // res encoded for snapshots, once
}

// resTable interns resources by content. An entry lives while tasks hold it.
type resTable struct {
	seed   maphash.Seed
	m      map[uint64]*sharedRes
	redact Redactor
}

func newResTable(redact Redactor) resTable {
	return resTable{seed: maphash.MakeSeed(), m: map[uint64]*sharedRes{}, redact: redact}
}

// lookup returns the entry of a resource equal to res, adding one if there
// is none. A resource with entity references is not shared (pcommon cannot
// compare them): it gets its own entry, outside the table.
func (t *resTable) lookup(res pcommon.Resource) *sharedRes {
	if entity.ResourceEntityRefs(res).Len() > 0 {
		return newSharedRes(res, t.redact, 0)
	}
	var h maphash.Hash
	h.SetSeed(t.seed)
	hashMap(&h, res.Attributes())
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], res.DroppedAttributesCount())
	_, _ = h.Write(b[:])
	sum := h.Sum64()
	for e := t.m[sum]; e != nil; e = e.next {
		if e.orig.DroppedAttributesCount() == res.DroppedAttributesCount() && e.orig.Attributes().Equal(res.Attributes()) {
			return e
		}
	}
	e := newSharedRes(res, t.redact, sum)
	e.next = t.m[sum]
	t.m[sum] = e
	return e
}

func newSharedRes(res pcommon.Resource, f Redactor, sum uint64) *sharedRes {
	e := &sharedRes{orig: pcommon.NewResource(), hash: sum}
	res.CopyTo(e.orig)
	e.res = e.orig
	if f != nil && f.NeedsRedaction(res.Attributes()) {
		e.res = pcommon.NewResource()
		res.CopyTo(e.res)
		f.RedactMap(e.res.Attributes())
	}
	return e
}

// release drops one task's hold on e; the last one removes it.
func (t *resTable) release(e *sharedRes) {
	if e == nil {
		return
	}
	if e.refs--; e.refs > 0 {
		return
	}
	// e may have left the table already (released to zero and taken again
	// through a batch's cached lookup): remove it only if it is there
	p := t.m[e.hash]
	if p == e {
		if e.next == nil {
			delete(t.m, e.hash)
		} else {
			t.m[e.hash] = e.next
		}
		return
	}
	for ; p != nil; p = p.next {
		if p.next == e {
			p.next = e.next
			return
		}
	}
}

// hashMap hashes attributes in their order: equal maps in another order
// only get separate entries.
func hashMap(h *maphash.Hash, m pcommon.Map) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(m.Len()))
	_, _ = h.Write(b[:])
	m.Range(func(k string, v pcommon.Value) bool {
		_, _ = h.WriteString(k)
		hashValue(h, v)
		return true
	})
}

func hashValue(h *maphash.Hash, v pcommon.Value) {
	var b [8]byte
	_ = h.WriteByte(byte(v.Type()))
	switch v.Type() {
	case pcommon.ValueTypeStr:
		_, _ = h.WriteString(v.Str())
		_ = h.WriteByte(0)
	case pcommon.ValueTypeInt:
		binary.LittleEndian.PutUint64(b[:], uint64(v.Int()))
		_, _ = h.Write(b[:])
	case pcommon.ValueTypeDouble:
		binary.LittleEndian.PutUint64(b[:], math.Float64bits(v.Double()))
		_, _ = h.Write(b[:])
	case pcommon.ValueTypeBool:
		if v.Bool() {
			_ = h.WriteByte(1)
		}
	case pcommon.ValueTypeBytes:
		_, _ = h.Write(v.Bytes().AsRaw())
	case pcommon.ValueTypeMap:
		hashMap(h, v.Map())
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		binary.LittleEndian.PutUint64(b[:], uint64(s.Len()))
		_, _ = h.Write(b[:])
		for i := 0; i < s.Len(); i++ {
			hashValue(h, s.At(i))
		}
	}
}

// hold2 copies k and v into the task's buffer as one string.
func (st *taskState) hold2(k, v string) ref {
	off := len(st.buf)
	st.buf = append(append(st.buf, k...), v...)
	n := len(st.buf) - off
	if n == 0 {
		return ref{}
	}
	return ref{off: uint32(off), n: uint32(n)}
}

// b2s views b as a string, for a lookup that does not keep it.
func b2s(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
