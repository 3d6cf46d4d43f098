// The logs side: event records forwarded, normalized and redacted.

package eventrouter // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter"

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
	"github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/assembly"
)

// logsConnector forwards the events routed to logs, normalized and redacted.
// It does not change its input: a batch that needs no change (the usual case
// for events the taskerevents receiver already normalized and redacted) is
// forwarded as is; otherwise the kept records are copied and fixed up.
type logsConnector struct {
	r    *router
	next consumer.Logs
	once sync.Once
}

func newLogsConnector(r *router, next consumer.Logs) *logsConnector {
	return &logsConnector{r: r, next: next}
}

func (c *logsConnector) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

func (c *logsConnector) Start(context.Context, component.Host) error {
	c.r.started()
	return nil
}

func (c *logsConnector) Shutdown(context.Context) error {
	c.once.Do(c.r.done)
	return nil
}

// What the logs pipeline does with one record.
const (
	logKeep uint8 = 0      // forward unchanged
	logDrop uint8 = 1 << 0 // not exported to logs
	logFix  uint8 = 1 << 1 // forward a redacted copy
	logCorr uint8 = 1 << 2 // forward a copy with its task's correlation id
)

type logsWork struct {
	actions []uint8
	resFix  []bool
	scratch plog.LogRecord
	keys    keyMemo
}

var logsWorkPool = sync.Pool{New: func() any { return &logsWork{scratch: plog.NewLogRecord()} }}

func (c *logsConnector) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	w := logsWorkPool.Get().(*logsWork)
	defer func() {
		w.scratch = forgetRecord(w.scratch)
		w.keys.clear()
		logsWorkPool.Put(w)
	}()
	w.actions, w.resFix = w.actions[:0], w.resFix[:0]
	f := c.r.filter
	v := c.r.verdictsFor(ld)
	defer c.r.doneWith(v)
	var n counts
	changed := false
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		resFix := f.needsRedaction(rl.Resource().Attributes(), nil)
		w.resFix = append(w.resFix, resFix)
		changed = changed || resFix
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				act := c.decide(lrs.At(k), len(w.actions), v, w, &n)
				changed = changed || act != logKeep
				w.actions = append(w.actions, act)
			}
		}
	}
	c.r.record(ctx, toLogs, n)
	if !changed {
		if ld.LogRecordCount() == 0 {
			return nil
		}
		return c.next.ConsumeLogs(ctx, ld)
	}
	out := c.rebuild(ld, w)
	if out.ResourceLogs().Len() == 0 {
		return nil
	}
	return c.next.ConsumeLogs(ctx, out)
}

// decide says what to do with lr, the idx-th record of the batch.
func (c *logsConnector) decide(lr plog.LogRecord, idx int, v *verdicts, w *logsWork, n *counts) uint8 {
	name, d, raw := v.classify(c.r, idx, lr)
	if raw {
		n.notNormalized++
	}
	switch {
	case d.drop:
		n.dropped++
		return logDrop
	case d.unrouted():
		n.unrouted++
		return logDrop
	case !d.to.has(toLogs):
		return logDrop
	}
	act := logKeep
	tid := lr.TraceID()
	if !d.sampler.keep(tid) && !(c.r.cfg.KeepTasks.Failed && assembly.KindOf(name).FailedEnd()) {
		// a failure's own event is kept: the task's outcome is not known
		// yet for the events before it (see keep_tasks in the README)
		n.sampled++
		return logDrop
	}
	if act == logKeep && v.needsRedaction(idx, lr, c.r.filter, &w.keys) {
		act = logFix
	}
	if name != "" && !tid.IsEmpty() {
		// a task's correlation id, once seen, goes on its later records; it
		// is learned from records that need no redaction
		if cv, ok := lr.Attributes().Get(event.AttrCorrelationID); ok && cv.Type() == pcommon.ValueTypeStr && cv.Str() != "" {
			if act == logKeep {
				c.r.correlations.Learn(tid, cv.Str())
			}
		} else if c.r.correlations.Has(tid) {
			act |= logCorr
		}
	}
	n.routed++
	return act
}

// rebuild copies the kept records into a new batch, fixing up those marked.
func (c *logsConnector) rebuild(ld plog.Logs, w *logsWork) plog.Logs {
	f := c.r.filter
	out := plog.NewLogs()
	rls := ld.ResourceLogs()
	idx := 0
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		var orl plog.ResourceLogs
		hasRL := false
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			sl := sls.At(j)
			lrs := sl.LogRecords()
			acts := w.actions[idx : idx+lrs.Len()]
			idx += lrs.Len()
			kept := 0
			for _, act := range acts {
				if act != logDrop {
					kept++
				}
			}
			if kept == 0 {
				continue
			}
			if !hasRL {
				orl = out.ResourceLogs().AppendEmpty()
				rl.Resource().CopyTo(orl.Resource())
				orl.SetSchemaUrl(rl.SchemaUrl())
				if w.resFix[i] {
					f.redactMap(orl.Resource().Attributes())
				}
				hasRL = true
			}
			osl := orl.ScopeLogs().AppendEmpty()
			sl.Scope().CopyTo(osl.Scope())
			osl.SetSchemaUrl(sl.SchemaUrl())
			osl.LogRecords().EnsureCapacity(kept)
			for k, act := range acts {
				if act == logDrop {
					continue
				}
				dst := osl.LogRecords().AppendEmpty()
				lr := lrs.At(k)
				lr.CopyTo(dst)
				if act&logFix != 0 {
					f.redactRecord(dst)
				}
				if act&logCorr != 0 {
					if corr, ok := c.r.correlations.Lookup(dst.TraceID()); ok {
						dst.Attributes().PutStr(event.AttrCorrelationID, corr)
					}
				}
			}
		}
	}
	return out
}
