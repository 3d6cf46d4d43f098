// Parenting rules, applied when a task is released: which span each span
// goes under.

package assembly // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/assembly"

import (
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

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
func (a *Assembler) release(st *taskState, reason string, now time.Duration) {
	a.unlink(st)
	if a.journal && st.stored {
		a.stats.Settle = append(a.stats.Settle, Record{Key: taskKey(a.createdAt(st), st.traceID)})
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
				if step.is(failed) {
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

	// what only sampled-out events made goes out only with a task kept whole
	keepAll := true
	if st.sampled {
		if keepAll = a.keepWhole(st); keepAll {
			a.stats.Kept++
		} else {
			all = a.dropSampledOut(all)
		}
	}

	// a task emitted before gives only what it did not emit complete
	var tomb *tombstone
	if st.late {
		if tomb = a.tombs[st.traceID]; tomb != nil {
			all = a.keepLate(st, tomb, all)
		}
	}

	// span events go to their target span, else the task span; they are
	// sorted by target, then time and name (stable: arrival order breaks
	// the remaining ties), so each span's events are one run
	evs := a.evs[:0]
	if st.x != nil {
		var taskSpan *span
		held := st.x.events
		if keepAll && len(st.x.out) > 0 {
			held = append(slices.Clip(held), st.x.out...)
		} else {
			a.stats.SampledOut += int64(len(st.x.out))
		}
		for _, he := range held {
			target := st.find(he.target)
			if target == nil && tomb != nil && tomb.find(he.target) >= 0 {
				a.stats.Duplicates++ // its span went out before
				continue
			}
			if target == nil {
				if taskSpan == nil {
					taskSpan = st.find(taskID)
				}
				target = taskSpan
			}
			if target == nil {
				a.stats.Orphans++
				continue
			}
			if target.is(dup) {
				a.stats.Duplicates++
				continue
			}
			if !keepAll && target.is(sampledOut) {
				a.stats.SampledOut++
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
	a.path = a.path[:0]
	if !st.late {
		a.criticalPath(steps)
	}
	a.emit(st, all, evs, reason)
	clear(a.path)
	a.entomb(st, tomb, all, now)
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
func (a *Assembler) parentDB(st *taskState, db *span, steps []*span) {
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
	a.setAttr(st, db, knownInt(KeyStepAttempt, best.attempt))
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
func (a *Assembler) buildOrchestration(st *taskState) {
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

func (a *Assembler) orchSpan(st *taskState, start, end *orchMark) {
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
	sp.set(sampledOut, (start == nil || start.sampledOut) && (end == nil || end.sampledOut))
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
func (a *Assembler) lists(st *taskState, b *span, stepID string) bool {
	for _, id := range st.stepIDs(b) {
		if a.str(st, id) == stepID {
			return true
		}
	}
	return false
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

// keepWhole reports whether a task is kept whole whatever its routes'
// sampling: it ended failed (with KeepFailed) or took longer than
// KeepSlowerThan.
func (a *Assembler) keepWhole(st *taskState) bool {
	t := st.find(st.taskSpan)
	switch {
	case t == nil:
		return false
	case a.keepFailed && t.is(failed):
		return true
	}
	return a.keepSlowerThan > 0 && t.startPrio > 0 && t.endPrio > 0 && time.Duration(t.end-t.start) > a.keepSlowerThan
}

// dropSampledOut removes the spans only sampled-out events made.
func (a *Assembler) dropSampledOut(all []*span) []*span {
	n := 0
	for _, sp := range all {
		if sp.is(sampledOut) {
			a.stats.SampledOut++
			continue
		}
		all[n] = sp
		n++
	}
	clear(all[n:])
	return all[:n]
}
