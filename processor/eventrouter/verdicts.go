package eventrouter // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter"

import (
	"sync/atomic"

	"go.opentelemetry.io/collector/pdata/plog"
)

// Scanning a record for sensitive keys is a large part of the router's
// work, and the metrics and logs pipelines both need the answer for the
// same records: the collector hands the same batch to all three pipelines.
// verdicts lets the first of them to look at a record share its answer with
// the others. The traces pipeline finds it on the way while it reads the
// record's attributes and payload for span assembly, for the price of
// descending into nested values.
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
}

const (
	verdictUnknown uint32 = iota
	verdictClean
	verdictDirty
)

// verdictUsers is the number of pipelines that share verdicts: all of the
// router's, when there are two or more and one of them (metrics, logs)
// needs verdicts; else 0.
func verdictUsers(outputs signals, redacting bool) int32 {
	n := int32(0)
	for _, s := range []signals{toTraces, toMetrics, toLogs} {
		if outputs.has(s) {
			n++
		}
	}
	if !redacting || n < 2 || !outputs.has(toMetrics|toLogs) {
		return 0
	}
	return n
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
