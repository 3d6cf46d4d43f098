package eventrouter // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter"

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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

// span is one span being assembled.
type span struct {
	id, parent         pcommon.SpanID
	role               event.Role
	name               string
	provisional        bool // the name lacks the task or step name
	kind               ptrace.SpanKind
	start, end         pcommon.Timestamp
	startPrio, endPrio int8
	status             ptrace.StatusCode
	message            string
	stepID             string
	attempt            int64
	stepIDs            []string
	attrs              []kv
	events             []heldEvent
	failed             bool
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

// setAttrs merges attributes: a higher priority overwrites, ties keep the
// smaller value, so the result does not depend on arrival order.
func (s *span) setAttrs(attrs []kv, prio int8) {
outer:
	for _, a := range attrs {
		switch a.id {
		case keyFromState, keyToState:
			continue // transitions are span events
		}
		a.prio = prio
		for i := range s.attrs {
			if s.attrs[i].id == a.id && (a.id != keyUnknown || s.attrs[i].key == a.key) {
				if prio > s.attrs[i].prio || (prio == s.attrs[i].prio && a.less(s.attrs[i])) {
					s.attrs[i] = a
				}
				continue outer
			}
		}
		s.attrs = append(s.attrs, a)
	}
}

func (s *span) setAttr(a kv) { s.setAttrs([]kv{a}, 9) }

// heldEvent becomes a span event on its target span.
type heldEvent struct {
	target pcommon.SpanID
	name   string
	ts     pcommon.Timestamp
	attrs  []kv
}

// orchMark is one start or end of an orchestration pass.
type orchMark struct {
	orch   uint8
	start  bool
	failed bool
	ts     pcommon.Timestamp
	attrs  []kv
}

// taskState holds the spans of one task until they can be emitted.
type taskState struct {
	traceID   pcommon.TraceID
	taskID    string
	rs        ptrace.ResourceSpans // resource of the first event seen
	spans     map[pcommon.SpanID]*span
	events    []heldEvent
	orch      []orchMark
	items     int
	created   time.Time
	ended     bool
	releaseAt time.Time
	lastTS    pcommon.Timestamp
	live      bool
	arena     []kv // backing store of held event attributes
	prev      *taskState
	next      *taskState
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

	tasks      map[pcommon.TraceID]*taskState
	head, tail *taskState // by creation, oldest first
	ended      []*taskState
	tombs      map[pcommon.TraceID]time.Time
	tombOrder  []pcommon.TraceID
	pending    int
	pendingObs atomic.Int64

	out   ptrace.Traces
	stats releaseStats

	// released spans and task states are reused: the assembler would
	// otherwise allocate them afresh for every task
	freeSpans []*span
	freeTasks []*taskState
}

const maxFree = 4096

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
		tasks:      map[pcommon.TraceID]*taskState{},
		tombs:      map[pcommon.TraceID]time.Time{},
		out:        ptrace.NewTraces(),
		stats:      releaseStats{unfinished: map[string]int64{}},
	}
}

// take returns what releases produced since the last call.
func (a *assembler) take() (ptrace.Traces, releaseStats) {
	out, st := a.out, a.stats
	a.out = ptrace.NewTraces()
	a.stats = releaseStats{unfinished: map[string]int64{}}
	return out, st
}

func (a *assembler) pendingItems() int64 { return a.pendingObs.Load() }

func (a *assembler) state(e *evt, res pcommon.Resource, f *keyFilter, now time.Time) *taskState {
	st := a.tasks[e.traceID]
	if st != nil {
		return st
	}
	if n := len(a.freeTasks); n > 0 {
		st = a.freeTasks[n-1]
		a.freeTasks = a.freeTasks[:n-1]
	} else {
		st = &taskState{spans: make(map[pcommon.SpanID]*span, 16)}
	}
	st.traceID, st.taskID = e.traceID, e.taskID
	st.rs = ptrace.NewResourceSpans()
	st.created, st.live = now, true
	res.CopyTo(st.rs.Resource())
	f.redactMap(st.rs.Resource().Attributes())
	a.tasks[e.traceID] = st
	if a.tail == nil {
		a.head, a.tail = st, st
	} else {
		st.prev, a.tail.next, a.tail = a.tail, st, st
	}
	if until, ok := a.tombs[e.traceID]; ok && now.Before(until) {
		// a late event of a task that already ended and was emitted
		a.markEnded(st, now)
	}
	return st
}

func (a *assembler) markEnded(st *taskState, now time.Time) {
	st.ended = true
	st.releaseAt = now.Add(a.grace)
	a.ended = append(a.ended, st)
}

func (a *assembler) newSpan(id pcommon.SpanID, role event.Role) *span {
	var sp *span
	if n := len(a.freeSpans); n > 0 {
		sp = a.freeSpans[n-1]
		a.freeSpans = a.freeSpans[:n-1]
		*sp = span{attrs: sp.attrs[:0], events: sp.events[:0], stepIDs: sp.stepIDs[:0]}
	} else {
		sp = &span{}
	}
	sp.id, sp.role, sp.kind = id, role, ptrace.SpanKindInternal
	return sp
}

// recycle returns a released task's state and spans for reuse.
func (a *assembler) recycle(st *taskState) {
	for id, sp := range st.spans {
		if len(a.freeSpans) < maxFree {
			a.freeSpans = append(a.freeSpans, sp)
		}
		delete(st.spans, id)
	}
	if len(a.freeTasks) < maxFree && len(st.arena) < 1024 {
		clear(st.events)
		*st = taskState{spans: st.spans, events: st.events[:0], orch: st.orch[:0], arena: st.arena[:0]}
		a.freeTasks = append(a.freeTasks, st)
	}
}

// keep copies attributes into the task's arena, so held events do not each
// allocate their own slice.
func (st *taskState) keep(attrs []kv) []kv {
	start := len(st.arena)
	st.arena = append(st.arena, attrs...)
	return st.arena[start:len(st.arena):len(st.arena)]
}

func (a *assembler) getSpan(st *taskState, id pcommon.SpanID, role event.Role) *span {
	if sp := st.spans[id]; sp != nil {
		return sp
	}
	sp := a.newSpan(id, role)
	st.spans[id] = sp
	st.items++
	a.pending++
	return sp
}

func (a *assembler) hold(st *taskState, he heldEvent) {
	st.events = append(st.events, he)
	st.items++
	a.pending++
}

// add takes one event; the caller holds a.mu.
func (a *assembler) add(e *evt, res pcommon.Resource, f *keyFilter, now time.Time) {
	st := a.state(e, res, f, now)
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
		sp.setAttrs(e.attrs, 1)
	case kindTaskEnd:
		sp := a.taskSpan(st, e)
		sp.setStart(e.startedAt, prioTerminal)
		sp.setEnd(firstNonZero(e.completedAt, e.ts), prioTerminal)
		sp.setAttrs(e.attrs, 3)
		sp.setAttr(knownStr(keyTaskOutcome, e.info.outcome))
		if e.info.failed {
			a.fail(st, sp, e, false)
		}
		if !st.ended || now.Add(a.grace).After(st.releaseAt) {
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
			sp.setAttrs(e.attrs, 1)
		case kindBeforeHandle:
			sp.setStart(e.startedAt, prioStartedAt)
			sp.setAttrs(e.attrs, 1)
			h := a.getSpan(st, event.SpanID(event.RoleHandler, task, e.stepID, e.attempt), event.RoleHandler)
			setName(h, "handle ", e.stepName, e.stepID)
			h.stepID, h.attempt = e.stepID, e.attempt
			h.setStart(e.ts, prioTerminal)
			h.setAttrs(e.attrs, 1)
		case kindStepEnd:
			sp.setStart(e.startedAt, prioTerminal)
			sp.setEnd(firstNonZero(e.completedAt, e.ts), prioTerminal)
			sp.setAttrs(e.attrs, 3)
			sp.setAttr(knownStr(keyStepOutcome, e.info.outcome))
			if e.info.failed {
				a.fail(st, sp, e, true)
			}
		}
	case kindBatch:
		var b strings.Builder
		b.WriteString(strconv.FormatUint(uint64(e.ts), 10))
		b.WriteByte('/')
		for i, id := range e.stepIDs {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(id)
		}
		sp := a.getSpan(st, event.SpanID(event.RoleBatch, task, b.String(), 0), event.RoleBatch)
		sp.name = "step batch"
		sp.setStart(e.ts, prioTerminal)
		sp.setEnd(e.ts, prioTimestamp) // grows to the end of its steps
		if len(sp.stepIDs) == 0 {
			sp.stepIDs = append(sp.stepIDs, e.stepIDs...)
		}
		sp.setAttrs(e.attrs, 3)
	case kindOrchStart, kindOrchEnd:
		st.orch = append(st.orch, orchMark{
			orch: e.info.orch, start: e.info.kind == kindOrchStart, failed: e.info.failed,
			ts: e.ts, attrs: st.keep(e.attrs),
		})
		st.items++
		a.pending++
	case kindEnqueue:
		entity := e.job + "@" + strconv.FormatUint(uint64(e.ts), 10)
		sp := a.getSpan(st, event.SpanID(event.RoleEnqueue, task, entity, 0), event.RoleEnqueue)
		sp.name = "enqueue " + firstNonEmpty(e.queue, "task")
		sp.kind = ptrace.SpanKindProducer
		sp.setStart(e.ts, prioTerminal)
		sp.setEnd(e.ts, prioTerminal)
		sp.setAttrs(e.attrs, 3)
		if e.queue != "" {
			sp.setAttr(knownStr(keyMessagingDestination, e.queue))
		}
		if e.job != "" {
			sp.setAttr(knownStr(keyMessagingMessageID, e.job))
		}
	case kindDB:
		id := e.spanID
		if id.IsEmpty() {
			id = event.DBSpanID(task, e.stepID, "", strconv.FormatUint(uint64(e.ts), 10), e.dbText)
		}
		sp := a.getSpan(st, id, event.RoleDB)
		sp.name = dbSpanName(e)
		sp.kind = ptrace.SpanKindClient
		sp.stepID = e.stepID
		start, end := timedSpan(e)
		sp.setStart(start, prioTerminal)
		sp.setEnd(end, prioTerminal)
		sp.setAttrs(e.attrs, 3)
	case kindDependency:
		if e.startedAt == 0 && !e.hasDuration {
			a.instant(st, e)
			return
		}
		sp := a.getSpan(st, event.SpanID(event.RoleDependency, task, e.stepID+"@"+strconv.FormatUint(uint64(e.ts), 10), 0), event.RoleDependency)
		sp.name = "resolve dependencies"
		sp.stepID = e.stepID
		start, end := timedSpan(e)
		sp.setStart(start, prioTerminal)
		sp.setEnd(end, prioTerminal)
		sp.setAttrs(e.attrs, 3)
	default:
		a.instant(st, e)
		return
	}
	if e.fromState != "" || e.toState != "" {
		a.instant(st, e) // the transition is also a span event
	}
}

func (a *assembler) taskSpan(st *taskState, e *evt) *span {
	sp := a.getSpan(st, event.TaskSpanID(st.taskID), event.RoleTask)
	setName(sp, "task ", e.taskName, "")
	return sp
}

// setName names a span prefix+name, or prefix+fallback until a name is
// known, without building the string again for every event.
func setName(sp *span, prefix, name, fallback string) {
	if name == "" {
		if sp.name == "" {
			sp.name = strings.TrimSpace(prefix + fallback)
			sp.provisional = true
		}
		return
	}
	if sp.provisional || len(sp.name) != len(prefix)+len(name) || sp.name[len(prefix):] != name {
		sp.name = prefix + name
		sp.provisional = false
	}
}

func (a *assembler) stepSpan(st *taskState, e *evt) *span {
	sp := a.getSpan(st, event.StepSpanID(st.taskID, e.stepID, e.attempt), event.RoleStep)
	setName(sp, "step ", e.stepName, e.stepID)
	sp.stepID, sp.attempt = e.stepID, e.attempt
	return sp
}

// fail sets the error status and, for step attempts, the exception event.
func (a *assembler) fail(st *taskState, sp *span, e *evt, exception bool) {
	sp.failed = true
	sp.status = ptrace.StatusCodeError
	sp.message = firstNonEmpty(e.errMessage, e.errType, e.info.outcome)
	if e.errType != "" {
		sp.setAttr(knownStr(keyErrorType, e.errType))
	}
	if !exception || (e.errType == "" && e.errMessage == "") {
		return
	}
	start := len(st.arena)
	if e.errType != "" {
		st.arena = append(st.arena, knownStr(keyExceptionType, e.errType))
	}
	if e.errMessage != "" {
		st.arena = append(st.arena, knownStr(keyExceptionMessage, e.errMessage))
	}
	if e.stacktrace != "" {
		st.arena = append(st.arena, knownStr(keyStacktrace, e.stacktrace))
	}
	attrs := st.arena[start:len(st.arena):len(st.arena)]
	a.hold(st, heldEvent{target: sp.id, name: "exception", ts: firstNonZero(e.completedAt, e.ts), attrs: attrs})
}

// instant holds an event as a span event of its step attempt, else its task.
func (a *assembler) instant(st *taskState, e *evt) {
	target := event.TaskSpanID(st.taskID)
	if e.stepID != "" {
		target = event.StepSpanID(st.taskID, e.stepID, e.attempt)
	}
	start := len(st.arena)
	for _, x := range e.attrs {
		switch x.id {
		case keyTaskID, keyTaskName, keyStepID, keyStepName, keyRetryLimit, keyCorrelationID:
			continue // already on the span
		}
		st.arena = append(st.arena, x)
	}
	if e.errType != "" {
		st.arena = append(st.arena, knownStr(keyErrorType, e.errType))
	}
	if e.errMessage != "" {
		st.arena = append(st.arena, knownStr(keyErrorMessage, e.errMessage))
	}
	attrs := st.arena[start:len(st.arena):len(st.arena)]
	a.hold(st, heldEvent{target: target, name: e.name, ts: e.ts, attrs: attrs})
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

func dbSpanName(e *evt) string {
	switch {
	case e.dbOp != "" && e.dbTable != "":
		return e.dbOp + " " + e.dbTable
	case e.dbOp != "":
		return e.dbOp
	}
	return "db query"
}

// afterAdd enforces the pending bound; the caller holds a.mu.
func (a *assembler) afterAdd(now time.Time) {
	for a.pending > a.maxPending && a.head != nil {
		a.release(a.head, reasonEvicted, now)
	}
	a.pendingObs.Store(int64(a.pending))
}

// tick releases ended tasks past their grace and tasks past the timeout.
func (a *assembler) tick(now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, st := range a.ended {
		if !st.live || !st.ended {
			continue
		}
		if now.Before(st.releaseAt) {
			a.ended[n] = st
			n++
			continue
		}
		a.release(st, reasonTaskEnd, now)
	}
	clear(a.ended[n:])
	a.ended = a.ended[:n]
	for a.head != nil && !now.Before(a.head.created.Add(a.timeout)) {
		a.release(a.head, reasonTimeout, now)
	}
	for len(a.tombOrder) > 0 {
		id := a.tombOrder[0]
		if until, ok := a.tombs[id]; ok && now.Before(until) {
			break
		}
		delete(a.tombs, id)
		a.tombOrder = a.tombOrder[1:]
	}
	a.pendingObs.Store(int64(a.pending))
}

// flush releases everything (shutdown).
func (a *assembler) flush(now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
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
	a.pending -= st.items
}

func (a *assembler) tomb(st *taskState, now time.Time) {
	if _, ok := a.tombs[st.traceID]; !ok {
		a.tombOrder = append(a.tombOrder, st.traceID)
	}
	a.tombs[st.traceID] = now.Add(a.timeout)
	for len(a.tombOrder) > a.maxPending {
		delete(a.tombs, a.tombOrder[0])
		a.tombOrder = a.tombOrder[1:]
	}
}

// release resolves the parents of a task's spans and appends them to the
// output; the caller holds a.mu.
func (a *assembler) release(st *taskState, reason string, now time.Time) {
	a.unlink(st)
	if st.ended {
		a.tomb(st, now)
	}
	task := st.taskID
	taskID := event.TaskSpanID(task)
	a.buildOrchestration(st)

	var batches, steps, dbs []*span
	all := make([]*span, 0, len(st.spans))
	for _, sp := range st.spans {
		all = append(all, sp)
		switch sp.role {
		case event.RoleBatch:
			batches = append(batches, sp)
		case event.RoleStep:
			steps = append(steps, sp)
		case event.RoleDB:
			dbs = append(dbs, sp)
		}
	}
	slices.SortFunc(all, func(x, y *span) int {
		if x.start != y.start {
			if x.start < y.start {
				return -1
			}
			return 1
		}
		return compareIDs(x.id, y.id)
	})
	slices.SortFunc(batches, func(x, y *span) int {
		if x.start != y.start {
			if x.start < y.start {
				return -1
			}
			return 1
		}
		return compareIDs(x.id, y.id)
	})

	// step attempts go under the latest batch that listed their step before
	// they started (retries stay there unless a later batch lists the step)
	for _, sp := range steps {
		sp.parent = taskID
		var chosen *span
		for _, b := range batches {
			if !slices.Contains(b.stepIDs, sp.stepID) {
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
		case event.RoleTask:
			sp.parent = pcommon.NewSpanIDEmpty()
		case event.RoleHandler:
			stepID := event.StepSpanID(task, sp.stepID, sp.attempt)
			sp.parent = stepID
			if step := st.spans[stepID]; step != nil {
				sp.setEnd(step.end, step.endPrio)
				if step.failed {
					sp.status, sp.message = ptrace.StatusCodeError, step.message
				}
			}
		case event.RoleDB:
			a.parentDB(st, sp, steps)
		case event.RoleStep:
		default:
			sp.parent = taskID
		}
	}
	for _, he := range st.events {
		target := st.spans[he.target]
		if target == nil {
			target = st.spans[taskID]
		}
		if target == nil {
			a.stats.orphans++
			continue
		}
		target.events = append(target.events, he)
	}
	a.emit(st, all, reason)
	a.recycle(st)
}

// parentDB puts a query under the attempt of its step that was running when
// it started: the attempt's handler span when there is one, else the
// attempt span. With no attempt of the step known it goes under the task.
func (a *assembler) parentDB(st *taskState, db *span, steps []*span) {
	db.parent = event.TaskSpanID(st.taskID)
	var best *span
	for _, sp := range steps {
		if sp.stepID != db.stepID || sp.startPrio == 0 || sp.start > db.start {
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
	db.setAttr(knownInt(keyStepAttempt, best.attempt))
	if h := st.spans[event.SpanID(event.RoleHandler, st.taskID, best.stepID, best.attempt)]; h != nil && h.start <= db.start {
		db.parent = h.id
	}
}

// buildOrchestration pairs the starts and ends of orchestration passes in
// time order into spans.
func (a *assembler) buildOrchestration(st *taskState) {
	if len(st.orch) == 0 {
		return
	}
	slices.SortFunc(st.orch, func(x, y orchMark) int {
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
		for i, m := range st.orch {
			if int(m.orch) != o {
				continue
			}
			if m.start {
				open = append(open, i)
				continue
			}
			if len(open) == 0 {
				a.orchSpan(st, nil, &st.orch[i])
				continue
			}
			a.orchSpan(st, &st.orch[open[0]], &st.orch[i])
			open = open[1:]
		}
		for _, i := range open {
			a.orchSpan(st, &st.orch[i], nil)
		}
	}
}

func (a *assembler) orchSpan(st *taskState, start, end *orchMark) {
	ref := start
	if ref == nil {
		ref = end
	}
	entity := orchNames[ref.orch] + "@" + strconv.FormatUint(uint64(ref.ts), 10)
	sp := a.newSpan(event.SpanID(event.RoleOrchestration, st.taskID, entity, 0), event.RoleOrchestration)
	sp.name = orchNames[ref.orch]
	if start != nil {
		sp.setStart(start.ts, prioTerminal)
		sp.setAttrs(start.attrs, 1)
	}
	if end != nil {
		sp.setEnd(end.ts, prioTerminal)
		sp.setAttrs(end.attrs, 3)
		if end.failed {
			sp.failed, sp.status, sp.message = true, ptrace.StatusCodeError, "failed"
		}
	}
	st.spans[sp.id] = sp
}

// emit appends a task's spans to the output.
func (a *assembler) emit(st *taskState, spans []*span, reason string) {
	if len(spans) == 0 {
		return
	}
	rs := a.out.ResourceSpans().AppendEmpty()
	st.rs.MoveTo(rs)
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName(metadata.ScopeName)
	out := ss.Spans()
	out.EnsureCapacity(len(spans))
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
		s.SetName(sp.name)
		s.SetKind(sp.kind)
		s.SetStartTimestamp(sp.start)
		s.SetEndTimestamp(sp.end)
		if sp.status != ptrace.StatusCodeUnset {
			s.Status().SetCode(sp.status)
			s.Status().SetMessage(sp.message)
		}
		attrs := s.Attributes()
		attrs.EnsureCapacity(len(sp.attrs) + 2)
		for _, x := range sp.attrs {
			x.putTo(attrs)
		}
		if len(sp.stepIDs) > 0 {
			ids := attrs.PutEmptySlice("tasker.batch.step_ids")
			ids.EnsureCapacity(len(sp.stepIDs))
			for _, id := range sp.stepIDs {
				ids.AppendEmpty().SetStr(id)
			}
		}
		if unfinished {
			attrs.PutBool(AttrUnfinished, true)
		}
		if len(sp.events) > 0 {
			slices.SortStableFunc(sp.events, func(x, y heldEvent) int {
				if x.ts != y.ts {
					if x.ts < y.ts {
						return -1
					}
					return 1
				}
				return strings.Compare(x.name, y.name)
			})
			evs := s.Events()
			evs.EnsureCapacity(len(sp.events))
			for _, he := range sp.events {
				ev := evs.AppendEmpty()
				ev.SetName(he.name)
				ev.SetTimestamp(he.ts)
				ev.Attributes().EnsureCapacity(len(he.attrs))
				for _, x := range he.attrs {
					x.putTo(ev.Attributes())
				}
			}
		}
	}
	a.stats.spans += int64(len(spans))
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
