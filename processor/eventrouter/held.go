package eventrouter // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter"

import (
	"encoding/binary"
	"hash/maphash"
	"math"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/xpdata/entity"
)

// This file holds the compact forms of what the assembler keeps while a
// task is pending. A sidecar holds every open task of its service, so the
// bytes per pending span are its price (bench/opentasks_test.go measures
// them; TestPendingSpanMemory keeps them bounded).
//
// Nothing held is a view into an input batch: the taskerevents receiver
// hands out strings that share one buffer per request, and a single held
// substring would keep the whole request alive. Held strings are therefore
// interned (names, types, states: few distinct values) or cloned.

// attr is one attribute held on a span or span event: 32 bytes, against 48
// for the kv it is made from. A known key is only its id. The key of any
// other attribute is kept in s: alone for a number or a boolean, in front
// of the string value otherwise, n then being the key's length.
type attr struct {
	s    string
	n    uint64 // int64, float64 bits, 0/1, or len(key) (see above)
	id   uint8  // of known keys, else keyUnknown
	typ  uint8  // a pcommon.ValueType
	prio int8
}

func (x *attr) key() string {
	switch {
	case x.id != keyUnknown:
		return knownKeys[x.id]
	case x.typ == typStr:
		return x.s[:x.n]
	}
	return x.s
}

// str is the string value.
func (x *attr) str() string {
	if x.id == keyUnknown {
		if x.typ != typStr {
			return ""
		}
		return x.s[x.n:]
	}
	return x.s
}

// num is the value of a number or boolean.
func (x *attr) num() uint64 {
	if x.typ == typStr {
		return 0
	}
	return x.n
}

func (x *attr) putTo(m pcommon.Map) {
	k := x.key()
	switch x.typ {
	case typStr:
		m.PutStr(k, x.str())
	case typInt:
		m.PutInt(k, int64(x.n))
	case typDouble:
		m.PutDouble(k, math.Float64frombits(x.n))
	case typBool:
		m.PutBool(k, x.n != 0)
	}
}

// sameKey reports whether x holds the attribute a.
func (x *attr) sameKey(a *kv) bool {
	return x.id == a.id && (a.id != keyUnknown || x.key() == a.key)
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
// task (names, types, states, outcomes): they are interned. Values of the
// others (ids, messages, query texts) are cloned.
var internedValue = func() (t [256]bool) {
	for _, k := range []string{
		"tasker.task.name", "tasker.step.name", "tasker.state.from", "tasker.state.to",
		"tasker.queue.name", "error.type", "db.operation.name", "db.collection.name",
		"tasker.task.outcome", "tasker.step.outcome", "messaging.destination.name", "exception.type",
		"tasker.backoff.type", "tasker.retry.reason", "tasker.retry.backoff_strategy",
		"tasker.batch.processing_mode", "tasker.orchestration.final_status", "tasker.reenqueue.reason",
		"tasker.task.type", "tasker.task.health_status", "tasker.db.query_name", "tasker.dependency.name",
	} {
		id, ok := knownKeyID[k]
		if !ok {
			panic("eventrouter: interned key is not a known key: " + k)
		}
		t[id] = true
	}
	return t
}()

// interner keeps one owned copy of strings that repeat across tasks. It is
// bounded: when full it starts afresh (the strings it handed out stay
// valid, they are only no longer shared with later ones).
type interner struct {
	m map[string]string
}

const maxInterned = 4096

func (in *interner) str(s string) string {
	if s == "" {
		return ""
	}
	if v, ok := in.m[s]; ok {
		return v
	}
	return in.add(strings.Clone(s))
}

// bytes interns the string b holds, without allocating when it is known.
func (in *interner) bytes(b []byte) string {
	if v, ok := in.m[string(b)]; ok {
		return v
	}
	return in.add(string(b))
}

func (in *interner) add(s string) string {
	if in.m == nil || len(in.m) >= maxInterned {
		in.m = make(map[string]string, 256)
	}
	in.m[s] = s
	return s
}

// sharedRes is one distinct resource the held tasks came with. Most tasks of
// a sidecar share one resource, so it is kept once, not once per task.
type sharedRes struct {
	orig pcommon.Resource // as received, to compare new resources with
	res  pcommon.Resource // redacted: what the spans are emitted with
	hash uint64
	refs int        // tasks holding it
	next *sharedRes // same hash
}

// resTable interns resources by content. An entry lives while tasks hold it.
type resTable struct {
	seed maphash.Seed
	m    map[uint64]*sharedRes
}

func newResTable() resTable {
	return resTable{seed: maphash.MakeSeed(), m: map[uint64]*sharedRes{}}
}

// lookup returns the entry of a resource equal to res, adding one if there
// is none. A resource with entity references is not shared (pcommon cannot
// compare them): it gets its own entry, outside the table.
func (t *resTable) lookup(res pcommon.Resource, f *keyFilter) *sharedRes {
	if entity.ResourceEntityRefs(res).Len() > 0 {
		return newSharedRes(res, f, 0)
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
	e := newSharedRes(res, f, sum)
	e.next = t.m[sum]
	t.m[sum] = e
	return e
}

func newSharedRes(res pcommon.Resource, f *keyFilter, sum uint64) *sharedRes {
	e := &sharedRes{orig: pcommon.NewResource(), hash: sum}
	res.CopyTo(e.orig)
	e.res = e.orig
	if f.needsRedaction(res.Attributes(), nil) {
		e.res = pcommon.NewResource()
		res.CopyTo(e.res)
		f.redactMap(e.res.Attributes())
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
