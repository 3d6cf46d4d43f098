package metrics

// lru is a size-capped map from string keys to values, evicting the least
// recently used entry when full. Entries live in one slice linked by index,
// so a hit costs a map lookup and a few index writes, and a full table
// reuses the evicted slot instead of allocating.
//
// Pointers returned by get/peek/insert stay valid only until the next insert.
type lru[V any] struct {
	idx        map[string]int32
	nodes      []lruNode[V]
	head, tail int32   // most / least recently used; -1 when empty
	free       []int32 // slots of evicted entries
	max        int
	onEvict    func(key string, v *V)
}

type lruNode[V any] struct {
	key        string
	val        V
	prev, next int32
}

func newLRU[V any](max int, onEvict func(string, *V)) *lru[V] {
	initial := min(max, 1024)
	return &lru[V]{
		idx:     make(map[string]int32, initial),
		nodes:   make([]lruNode[V], 0, initial),
		head:    -1,
		tail:    -1,
		max:     max,
		onEvict: onEvict,
	}
}

func (l *lru[V]) len() int { return len(l.idx) }

// get finds key and marks it most recently used.
func (l *lru[V]) get(key string) *V {
	i, ok := l.idx[key]
	if !ok {
		return nil
	}
	l.touch(i)
	return &l.nodes[i].val
}

// getBytes is get for a key held in a buffer; the map lookup does not
// allocate.
func (l *lru[V]) getBytes(key []byte) *V {
	i, ok := l.idx[string(key)]
	if !ok {
		return nil
	}
	l.touch(i)
	return &l.nodes[i].val
}

// peek finds key without changing its recency.
func (l *lru[V]) peek(key string) *V {
	if i, ok := l.idx[key]; ok {
		return &l.nodes[i].val
	}
	return nil
}

// insert adds key (which must be absent) with a zero value, evicting the
// least recently used entry first when the table is full.
func (l *lru[V]) insert(key string) *V {
	if len(l.idx) >= l.max {
		l.evictOldest()
	}
	var i int32
	if n := len(l.free); n > 0 {
		i = l.free[n-1]
		l.free = l.free[:n-1]
	} else {
		l.nodes = append(l.nodes, lruNode[V]{})
		i = int32(len(l.nodes) - 1)
	}
	n := &l.nodes[i]
	n.key = key
	l.idx[key] = i
	l.pushFront(i)
	return &n.val
}

// evictOldest removes the least recently used entry (there must be one);
// its slot is reused by the next insert.
func (l *lru[V]) evictOldest() {
	i := l.tail
	n := &l.nodes[i]
	if l.onEvict != nil {
		l.onEvict(n.key, &n.val)
	}
	delete(l.idx, n.key)
	l.unlink(i)
	var zero V
	n.val, n.key = zero, ""
	l.free = append(l.free, i)
}

// each calls f for every entry, in no particular order.
func (l *lru[V]) each(f func(key string, v *V)) {
	for _, i := range l.idx {
		f(l.nodes[i].key, &l.nodes[i].val)
	}
}

func (l *lru[V]) touch(i int32) {
	if l.head == i {
		return
	}
	l.unlink(i)
	l.pushFront(i)
}

func (l *lru[V]) unlink(i int32) {
	n := &l.nodes[i]
	if n.prev >= 0 {
		l.nodes[n.prev].next = n.next
	} else {
		l.head = n.next
	}
	if n.next >= 0 {
		l.nodes[n.next].prev = n.prev
	} else {
		l.tail = n.prev
	}
	n.prev, n.next = -1, -1
}

func (l *lru[V]) pushFront(i int32) {
	n := &l.nodes[i]
	n.prev = -1
	n.next = l.head
	if l.head >= 0 {
		l.nodes[l.head].prev = i
	}
	l.head = i
	if l.tail < 0 {
		l.tail = i
	}
}
