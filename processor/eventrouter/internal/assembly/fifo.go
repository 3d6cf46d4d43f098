package assembly // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/assembly"

// fifo is a queue kept in one array, which it reuses: when the array is full
// and at least half of it was popped, the entries left move down to its start.
// A slice re-sliced at the front and appended to at the back instead grew a
// new array every few thousand pushes (the tombstones' expiry order: 600 KB
// allocated and copied each time, 0.4 % of pipeline A's CPU).
type fifo[T any] struct {
	buf  []T
	head int // buf[head:] are the entries
}

func (q *fifo[T]) len() int { return len(q.buf) - q.head }

// items returns the entries, oldest first; valid until the next push.
func (q *fifo[T]) items() []T { return q.buf[q.head:] }

func (q *fifo[T]) push(v T) {
	if len(q.buf) == cap(q.buf) && q.head > 0 && q.head >= len(q.buf)/2 {
		n := copy(q.buf, q.buf[q.head:])
		clear(q.buf[n:])
		q.buf, q.head = q.buf[:n], 0
	}
	q.buf = append(q.buf, v)
}

// front returns the oldest entry; the queue must not be empty.
func (q *fifo[T]) front() T { return q.buf[q.head] }

// pop removes the oldest entry; the queue must not be empty.
func (q *fifo[T]) pop() T {
	v := q.buf[q.head]
	var zero T
	q.buf[q.head] = zero
	if q.head++; q.head == len(q.buf) {
		q.buf, q.head = q.buf[:0], 0
	}
	return v
}
