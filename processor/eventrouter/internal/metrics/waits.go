package metrics

import (
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

// Waiting time: how long a task sat in its queue (enqueue → start) and how
// long a step waited once it could run (listed by
// workflow.viable_steps_discovered → its attempt started). Each is the
// difference of two events' timestamps, recorded once both are known,
// whichever arrives first. Both live in one LRU table of max_tracked_steps
// entries: a step's wait under its task and step id, a task's queue under
// its task id alone (step ids are never empty, so the keys never meet).

// waitCost is the estimated bytes of one entry of the waits table with its
// index entry (measured), besides its key and step name.
const waitCost = 120

// waitState is what is known of one wait: when it began (enqueued, made
// viable), or, from a start that came first, when it ended.
type waitState struct {
	from     pcommon.Timestamp
	to       pcommon.Timestamp
	stepName string // of a start that came before its step's viability
	paired   bool   // recorded since it last began
}

// wait returns the entry of a step's wait (stepID "" for the task's queue),
// creating it when create is set (else nil when absent). Its cost counts in
// max_state_bytes; a long step id is cut as for the step attempts.
func (a *Aggregator) wait(taskID, stepID string, create bool) *waitState {
	if len(stepID) > a.maxLabel {
		stepID, _ = event.Truncate(stepID, a.maxLabel)
	}
	a.wkey = append(a.wkey[:0], taskID...)
	a.wkey = append(a.wkey, keySep)
	a.wkey = append(a.wkey, stepID...)
	k := keyOf(a.wkey)
	if w := a.waits.get(k); w != nil || !create {
		return w
	}
	if cost := waitCost + len(a.wkey); !a.budget.take(cost) {
		makeRoom(a, a.waits, cost)
	}
	return a.waits.insert(k, len(a.wkey))
}

func (a *Aggregator) evictWait(keyLen int, w *waitState) {
	a.budget.give(waitCost + keyLen + len(w.stepName))
}

// resetWait clears a wait entry, giving back its step name's bytes.
func (a *Aggregator) resetWait(w *waitState, next waitState) {
	a.budget.give(len(w.stepName))
	*w = next
}

// queueMark records a task's enqueue or start time and, once both are
// known, its queue duration: once per run of the task (queueReset starts a
// new one). The earliest enqueue and the earliest start count.
func (a *Aggregator) queueMark(taskID string, enqueue bool, ts pcommon.Timestamp, svc int32, taskName string, ex *exemplar) {
	if taskID == "" || ts == 0 {
		return
	}
	w := a.wait(taskID, "", true)
	if w.paired {
		return
	}
	at := &w.to
	if enqueue {
		at = &w.from
	}
	if *at == 0 || ts < *at {
		*at = ts
	}
	if w.from == 0 || w.to == 0 {
		return
	}
	w.paired = true
	if w.to >= w.from {
		a.find(mTaskQueueDuration, svc, taskName).observe(float64(w.to-w.from)/1e9, a.tables[mTaskQueueDuration].bounds, ex)
	}
}

// queueReset lets a retried task's next enqueue and start count again.
func (a *Aggregator) queueReset(taskID string) {
	if w := a.wait(taskID, "", false); w != nil {
		a.resetWait(w, waitState{})
	}
}

// stepsViable marks the steps a workflow.viable_steps_discovered event lists
// (payload step_ids) as viable at ts, recording the wait of any whose
// attempt start came first.
func (a *Aggregator) stepsViable(payload pcommon.Map, taskID string, ts pcommon.Timestamp, svc int32, taskName string, ex *exemplar) {
	v, ok := payload.Get(event.FieldStepIDs)
	if !ok || v.Type() != pcommon.ValueTypeSlice || taskID == "" || ts == 0 {
		return
	}
	ids := v.Slice()
	for i := 0; i < ids.Len(); i++ {
		stepID := event.IDString(ids.At(i))
		if stepID == "" {
			continue
		}
		w := a.wait(taskID, stepID, true)
		if w.to != 0 && w.to >= ts {
			a.observeWait(w.to-ts, svc, taskName, w.stepName, ex)
			a.resetWait(w, waitState{paired: true})
			continue
		}
		a.resetWait(w, waitState{from: ts})
	}
}

// stepStartedAt records the wait of a step whose attempt started at ts (a
// start event of the attempt: the first one after the viability ends the
// wait, the others find it ended), or remembers the earliest start for a
// viability event still to come.
func (a *Aggregator) stepStartedAt(taskID, stepID, stepName string, ts pcommon.Timestamp, svc int32, taskName string, ex *exemplar) {
	if ts == 0 {
		return
	}
	w := a.wait(taskID, stepID, true)
	switch {
	case w.from != 0 && ts >= w.from:
		a.observeWait(ts-w.from, svc, taskName, stepName, ex)
		a.resetWait(w, waitState{paired: true})
	case w.from == 0 && !w.paired && (w.to == 0 || ts < w.to):
		// not (yet) known to be viable: keep the earliest start
		w.to = ts
		if len(stepName) > a.maxLabel {
			stepName = a.label(stepName)
		}
		if w.stepName != stepName {
			a.budget.used += int64(len(stepName) - len(w.stepName))
			w.stepName = strings.Clone(stepName)
		}
	}
	// else: a retry not preceded by a new viability, or a start older than
	// the viability (an earlier attempt delivered late): no wait
}

func (a *Aggregator) observeWait(d pcommon.Timestamp, svc int32, taskName, stepName string, ex *exemplar) {
	a.find(mStepWaitDuration, svc, taskName, orUnknown(stepName)).observe(float64(d)/1e9, a.tables[mStepWaitDuration].bounds, ex)
}
