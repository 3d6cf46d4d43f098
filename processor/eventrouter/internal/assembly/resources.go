// Held resources: one copy per distinct resource the pending tasks came with.

package assembly // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/assembly"

import (
	"encoding/binary"
	"hash/maphash"
	"math"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/xpdata/entity"
)

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
