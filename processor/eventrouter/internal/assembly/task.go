// The held form of one task: its spans, their attributes and extra parts, in
// slices recycled by capacity class (see the package doc for why they hold no
// pointers).

package assembly // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/assembly"

import (
	"time"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

// span is one span being assembled (80 bytes, no pointers: see the package doc).
// It lives in its task's spans, so a *span is only valid until the task's
// next new span.
type span struct {
	id, parent pcommon.SpanID
	start, end pcommon.Timestamp
	attempt    int64
	label      ref // the name, after namePrefix[role]: a task or step name, a fallback, or the whole name
	stepID     ref
	attrOff    uint32 // its attributes are st.attrs[attrOff:][:attrN], with room for attrCap
	attrN      uint32
	attrCap    uint32
	x          int32 // 1 + the index of its extra part in the task's, 0 for none

	role               spanRole
	kind               uint8 // ptrace.SpanKind
	status             uint8 // ptrace.StatusCode
	startPrio, endPrio int8
	flags              spanFlags
}

// spanFlags are a span's yes-or-no facts.
type spanFlags uint8

const (
	provisional spanFlags = 1 << iota // the label is a fallback until the task or step name is known
	failed                            // the span has the error status
	dup                               // at release: emitted complete before
	sampledOut                        // only events their routes sampled out made it: kept only with its whole task
)

func (s *span) is(f spanFlags) bool { return s.flags&f != 0 }

func (s *span) set(f spanFlags, on bool) {
	if on {
		s.flags |= f
	} else {
		s.flags &^= f
	}
}

// spanExtra holds what only a few spans have.
type spanExtra struct {
	message ref    // status message of a failed span
	ids     uint32 // the step ids of a step batch: st.x.ids[ids:][:nIDs]
	nIDs    uint32
}

// message is the status message of sp.
func (a *Assembler) message(st *taskState, sp *span) string {
	if sp.x == 0 {
		return ""
	}
	return a.str(st, st.x.extras[sp.x-1].message)
}

// stepIDs are the step ids a step batch listed.
func (st *taskState) stepIDs(sp *span) []ref {
	if sp.x == 0 {
		return nil
	}
	x := &st.x.extras[sp.x-1]
	return st.x.ids[x.ids : x.ids+x.nIDs]
}

// extra returns the extra part of sp, adding one if it has none; it is
// valid until the task's next extra part.
func (a *Assembler) extra(st *taskState, sp *span) *spanExtra {
	x := a.taskExtra(st)
	if sp.x == 0 {
		x.extras = append(x.extras, spanExtra{})
		sp.x = int32(len(x.extras))
	}
	return &x.extras[sp.x-1]
}

func (a *Assembler) failSpan(st *taskState, sp *span, message ref) {
	sp.set(failed, true)
	sp.status = uint8(ptrace.StatusCodeError)
	a.extra(st, sp).message = message
}

// heldEvent becomes a span event on its target span. Its attributes are
// attrs[from:to] of its task.
type heldEvent struct {
	target   pcommon.SpanID
	ts       pcommon.Timestamp
	name     ref
	from, to uint32
}

// orchMark is one start or end of an orchestration pass; its attributes are
// attrs[from:to] of its task.
type orchMark struct {
	ts         pcommon.Timestamp
	from, to   uint32
	orch       uint8
	start      bool
	failed     bool
	sampledOut bool // its event was sampled out by its route
}

// taskState holds the spans of one task until they can be emitted
// (168 bytes). Its slices hold no pointers (see the package doc): the spans, the
// attributes of spans and held events, and the task's strings.
type taskState struct {
	traceID   pcommon.TraceID
	taskSpan  pcommon.SpanID // TaskSpanID(taskID), hashed once
	res       *sharedRes     // resource of the first event seen
	spans     []span
	attrs     []attr
	buf       []byte        // held strings; the task id first
	x         *taskExtra    // held events, orchestration marks, span extras, span index
	created   time.Duration // since Assembler.base, as are the times below
	releaseAt time.Duration
	lastTS    pcommon.Timestamp
	taskLen   uint32 // of the task id, buf[:taskLen]
	items     int32  // spans and held events: at most max_pending + 1
	ended     bool
	live      bool
	late      bool // a tombstone of the task was left: what it adds goes out alone
	dirty     bool // changed since its last snapshot (with Config.Journal)
	stored    bool // a snapshot of it was written or it was restored
	sampled   bool // holds spans or span events only sampled-out events made
	prev      *taskState
	next      *taskState
}

// taskID is the task's id, the first string of its buffer.
func (st *taskState) taskID() string {
	if st.taskLen == 0 {
		return ""
	}
	return unsafe.String(&st.buf[0], int(st.taskLen))
}

// taskExtra holds a task's span events and orchestration marks, the extra
// parts of its spans, and the index of the spans of a task that has many.
type taskExtra struct {
	events []heldEvent
	out    []heldEvent // span events their routes sampled out: kept only with the whole task
	orch   []orchMark
	extras []spanExtra
	ids    []ref                    // step ids of step batches
	index  map[pcommon.SpanID]int32 // into spans
}

// taskExtra returns the extra part of st, taking a recycled one if it has
// none: only tasks with span events or many spans need one.
func (a *Assembler) taskExtra(st *taskState) *taskExtra {
	if st.x == nil {
		if n := len(a.freeTaskX); n > 0 {
			st.x = a.freeTaskX[n-1]
			a.freeTaskX = a.freeTaskX[:n-1]
		} else {
			st.x = &taskExtra{}
		}
	}
	return st.x
}

// Spans are looked up by a linear scan of a few 8-byte ids, which is faster
// than a map and needs no memory; tasks with more spans get an index.
const maxScannedSpans = 16

func (st *taskState) indexed() bool { return st.x != nil && st.x.index != nil }
func (st *taskState) find(id pcommon.SpanID) *span {
	if st.indexed() {
		if i, ok := st.x.index[id]; ok {
			return &st.spans[i]
		}
		return nil
	}
	for i := range st.spans {
		if st.spans[i].id == id {
			return &st.spans[i]
		}
	}
	return nil
}

// newSpan adds an empty span to the task (which must not have one of that
// id) and returns it; earlier *span of the task may no longer be valid.
func (a *Assembler) newSpan(st *taskState, id pcommon.SpanID, role spanRole) *span {
	if len(st.spans) == cap(st.spans) {
		st.spans = grow(&a.freeSpans, st.spans, len(st.spans)+1)
	}
	st.spans = append(st.spans, span{id: id, role: role, kind: uint8(ptrace.SpanKindInternal)})
	n := len(st.spans)
	if st.indexed() {
		st.x.index[id] = int32(n - 1)
	} else if n > maxScannedSpans {
		index := make(map[pcommon.SpanID]int32, 2*n)
		for i := range st.spans {
			index[st.spans[i].id] = int32(i)
		}
		a.taskExtra(st).index = index
	}
	return &st.spans[n-1]
}

// slabs keeps the slices of released tasks for reuse, by capacity class
// (see classSize). Their elements hold no pointers, so clearing one costs
// no write barriers.
type slabs[T any] [maxSlabClass + 1][][]T

// Capacities go 1, 2, 3, 4, 6, 8, 12, 16, ...: a slice grows by half or a
// third of its size, so a task wastes at most a third of a slice.
const maxSlabClass = 19 // 1,024 elements
func classSize(i int) int {
	switch {
	case i == 0:
		return 1
	case i%2 == 1:
		return 1 << ((i + 1) / 2)
	}
	return 3 << (i/2 - 1)
}

// classOf returns the smallest class of at least n elements.
func classOf(n int) int {
	i := 0
	for classSize(i) < n {
		i++
	}
	return i
}

// grow returns s with room for at least n elements, in the smallest class
// that has it, recycled when one is kept; s goes to the free lists.
func grow[T any](free *slabs[T], s []T, n int) []T {
	i := classOf(n)
	var grown []T
	if i <= maxSlabClass {
		if k := len(free[i]); k > 0 {
			grown = free[i][k-1]
			free[i] = free[i][:k-1]
		}
	}
	if grown == nil {
		grown = make([]T, 0, classSize(i))
	}
	grown = append(grown, s...)
	drop(free, s)
	return grown
}

// drop keeps a slice no task uses any more for reuse: at most
// maxFreeSlabs>>(class/4) of a class, fewer of the big ones.
func drop[T any](free *slabs[T], s []T) {
	c := cap(s)
	if c == 0 {
		return
	}
	i := classOf(c)
	if i > maxSlabClass || classSize(i) != c || len(free[i]) >= maxFreeSlabs>>(i/4) {
		return
	}
	clear(s[:c])
	free[i] = append(free[i], s[:0])
}

// stepEntity returns the span of a step attempt (role roleStep) or of its
// handler (roleHandler) when it exists. In a small task this scan is
// cheaper than hashing the span id; a task with an index is not scanned
// (nil: the caller hashes the id and looks it up).
func (a *Assembler) stepEntity(st *taskState, role spanRole, stepID string, attempt int64) *span {
	if st.indexed() {
		return nil
	}
	for i := range st.spans {
		sp := &st.spans[i]
		if sp.role == role && sp.attempt == attempt && a.str(st, sp.stepID) == stepID {
			return sp
		}
	}
	return nil
}

// stepSpanID is StepSpanID(task, stepID, attempt), taken from the span when
// it is known.
func (a *Assembler) stepSpanID(st *taskState, stepID string, attempt int64) pcommon.SpanID {
	if sp := a.stepEntity(st, roleStep, stepID, attempt); sp != nil {
		return sp.id
	}
	return event.StepSpanID(st.taskID(), stepID, attempt)
}

// own makes an attribute read from an event into a held one: its strings
// made symbols or copied into the task's buffer (strings.go), sharing the
// task's and span's ids.
func (a *Assembler) own(st *taskState, sp *span, in *KV, prio int8) attr {
	x := attr{n: in.n, id: in.id, typ: in.typ, prio: prio}
	if in.typ != typStr {
		if in.id == KeyUnknown {
			x.v = a.intern(st, in.key)
		}
		return x
	}
	switch {
	case in.id == KeyUnknown:
		// key and value in one string
		x.v, x.n = st.hold2(in.key, in.s), uint64(len(in.key))
	case in.s == event.Filtered:
		x.v = a.intern(st, event.Filtered)
	case in.id == KeyTaskID && in.s == st.taskID():
		x.v = ref{n: st.taskLen}
	case in.id == KeyStepID && sp != nil && in.s == a.str(st, sp.stepID):
		x.v = sp.stepID
	case internedValue[in.id]:
		x.v = a.intern(st, in.s)
	default:
		x.v = st.hold(in.s)
	}
	return x
}

// attrsOf returns the attributes of sp.
func (st *taskState) attrsOf(sp *span) []attr {
	return st.attrs[sp.attrOff : sp.attrOff+sp.attrN]
}

// appendAttr adds x to the attributes of sp.
func (a *Assembler) appendAttr(st *taskState, sp *span, x attr) {
	if sp.attrN == sp.attrCap {
		a.attrRoom(st, sp, 1)
	}
	st.attrs[sp.attrOff+sp.attrN] = x
	sp.attrN++
}

// attrRoom makes room for n more attributes of sp. Those at the end of the
// task's attributes grow in place; others move to the end, leaving their
// old slots unused until the task is released.
func (a *Assembler) attrRoom(st *taskState, sp *span, n int) {
	end := sp.attrOff + sp.attrCap
	if sp.attrCap > 0 && int(end) == len(st.attrs) {
		st.attrs = a.extendAttrs(st.attrs, n)
		sp.attrCap += uint32(n)
		return
	}
	off := len(st.attrs)
	c := int(sp.attrN) + n
	if sp.attrCap > 0 {
		c += attrSlack
	}
	st.attrs = a.extendAttrs(st.attrs, c)
	copy(st.attrs[off:], st.attrs[sp.attrOff:sp.attrOff+sp.attrN])
	sp.attrOff, sp.attrCap = uint32(off), uint32(c)
}

// extendAttrs returns s with n more (zero) attributes.
func (a *Assembler) extendAttrs(s []attr, n int) []attr {
	if len(s)+n > cap(s) {
		s = grow(&a.freeAttrs, s, len(s)+n)
	}
	return s[:len(s)+n]
}

// keep copies attributes to the end of the task's attributes, for a held
// event or an orchestration mark.
func (a *Assembler) keep(st *taskState, attrs []KV) (from, to uint32) {
	from = uint32(len(st.attrs))
	st.attrs = a.extendAttrs(st.attrs, len(attrs))
	for i := range attrs {
		st.attrs[int(from)+i] = a.own(st, nil, &attrs[i], 0)
	}
	return from, uint32(len(st.attrs))
}

func (a *Assembler) getSpan(st *taskState, id pcommon.SpanID, role spanRole) *span {
	if sp := st.find(id); sp != nil {
		a.touch(sp)
		return sp
	}
	st.items++
	a.pending++
	sp := a.newSpan(st, id, role)
	if a.sampledOut {
		sp.set(sampledOut, true)
		st.sampled = true
	}
	return sp
}

// touch notes that the event being added made sp: an event its route kept
// makes the span kept.
func (a *Assembler) touch(sp *span) {
	if !a.sampledOut {
		sp.set(sampledOut, false)
	}
}

func (a *Assembler) hold(st *taskState, he heldEvent) {
	x := a.taskExtra(st)
	list := &x.events
	if a.sampledOut {
		list, st.sampled = &x.out, true
	}
	if a.heldBefore(st, *list, he) {
		return // the same event delivered again
	}
	*list = append(*list, he)
	st.items++
	a.pending++
}

// Held events are compared with this many of the task's latest ones to
// find one delivered again; a task with more keeps a repeat.
const maxComparedEvents = 256

// heldBefore reports whether the task holds an event equal to he: same
// span, time, name and attributes.
func (a *Assembler) heldBefore(st *taskState, evs []heldEvent, he heldEvent) bool {
	if len(evs) > maxComparedEvents {
		evs = evs[len(evs)-maxComparedEvents:]
	}
	for i := len(evs) - 1; i >= 0; i-- {
		o := &evs[i]
		if o.target != he.target || o.ts != he.ts || o.to-o.from != he.to-he.from || a.str(st, o.name) != a.str(st, he.name) {
			continue
		}
		same := true
		for k := uint32(0); k < he.to-he.from && same; k++ {
			p, q := &st.attrs[o.from+k], &st.attrs[he.from+k]
			same = p.id == q.id && p.typ == q.typ && p.num() == q.num() && a.key(st, p) == a.key(st, q) && a.value(st, p) == a.value(st, q)
		}
		if same {
			return true
		}
	}
	return false
}
