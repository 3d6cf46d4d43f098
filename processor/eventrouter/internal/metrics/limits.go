package metrics

import (
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

// Estimated fixed costs, in bytes, of the state the aggregator holds besides
// the strings it keeps (measured with the memory tests of this package: a
// series, its index entry and its slot in the per-service list; an LRU
// entry with its map entry).
const (
	seriesCost  = 200
	bucketCost  = 8
	taskCost    = 155
	stepCost    = 125
	serviceCost = 256
)

// Stats are the aggregator's own counts, for the connector's telemetry.
type Stats struct {
	// LabelsTruncated counts events that had at least one label value cut
	// to max_label_length.
	LabelsTruncated int64
	// StateOverflows counts label sets (and services) sent to the overflow
	// series because the state had reached max_state_bytes.
	StateOverflows int64
	// StateBytes is the estimated size of the state now.
	StateBytes int64
}

// Stats returns the aggregator's own counts.
func (a *Aggregator) Stats() Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	return Stats{LabelsTruncated: a.truncated, StateOverflows: a.budget.refused, StateBytes: a.budget.used}
}

// budget is the byte cap on the state: series, tracked tasks and steps and
// service resources all draw on it.
type budget struct {
	used, max int64
	refused   int64
}

// take reserves n bytes and reports whether they fit.
func (b *budget) take(n int) bool {
	if b.used+int64(n) > b.max {
		return false
	}
	b.used += int64(n)
	return true
}

func (b *budget) give(n int) { b.used -= int64(n) }

// cutLabel bounds the label value the key buffer holds from start on to
// max_label_length, ending a cut one with event.Truncated, and marks the
// event as having a truncated label. Callers check the length first: the
// common case costs a comparison.
func (a *Aggregator) cutLabel(start int) {
	keep := a.maxLabel - len(event.Truncated)
	for keep > 0 && !utf8.RuneStart(a.key[start+keep]) {
		keep--
	}
	a.key = append(a.key[:start+keep], event.Truncated...)
	a.cut = true
}

// label returns s bounded to max_label_length (see cutLabel), for values
// the aggregator keeps besides series keys (task names, ids).
func (a *Aggregator) label(s string) string {
	t, cut := event.Truncate(s, a.maxLabel)
	if cut {
		a.cut = true
	}
	return t
}

// makeRoom evicts the least recently used entries of l until n more bytes
// fit the budget (or l is empty), then takes them. Callers try
// budget.take first: the common case costs no call.
func makeRoom[V any](a *Aggregator, l *lru[V], n int) {
	for !a.budget.take(n) {
		if l.len() == 0 {
			a.budget.used += int64(n) // one entry always fits: the table must work
			return
		}
		l.evictOldest()
	}
}

// resourceCost estimates what a copy of res holds.
func resourceCost(res pcommon.Resource) int {
	n := serviceCost
	res.Attributes().Range(func(k string, v pcommon.Value) bool {
		n += len(k) + 16
		if v.Type() == pcommon.ValueTypeStr {
			n += len(v.Str())
		} else {
			n += 16
		}
		return true
	})
	return n
}
