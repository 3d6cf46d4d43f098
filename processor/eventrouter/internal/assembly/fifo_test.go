package assembly

import "testing"

// The queue gives back what was pushed, in order, through pops and pushes
// that move its entries down and grow its array.
func TestFIFOKeepsOrder(t *testing.T) {
	var q fifo[int]
	next, want := 0, 0
	for round := 0; round < 200; round++ {
		for i := 0; i < round%7+3; i++ {
			q.push(next)
			next++
		}
		for i := 0; i < round%5+1 && q.len() > 0; i++ {
			if got := q.front(); got != want {
				t.Fatalf("front %d, want %d", got, want)
			}
			if got := q.pop(); got != want {
				t.Fatalf("pop %d, want %d", got, want)
			}
			want++
		}
		if q.len() != next-want || len(q.items()) != q.len() || (q.len() > 0 && q.items()[0] != want) {
			t.Fatalf("round %d: %d entries from %v, want %d from %d", round, q.len(), q.items()[:min(1, q.len())], next-want, want)
		}
	}
	if cap(q.buf) > 4*(next-want)+16 {
		t.Fatalf("array of %d for %d entries: popped room is not reused", cap(q.buf), next-want)
	}
}
