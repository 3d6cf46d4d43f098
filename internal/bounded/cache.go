// Package bounded holds tables of a fixed size.
package bounded // import "github.com/otelcol-tasker/otelcol-tasker/internal/bounded"

import (
	"strings"
	"sync"
	"sync/atomic"
)

// Cache is a string-keyed table of verdicts read without a lock and
// written copy on write: made for the few dozen keys every event carries,
// looked up for each of them and learned once. It holds at most max keys;
// past that, Put keeps nothing (the caller computes the verdict again).
// It is safe for concurrent use.
type Cache[V any] struct {
	mu  sync.Mutex // serializes writers
	m   atomic.Pointer[map[string]V]
	max int
}

// NewCache returns an empty cache of at most max keys.
func NewCache[V any](max int) *Cache[V] {
	c := &Cache[V]{max: max}
	m := map[string]V{}
	c.m.Store(&m)
	return c
}

// Get returns the value of k.
func (c *Cache[V]) Get(k string) (V, bool) {
	v, ok := (*c.m.Load())[k]
	return v, ok
}

// Put keeps v as the value of k, while there is room. k is copied: it may
// be a view into a batch.
func (c *Cache[V]) Put(k string, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := *c.m.Load()
	if _, ok := old[k]; ok || len(old) >= c.max {
		return
	}
	m := make(map[string]V, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[strings.Clone(k)] = v
	c.m.Store(&m)
}

// Len returns the number of keys held.
func (c *Cache[V]) Len() int { return len(*c.m.Load()) }
