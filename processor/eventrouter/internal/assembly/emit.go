// Emitting a released task's spans as pdata.

package assembly // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/assembly"

import (
	"sort"

	"github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/metadata"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// emit appends a task's spans to the output; evs are its span events,
// sorted by target.
func (a *Assembler) emit(st *taskState, spans []*span, evs []heldEvent, reason string) {
	if len(spans) == 0 {
		return
	}
	out := a.spansOf(st.res)
	if need := out.Len() + len(spans); need > a.lastCap {
		a.lastCap = max(need, 2*a.lastCap) // grown by doubling, as tasks keep coming
		out.EnsureCapacity(a.lastCap)
	}
	// a correlation id any event of the task carried goes on every span
	corr := a.correlationID(st)
	for _, sp := range spans {
		unfinished := sp.startPrio == 0 || sp.endPrio == 0
		if sp.startPrio == 0 {
			sp.start = sp.end
		}
		if sp.endPrio == 0 {
			sp.end = max(sp.start, st.lastTS)
		}
		if unfinished {
			a.stats.Unfinished[reason]++
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
		derived := sp.startPrio == prioDuration
		addCorr := corr != nil && !hasKey(held, KeyCorrelationID)
		crit := sp.role == roleTask && len(a.path) > 0
		attrs.EnsureCapacity(len(held) + oneIf(len(ids) > 0) + oneIf(unfinished) + oneIf(derived) + oneIf(addCorr) + 2*oneIf(crit)) // exactly: a pdata attribute is 40 bytes
		for i := range held {
			a.putAttr(st, &held[i], attrs)
		}
		if addCorr {
			a.putAttr(st, corr, attrs)
		}
		if crit && !unfinished {
			a.putCriticalPath(st, sp, attrs)
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
		if derived {
			attrs.PutBool(AttrStartFromDuration, true)
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
	a.stats.Spans += int64(len(spans))
}

// correlationID is the task's correlation id attribute (that of its task
// span first), nil when no event of the task carried one.
func (a *Assembler) correlationID(st *taskState) *attr {
	var found *attr
	for i := range st.spans {
		sp := &st.spans[i]
		held := st.attrsOf(sp)
		for j := range held {
			if x := &held[j]; x.id == KeyCorrelationID && x.typ == typStr && x.v.n != 0 {
				if sp.role == roleTask {
					return x
				}
				if found == nil {
					found = x
				}
			}
		}
	}
	return found
}

// Correlations calls fn with the correlation id of every pending task that
// has one (after a restore, so that a router learns them again).
func (a *Assembler) Correlations(fn func(trace pcommon.TraceID, corr string)) {
	for st := a.head; st != nil; st = st.next {
		if x := a.correlationID(st); x != nil {
			fn(st.traceID, a.value(st, x))
		}
	}
}

func hasKey(held []attr, id uint8) bool {
	for i := range held {
		if held[i].id == id {
			return true
		}
	}
	return false
}

// spansOf returns the span list of the output's ResourceSpans for res,
// adding one when the last task emitted had another resource.
func (a *Assembler) spansOf(res *sharedRes) ptrace.SpanSlice {
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
