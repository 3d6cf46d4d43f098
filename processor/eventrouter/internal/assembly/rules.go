// Rules of span assembly: what each event does to its task's spans, and how
// competing values are chosen. They are kept apart from the memory layout
// (task.go, attrs.go, strings.go).

package assembly // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/assembly"

import (
	"strconv"
	"strings"
	"time"

	"github.com/otelcol-tasker/otelcol-tasker/internal/bytestr"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

// AttrUnfinished marks a span emitted before its start or end was seen.
const AttrUnfinished = "tasker.span.unfinished"

// AttrStartFromDuration marks a span whose start was not reported: it is
// its end less the duration its terminal event gave.
const AttrStartFromDuration = "tasker.span.start_from_duration"

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
	prioDuration  int8 = 1 // a terminal event's end less its duration
	prioTimestamp int8 = 2 // the event's own timestamp
	prioStartedAt int8 = 3 // started_at of a start event
	prioTerminal  int8 = 4 // the terminal event
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

func (a *Assembler) add(e *Event, rs *ResourceSlot, now time.Duration) {
	a.sampledOut = e.SampledOut
	st := a.state(e, rs, now)
	if a.journal && !st.dirty {
		st.dirty = true
		a.dirtyIDs = append(a.dirtyIDs, st.traceID)
	}
	if e.TS > st.lastTS {
		st.lastTS = e.TS
	}
	task := e.TaskID
	switch e.Info.kind {
	case kindTaskInit, kindTaskStart:
		sp := a.taskSpan(st, e)
		if e.Info.kind == kindTaskStart && e.StartedAt != 0 {
			sp.setStart(e.StartedAt, prioStartedAt)
		} else {
			sp.setStart(e.TS, prioTimestamp)
		}
		a.setAttrs(st, sp, e.Attrs, 1)
	case kindTaskEnd:
		sp := a.taskSpan(st, e)
		terminalTimes(sp, e)
		a.setAttrs(st, sp, e.Attrs, 3)
		a.setAttr(st, sp, knownStr(KeyTaskOutcome, e.Info.outcome))
		if e.Info.failed {
			a.fail(st, sp, e, false)
		}
		if !st.ended || now+a.grace > st.releaseAt {
			a.markEnded(st, now)
		}
	case kindStepStart, kindBeforeHandle, kindStepEnd:
		if e.StepID == "" {
			a.instant(st, e)
			return
		}
		sp := a.stepSpan(st, e)
		switch e.Info.kind {
		case kindStepStart:
			if e.StartedAt != 0 {
				sp.setStart(e.StartedAt, prioStartedAt)
			} else {
				sp.setStart(e.TS, prioTimestamp)
			}
			a.setAttrs(st, sp, e.Attrs, 1)
		case kindBeforeHandle:
			sp.setStart(e.StartedAt, prioStartedAt)
			a.setAttrs(st, sp, e.Attrs, 1)
			stepID, attempt := sp.stepID, sp.attempt // sp is not valid once h is added
			h := a.stepEntity(st, roleHandler, e.StepID, e.Attempt)
			if h == nil {
				h = a.getSpan(st, event.SpanID(event.RoleHandler, task, e.StepID, e.Attempt), roleHandler)
			} else {
				a.touch(h)
			}
			h.stepID, h.attempt = stepID, attempt // the step's held id
			a.setName(st, h, e.StepName, stepID)
			h.setStart(e.TS, prioTerminal)
			a.setAttrs(st, h, e.Attrs, 1)
		case kindStepEnd:
			terminalTimes(sp, e)
			a.setAttrs(st, sp, e.Attrs, 3)
			a.setAttr(st, sp, knownStr(KeyStepOutcome, e.Info.outcome))
			if e.Info.failed {
				a.fail(st, sp, e, true)
			}
		}
	case kindBatch:
		b := strconv.AppendUint(a.idBuf[:0], uint64(e.TS), 10)
		b = append(b, '/')
		for i, id := range e.StepIDs {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, id...)
		}
		a.idBuf = b
		sp := a.getSpan(st, event.SpanIDBytes(event.RoleBatch, task, b, 0), roleBatch)
		sp.label = a.intern(st, "step batch")
		sp.setStart(e.TS, prioTerminal)
		sp.setEnd(e.TS, prioTimestamp) // grows to the end of its steps
		if len(st.stepIDs(sp)) == 0 && len(e.StepIDs) > 0 {
			a.keepStepIDs(st, sp, e.StepIDs)
		}
		a.setAttrs(st, sp, e.Attrs, 3)
	case kindOrchStart, kindOrchEnd:
		from, to := a.keep(st, e.Attrs)
		x := a.taskExtra(st)
		x.orch = append(x.orch, orchMark{
			orch: e.Info.orch, start: e.Info.kind == kindOrchStart, failed: e.Info.failed,
			ts: e.TS, from: from, to: to, sampledOut: a.sampledOut,
		})
		st.sampled = st.sampled || a.sampledOut
		st.items++
		a.pending++
	case kindEnqueue:
		sp := a.getSpan(st, event.SpanIDBytes(event.RoleEnqueue, task, a.entityAt(e.Job, e.TS), 0), roleEnqueue)
		sp.label = a.intern(st, firstNonEmpty(e.Queue, "task"))
		sp.kind = uint8(ptrace.SpanKindProducer)
		sp.setStart(e.TS, prioTerminal)
		sp.setEnd(e.TS, prioTerminal)
		a.setAttrs(st, sp, e.Attrs, 3)
		if e.Queue != "" {
			a.setAttr(st, sp, knownStr(KeyMessagingDestination, e.Queue))
		}
		if e.Job != "" {
			a.setAttr(st, sp, knownStr(KeyMessagingMessageID, e.Job))
		}
	case kindDB:
		id := e.SpanID
		if id.IsEmpty() {
			id = event.DBSpanID(task, e.StepID, "", strconv.FormatUint(uint64(e.TS), 10), e.DBText)
		}
		sp := a.getSpan(st, id, roleDB)
		sp.label = a.dbSpanName(st, e)
		sp.kind = uint8(ptrace.SpanKindClient)
		a.setStepID(st, sp, e.StepID)
		start, end := timedSpan(e)
		sp.setStart(start, prioTerminal)
		sp.setEnd(end, prioTerminal)
		a.setAttrs(st, sp, e.Attrs, 3)
	case kindDependency:
		if e.StartedAt == 0 && !e.HasDuration {
			a.instant(st, e)
			return
		}
		sp := a.getSpan(st, event.SpanIDBytes(event.RoleDependency, task, a.entityAt(e.StepID, e.TS), 0), roleDependency)
		sp.label = a.intern(st, "resolve dependencies")
		a.setStepID(st, sp, e.StepID)
		start, end := timedSpan(e)
		sp.setStart(start, prioTerminal)
		sp.setEnd(end, prioTerminal)
		a.setAttrs(st, sp, e.Attrs, 3)
	default:
		a.instant(st, e)
		return
	}
	if e.FromState != "" || e.ToState != "" {
		a.instant(st, e) // the transition is also a span event
	}
}

// entityAt builds the entity id "name@ts" in a.idBuf.
func (a *Assembler) entityAt(name string, ts pcommon.Timestamp) []byte {
	a.idBuf = strconv.AppendUint(append(append(a.idBuf[:0], name...), '@'), uint64(ts), 10)
	return a.idBuf
}

// keepStepIDs keeps the step ids of a batch span.
func (a *Assembler) keepStepIDs(st *taskState, sp *span, ids []string) {
	x := a.extra(st, sp)
	tx := st.x
	x.ids, x.nIDs = uint32(len(tx.ids)), uint32(len(ids))
	for _, id := range ids {
		tx.ids = append(tx.ids, st.hold(id))
	}
}

func (a *Assembler) taskSpan(st *taskState, e *Event) *span {
	sp := a.getSpan(st, st.taskSpan, roleTask)
	a.setName(st, sp, e.TaskName, ref{})
	return sp
}

// setName sets the label of a task, step or handler span: its name, or a
// fallback until the name is known.
func (a *Assembler) setName(st *taskState, sp *span, name string, fallback ref) {
	if name == "" {
		if sp.label.n == 0 && !sp.is(provisional) {
			sp.label = fallback
			sp.set(provisional, true)
		}
		return
	}
	if sp.is(provisional) || a.str(st, sp.label) != name {
		sp.label = a.intern(st, name)
		sp.set(provisional, false)
	}
}

// setStepID keeps the step id of a span, holding it again only when it
// changes.
func (a *Assembler) setStepID(st *taskState, sp *span, id string) {
	if a.str(st, sp.stepID) != id {
		sp.stepID = st.hold(id)
	}
}

func (a *Assembler) stepSpan(st *taskState, e *Event) *span {
	if sp := a.stepEntity(st, roleStep, e.StepID, e.Attempt); sp != nil {
		a.touch(sp)
		a.setName(st, sp, e.StepName, sp.stepID)
		return sp
	}
	sp := a.getSpan(st, event.StepSpanID(st.taskID(), e.StepID, e.Attempt), roleStep)
	a.setStepID(st, sp, e.StepID)
	sp.attempt = e.Attempt
	a.setName(st, sp, e.StepName, sp.stepID)
	return sp
}

// fail sets the error status and, for step attempts, the exception event.
func (a *Assembler) fail(st *taskState, sp *span, e *Event, exception bool) {
	a.failSpan(st, sp, st.hold(firstNonEmpty(e.ErrMessage, e.ErrType, e.Info.outcome)))
	if e.ErrType != "" {
		a.setAttr(st, sp, knownStr(KeyErrorType, e.ErrType))
	}
	if !exception || (e.ErrType == "" && e.ErrMessage == "") {
		return
	}
	var buf [3]KV
	ex := buf[:0]
	if e.ErrType != "" {
		ex = append(ex, knownStr(KeyExceptionType, e.ErrType))
	}
	if e.ErrMessage != "" {
		ex = append(ex, knownStr(KeyExceptionMessage, e.ErrMessage))
	}
	if e.Stacktrace != "" {
		ex = append(ex, knownStr(KeyStacktrace, e.Stacktrace))
	}
	from, to := a.keep(st, ex)
	a.hold(st, heldEvent{target: sp.id, name: a.intern(st, "exception"), ts: firstNonZero(e.CompletedAt, e.TS), from: from, to: to})
}

// instant holds an event as a span event of its step attempt, else its task.
func (a *Assembler) instant(st *taskState, e *Event) {
	target := st.taskSpan
	if e.StepID != "" {
		target = a.stepSpanID(st, e.StepID, e.Attempt)
	}
	from := uint32(len(st.attrs))
	for i := range e.Attrs {
		switch e.Attrs[i].id {
		case KeyTaskID, KeyTaskName, KeyStepID, KeyStepName, KeyRetryLimit, KeyCorrelationID:
			continue // already on the span
		}
		st.attrs = a.extendAttrs(st.attrs, 1)
		st.attrs[len(st.attrs)-1] = a.own(st, nil, &e.Attrs[i], 0)
	}
	if e.ErrType != "" {
		k := knownStr(KeyErrorType, e.ErrType)
		st.attrs = a.extendAttrs(st.attrs, 1)
		st.attrs[len(st.attrs)-1] = a.own(st, nil, &k, 0)
	}
	if e.ErrMessage != "" {
		k := knownStr(KeyErrorMessage, e.ErrMessage)
		st.attrs = a.extendAttrs(st.attrs, 1)
		st.attrs[len(st.attrs)-1] = a.own(st, nil, &k, 0)
	}
	a.hold(st, heldEvent{target: target, name: a.intern(st, e.Name), ts: e.TS, from: from, to: uint32(len(st.attrs))})
}

// terminalTimes sets the times a task's or an attempt's terminal event
// gives: its end, and its start from started_at, else from its duration
// (the weakest source: a start event's time wins over it).
func terminalTimes(sp *span, e *Event) {
	end := firstNonZero(e.CompletedAt, e.TS)
	sp.setEnd(end, prioTerminal)
	switch d := pcommon.Timestamp(e.Duration * 1e9); {
	case e.StartedAt != 0:
		sp.setStart(e.StartedAt, prioTerminal)
	case e.HasDuration && e.Duration >= 0 && end > d:
		sp.setStart(end-d, prioDuration)
	}
}

func timedSpan(e *Event) (start, end pcommon.Timestamp) {
	d := pcommon.Timestamp(e.Duration * 1e9)
	switch {
	case e.StartedAt != 0 && e.HasDuration:
		return e.StartedAt, e.StartedAt + d
	case e.StartedAt != 0:
		return e.StartedAt, firstNonZero(e.CompletedAt, e.TS)
	case e.HasDuration && e.TS > d:
		return e.TS - d, e.TS
	}
	return e.TS, e.TS
}

func (a *Assembler) dbSpanName(st *taskState, e *Event) ref {
	switch {
	case e.DBOp != "" && e.DBTable != "":
		a.nameBuf = append(append(append(a.nameBuf[:0], e.DBOp...), ' '), e.DBTable...)
		return a.intern(st, bytestr.View(a.nameBuf))
	case e.DBOp != "":
		return a.intern(st, e.DBOp)
	}
	return a.intern(st, "db query")
}

// spanName is the emitted name of a span; names repeat from task to task,
// so they are symbols.
func (a *Assembler) spanName(st *taskState, sp *span) string {
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

// setAttrs merges attributes: a higher priority overwrites, ties keep the
// smaller value, so the result does not depend on arrival order.
func (a *Assembler) setAttrs(st *taskState, sp *span, attrs []KV, prio int8) {
	if sp.attrCap == 0 {
		a.attrRoom(st, sp, len(attrs)) // the first event's attributes, exactly
	}
outer:
	for i := range attrs {
		in := &attrs[i]
		switch in.id {
		case KeyFromState, KeyToState:
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

func (a *Assembler) setAttr(st *taskState, sp *span, in KV) {
	a.setAttrs(st, sp, []KV{in}, 9)
}

// mergeHeld merges attributes already held (of an orchestration mark,
// st.attrs[from:to]).
func (a *Assembler) mergeHeld(st *taskState, sp *span, from, to uint32, prio int8) {
outer:
	for k := from; k < to; k++ {
		in := st.attrs[k]
		switch in.id {
		case KeyFromState, KeyToState:
			continue // transitions are span events
		}
		in.prio = prio
		held := st.attrsOf(sp)
		for j := range held {
			x := &held[j]
			if x.id != in.id || (in.id == KeyUnknown && a.key(st, x) != a.key(st, &in)) {
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
