package eventrouter // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter"

import (
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/collector/pdata/plog"
)

// The collector hands the same batch to the connector's three pipelines
// (traces, metrics, logs), unless the logs output pipeline has a processor
// that changes data: a logs → logs connector takes on that pipeline's
// capabilities, and the logs side then gets a copy and reads it alone. (So
// no pipeline may do another's work on a batch: the batch it holds may not
// be the one the other gets.) A reading is what they share of a batch, so
// that each record is read once:
//
//   - its classification (event name, route decision, whether it is an
//     event nobody normalized), made for the whole batch by the first
//     pipeline to get there;
//   - its redaction verdict: scanning a record for sensitive keys is a large
//     part of the router's work, and the metrics and logs pipelines both
//     need the answer. The first to look shares its answer; the traces
//     pipeline finds it on the way while it reads the record's attributes
//     and payload for span assembly.
//
// Each pipeline keeps its own outputs and telemetry.
//
// Why sharing by batch identity is safe:
//   - An entry is only used for the batch it was made for: plog.Logs is
//     compared by identity (its pointers), and the entry holds the batch,
//     so its memory cannot be reused for another batch while the entry
//     exists (no ABA). The record count is checked as well. This holds
//     unless the alpha feature gate pdata.useProtoPooling is on: it hands
//     a finished batch's memory back to a pool (the README warns).
//   - The batch does not change in between: every consumer of this
//     connector declares MutatesData=false, and the collector's fanout never
//     gives a batch that read-only consumers see to a mutating one (it
//     copies it for them, and marks it read-only when more than one
//     read-only consumer shares it, so that a change would panic).
//   - The pipelines may run concurrently, in any order, on several batches
//     at once: slots are atomic, an answer is a pure function of the record,
//     so computing it twice is harmless, and a batch whose entry was
//     replaced by another batch's is simply scanned again.
//
// The entry is dropped when every pipeline is done with it. If batches
// interleave, the last entry may stay until the next batch replaces it.
type verdicts struct {
	ld    plog.Logs
	n     int
	slots []atomic.Uint32 // per record in iteration order: verdictUnknown, ...
	left  atomic.Int32    // pipelines that have not finished with it

	once  sync.Once  // classifies every record, once
	names []string   // per record: its event name, "" when it is no event to route
	decs  []decision // per record: its route decision
	raw   []bool     // per record: an event nobody normalized
}

const (
	verdictUnknown uint32 = iota
	verdictClean
	verdictDirty
)

// verdictUsers is the number of pipelines that share a batch's reading:
// all of the router's when there are two or more; else 0 (a lone pipeline
// reads on its own).
func verdictUsers(outputs signals) int32 {
	n := int32(0)
	for _, s := range []signals{toTraces, toMetrics, toLogs} {
		if outputs.has(s) {
			n++
		}
	}
	if n < 2 {
		return 0
	}
	return n
}

// classify returns the event name, route decision and rawness of the i-th
// record of the batch, lr: from the shared reading, made once for the whole
// batch, or read on the spot when there is none.
func (v *verdicts) classify(r *router, i int, lr plog.LogRecord) (string, decision, bool) {
	if v == nil {
		return r.classify(lr)
	}
	v.once.Do(func() { v.classifyAll(r) })
	return v.names[i], v.decs[i], v.raw[i]
}

// routedTo classifies the i-th record of the batch, lr, for the pipeline of
// signal sig, counting what it does not get; ok reports whether it is an
// event routed to sig.
func (v *verdicts) routedTo(r *router, sig signals, i int, lr plog.LogRecord, n *counts) (name string, d decision, ok bool) {
	name, d, raw := v.classify(r, i, lr)
	if raw {
		n.notNormalized++
	}
	switch {
	case d.drop:
		n.dropped++
		return "", d, false
	case d.unrouted():
		n.unrouted++
		return "", d, false
	}
	return name, d, name != "" && d.to.has(sig)
}

func (v *verdicts) classifyAll(r *router) {
	v.names, v.decs, v.raw = make([]string, v.n), make([]decision, v.n), make([]bool, v.n)
	i := 0
	rls := v.ld.ResourceLogs()
	for j := 0; j < rls.Len(); j++ {
		sls := rls.At(j).ScopeLogs()
		for k := 0; k < sls.Len(); k++ {
			lrs := sls.At(k).LogRecords()
			for l := 0; l < lrs.Len(); l, i = l+1, i+1 {
				v.names[i], v.decs[i], v.raw[i] = r.classify(lrs.At(l))
			}
		}
	}
}

// verdictsFor returns the shared verdicts of ld, or nil when there is no
// other pipeline to share them with. Each pipeline that calls it calls
// doneWith when it is done with the batch.
func (r *router) verdictsFor(ld plog.Logs) *verdicts {
	users := r.verdictUsers.Load()
	if users == 0 {
		return nil
	}
	n := ld.LogRecordCount()
	for {
		cur := r.verdicts.Load()
		if cur != nil && cur.ld == ld && cur.n == n {
			return cur
		}
		v := &verdicts{ld: ld, n: n, slots: make([]atomic.Uint32, n)}
		v.left.Store(users)
		if r.verdicts.CompareAndSwap(cur, v) {
			return v
		}
	}
}

// doneWith releases a pipeline's use of v.
func (r *router) doneWith(v *verdicts) {
	if v != nil && v.left.Add(-1) <= 0 {
		r.verdicts.CompareAndSwap(v, nil)
	}
}

// found records a verdict the traces pipeline found while reading the i-th
// record.
func (v *verdicts) found(i int, dirty bool) {
	if v == nil {
		return
	}
	if dirty {
		v.slots[i].Store(verdictDirty)
	} else {
		v.slots[i].Store(verdictClean)
	}
}

// known reports whether the verdict on the i-th record is in.
func (v *verdicts) known(i int) bool {
	return v.slots[i].Load() != verdictUnknown
}

// needsRedaction reports whether the i-th record of the batch, lr, holds a
// value redaction would change.
func (v *verdicts) needsRedaction(i int, lr plog.LogRecord, f *keyFilter, km *keyMemo) bool {
	if v == nil {
		return f.recordNeedsRedaction(lr, km)
	}
	switch v.slots[i].Load() {
	case verdictClean:
		return false
	case verdictDirty:
		return true
	}
	dirty := f.recordNeedsRedaction(lr, km)
	v.found(i, dirty)
	return dirty
}
