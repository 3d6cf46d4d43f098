// The simulation's schedule: the actions it plans, in time order.

package sim

type actionKind uint8

const (
	actRegistry actionKind = iota
	actArrive
	actEnqueue
	actStart
	actTaskStarted
	actDiscover
	actExec
	actBeforeHandle
	actQuery
	actStepEnd
	actBackoff
	actRetry
	actFinalizeStart
	actFinalizeDone
	actTaskEnd
)

// action is one scheduled happening of the simulation; most emit one event.
type action struct {
	at    int64 // ms
	seq   uint64
	kind  actionKind
	step  int32
	t     *task
	p1    int64 // action specific: query start, step outcome, template index
	p2    int64 // action specific: query duration (µs)
	p3    int64 // action specific: query index
	steps []int32
}

// actionHeap is a binary min-heap ordered by (at, seq): events come out in
// time order, and those of one millisecond in the order they were scheduled.
type actionHeap []action

func (h actionHeap) less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}

func (h *actionHeap) push(a action) {
	*h = append(*h, a)
	q := *h
	for i := len(q) - 1; i > 0; {
		p := (i - 1) / 2
		if !q.less(i, p) {
			break
		}
		q[i], q[p] = q[p], q[i]
		i = p
	}
}

func (h *actionHeap) pop() action {
	q := *h
	top := q[0]
	n := len(q) - 1
	q[0] = q[n]
	q[n] = action{}
	q = q[:n]
	for i := 0; ; {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && q.less(r, l) {
			m = r
		}
		if !q.less(m, i) {
			break
		}
		q[i], q[m] = q[m], q[i]
		i = m
	}
	*h = q
	return top
}
