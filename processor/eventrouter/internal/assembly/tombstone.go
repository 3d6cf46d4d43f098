package assembly // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/assembly"

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

// A tombstone remembers what was emitted of a released task: each span's id,
// its parent and whether it was complete (17 bytes a span). It lives for the
// span timeout after the task's last release, so that events arriving late
// or twice (a sender's retry, a replayed queue, a restart) complete or add
// spans instead of emitting the same ones again.
type tombstone struct {
	traceID pcommon.TraceID
	until   time.Duration
	spans   []tombSpan
}

type tombSpan struct {
	id, parent pcommon.SpanID
	complete   bool
}

// tombEntry is one place in the expiry order; an entry whose until no
// longer matches its tombstone's was superseded by a later release.
type tombEntry struct {
	id    pcommon.TraceID
	until time.Duration
}

func (t *tombstone) find(id pcommon.SpanID) int {
	for i := range t.spans {
		if t.spans[i].id == id {
			return i
		}
	}
	return -1
}

func isComplete(sp *span) bool { return sp.startPrio > 0 && sp.endPrio > 0 }

// entomb records the spans just emitted of st. t is the task's tombstone
// when it had one (st.late), else nil: a task created with no tombstone of
// its trace gets none while it lives, so the common case takes no lookup.
func (a *Assembler) entomb(st *taskState, t *tombstone, emitted []*span, now time.Duration) {
	fresh := t == nil
	var oldKey string // of a tombstone that gets a new time
	if !fresh && a.journal {
		oldKey = a.tombKeyOf(t)
	}
	if fresh {
		t = &tombstone{traceID: st.traceID, spans: make([]tombSpan, 0, len(emitted))}
		a.tombs[st.traceID] = t
	}
	for _, sp := range emitted {
		ts := tombSpan{id: sp.id, parent: sp.parent, complete: isComplete(sp)}
		if !fresh { // a span emitted before is updated (ids are distinct within one release)
			if i := t.find(sp.id); i >= 0 {
				t.spans[i] = ts
				continue
			}
		}
		t.spans = append(t.spans, ts)
		a.tombSpans++
	}
	t.until = now + a.timeout
	a.tombOrder.push(tombEntry{id: t.traceID, until: t.until})
	if a.journal {
		key := a.tombKeyOf(t)
		if oldKey != "" && oldKey != key {
			a.stats.Settle = append(a.stats.Settle, Record{Key: oldKey})
		}
		a.stats.Settle = append(a.stats.Settle, Record{Key: key, Value: a.encodeTomb(t)})
	}
	for a.tombSpans > a.maxTombSpans && a.tombOrder.len() > 0 {
		a.expireTomb(true)
	}
}

// expireTombs drops tombstones past their time.
func (a *Assembler) expireTombs(now time.Duration) {
	for a.tombOrder.len() > 0 {
		e := a.tombOrder.front()
		if t := a.tombs[e.id]; t != nil && t.until == e.until && now < e.until {
			return
		}
		a.expireTomb(false)
	}
}

// expireTomb drops the oldest entry of the expiry order, and its tombstone
// unless a later release superseded the entry (or force).
func (a *Assembler) expireTomb(force bool) {
	e := a.tombOrder.pop()
	t := a.tombs[e.id]
	if t == nil || (t.until != e.until && !force) {
		return
	}
	delete(a.tombs, e.id)
	a.tombSpans -= len(t.spans)
	if a.journal {
		a.stats.Settle = append(a.stats.Settle, Record{Key: a.tombKeyOf(t)})
	}
}

// keepLate filters the spans of a task released again after a tombstone was
// left: a span already emitted complete is a duplicate; one emitted
// unfinished comes again only complete, under its first parent; a span the
// task never had gets the parent its emitted relatives suggest, except half
// an orchestration pass, which is dropped.
func (a *Assembler) keepLate(st *taskState, t *tombstone, all []*span) []*span {
	n := 0
	for _, sp := range all {
		if i := t.find(sp.id); i >= 0 {
			if t.spans[i].complete || !isComplete(sp) {
				sp.set(dup, true)
				a.stats.Duplicates++
				continue
			}
			sp.parent = t.spans[i].parent
		} else if sp.role == roleOrchestration && !isComplete(sp) {
			// half of a pass: its id comes from the mark that came (the
			// start's time, else the end's), so a lone end of a pass whose
			// start went out before cannot be told from a new pass
			sp.set(dup, true)
			a.stats.Duplicates++
			continue
		} else if sp.role != roleTask && sp.parent == st.taskSpan {
			sp.parent = a.lateParent(st, t, sp)
		}
		all[n] = sp
		n++
	}
	clear(all[n:])
	return all[:n]
}

// Attempts are looked for this far around a late span's own.
const maxProbedAttempts = 16

// lateParent is the parent of a new span of a task whose other spans were
// emitted: a step attempt goes where the step's other attempts went; a
// query or a dependency resolution of a step goes under the step's latest
// emitted attempt (its handler when there is one). Otherwise it stays under
// the task.
func (a *Assembler) lateParent(st *taskState, t *tombstone, sp *span) pcommon.SpanID {
	stepID := a.str(st, sp.stepID)
	if stepID == "" {
		return sp.parent
	}
	task := st.taskID()
	switch sp.role {
	case roleStep:
		for d := int64(1); d <= maxProbedAttempts; d++ {
			for _, k := range [2]int64{sp.attempt - d, sp.attempt + d} {
				if k < 1 {
					continue
				}
				if i := t.find(event.StepSpanID(task, stepID, k)); i >= 0 {
					return t.spans[i].parent
				}
			}
		}
	case roleDB, roleDependency:
		for k := int64(maxProbedAttempts); k >= 1; k-- {
			id := event.StepSpanID(task, stepID, k)
			if t.find(id) < 0 {
				continue
			}
			if h := event.SpanID(event.RoleHandler, task, stepID, k); t.find(h) >= 0 && sp.role == roleDB {
				return h
			}
			return id
		}
	}
	return sp.parent
}
