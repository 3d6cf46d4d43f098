package eventrouter // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter"

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
	"github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/metadata"
)

// AttrUnfinished marks a span emitted before its start or end was seen.
const AttrUnfinished = "tasker.span.unfinished"

// Release reasons: why a task's held spans were emitted.
const (
	reasonTaskEnd  = "task_end"
	reasonTimeout  = "timeout"
	reasonEvicted  = "evicted"
	reasonShutdown = "shutdown"
)

// Priorities of the sources of a span's start and end. A higher priority
// wins; equal priorities keep the earliest start and latest end, so the
// result never depends on the order events arrive in.
const (
	prioTimestamp int8 = 1 // the event's own timestamp
	prioStartedAt int8 = 2 // started_at of a start event
	prioTerminal  int8 = 3 // the terminal event
)

// spanRole is the part a span plays; the event.Role of its id.
type spanRole uint8

const (
	roleTask spanRole = iota
	roleBatch
	roleStep
	roleHandler
	roleDB
	roleOrchestration
	roleEnqueue
	roleDependency
)

// namePrefix is put in front of a span's label to name it; roles without a
// prefix are named by their label alone.
var namePrefix = [roleDependency + 1]string{roleTask: "task ", roleStep: "step ", roleHandler: "handle ", roleEnqueue: "enqueue "}

// span is one span being assembled (80 bytes, no pointers: see held.go).
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
	provisional        bool // the label is a fallback until the task or step name is known
	failed             bool
}

// spanExtra holds what only a few spans have.
type spanExtra struct {
	message ref    // status message of a failed span
	ids     uint32 // the step ids of a step batch: st.x.ids[ids:][:nIDs]
	nIDs    uint32
}

// message is the status message of sp.
func (a *assembler) message(st *taskState, sp *span) string {
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

func (s *span) setStart(ts pcommon.Timestamp, prio int8) {
	if ts == 0 {
		return
	}
	if prio > s.startPrio || (prio == s.startPrio && ts < s.start) {
		s.start, s.startPrio = ts, prio
	}
}

func (s *span) setEnd(ts pcommon.Timestamp, prio int8) {
	if ts == 0 {
		return
	}
	if prio > s.endPrio || (prio == s.endPrio && ts > s.end) {
		s.end, s.endPrio = ts, prio
	}
}

// extra returns the extra part of sp, adding one if it has none; it is
// valid until the task's next extra part.
func (a *assembler) extra(st *taskState, sp *span) *spanExtra {
	x := a.taskExtra(st)
	if sp.x == 0 {
		x.extras = append(x.extras, spanExtra{})
		sp.x = int32(len(x.extras))
	}
	return &x.extras[sp.x-1]
}

func (a *assembler) failSpan(st *taskState, sp *span, message ref) {
	sp.failed = true
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
	ts       pcommon.Timestamp
	from, to uint32
	orch     uint8
	start    bool
	failed   bool
}

// taskState holds the spans of one task until they can be emitted
// (168 bytes). Its slices hold no pointers (see held.go): the spans, the
// attributes of spans and held events, and the task's strings.
type taskState struct {
	traceID   pcommon.TraceID
	taskSpan  pcommon.SpanID // TaskSpanID(taskID), hashed once
	res       *sharedRes     // resource of the first event seen
	spans     []span
	attrs     []attr
	buf       []byte        // held strings; the task id first
	x         *taskExtra    // held events, orchestration marks, span extras, span index
	created   time.Duration // since assembler.base, as are the times below
	releaseAt time.Duration
	lastTS    pcommon.Timestamp
	taskLen   uint32 // of the task id, buf[:taskLen]
	items     int32  // spans and held events: at most max_pending + 1
	ended     bool
	live      bool
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
	orch   []orchMark
	extras []spanExtra
	ids    []ref                    // step ids of step batches
	index  map[pcommon.SpanID]int32 // into spans
}

// taskExtra returns the extra part of st, taking a recycled one if it has
// none: only tasks with span events or many spans need one.
func (a *assembler) taskExtra(st *taskState) *taskExtra {
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
func (a *assembler) newSpan(st *taskState, id pcommon.SpanID, role spanRole) *span {
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
func (a *assembler) stepEntity(st *taskState, role spanRole, stepID string, attempt int64) *span {
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
func (a *assembler) stepSpanID(st *taskState, stepID string, attempt int64) pcommon.SpanID {
	if sp := a.stepEntity(st, roleStep, stepID, attempt); sp != nil {
		return sp.id
	}
	return event.StepSpanID(st.taskID(), stepID, attempt)
}

// assembler turns events into spans. A task's spans are held until the task
// ended plus a grace period, its state is older than the span timeout, the
// pending bound evicts it, or shutdown; then parents are resolved and the
// spans emitted together.
type assembler struct {
	mu         sync.Mutex
	timeout    time.Duration
	grace      time.Duration
	maxPending int
	base       time.Time // times of task states are kept as durations since base

	tasks      map[pcommon.TraceID]*taskState
	head, tail *taskState // by creation, oldest first
	ended      []*taskState
	tombs      map[pcommon.TraceID]time.Duration
	tombOrder  []pcommon.TraceID
	pending    int
	pendingObs atomic.Int64

	resources resTable
	syms      symbols
	nameBuf   []byte // builds span names
	idBuf     []byte // builds the entity part of span ids

	out    ptrace.Traces
	stats  releaseStats
	warmed uint64 // what warm read: kept so the reads are not optimized away
	// the spans of out's last ResourceSpans, and its resource: tasks that
	// share a resource (most of a sidecar's) share one ResourceSpans
	lastRes   *sharedRes
	lastSpans ptrace.SpanSlice
	lastCap   int

	// the parts of released tasks are reused: the assembler would
	// otherwise allocate them afresh for every task
	freeTasks []*taskState
	freeTaskX []*taskExtra
	freeSpans slabs[span]
	freeAttrs slabs[attr]

	// scratch of release
	all, batches, steps []*span
	evs                 []heldEvent
}

const maxFree = 4096

// Free lists keep up to maxFreeSlabs slices of a small class.
const maxFreeSlabs = 1024

// A span's attributes get attrSlack spare slots when they move to the end
// of the task's attributes to grow: a few, not a doubling, since spare
// slots of a pending span are memory held for nothing.
const attrSlack = 2

// Recycled extra parts of tasks keep their lists up to these capacities;
// they go to tasks with span events, which fill them as they run. Being
// bigger, fewer of them are kept.
const (
	maxRecycledEvents = 64
	maxFreeTaskX      = 256
)

// releaseStats counts what releases emitted since the last take.
type releaseStats struct {
	spans      int64
	unfinished map[string]int64
	orphans    int64
}

func newAssembler(cfg TracesConfig) *assembler {
	return &assembler{
		timeout:    cfg.SpanTimeout,
		grace:      cfg.TaskEndGrace,
		maxPending: cfg.MaxPending,
		base:       time.Now(),
		tasks:      map[pcommon.TraceID]*taskState{},
		tombs:      map[pcommon.TraceID]time.Duration{},
		resources:  newResTable(),
		out:        ptrace.NewTraces(),
		stats:      releaseStats{unfinished: map[string]int64{}},
	}
}

// since turns a time into the assembler's clock. Both carry a monotonic
// reading when they come from time.Now, so this is the same comparison
// time.Time.Before makes.
func (a *assembler) since(t time.Time) time.Duration { return t.Sub(a.base) }

// take returns what releases produced since the last call.
func (a *assembler) take() (ptrace.Traces, releaseStats) {
	out, st := a.out, a.stats
	a.out = ptrace.NewTraces()
	a.stats = releaseStats{unfinished: map[string]int64{}}
	a.lastRes, a.lastSpans, a.lastCap = nil, ptrace.SpanSlice{}, 0
	return out, st
}

func (a *assembler) pendingItems() int64 { return a.pendingObs.Load() }

// resSlot is the resource of one ResourceLogs of a batch, looked up in the
// resource table at most once per batch.
type resSlot struct {
	res pcommon.Resource
	sh  *sharedRes
}

func (a *assembler) state(e *evt, rs *resSlot, f *keyFilter, now time.Duration) *taskState {
	st := a.tasks[e.traceID]
	if st != nil {
		return st
	}
	if n := len(a.freeTasks); n > 0 {
		st = a.freeTasks[n-1]
		a.freeTasks = a.freeTasks[:n-1]
	} else {
		st = &taskState{}
	}
	st.traceID = e.traceID
	st.hold(e.taskID)
	st.taskLen = uint32(len(e.taskID))
	st.taskSpan = event.TaskSpanID(e.taskID)
	if rs.sh == nil {
		rs.sh = a.resources.lookup(rs.res, f)
	}
	st.res = rs.sh
	st.res.refs++
	st.created, st.live = now, true
	a.tasks[e.traceID] = st
	if a.tail == nil {
		a.head, a.tail = st, st
	} else {
		st.prev, a.tail.next, a.tail = a.tail, st, st
	}
	if until, ok := a.tombs[e.traceID]; ok && now < until {
		// a late event of a task that already ended and was emitted
		a.markEnded(st, now)
	}
	return st
}

func (a *assembler) markEnded(st *taskState, now time.Duration) {
	st.ended = true
	st.releaseAt = now + a.grace
	a.ended = append(a.ended, st)
}

// recycle returns a released task's state and slices for reuse. Its byte
// buffer is not reused: the emitted spans' strings are views into it.
func (a *assembler) recycle(st *taskState) {
	a.resources.release(st.res)
	drop(&a.freeSpans, st.spans)
	drop(&a.freeAttrs, st.attrs)
	if x := st.x; x != nil && len(a.freeTaskX) < maxFreeTaskX && cap(x.events) <= maxRecycledEvents &&
		cap(x.orch) <= maxRecycledEvents && cap(x.extras) <= maxRecycledEvents && cap(x.ids) <= maxRecycledEvents {
		*x = taskExtra{events: x.events[:0], orch: x.orch[:0], extras: x.extras[:0], ids: x.ids[:0]} // the index is dropped
		a.freeTaskX = append(a.freeTaskX, x)
	}
	if len(a.freeTasks) >= maxFree {
		return
	}
	*st = taskState{}
	a.freeTasks = append(a.freeTasks, st)
}

// own makes an attribute read from an event into a held one: its strings
// made symbols or copied into the task's buffer (see held.go), sharing the
// task's and span's ids.
func (a *assembler) own(st *taskState, sp *span, in *kv, prio int8) attr {
	x := attr{n: in.n, id: in.id, typ: in.typ, prio: prio}
	if in.typ != typStr {
		if in.id == keyUnknown {
			x.v = a.intern(st, in.key)
		}
		return x
	}
	switch {
	case in.id == keyUnknown:
		// key and value in one string
		x.v, x.n = st.hold2(in.key, in.s), uint64(len(in.key))
	case in.s == event.Filtered:
		x.v = a.intern(st, event.Filtered)
	case in.id == keyTaskID && in.s == st.taskID():
		x.v = ref{n: st.taskLen}
	case in.id == keyStepID && sp != nil && in.s == a.str(st, sp.stepID):
		x.v = sp.stepID
	case internedValue[in.id]:
		x.v = a.intern(st, in.s)
	default:
		x.v = st.hold(in.s)
	}
	return x
}

// setAttrs merges attributes: a higher priority overwrites, ties keep the
// smaller value, so the result does not depend on arrival order.
func (a *assembler) setAttrs(st *taskState, sp *span, attrs []kv, prio int8) {
	if sp.attrCap == 0 {
		a.attrRoom(st, sp, len(attrs)) // the first event's attributes, exactly
	}
outer:
	for i := range attrs {
		in := &attrs[i]
		switch in.id {
		case keyFromState, keyToState:
			continue // transitions are span events
		}
		held := st.attrsOf(sp)
		for j := range held {
			x := &held[j]
			if !a.sameKey(st, x, in) {
				continue
			}
			switch {
			case prio < x.prio:
			case in.typ == x.typ && in.n == x.num() && in.s == a.value(st, x):
				x.prio = prio // the same value: nothing to own again
			case prio > x.prio || lessValue(in.typ, in.s, in.n, x.typ, a.value(st, x), x.num()):
				*x = a.own(st, sp, in, prio)
			}
			continue outer
		}
		x := a.own(st, sp, in, prio)
		a.appendAttr(st, sp, x)
	}
}

// attrsOf returns the attributes of sp.
func (st *taskState) attrsOf(sp *span) []attr {
	return st.attrs[sp.attrOff : sp.attrOff+sp.attrN]
}

// appendAttr adds x to the attributes of sp.
func (a *assembler) appendAttr(st *taskState, sp *span, x attr) {
	if sp.attrN == sp.attrCap {
		a.attrRoom(st, sp, 1)
	}
	st.attrs[sp.attrOff+sp.attrN] = x
	sp.attrN++
}

// attrRoom makes room for n more attributes of sp. Those at the end of the
// task's attributes grow in place; others move to the end, leaving their
// old slots unused until the task is released.
func (a *assembler) attrRoom(st *taskState, sp *span, n int) {
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
func (a *assembler) extendAttrs(s []attr, n int) []attr {
	if len(s)+n > cap(s) {
		s = grow(&a.freeAttrs, s, len(s)+n)
	}
	return s[:len(s)+n]
}

func (a *assembler) setAttr(st *taskState, sp *span, in kv) {
	a.setAttrs(st, sp, []kv{in}, 9)
}

// mergeHeld merges attributes already held (of an orchestration mark,
// st.attrs[from:to]).
func (a *assembler) mergeHeld(st *taskState, sp *span, from, to uint32, prio int8) {
outer:
	for k := from; k < to; k++ {
		in := st.attrs[k]
		switch in.id {
		case keyFromState, keyToState:
			continue // transitions are span events
		}
		in.prio = prio
		held := st.attrsOf(sp)
		for j := range held {
			x := &held[j]
			if x.id != in.id || (in.id == keyUnknown && a.key(st, x) != a.key(st, &in)) {
				continue
			}
			if prio > x.prio || (prio == x.prio && lessValue(in.typ, a.value(st, &in), in.num(), x.typ, a.value(st, x), x.num())) {
				*x = in
			}
			continue outer
		}
		a.appendAttr(st, sp, in)
	}
}

// keep copies attributes to the end of the task's attributes, for a held
// event or an orchestration mark.
func (a *assembler) keep(st *taskState, attrs []kv) (from, to uint32) {
	from = uint32(len(st.attrs))
	st.attrs = a.extendAttrs(st.attrs, len(attrs))
	for i := range attrs {
		st.attrs[int(from)+i] = a.own(st, nil, &attrs[i], 0)
	}
	return from, uint32(len(st.attrs))
}

func (a *assembler) getSpan(st *taskState, id pcommon.SpanID, role spanRole) *span {
	if sp := st.find(id); sp != nil {
		return sp
	}
	st.items++
	a.pending++
	return a.newSpan(st, id, role)
}

func (a *assembler) hold(st *taskState, he heldEvent) {
	x := a.taskExtra(st)
	x.events = append(x.events, he)
	st.items++
	a.pending++
}

// add takes one event; the caller holds a.mu.
func (a *assembler) add(e *evt, rs *resSlot, f *keyFilter, wall time.Time) {
	now := a.since(wall)
	st := a.state(e, rs, f, now)
	if e.ts > st.lastTS {
		st.lastTS = e.ts
	}
	task := e.taskID
	switch e.info.kind {
	case kindTaskInit, kindTaskStart:
		sp := a.taskSpan(st, e)
		if e.info.kind == kindTaskStart && e.startedAt != 0 {
			sp.setStart(e.startedAt, prioStartedAt)
		} else {
			sp.setStart(e.ts, prioTimestamp)
		}
		a.setAttrs(st, sp, e.attrs, 1)
	case kindTaskEnd:
		sp := a.taskSpan(st, e)
		sp.setStart(e.startedAt, prioTerminal)
		sp.setEnd(firstNonZero(e.completedAt, e.ts), prioTerminal)
		a.setAttrs(st, sp, e.attrs, 3)
		a.setAttr(st, sp, knownStr(keyTaskOutcome, e.info.outcome))
		if e.info.failed {
			a.fail(st, sp, e, false)
		}
		if !st.ended || now+a.grace > st.releaseAt {
			a.markEnded(st, now)
		}
	case kindStepStart, kindBeforeHandle, kindStepEnd:
		if e.stepID == "" {
			a.instant(st, e)
			return
		}
		sp := a.stepSpan(st, e)
		switch e.info.kind {
		case kindStepStart:
			if e.startedAt != 0 {
				sp.setStart(e.startedAt, prioStartedAt)
			} else {
				sp.setStart(e.ts, prioTimestamp)
			}
			a.setAttrs(st, sp, e.attrs, 1)
		case kindBeforeHandle:
			sp.setStart(e.startedAt, prioStartedAt)
			a.setAttrs(st, sp, e.attrs, 1)
			stepID, attempt := sp.stepID, sp.attempt // sp is not valid once h is added
			h := a.stepEntity(st, roleHandler, e.stepID, e.attempt)
			if h == nil {
				h = a.getSpan(st, event.SpanID(event.RoleHandler, task, e.stepID, e.attempt), roleHandler)
			}
			h.stepID, h.attempt = stepID, attempt // the step's held id
			a.setName(st, h, e.stepName, stepID)
			h.setStart(e.ts, prioTerminal)
			a.setAttrs(st, h, e.attrs, 1)
		case kindStepEnd:
			sp.setStart(e.startedAt, prioTerminal)
			sp.setEnd(firstNonZero(e.completedAt, e.ts), prioTerminal)
			a.setAttrs(st, sp, e.attrs, 3)
			a.setAttr(st, sp, knownStr(keyStepOutcome, e.info.outcome))
			if e.info.failed {
				a.fail(st, sp, e, true)
			}
		}
	case kindBatch:
		b := strconv.AppendUint(a.idBuf[:0], uint64(e.ts), 10)
		b = append(b, '/')
		for i, id := range e.stepIDs {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, id...)
		}
		a.idBuf = b
		sp := a.getSpan(st, event.SpanIDBytes(event.RoleBatch, task, b, 0), roleBatch)
		sp.label = a.intern(st, "step batch")
		sp.setStart(e.ts, prioTerminal)
		sp.setEnd(e.ts, prioTimestamp) // grows to the end of its steps
		if len(st.stepIDs(sp)) == 0 && len(e.stepIDs) > 0 {
			a.keepStepIDs(st, sp, e.stepIDs)
		}
		a.setAttrs(st, sp, e.attrs, 3)
	case kindOrchStart, kindOrchEnd:
		from, to := a.keep(st, e.attrs)
		x := a.taskExtra(st)
		x.orch = append(x.orch, orchMark{
			orch: e.info.orch, start: e.info.kind == kindOrchStart, failed: e.info.failed,
			ts: e.ts, from: from, to: to,
		})
		st.items++
		a.pending++
	case kindEnqueue:
		sp := a.getSpan(st, event.SpanIDBytes(event.RoleEnqueue, task, a.entityAt(e.job, e.ts), 0), roleEnqueue)
		sp.label = a.intern(st, firstNonEmpty(e.queue, "task"))
		sp.kind = uint8(ptrace.SpanKindProducer)
		sp.setStart(e.ts, prioTerminal)
		sp.setEnd(e.ts, prioTerminal)
		a.setAttrs(st, sp, e.attrs, 3)
		if e.queue != "" {
			a.setAttr(st, sp, knownStr(keyMessagingDestination, e.queue))
		}
		if e.job != "" {
			a.setAttr(st, sp, knownStr(keyMessagingMessageID, e.job))
		}
	case kindDB:
		id := e.spanID
		if id.IsEmpty() {
			id = event.DBSpanID(task, e.stepID, "", strconv.FormatUint(uint64(e.ts), 10), e.dbText)
		}
		sp := a.getSpan(st, id, roleDB)
		sp.label = a.dbSpanName(st, e)
		sp.kind = uint8(ptrace.SpanKindClient)
		a.setStepID(st, sp, e.stepID)
		start, end := timedSpan(e)
		sp.setStart(start, prioTerminal)
		sp.setEnd(end, prioTerminal)
		a.setAttrs(st, sp, e.attrs, 3)
	case kindDependency:
		if e.startedAt == 0 && !e.hasDuration {
			a.instant(st, e)
			return
		}
		sp := a.getSpan(st, event.SpanIDBytes(event.RoleDependency, task, a.entityAt(e.stepID, e.ts), 0), roleDependency)
		sp.label = a.intern(st, "resolve dependencies")
		a.setStepID(st, sp, e.stepID)
		start, end := timedSpan(e)
		sp.setStart(start, prioTerminal)
		sp.setEnd(end, prioTerminal)
		a.setAttrs(st, sp, e.attrs, 3)
	default:
		a.instant(st, e)
		return
	}
	if e.fromState != "" || e.toState != "" {
		a.instant(st, e) // the transition is also a span event
	}
}

// entityAt builds the entity id "name@ts" in a.idBuf.
func (a *assembler) entityAt(name string, ts pcommon.Timestamp) []byte {
	a.idBuf = strconv.AppendUint(append(append(a.idBuf[:0], name...), '@'), uint64(ts), 10)
	return a.idBuf
}

// keepStepIDs keeps the step ids of a batch span.
func (a *assembler) keepStepIDs(st *taskState, sp *span, ids []string) {
	x := a.extra(st, sp)
	tx := st.x
	x.ids, x.nIDs = uint32(len(tx.ids)), uint32(len(ids))
	for _, id := range ids {
		tx.ids = append(tx.ids, st.hold(id))
	}
}

func (a *assembler) taskSpan(st *taskState, e *evt) *span {
	sp := a.getSpan(st, st.taskSpan, roleTask)
	a.setName(st, sp, e.taskName, ref{})
	return sp
}

// setName sets the label of a task, step or handler span: its name, or a
// fallback until the name is known.
func (a *assembler) setName(st *taskState, sp *span, name string, fallback ref) {
	if name == "" {
		if sp.label.n == 0 && !sp.provisional {
			sp.label = fallback
			sp.provisional = true
		}
		return
	}
	if sp.provisional || a.str(st, sp.label) != name {
		sp.label = a.intern(st, name)
		sp.provisional = false
	}
}

// setStepID keeps the step id of a span, holding it again only when it
// changes.
func (a *assembler) setStepID(st *taskState, sp *span, id string) {
	if a.str(st, sp.stepID) != id {
		sp.stepID = st.hold(id)
	}
}

func (a *assembler) stepSpan(st *taskState, e *evt) *span {
	if sp := a.stepEntity(st, roleStep, e.stepID, e.attempt); sp != nil {
		a.setName(st, sp, e.stepName, sp.stepID)
		return sp
	}
	sp := a.getSpan(st, event.StepSpanID(st.taskID(), e.stepID, e.attempt), roleStep)
	a.setStepID(st, sp, e.stepID)
	sp.attempt = e.attempt
	a.setName(st, sp, e.stepName, sp.stepID)
	return sp
}

// fail sets the error status and, for step attempts, the exception event.
func (a *assembler) fail(st *taskState, sp *span, e *evt, exception bool) {
	a.failSpan(st, sp, st.hold(firstNonEmpty(e.errMessage, e.errType, e.info.outcome)))
	if e.errType != "" {
		a.setAttr(st, sp, knownStr(keyErrorType, e.errType))
	}
	if !exception || (e.errType == "" && e.errMessage == "") {
		return
	}
	var buf [3]kv
	ex := buf[:0]
	if e.errType != "" {
		ex = append(ex, knownStr(keyExceptionType, e.errType))
	}
	if e.errMessage != "" {
		ex = append(ex, knownStr(keyExceptionMessage, e.errMessage))
	}
	if e.stacktrace != "" {
		ex = append(ex, knownStr(keyStacktrace, e.stacktrace))
	}
	from, to := a.keep(st, ex)
	a.hold(st, heldEvent{target: sp.id, name: a.intern(st, "exception"), ts: firstNonZero(e.completedAt, e.ts), from: from, to: to})
}

// instant holds an event as a span event of its step attempt, else its task.
func (a *assembler) instant(st *taskState, e *evt) {
	target := st.taskSpan
	if e.stepID != "" {
		target = a.stepSpanID(st, e.stepID, e.attempt)
	}
	from := uint32(len(st.attrs))
	for i := range e.attrs {
		switch e.attrs[i].id {
		case keyTaskID, keyTaskName, keyStepID, keyStepName, keyRetryLimit, keyCorrelationID:
			continue // already on the span
		}
		st.attrs = a.extendAttrs(st.attrs, 1)
		st.attrs[len(st.attrs)-1] = a.own(st, nil, &e.attrs[i], 0)
	}
	if e.errType != "" {
		k := knownStr(keyErrorType, e.errType)
		st.attrs = a.extendAttrs(st.attrs, 1)
		st.attrs[len(st.attrs)-1] = a.own(st, nil, &k, 0)
	}
	if e.errMessage != "" {
		k := knownStr(keyErrorMessage, e.errMessage)
		st.attrs = a.extendAttrs(st.attrs, 1)
		st.attrs[len(st.attrs)-1] = a.own(st, nil, &k, 0)
	}
	a.hold(st, heldEvent{target: target, name: a.intern(st, e.name), ts: e.ts, from: from, to: uint32(len(st.attrs))})
}

func timedSpan(e *evt) (start, end pcommon.Timestamp) {
	d := pcommon.Timestamp(e.duration * 1e9)
	switch {
	case e.startedAt != 0 && e.hasDuration:
		return e.startedAt, e.startedAt + d
	case e.startedAt != 0:
		return e.startedAt, firstNonZero(e.completedAt, e.ts)
	case e.hasDuration && e.ts > d:
		return e.ts - d, e.ts
	}
	return e.ts, e.ts
}

func (a *assembler) dbSpanName(st *taskState, e *evt) ref {
	switch {
	case e.dbOp != "" && e.dbTable != "":
		a.nameBuf = append(append(append(a.nameBuf[:0], e.dbOp...), ' '), e.dbTable...)
		return a.intern(st, b2s(a.nameBuf))
	case e.dbOp != "":
		return a.intern(st, e.dbOp)
	}
	return a.intern(st, "db query")
}

// spanName is the emitted name of a span; names repeat from task to task,
// so they are symbols.
func (a *assembler) spanName(st *taskState, sp *span) string {
	prefix := namePrefix[sp.role]
	label := a.str(st, sp.label)
	switch {
	case prefix == "":
		return label
	case label == "":
		return strings.TrimSpace(prefix)
	}
	a.nameBuf = append(append(a.nameBuf[:0], prefix...), label...)
	return a.syms.bytes(a.nameBuf)
}

// afterAdd enforces the pending bound; the caller holds a.mu.
func (a *assembler) afterAdd(wall time.Time) {
	now := a.since(wall)
	evicted := false
	for a.pending > a.maxPending && a.head != nil {
		a.release(a.head, reasonEvicted, now)
		evicted = true
	}
	if evicted && a.head != nil {
		a.warmed += warm(a.head)
	}
	a.pendingObs.Store(int64(a.pending))
}

// warm reads a little of every span of st, the task the bound evicts next.
// The oldest task has long left the processor's caches; these loads do not
// depend on one another, so its memory arrives in parallel now rather than
// one miss at a time while release walks it.
func warm(st *taskState) (sum uint64) {
	for i := range st.spans {
		sum += uint64(st.spans[i].start)
	}
	for i := 0; i < len(st.attrs); i += 2 { // one load per 64-byte line
		sum += st.attrs[i].n
	}
	if x := st.x; x != nil {
		if n := len(x.events); n > 0 {
			sum += uint64(x.events[0].ts) + uint64(x.events[n-1].ts)
		}
	}
	return sum
}

// tick releases ended tasks past their grace and tasks past the timeout.
func (a *assembler) tick(wall time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.since(wall)
	n := 0
	for _, st := range a.ended {
		if !st.live || !st.ended {
			continue
		}
		if now < st.releaseAt {
			a.ended[n] = st
			n++
			continue
		}
		a.release(st, reasonTaskEnd, now)
	}
	clear(a.ended[n:])
	a.ended = a.ended[:n]
	for a.head != nil && now >= a.head.created+a.timeout {
		a.release(a.head, reasonTimeout, now)
	}
	for len(a.tombOrder) > 0 {
		id := a.tombOrder[0]
		if until, ok := a.tombs[id]; ok && now < until {
			break
		}
		delete(a.tombs, id)
		a.tombOrder = a.tombOrder[1:]
	}
	a.pendingObs.Store(int64(a.pending))
}

// flush releases everything (shutdown).
func (a *assembler) flush(wall time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.since(wall)
	for a.head != nil {
		a.release(a.head, reasonShutdown, now)
	}
	a.ended = nil
	a.pendingObs.Store(0)
}

func (a *assembler) unlink(st *taskState) {
	if st.prev != nil {
		st.prev.next = st.next
	} else {
		a.head = st.next
	}
	if st.next != nil {
		st.next.prev = st.prev
	} else {
		a.tail = st.prev
	}
	st.prev, st.next = nil, nil
	st.live = false
	delete(a.tasks, st.traceID)
	a.pending -= int(st.items)
}

func (a *assembler) tomb(st *taskState, now time.Duration) {
	if _, ok := a.tombs[st.traceID]; !ok {
		a.tombOrder = append(a.tombOrder, st.traceID)
	}
	a.tombs[st.traceID] = now + a.timeout
	for len(a.tombOrder) > a.maxPending {
		delete(a.tombs, a.tombOrder[0])
		a.tombOrder = a.tombOrder[1:]
	}
}

// byStartThenID orders spans by start, ties by id.
func byStartThenID(x, y *span) int {
	if x.start != y.start {
		if x.start < y.start {
			return -1
		}
		return 1
	}
	return compareIDs(x.id, y.id)
}

// release resolves the parents of a task's spans and appends them to the
// output; the caller holds a.mu.
func (a *assembler) release(st *taskState, reason string, now time.Duration) {
	a.unlink(st)
	if st.ended {
		a.tomb(st, now)
	}
	taskID := st.taskSpan
	a.buildOrchestration(st)

	// no span is added from here on: pointers into st.spans stay valid
	all, batches, steps := a.all[:0], a.batches[:0], a.steps[:0]
	for i := range st.spans {
		sp := &st.spans[i]
		all = append(all, sp)
		switch sp.role {
		case roleBatch:
			batches = append(batches, sp)
		case roleStep:
			steps = append(steps, sp)
		}
	}
	slices.SortFunc(all, byStartThenID)
	slices.SortFunc(batches, byStartThenID)

	// step attempts go under the latest batch that listed their step before
	// they started (retries stay there unless a later batch lists the step)
	for _, sp := range steps {
		sp.parent = taskID
		var chosen *span
		stepID := a.str(st, sp.stepID)
		for _, b := range batches {
			if !a.lists(st, b, stepID) {
				continue
			}
			if chosen == nil || b.start <= sp.start {
				chosen = b
			}
			if b.start > sp.start {
				break
			}
		}
		if chosen != nil {
			sp.parent = chosen.id
			if sp.endPrio > 0 && sp.end > chosen.end {
				chosen.end = sp.end
			}
		}
	}
	for _, sp := range all {
		switch sp.role {
		case roleTask:
			sp.parent = pcommon.NewSpanIDEmpty()
		case roleHandler:
			stepID := a.stepSpanID(st, a.str(st, sp.stepID), sp.attempt)
			sp.parent = stepID
			if step := st.find(stepID); step != nil {
				sp.setEnd(step.end, step.endPrio)
				if step.failed {
					sp.status = uint8(ptrace.StatusCodeError)
					var msg ref
					if step.x != 0 {
						msg = st.x.extras[step.x-1].message
					}
					a.extra(st, sp).message = msg
				}
			}
		case roleDB:
			a.parentDB(st, sp, steps)
		case roleStep:
		default:
			sp.parent = taskID
		}
	}

	// span events go to their target span, else the task span; they are
	// sorted by target, then time and name (stable: arrival order breaks
	// the remaining ties), so each span's events are one run
	evs := a.evs[:0]
	if st.x != nil {
		var taskSpan *span
		for _, he := range st.x.events {
			target := st.find(he.target)
			if target == nil {
				if taskSpan == nil {
					taskSpan = st.find(taskID)
				}
				target = taskSpan
			}
			if target == nil {
				a.stats.orphans++
				continue
			}
			he.target = target.id
			evs = append(evs, he)
		}
		slices.SortStableFunc(evs, func(x, y heldEvent) int {
			if c := compareIDs(x.target, y.target); c != 0 {
				return c
			}
			if x.ts != y.ts {
				if x.ts < y.ts {
					return -1
				}
				return 1
			}
			return strings.Compare(a.str(st, x.name), a.str(st, y.name))
		})
	}
	a.emit(st, all, evs, reason)
	clear(all)
	clear(batches)
	clear(steps)
	clear(evs)
	a.all, a.batches, a.steps, a.evs = all[:0], batches[:0], steps[:0], evs[:0]
	a.recycle(st)
}

// parentDB puts a query under the attempt of its step that was running when
// it started: the attempt's handler span when there is one, else the
// attempt span. With no attempt of the step known it goes under the task.
func (a *assembler) parentDB(st *taskState, db *span, steps []*span) {
	db.parent = st.taskSpan
	var best *span
	dbStep := a.str(st, db.stepID)
	for _, sp := range steps {
		if sp.startPrio == 0 || sp.start > db.start || a.str(st, sp.stepID) != dbStep {
			continue
		}
		running := sp.endPrio == 0 || sp.end >= db.start
		bestRunning := best != nil && (best.endPrio == 0 || best.end >= db.start)
		switch {
		case best == nil,
			running && !bestRunning,
			running == bestRunning && (sp.start > best.start || (sp.start == best.start && sp.attempt > best.attempt)):
			best = sp
		}
	}
	if best == nil {
		return
	}
	db.parent = best.id
	a.setAttr(st, db, knownInt(keyStepAttempt, best.attempt))
	bestStep := a.str(st, best.stepID)
	h := a.stepEntity(st, roleHandler, bestStep, best.attempt)
	if h == nil && st.indexed() {
		h = st.find(event.SpanID(event.RoleHandler, st.taskID(), bestStep, best.attempt))
	}
	if h != nil && h.start <= db.start {
		db.parent = h.id
	}
}

// buildOrchestration pairs the starts and ends of orchestration passes in
// time order into spans.
func (a *assembler) buildOrchestration(st *taskState) {
	if st.x == nil || len(st.x.orch) == 0 {
		return
	}
	orch := st.x.orch
	slices.SortFunc(orch, func(x, y orchMark) int {
		if x.ts != y.ts {
			if x.ts < y.ts {
				return -1
			}
			return 1
		}
		if x.start != y.start {
			if x.start {
				return -1
			}
			return 1
		}
		return 0
	})
	for o := range orchNames {
		var open []int // indexes of unmatched starts, oldest first
		for i, m := range orch {
			if int(m.orch) != o {
				continue
			}
			if m.start {
				open = append(open, i)
				continue
			}
			if len(open) == 0 {
				a.orchSpan(st, nil, &orch[i])
				continue
			}
			a.orchSpan(st, &orch[open[0]], &orch[i])
			open = open[1:]
		}
		for _, i := range open {
			a.orchSpan(st, &orch[i], nil)
		}
	}
}

func (a *assembler) orchSpan(st *taskState, start, end *orchMark) {
	mark := start
	if mark == nil {
		mark = end
	}
	id := event.SpanIDBytes(event.RoleOrchestration, st.taskID(), a.entityAt(orchNames[mark.orch], mark.ts), 0)
	sp := st.find(id)
	if sp == nil {
		sp = a.newSpan(st, id, roleOrchestration)
	} else {
		*sp = span{id: id, role: roleOrchestration, kind: uint8(ptrace.SpanKindInternal)} // a pass seen twice: the last wins
	}
	sp.label = a.intern(st, orchNames[mark.orch])
	if start != nil {
		sp.setStart(start.ts, prioTerminal)
		a.mergeHeld(st, sp, start.from, start.to, 1)
	}
	if end != nil {
		sp.setEnd(end.ts, prioTerminal)
		a.mergeHeld(st, sp, end.from, end.to, 3)
		if end.failed {
			a.failSpan(st, sp, a.intern(st, "failed"))
		}
	}
}

// lists reports whether the step batch b listed the step stepID.
func (a *assembler) lists(st *taskState, b *span, stepID string) bool {
	for _, id := range st.stepIDs(b) {
		if a.str(st, id) == stepID {
			return true
		}
	}
	return false
}

// emit appends a task's spans to the output; evs are its span events,
// sorted by target.
func (a *assembler) emit(st *taskState, spans []*span, evs []heldEvent, reason string) {
	if len(spans) == 0 {
		return
	}
	out := a.spansOf(st.res)
	if need := out.Len() + len(spans); need > a.lastCap {
		a.lastCap = max(need, 2*a.lastCap) // grown by doubling, as tasks keep coming
		out.EnsureCapacity(a.lastCap)
	}
	for _, sp := range spans {
		unfinished := sp.startPrio == 0 || sp.endPrio == 0
		if sp.startPrio == 0 {
			sp.start = sp.end
		}
		if sp.endPrio == 0 {
			sp.end = max(sp.start, st.lastTS)
		}
		if unfinished {
			a.stats.unfinished[reason]++
		}
		s := out.AppendEmpty()
		s.SetTraceID(st.traceID)
		s.SetSpanID(sp.id)
		s.SetParentSpanID(sp.parent)
		s.SetName(a.spanName(st, sp))
		s.SetKind(ptrace.SpanKind(sp.kind))
		s.SetStartTimestamp(sp.start)
		s.SetEndTimestamp(sp.end)
		if sp.status != uint8(ptrace.StatusCodeUnset) {
			s.Status().SetCode(ptrace.StatusCode(sp.status))
			s.Status().SetMessage(a.message(st, sp))
		}
		attrs := s.Attributes()
		ids := st.stepIDs(sp)
		held := st.attrsOf(sp)
		attrs.EnsureCapacity(len(held) + oneIf(len(ids) > 0) + oneIf(unfinished)) // exactly: a pdata attribute is 40 bytes
		for i := range held {
			a.putAttr(st, &held[i], attrs)
		}
		if len(ids) > 0 {
			s := attrs.PutEmptySlice("tasker.batch.step_ids")
			s.EnsureCapacity(len(ids))
			for _, id := range ids {
				s.AppendEmpty().SetStr(a.str(st, id))
			}
		}
		if unfinished {
			attrs.PutBool(AttrUnfinished, true)
		}
		i := sort.Search(len(evs), func(i int) bool { return compareIDs(evs[i].target, sp.id) >= 0 })
		j := i
		for j < len(evs) && evs[j].target == sp.id {
			j++
		}
		if j > i {
			out := s.Events()
			out.EnsureCapacity(j - i)
			for _, he := range evs[i:j] {
				ev := out.AppendEmpty()
				ev.SetName(a.str(st, he.name))
				ev.SetTimestamp(he.ts)
				held := st.attrs[he.from:he.to]
				ev.Attributes().EnsureCapacity(len(held))
				for k := range held {
					a.putAttr(st, &held[k], ev.Attributes())
				}
			}
		}
	}
	a.stats.spans += int64(len(spans))
}

// spansOf returns the span list of the output's ResourceSpans for res,
// adding one when the last task emitted had another resource.
func (a *assembler) spansOf(res *sharedRes) ptrace.SpanSlice {
	if a.lastRes != res || a.lastRes == nil {
		rs := a.out.ResourceSpans().AppendEmpty()
		res.res.CopyTo(rs.Resource())
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName(metadata.ScopeName)
		a.lastRes, a.lastSpans, a.lastCap = res, ss.Spans(), 0
	}
	return a.lastSpans
}

func oneIf(b bool) int {
	if b {
		return 1
	}
	return 0
}

func compareIDs(x, y pcommon.SpanID) int {
	for i := range x {
		if x[i] != y[i] {
			if x[i] < y[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

func firstNonZero(ts ...pcommon.Timestamp) pcommon.Timestamp {
	for _, t := range ts {
		if t != 0 {
			return t
		}
	}
	return 0
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
