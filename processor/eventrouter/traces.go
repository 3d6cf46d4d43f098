// The traces side: span assembly, its storage and its timer.

package eventrouter // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter"

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/assembly"
)

// tracesConnector assembles spans from the events routed to traces.
type tracesConnector struct {
	r     *router
	next  consumer.Traces
	mu    sync.Mutex // guards asm
	asm   *assembly.Assembler
	timer periodic
	store *taskStore        // with storage configured
	recs  []assembly.Record // scratch of persist, under mu
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
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.persist(ctx, st.Settle, false); err != nil {
		// the delivered tasks stay stored: a restart emits them again
		c.r.logger.Warn("removing delivered tasks from storage failed", zap.Error(err))
	}
	return nil
}

// persist writes, in one transaction, the storage changes of delivered
// releases (settle) and, with batch set, the tasks the assembler changed
// since its last write. c.mu is held: a call whose changes another call's
// Dirty took returns only after that call's write.
func (c *tracesConnector) persist(ctx context.Context, settle []assembly.Record, batch bool) error {
	c.recs = append(c.recs[:0], settle...)
	if batch {
		c.recs = c.asm.Dirty(c.recs)
	}
	if len(c.recs) == 0 {
		return nil
	}
	err := c.store.write(ctx, c.recs)
	clear(c.recs)
	if err != nil {
		return err
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
				name, d, ok := v.routedTo(c.r, toTraces, idx, lr, &n)
				if !ok {
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
				verdict := verdictNone
				switch {
				case v == nil:
				case !v.known(idx):
					verdict = verdictWanted
				case !v.needsRedaction(idx, lr, c.r.filter, nil): // known: no scan
					verdict = verdictIsClean
				}
				w.e.read(lr, lr.Body(), name, c.r.filter, verdict)
				if verdict == verdictWanted {
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
	td, st := a.Take()
	c.mu.Unlock()
	c.r.record(ctx, toTraces, n)
	if c.store == nil {
		return c.deliver(ctx, td, st)
	}
	// One transaction for the batch, after the spans it released were sent:
	// the delivered tasks leave storage (only once accepted), and what the
	// batch changed is on storage before it is acknowledged. A crash before
	// it leaves the same state as a crash between two transactions would
	// (the delivered tasks still stored, emitted again on restart), at half
	// the storage cost.
	sent := c.send(ctx, td, st)
	settle := st.Settle
	if sent != nil {
		settle = nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.persist(ctx, settle, true); err != nil {
		return fmt.Errorf("storage: writing the pending tasks of the batch: %w", err)
	}
	return sent
}
