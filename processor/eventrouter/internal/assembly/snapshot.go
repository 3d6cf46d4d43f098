package assembly // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/assembly"

import (
	"cmp"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

// Record is one key of a storage: a pending task's snapshot or a
// tombstone; a nil Value deletes the key.
type Record struct {
	Key   string
	Value []byte
}

// Keys: a task is "t" + its creation time (16 hex digits of Unix
// nanoseconds) + its trace id, so that sorted keys restore tasks oldest
// first; a tombstone is "x" + the time it expires (the same way) + the trace
// id. Both kinds are written near the end of the key order and deleted near
// its start, so that a transaction touches few pages of the storage's tree:
// tombstones keyed by trace id alone were inserted and deleted at random
// places, a page written for each.
const (
	TaskKeyPrefix = "t"
	TombKeyPrefix = "x"
)

func taskKey(created time.Time, id pcommon.TraceID) string {
	return recordKey(TaskKeyPrefix[0], created, id)
}

func tombKey(until time.Time, id pcommon.TraceID) string {
	return recordKey(TombKeyPrefix[0], until, id)
}

// recordKey is prefix + at (16 hex digits of Unix nanoseconds) + trace id.
func recordKey(prefix byte, at time.Time, id pcommon.TraceID) string {
	var b [1 + 16 + 32]byte
	b[0] = prefix
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], uint64(at.UnixNano()))
	hex.Encode(b[1:17], ts[:])
	hex.Encode(b[17:], id[:])
	return string(b[:])
}

// KeyTrace is the trace id part (32 hex digits) of a record key as
// recordKey writes them.
func KeyTrace(key string) string {
	if len(key) < 1+16+32 {
		return ""
	}
	return key[1+16:]
}

// tombKeyOf is the key of tombstone t.
func (a *Assembler) tombKeyOf(t *tombstone) string { return tombKey(a.base.Add(t.until), t.traceID) }

// The encoding: a magic byte, the version, the body, then the CRC-32 of
// what precedes it. Numbers are varints. Strings are offsets into one
// string section at the end of the body: the task's buffer, then the
// symbols its spans use, so that a restored task holds all its strings in
// its own buffer. A change of the held layout bumps the version; records of
// another version are refused (ErrIncompatible), never misread.
const (
	recordMagic     = 0xA7
	snapshotVersion = 1
	tombVersion     = 1
)

// ErrIncompatible is returned for a record written by another version.
var ErrIncompatible = errors.New("record of an incompatible version")

// ErrCorrupt is returned for a record that does not decode.
var ErrCorrupt = errors.New("corrupt record")

// ErrDuplicate is returned when restoring a task that is already pending.
var ErrDuplicate = errors.New("task already pending")

func (a *Assembler) createdAt(st *taskState) time.Time { return a.base.Add(st.created) }

// Dirty appends the snapshots of the tasks changed since the last call
// (none unless Config.Journal is set). Writing them before an input is
// acknowledged makes it durable.
func (a *Assembler) Dirty(dst []Record) []Record {
	// the snapshots share one buffer, reused by the next call: write them
	// before calling again
	buf := a.dirtyBuf[:0]
	first := len(dst)
	for _, id := range a.dirtyIDs {
		st := a.tasks[id]
		if st == nil || !st.dirty {
			continue
		}
		st.dirty, st.stored = false, true
		start := len(buf)
		buf = a.snapshot(buf, st)
		dst = append(dst, Record{Key: taskKey(a.createdAt(st), st.traceID), Value: buf[start:len(buf):len(buf)]})
	}
	// buf may have moved while growing: point the values into its last array
	off := 0
	for i := first; i < len(dst); i++ {
		n := len(dst[i].Value)
		dst[i].Value = buf[off : off+n : off+n]
		off += n
	}
	a.dirtyBuf = buf
	clear(a.dirtyIDs)
	a.dirtyIDs = a.dirtyIDs[:0]
	return dst
}

// Snapshot appends the encoding of the pending task of trace id to buf;
// false when there is none.
func (a *Assembler) Snapshot(buf []byte, id pcommon.TraceID) ([]byte, bool) {
	st := a.tasks[id]
	if st == nil {
		return buf, false
	}
	return a.snapshot(buf, st), true
}

// snapshotter encodes one task; the symbols it met are copied to syms,
// their offsets in the string section kept in the assembler's symOff.
type snapshotter struct {
	a    *Assembler
	st   *taskState
	b    []byte
	syms []byte
}

func (s *snapshotter) uv(v uint64) { s.b = binary.AppendUvarint(s.b, v) }
func (s *snapshotter) v(v int64)   { s.b = binary.AppendVarint(s.b, v) }

func (s *snapshotter) ref(r ref) {
	if r.n&symBit != 0 {
		a := s.a
		sym := a.syms.list[r.off]
		if a.symGen[r.off] != a.snapGen {
			a.symGen[r.off] = a.snapGen
			a.symOff[r.off] = uint32(len(s.st.buf) + len(s.syms))
			s.syms = append(s.syms, sym...)
		}
		r = ref{off: a.symOff[r.off], n: uint32(len(sym))}
	}
	s.uv(uint64(r.off))
	s.uv(uint64(r.n))
}

func (s *snapshotter) id(id pcommon.SpanID) { s.b = append(s.b, id[:]...) }

func (s *snapshotter) heldEvent(he heldEvent) {
	s.id(he.target)
	s.uv(uint64(he.ts))
	s.ref(he.name)
	s.uv(uint64(he.from))
	s.uv(uint64(he.to))
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

func (a *Assembler) snapshot(buf []byte, st *taskState) []byte {
	start := len(buf)
	if a.symGen == nil {
		a.symGen, a.symOff = make([]uint32, maxSymbols), make([]uint32, maxSymbols)
	}
	if a.snapGen++; a.snapGen == 0 { // wrapped: forget every mark
		clear(a.symGen)
		a.snapGen = 1
	}
	s := snapshotter{a: a, st: st, b: append(buf, recordMagic, snapshotVersion), syms: a.symScratch[:0]}
	s.b = append(s.b, st.traceID[:]...)
	s.v(a.createdAt(st).UnixNano())
	s.uv(b2u(st.ended))
	if st.ended {
		s.v(a.base.Add(st.releaseAt).UnixNano())
	}
	s.uv(uint64(st.lastTS))
	s.uv(uint64(st.taskLen))
	s.uv(uint64(st.items))
	res := a.encodeResource(st.res)
	s.uv(uint64(len(res)))
	s.b = append(s.b, res...)

	s.uv(uint64(len(st.spans)))
	for i := range st.spans {
		sp := &st.spans[i]
		s.id(sp.id)
		s.id(sp.parent)
		s.uv(uint64(sp.start))
		s.uv(uint64(sp.end))
		s.v(sp.attempt)
		s.ref(sp.label)
		s.ref(sp.stepID)
		s.uv(uint64(sp.attrOff))
		s.uv(uint64(sp.attrN))
		s.uv(uint64(sp.attrCap))
		s.v(int64(sp.x))
		s.b = append(s.b, byte(sp.role), sp.kind, sp.status, byte(sp.startPrio), byte(sp.endPrio),
			byte(sp.flags&^dup))
	}
	s.uv(uint64(len(st.attrs)))
	for i := range st.attrs {
		x := &st.attrs[i]
		s.ref(x.v)
		s.uv(x.n)
		s.b = append(s.b, x.id, x.typ, byte(x.prio))
	}
	x := st.x
	if x == nil {
		x = &taskExtra{}
	}
	s.uv(uint64(len(x.events)))
	for _, he := range x.events {
		s.heldEvent(he)
	}
	s.uv(uint64(len(x.out)))
	for _, he := range x.out {
		s.heldEvent(he)
	}
	s.uv(uint64(len(x.orch)))
	for _, m := range x.orch {
		s.uv(uint64(m.ts))
		s.uv(uint64(m.from))
		s.uv(uint64(m.to))
		s.b = append(s.b, m.orch, byte(b2u(m.start)|b2u(m.failed)<<1|b2u(m.sampledOut)<<2))
	}
	s.uv(uint64(len(x.extras)))
	for _, e := range x.extras {
		s.ref(e.message)
		s.uv(uint64(e.ids))
		s.uv(uint64(e.nIDs))
	}
	s.uv(uint64(len(x.ids)))
	for _, r := range x.ids {
		s.ref(r)
	}
	s.uv(uint64(len(st.buf)))
	s.b = append(s.b, st.buf...)
	s.uv(uint64(len(s.syms)))
	s.b = append(s.b, s.syms...)
	a.symScratch = s.syms[:0]
	return binary.LittleEndian.AppendUint32(s.b, crc32.ChecksumIEEE(s.b[start:]))
}

// encodeResource encodes the (redacted) resource of a task, once per held
// resource.
func (a *Assembler) encodeResource(r *sharedRes) []byte {
	if r.enc == nil {
		ld := plog.NewLogs()
		r.res.CopyTo(ld.ResourceLogs().AppendEmpty().Resource())
		var m plog.ProtoMarshaler
		b, err := m.MarshalLogs(ld)
		if err != nil || b == nil {
			b = []byte{}
		}
		r.enc = b
	}
	return r.enc
}

// decoder reads a record; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uv() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = ErrCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) v() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = ErrCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes(n uint64) []byte {
	if d.err != nil || n > uint64(len(d.b)) {
		d.err = ErrCorrupt
		return nil
	}
	b := d.b[:n]
	d.b = d.b[n:]
	return b
}

func (d *decoder) u32() uint32 {
	v := d.uv()
	if v > 1<<32-1 {
		d.err = ErrCorrupt
	}
	return uint32(v)
}

func (d *decoder) byte() byte {
	if b := d.bytes(1); b != nil {
		return b[0]
	}
	return 0
}

func (d *decoder) spanID() (id pcommon.SpanID) {
	copy(id[:], d.bytes(8))
	return id
}

func (d *decoder) heldEvents() []heldEvent {
	evs := make([]heldEvent, d.count(12))
	for i := range evs {
		he := &evs[i]
		he.target, he.ts, he.name = d.spanID(), pcommon.Timestamp(d.uv()), d.ref()
		he.from, he.to = d.u32(), d.u32()
	}
	return evs
}

func (d *decoder) ref() ref { return ref{off: d.u32(), n: d.u32()} }

// count reads a length, refusing one larger than what is left could hold.
func (d *decoder) count(min int) int {
	n := d.uv()
	if n > uint64(len(d.b)/min) {
		d.err = ErrCorrupt
		return 0
	}
	return int(n)
}

// open checks a record's magic, version and checksum and returns its body.
func open(rec []byte, version byte) (*decoder, error) {
	if len(rec) < 6 || rec[0] != recordMagic {
		return nil, ErrCorrupt
	}
	if rec[1] != version {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrIncompatible, rec[1], version)
	}
	body := rec[:len(rec)-4]
	if crc32.ChecksumIEEE(body) != binary.LittleEndian.Uint32(rec[len(rec)-4:]) {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	return &decoder{b: body[2:]}, nil
}

// Restore adds a task from its snapshot, with its times as they were: a task
// whose grace or timeout passed while it was stored is released at the
// next Advance. Restore tasks oldest first (in the order of their keys).
func (a *Assembler) Restore(rec []byte) error {
	d, err := open(rec, snapshotVersion)
	if err != nil {
		return err
	}
	st := &taskState{}
	copy(st.traceID[:], d.bytes(16))
	created := time.Unix(0, d.v())
	st.ended = d.uv() == 1
	var releaseAt time.Time
	if st.ended {
		releaseAt = time.Unix(0, d.v())
	}
	st.lastTS = pcommon.Timestamp(d.uv())
	st.taskLen = d.u32()
	st.items = int32(d.u32())
	resBytes := d.bytes(d.uv())

	st.spans = make([]span, d.count(22))
	for i := range st.spans {
		sp := &st.spans[i]
		sp.id, sp.parent = d.spanID(), d.spanID()
		sp.start, sp.end = pcommon.Timestamp(d.uv()), pcommon.Timestamp(d.uv())
		sp.attempt = d.v()
		sp.label, sp.stepID = d.ref(), d.ref()
		sp.attrOff, sp.attrN, sp.attrCap = d.u32(), d.u32(), d.u32()
		sp.x = int32(d.v())
		sp.role, sp.kind, sp.status = spanRole(d.byte()), d.byte(), d.byte()
		sp.startPrio, sp.endPrio = int8(d.byte()), int8(d.byte())
		sp.flags = spanFlags(d.byte())
	}
	st.attrs = make([]attr, d.count(5))
	for i := range st.attrs {
		x := &st.attrs[i]
		x.v, x.n = d.ref(), d.uv()
		x.id, x.typ, x.prio = d.byte(), d.byte(), int8(d.byte())
	}
	x := &taskExtra{}
	x.events = d.heldEvents()
	x.out = d.heldEvents()
	x.orch = make([]orchMark, d.count(5))
	for i := range x.orch {
		m := &x.orch[i]
		m.ts, m.from, m.to = pcommon.Timestamp(d.uv()), d.u32(), d.u32()
		m.orch = d.byte()
		f := d.byte()
		m.start, m.failed, m.sampledOut = f&1 != 0, f&2 != 0, f&4 != 0
	}
	x.extras = make([]spanExtra, d.count(3))
	for i := range x.extras {
		e := &x.extras[i]
		e.message, e.ids, e.nIDs = d.ref(), d.u32(), d.u32()
	}
	x.ids = make([]ref, d.count(2))
	for i := range x.ids {
		x.ids[i] = d.ref()
	}
	buf := d.bytes(d.uv())
	syms := d.bytes(d.uv())
	if d.err == nil && len(d.b) != 0 {
		d.err = ErrCorrupt
	}
	if d.err != nil {
		return d.err
	}
	st.buf = append(append(make([]byte, 0, len(buf)+len(syms)), buf...), syms...)
	if err := st.check(x); err != nil {
		return err
	}
	if _, ok := a.tasks[st.traceID]; ok {
		return ErrDuplicate
	}
	var ld plog.Logs
	if len(resBytes) > 0 {
		var u plog.ProtoUnmarshaler
		if ld, err = u.UnmarshalLogs(resBytes); err != nil || ld.ResourceLogs().Len() != 1 {
			return ErrCorrupt
		}
	} else {
		ld = plog.NewLogs()
		ld.ResourceLogs().AppendEmpty()
	}
	if len(x.events)+len(x.out)+len(x.orch)+len(x.extras)+len(x.ids) > 0 {
		st.x = x
	}
	st.sampled = len(x.out) > 0
	for i := range st.spans {
		st.sampled = st.sampled || st.spans[i].is(sampledOut)
	}
	for _, m := range x.orch {
		st.sampled = st.sampled || m.sampledOut
	}
	if len(st.spans) > maxScannedSpans {
		index := make(map[pcommon.SpanID]int32, 2*len(st.spans))
		for i := range st.spans {
			index[st.spans[i].id] = int32(i)
		}
		a.taskExtra(st).index = index
	}
	st.taskSpan = event.TaskSpanID(st.taskID())
	st.res = a.resources.lookup(ld.ResourceLogs().At(0).Resource())
	st.res.refs++
	st.created, st.live, st.stored = a.since(created), true, true
	a.tasks[st.traceID] = st
	if a.tail == nil {
		a.head, a.tail = st, st
	} else {
		st.prev, a.tail.next, a.tail = a.tail, st, st
	}
	if st.ended {
		st.releaseAt = a.since(releaseAt)
		a.ended = append(a.ended, st)
	}
	if _, ok := a.tombs[st.traceID]; ok {
		st.late = true
	}
	a.pending += int(st.items)
	a.pendingObs.Store(int64(a.pending))
	return nil
}

// check verifies that every offset of a decoded task stays inside its
// slices, so that a damaged record that passed the checksum cannot make
// the assembler read out of bounds.
func (st *taskState) check(x *taskExtra) error {
	nb, na := uint64(len(st.buf)), uint64(len(st.attrs))
	okRef := func(r ref) bool { return r.n&symBit == 0 && uint64(r.off)+uint64(r.n) <= nb }
	okRange := func(from, to uint32) bool { return from <= to && uint64(to) <= na }
	bad := uint64(st.taskLen) > nb
	for i := range st.spans {
		sp := &st.spans[i]
		bad = bad || !okRef(sp.label) || !okRef(sp.stepID) || sp.attrN > sp.attrCap ||
			uint64(sp.attrOff)+uint64(sp.attrCap) > na || sp.role > roleDependency ||
			sp.x < 0 || int(sp.x) > len(x.extras) || sp.flags&^(provisional|failed|sampledOut) != 0
	}
	for i := range st.attrs {
		a := &st.attrs[i]
		bad = bad || !okRef(a.v) || int(a.id) >= len(KnownKeys) ||
			(a.id == KeyUnknown && a.typ == typStr && a.n > uint64(a.v.n))
	}
	for _, he := range append(slices.Clip(x.events), x.out...) {
		bad = bad || !okRef(he.name) || !okRange(he.from, he.to)
	}
	for _, m := range x.orch {
		bad = bad || !okRange(m.from, m.to) || int(m.orch) >= len(orchNames)
	}
	for _, e := range x.extras {
		bad = bad || !okRef(e.message) || uint64(e.ids)+uint64(e.nIDs) > uint64(len(x.ids))
	}
	for _, r := range x.ids {
		bad = bad || !okRef(r)
	}
	if bad {
		return ErrCorrupt
	}
	return nil
}

// encodeTomb encodes a tombstone: its trace id, its expiry (Unix
// nanoseconds) and 17 bytes a span.
func (a *Assembler) encodeTomb(t *tombstone) []byte {
	b := make([]byte, 0, 2+16+10+5+17*len(t.spans)+4)
	b = append(b, recordMagic, tombVersion)
	b = append(b, t.traceID[:]...)
	b = binary.AppendVarint(b, a.base.Add(t.until).UnixNano())
	b = binary.AppendUvarint(b, uint64(len(t.spans)))
	for _, sp := range t.spans {
		b = append(b, sp.id[:]...)
		b = append(b, sp.parent[:]...)
		b = append(b, byte(b2u(sp.complete)))
	}
	return binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

// RestoreTombstone adds a tombstone from its record and returns the key it
// belongs under (records of earlier versions were keyed by trace id alone:
// the caller moves them). One already past its time is dropped at the next
// Advance.
func (a *Assembler) RestoreTombstone(rec []byte) (string, error) {
	d, err := open(rec, tombVersion)
	if err != nil {
		return "", err
	}
	t := &tombstone{}
	copy(t.traceID[:], d.bytes(16))
	until := time.Unix(0, d.v())
	t.spans = make([]tombSpan, d.count(17))
	for i := range t.spans {
		sp := &t.spans[i]
		sp.id, sp.parent = d.spanID(), d.spanID()
		sp.complete = d.byte() == 1
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = ErrCorrupt
	}
	if d.err != nil {
		return "", d.err
	}
	if old := a.tombs[t.traceID]; old != nil {
		a.tombSpans -= len(old.spans)
	}
	t.until = a.since(until)
	a.tombs[t.traceID] = t
	a.tombSpans += len(t.spans)
	a.tombOrder.push(tombEntry{id: t.traceID, until: t.until})
	if st := a.tasks[t.traceID]; st != nil {
		st.late = true
	}
	return tombKey(until, t.traceID), nil
}

// Restored sorts the expiry order of restored tombstones and enforces the
// bounds; call it once everything was restored.
func (a *Assembler) Restored(now time.Time) {
	slices.SortStableFunc(a.tombOrder.items(), func(x, y tombEntry) int { return cmp.Compare(x.until, y.until) })
	for a.tombSpans > a.maxTombSpans && a.tombOrder.len() > 0 {
		a.expireTomb(true)
	}
	a.afterAdd(now)
}
