package assembly // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/assembly"

import (
	"cmp"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

// Assembler turns events into spans. A task's spans are held until the task
// ended plus a grace period, its state is older than the span timeout, the
// pending bound evicts it, or shutdown; then parents are resolved and the
// spans emitted together.
type Assembler struct {
	timeout    time.Duration
	grace      time.Duration
	maxPending int
	base       time.Time // times of task states are kept as durations since base

	tasks      map[pcommon.TraceID]*taskState
	head, tail *taskState // by creation, oldest first
	ended      []*taskState
	pending    int
	pendingObs atomic.Int64

	// tombstones of released tasks (tombstone.go), in expiry order
	tombs        map[pcommon.TraceID]*tombstone
	tombOrder    fifo[tombEntry]
	tombSpans    int
	maxTombSpans int

	keepFailed     bool
	keepSlowerThan time.Duration
	sampledOut     bool // the event being added was sampled out by its route

	// with journal set, the tasks changed since the last Dirty
	journal  bool
	dirtyIDs []pcommon.TraceID
	dirtyBuf []byte // the snapshots Dirty returned last

	// scratch of snapshots: a symbol's offset in the snapshot being made is
	// symOff[i] when symGen[i] is snapGen
	symGen, symOff []uint32
	snapGen        uint32
	symScratch     []byte

	resources resTable
	syms      symbols
	nameBuf   []byte // builds span names
	idBuf     []byte // builds the entity part of span ids

	out    ptrace.Traces
	stats  Stats
	warmed uint64 // what warm read: kept so the reads are not optimized away
	// the spans of out's last ResourceSpans, and its resource: tasks that
	// share a resource (most of a sidecar's) share one ResourceSpans
	lastRes   *sharedRes
	lastSpans ptrace.SpanSlice
	lastCap   int

	// the parts of released tasks are reused: the Assembler would
	// otherwise allocate them afresh for every task
	freeTasks []*taskState
	freeTaskX []*taskExtra
	freeSpans slabs[span]
	freeAttrs slabs[attr]

	// scratch of release
	all, batches, steps []*span
	path                []*span // the critical path of the task being released
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

// Stats counts what releases emitted since the last take.
type Stats struct {
	Spans      int64            // spans emitted
	Unfinished map[string]int64 // spans emitted without a start or an end, by release reason
	Orphans    int64            // span events whose span was never seen
	Duplicates int64            // spans and span events dropped as already emitted
	Kept       int64            // tasks emitted whole although their routes sampled some of their events out
	SampledOut int64            // spans and span events dropped because their routes sampled them out
	// Settle (with Config.Journal) are the storage changes the releases
	// make: deleted snapshots and written or expired tombstones. Apply them
	// once the released spans were delivered.
	Settle []Record
}

// Config times and bounds span assembly.
type Config struct {
	// SpanTimeout: a task's spans are released this long after its first
	// event, ended or not (unfinished spans are marked).
	SpanTimeout time.Duration
	// TaskEndGrace: a task's spans are released this long after its
	// terminal event, so that stragglers still join them.
	TaskEndGrace time.Duration
	// MaxPending bounds the spans and span events held; past it the oldest
	// task is released.
	MaxPending int
	// MaxTombstoneSpans bounds the spans remembered by tombstones; past it
	// the oldest tombstone is forgotten. 0: MaxPending.
	MaxTombstoneSpans int
	// Journal: keep track of what changed, for Dirty and Stats.Settle.
	Journal bool
	// KeepFailed and KeepSlowerThan (when positive) keep a task whole,
	// events its routes sampled out included, when it ended failed or took
	// longer; otherwise those events are dropped at its release. Events are
	// only marked sampled out (Event.SampledOut) when one of them is set.
	KeepFailed     bool
	KeepSlowerThan time.Duration
}

// Redactor redacts the resources spans are emitted with.
type Redactor interface {
	NeedsRedaction(pcommon.Map) bool
	RedactMap(pcommon.Map)
}

// New returns an assembler; redact (which may be nil) filters the
// resources of emitted spans.
func New(cfg Config, redact Redactor) *Assembler {
	return &Assembler{
		timeout:        cfg.SpanTimeout,
		grace:          cfg.TaskEndGrace,
		maxPending:     cfg.MaxPending,
		base:           time.Now(),
		tasks:          map[pcommon.TraceID]*taskState{},
		tombs:          map[pcommon.TraceID]*tombstone{},
		maxTombSpans:   cmp.Or(cfg.MaxTombstoneSpans, cfg.MaxPending),
		journal:        cfg.Journal,
		keepFailed:     cfg.KeepFailed,
		keepSlowerThan: cfg.KeepSlowerThan,
		resources:      newResTable(redact),
		out:            ptrace.NewTraces(),
		stats:          Stats{Unfinished: map[string]int64{}},
	}
}

// since turns a time into the Assembler's clock. Both carry a monotonic
// reading when they come from time.Now, so this is the same comparison
// time.Time.Before makes.
func (a *Assembler) since(t time.Time) time.Duration { return t.Sub(a.base) }

// Take returns what releases produced since the last call.
func (a *Assembler) Take() (ptrace.Traces, Stats) {
	out, st := a.out, a.stats
	a.out = ptrace.NewTraces()
	a.stats = Stats{Unfinished: map[string]int64{}}
	a.lastRes, a.lastSpans, a.lastCap = nil, ptrace.SpanSlice{}, 0
	return out, st
}

// Trim drops the parts of released tasks kept for reuse.
func (a *Assembler) Trim() {
	a.freeTasks, a.freeTaskX = nil, nil
	a.freeSpans, a.freeAttrs = slabs[span]{}, slabs[attr]{}
}

// Pending is the number of spans and span events held; it may be called
// concurrently with the other methods.
func (a *Assembler) Pending() int64 { return a.pendingObs.Load() }

// ResourceSlot is the resource of one ResourceLogs of a batch, looked up in the
// resource table at most once per batch.
type ResourceSlot struct {
	res pcommon.Resource
	sh  *sharedRes
}

// NewResourceSlot returns the slot of events that came with res.
func NewResourceSlot(res pcommon.Resource) ResourceSlot { return ResourceSlot{res: res} }

// state returns the pending task of e, adding one if there is none.
func (a *Assembler) state(e *Event, rs *ResourceSlot, now time.Duration) *taskState {
	st := a.tasks[e.TraceID]
	if st != nil {
		return st
	}
	if n := len(a.freeTasks); n > 0 {
		st = a.freeTasks[n-1]
		a.freeTasks = a.freeTasks[:n-1]
	} else {
		st = &taskState{}
	}
	st.traceID = e.TraceID
	st.hold(e.TaskID)
	st.taskLen = uint32(len(e.TaskID))
	st.taskSpan = event.TaskSpanID(e.TaskID)
	if rs.sh == nil {
		rs.sh = a.resources.lookup(rs.res)
	}
	st.res = rs.sh
	st.res.refs++
	st.created, st.live = now, true
	a.tasks[e.TraceID] = st
	if a.tail == nil {
		a.head, a.tail = st, st
	} else {
		st.prev, a.tail.next, a.tail = a.tail, st, st
	}
	if _, ok := a.tombs[e.TraceID]; ok {
		// a late event of a task already emitted: what it adds goes out
		// after the grace period
		st.late = true
		a.markEnded(st, now)
	}
	return st
}

func (a *Assembler) markEnded(st *taskState, now time.Duration) {
	st.ended = true
	st.releaseAt = now + a.grace
	a.ended = append(a.ended, st)
}

// recycle returns a released task's state and slices for reuse. Its byte
// buffer is not reused: the emitted spans' strings are views into it.
func (a *Assembler) recycle(st *taskState) {
	a.resources.release(st.res)
	drop(&a.freeSpans, st.spans)
	drop(&a.freeAttrs, st.attrs)
	if x := st.x; x != nil && len(a.freeTaskX) < maxFreeTaskX && cap(x.events) <= maxRecycledEvents &&
		cap(x.out) <= maxRecycledEvents && cap(x.orch) <= maxRecycledEvents && cap(x.extras) <= maxRecycledEvents && cap(x.ids) <= maxRecycledEvents {
		*x = taskExtra{events: x.events[:0], out: x.out[:0], orch: x.orch[:0], extras: x.extras[:0], ids: x.ids[:0]} // the index is dropped
		a.freeTaskX = append(a.freeTaskX, x)
	}
	if len(a.freeTasks) >= maxFree {
		return
	}
	*st = taskState{}
	a.freeTasks = append(a.freeTasks, st)
}

// Add takes one event of a task (e.TaskID and e.TraceID set) that came
// with the resource of rs, at now, and enforces the pending bound.
func (a *Assembler) Add(e *Event, rs *ResourceSlot, now time.Time) {
	a.add(e, rs, a.since(now))
	a.afterAdd(now)
}

// afterAdd enforces the pending bound.
func (a *Assembler) afterAdd(wall time.Time) {
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

// Advance moves the clock to wall: ended tasks past their grace and tasks
// past the timeout are released (Take returns them).
func (a *Assembler) Advance(wall time.Time) {
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
	a.expireTombs(now)
	a.pendingObs.Store(int64(a.pending))
}

// Flush releases every task, ended or not.
func (a *Assembler) Flush(wall time.Time) {
	now := a.since(wall)
	for a.head != nil {
		a.release(a.head, reasonShutdown, now)
	}
	a.ended = nil
	a.pendingObs.Store(0)
}

func (a *Assembler) unlink(st *taskState) {
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
