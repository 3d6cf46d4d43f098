// Package bounded keeps the latest entries of a map: a fixed number of
// keys, the oldest forgotten first.
package bounded // import "github.com/otelcol-tasker/otelcol-tasker/internal/bounded"

// Map holds at most Max entries; a new key past that evicts the oldest. It
// is not safe for concurrent use.
type Map[K comparable, V any] struct {
	max  int
	m    map[K]V
	ring []K
	next int
}

// New returns an empty map of at most max entries.
func New[K comparable, V any](max int) *Map[K, V] {
	return &Map[K, V]{max: max, m: make(map[K]V, min(max, 1024))}
}

// Get returns the value of k.
func (b *Map[K, V]) Get(k K) (V, bool) {
	v, ok := b.m[k]
	return v, ok
}

// Put sets the value of k; a new key takes the place of the oldest when the
// map is full. It reports whether k is new.
func (b *Map[K, V]) Put(k K, v V) bool {
	if _, ok := b.m[k]; ok {
		b.m[k] = v
		return false
	}
	if len(b.ring) < b.max {
		b.ring = append(b.ring, k)
	} else {
		delete(b.m, b.ring[b.next])
		b.ring[b.next] = k
		b.next = (b.next + 1) % b.max
	}
	b.m[k] = v
	return true
}

// Len is the number of entries.
func (b *Map[K, V]) Len() int { return len(b.m) }
