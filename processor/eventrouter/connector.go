package eventrouter // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter"

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
	"github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/assembly"
	"github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/metrics"
)

// work holds per-call scratch space, pooled so concurrent calls never share.
type work struct {
	e       evt
	scratch plog.LogRecord // a redacted copy of a record, for the metrics
}

var workPool = sync.Pool{New: func() any { return &work{scratch: plog.NewLogRecord()} }}

// release drops what the scratch space still holds of a batch (strings that
// are views into its buffers), so that an idle pool keeps no batch alive.
func (w *work) release() {
	w.e.forget()
	w.scratch = forgetRecord(w.scratch)
	workPool.Put(w)
}

// getWork takes per-call scratch space.
func (r *router) getWork() *work {
	return workPool.Get().(*work)
}

// forgetRecord returns lr, or a new record if lr holds anything.
func forgetRecord(lr plog.LogRecord) plog.LogRecord {
	if lr.Attributes().Len() == 0 && lr.Body().Type() == pcommon.ValueTypeEmpty {
		return lr
	}
	return plog.NewLogRecord()
}

// counts are one batch's telemetry, recorded once per batch.
type counts struct {
	routed, dropped, sampled, noTrace, unrouted, duplicate int64
	notNormalized                                          int64
}

func (r *router) record(ctx context.Context, sig signals, c counts) {
	t := r.telemetry
	if c.routed > 0 {
		t.EventrouterEventsRouted.Add(ctx, c.routed, signalAttr(sig))
	}
	if c.sampled > 0 {
		t.EventrouterEventsDropped.Add(ctx, c.sampled, dropAttr(sig, "sampled"))
	}
	if c.noTrace > 0 {
		t.EventrouterEventsDropped.Add(ctx, c.noTrace, dropAttr(sig, "no_trace"))
	}
	if c.duplicate > 0 {
		t.EventrouterEventsDropped.Add(ctx, c.duplicate, dropAttr(sig, "duplicate"))
	}
	// router-wide counts: every signal instance sees the same events, so
	// only one of them records these
	if sig == r.counter {
		if c.dropped > 0 {
			t.EventrouterEventsDropped.Add(ctx, c.dropped, dropAttr(0, "drop"))
		}
		if c.unrouted > 0 {
			t.EventrouterEventsDropped.Add(ctx, c.unrouted, dropAttr(0, "unrouted"))
		}
		if c.notNormalized > 0 {
			t.EventrouterEventsNotNormalized.Add(ctx, c.notNormalized)
		}
	}
}

// classify routes one record: it returns its event name and the decision.
// The router reads normalized events only (the taskerevents receiver and
// the eventnormalize processor normalize at the edge): records that are not
// events, and event records that are not normalized, get the name "" and are
// handled like unmatched events, for logs only; raw reports the latter, to
// be counted.
func (r *router) classify(lr plog.LogRecord) (name string, d decision, raw bool) {
	name = event.Name(lr)
	if name != "" && event.IsNormalized(lr) {
		return name, r.routes.decide(name), false
	}
	d = r.routes.unmatched
	d.to &= toLogs
	return "", d, name != ""
}

func (d decision) unrouted() bool { return !d.drop && d.to == 0 }

// tracesConnector assembles spans from the events routed to traces.
type tracesConnector struct {
	r     *router
	next  consumer.Traces
	mu    sync.Mutex // guards asm
	asm   *assembly.Assembler
	timer periodic
	store *taskStore        // with storage configured
	recs  []assembly.Record // scratch of ConsumeLogs, under mu
}

func newTracesConnector(r *router, next consumer.Traces) *tracesConnector {
	t := r.cfg.Traces
	cfg := assembly.Config{
		SpanTimeout: t.SpanTimeout, TaskEndGrace: t.TaskEndGrace, MaxPending: t.MaxPending,
		MaxTombstoneSpans: t.MaxTombstoneSpans, Journal: r.cfg.Storage != nil,
		KeepFailed: r.cfg.KeepTasks.Failed, KeepSlowerThan: r.cfg.KeepTasks.SlowerThan,
	}
	c := &tracesConnector{r: r, next: next, asm: assembly.New(cfg, resourceRedactor{r.filter})}
	r.asm.Store(c.asm)
	return c
}

// periodic runs a function at every tick on its own goroutine, from start
// until stop; both may be called more than once.
type periodic struct {
	startOnce, stopOnce sync.Once
	stop                chan struct{}
	wg                  sync.WaitGroup
}

func (p *periodic) start(every time.Duration, fn func(now time.Time)) {
	p.startOnce.Do(func() {
		p.stop = make(chan struct{})
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-p.stop:
					return
				case now := <-t.C:
					fn(now)
				}
			}
		}()
	})
}

// halt stops the goroutine, waits for it, then runs last, once.
func (p *periodic) halt(last func()) {
	p.stopOnce.Do(func() {
		p.startOnce.Do(func() {}) // never started: nothing to wait for
		if p.stop != nil {
			close(p.stop)
			p.wg.Wait()
		}
		last()
	})
}

// tickFor checks often enough for the grace and timeout to be honoured
// closely, and at most once a second.
func tickFor(cfg TracesConfig) time.Duration {
	d := cfg.SpanTimeout
	if cfg.TaskEndGrace > 0 && cfg.TaskEndGrace < d {
		d = cfg.TaskEndGrace
	}
	d /= 4
	return min(max(d, 10*time.Millisecond), time.Second)
}

func (c *tracesConnector) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

func (c *tracesConnector) Start(ctx context.Context, host component.Host) error {
	c.r.started()
	if c.r.cfg.Storage != nil {
		if err := c.startStorage(ctx, host); err != nil {
			return err
		}
	}
	c.timer.start(tickFor(c.r.cfg.Traces), func(now time.Time) {
		if err := c.emit(context.Background(), c.asm.Advance, now); err != nil {
			c.r.logger.Warn("sending released spans failed", zap.Error(err))
		}
	})
	return nil
}

func (c *tracesConnector) Shutdown(ctx context.Context) error {
	var err error
	c.timer.halt(func() {
		if c.store != nil {
			// the pending tasks are on storage: the next start carries on
			// with them, instead of emitting them unfinished now
			err = c.store.close(ctx)
		} else {
			err = c.emit(ctx, c.asm.Flush, time.Now())
		}
		c.r.asm.CompareAndSwap(c.asm, nil)
		c.r.done()
	})
	return err
}

// emit runs release (Advance or Flush) at now and sends what it released.
func (c *tracesConnector) emit(ctx context.Context, release func(time.Time), now time.Time) error {
	c.mu.Lock()
	release(now)
	td, st := c.asm.Take()
	c.mu.Unlock()
	return c.deliver(ctx, td, st)
}

// deliver sends released spans, then applies the storage changes of their
// release: a task leaves storage only once its spans were accepted.
func (c *tracesConnector) deliver(ctx context.Context, td ptrace.Traces, st assembly.Stats) error {
	if err := c.send(ctx, td, st); err != nil {
		return err
	}
	if c.store == nil || len(st.Settle) == 0 {
		return nil
	}
	if err := c.store.write(ctx, st.Settle); err != nil {
		// the delivered tasks stay stored: a restart emits them again
		c.r.logger.Warn("removing delivered tasks from storage failed", zap.Error(err))
		return nil
	}
	c.r.telemetry.EventrouterStorageWrites.Add(ctx, 1)
	return nil
}

func (c *tracesConnector) send(ctx context.Context, td ptrace.Traces, st assembly.Stats) error {
	t := c.r.telemetry
	for reason, n := range st.Unfinished {
		t.EventrouterSpansUnfinished.Add(ctx, n, dropAttr(0, reason))
	}
	if st.Orphans > 0 {
		t.EventrouterEventsDropped.Add(ctx, st.Orphans, dropAttr(toTraces, "orphaned"))
	}
	if st.Duplicates > 0 {
		t.EventrouterEventsDropped.Add(ctx, st.Duplicates, dropAttr(toTraces, "duplicate"))
	}
	if st.SampledOut > 0 {
		t.EventrouterEventsDropped.Add(ctx, st.SampledOut, dropAttr(toTraces, "sampled"))
	}
	if st.Kept > 0 {
		t.EventrouterTasksKept.Add(ctx, st.Kept)
	}
	if st.Spans == 0 {
		return nil
	}
	t.EventrouterSpansEmitted.Add(ctx, st.Spans)
	return c.next.ConsumeTraces(ctx, td)
}

func (c *tracesConnector) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	now := time.Now()
	w := c.r.getWork()
	defer w.release()
	v := c.r.verdictsFor(ld)
	defer c.r.doneWith(v)
	var n counts
	idx := 0 // of the record in the batch
	a := c.asm
	c.mu.Lock()
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		res := assembly.NewResourceSlot(rl.Resource())
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k, idx = k+1, idx+1 {
				lr := lrs.At(k)
				name, d, raw := c.r.classify(lr)
				if raw {
					n.notNormalized++
				}
				switch {
				case d.drop:
					n.dropped++
					continue
				case d.unrouted():
					n.unrouted++
					continue
				case name == "" || !d.to.has(toTraces):
					continue
				}
				sampledOut := !d.sampler.keep(lr.TraceID())
				if sampledOut && !c.r.cfg.KeepTasks.enabled() {
					n.sampled++
					continue
				}
				if lr.TraceID().IsEmpty() {
					n.noTrace++
					continue
				}
				// the verdict is only looked for when no other pipeline found it
				look := v != nil && !v.known(idx)
				w.e.read(lr, lr.Body(), name, c.r.filter, look)
				if look {
					v.found(idx, w.e.dirty)
				}
				if w.e.TaskID == "" {
					n.noTrace++
					continue
				}
				w.e.SampledOut = sampledOut // held until the task's outcome is known
				a.Add(&w.e.Event, &res, now)
				n.routed++
			}
		}
	}
	if c.store != nil {
		// what the batch changed is on storage before it is acknowledged
		c.recs = a.Dirty(c.recs[:0])
		if len(c.recs) > 0 {
			err := c.store.write(ctx, c.recs)
			clear(c.recs)
			if err != nil {
				c.mu.Unlock()
				return fmt.Errorf("storage: writing the pending tasks of the batch: %w", err)
			}
			c.r.telemetry.EventrouterStorageWrites.Add(ctx, 1)
		}
	}
	td, st := a.Take()
	c.mu.Unlock()
	c.r.record(ctx, toTraces, n)
	return c.deliver(ctx, td, st)
}

// metricsConnector feeds every event routed to metrics, sampled or not, to
// the aggregator and sends cumulative snapshots.
type metricsConnector struct {
	r         *router
	agg       *metrics.Aggregator
	next      consumer.Metrics
	terminals *countedTerminals

	timer periodic
}

func newMetricsConnector(r *router, agg *metrics.Aggregator, next consumer.Metrics) *metricsConnector {
	r.agg.Store(agg)
	return &metricsConnector{r: r, agg: agg, next: next, terminals: newCountedTerminals()}
}

func (c *metricsConnector) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

func (c *metricsConnector) Start(context.Context, component.Host) error {
	c.r.started()
	c.timer.start(c.r.cfg.Metrics.FlushInterval, func(time.Time) {
		if err := c.flush(context.Background()); err != nil {
			c.r.logger.Warn("sending metrics failed", zap.Error(err))
		}
	})
	return nil
}

func (c *metricsConnector) flush(ctx context.Context) error {
	md := pmetric.NewMetrics()
	c.agg.AppendTo(md, pcommon.NewTimestampFromTime(time.Now()))
	if md.DataPointCount() == 0 {
		return nil
	}
	return c.next.ConsumeMetrics(ctx, md)
}

func (c *metricsConnector) Shutdown(ctx context.Context) error {
	var err error
	c.timer.halt(func() {
		err = c.flush(ctx)
		c.r.done()
	})
	return err
}

func (c *metricsConnector) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	w := c.r.getWork()
	defer w.release()
	f := c.r.filter
	v := c.r.verdictsFor(ld)
	defer c.r.doneWith(v)
	var n counts
	idx := 0 // of the record in the batch
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		res := rl.Resource()
		if f.needsRedaction(res.Attributes(), nil) {
			// the aggregator keeps a service's resource for its output and
			// may read labels from it: it gets a redacted copy
			red := pcommon.NewResource()
			res.CopyTo(red)
			f.redactMap(red.Attributes())
			res = red
		}
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k, idx = k+1, idx+1 {
				lr := lrs.At(k)
				name, d, raw := c.r.classify(lr)
				if raw {
					n.notNormalized++
				}
				switch {
				case d.drop:
					n.dropped++
					continue
				case d.unrouted():
					n.unrouted++
					continue
				case name == "" || !d.to.has(toMetrics):
					continue
				}
				// the aggregator only ever sees redacted events; the input is
				// shared with other pipelines, so changes are made on a copy
				rec := lr
				if v.needsRedaction(idx, lr, f, w.e.memo()) {
					lr.CopyTo(w.scratch)
					rec = w.scratch
					f.redactRecord(rec)
				}
				payload := rec.Body()
				if tid := rec.TraceID(); !tid.IsEmpty() && assembly.KindOf(name).Terminal() && !c.terminals.first(tid, rec.SpanID(), name) {
					n.duplicate++ // delivered again: counted once
					continue
				}
				c.agg.ObserveWith(rec, payload, res)
				n.routed++
			}
		}
	}
	c.r.record(ctx, toMetrics, n)
	return nil
}

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
	name, d, raw := c.r.classify(lr)
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
		} else if _, ok := c.r.correlations.Lookup(tid); ok {
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
