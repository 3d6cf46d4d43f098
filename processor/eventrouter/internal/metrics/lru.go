package metrics

import "hash/maphash"

// lru is a size-capped table from string keys to values, evicting the
// least recently used entry when full. Entries live in one slice linked by
// index, so a hit costs a map lookup and a few index writes, and a full
// table reuses the evicted slot instead of allocating.
//
// A key is held as a 128-bit hash (two independent seeded hashes), never as
// a string: the table holds no Go pointer of its own, so the garbage
// collector neither marks a string per entry nor follows one, and a lookup
// compares 16 bytes in place. With tens of thousands of task and step ids
// held, the strings were a third of the live objects the collector marked at
// every cycle. Two different keys would have to agree on both hashes to be
// taken for one (odds about 2^-128 a pair).
//
// A small direct-mapped front table remembers the slots of recently used
// keys: the entries of the few dozen tasks in flight are found there with
// one compare, without probing the map (whose tens of thousands of entries
// miss the CPU caches: its lookups were a third of the metrics side's cost).
//
// Pointers returned by get/peek/insert stay valid only until the next insert.
type lru[V any] struct {
	front      [lruFront]int32 // 1 + the slot of a key that hashed there, 0 if none
	idx        map[lruKey]int32
	nodes      []lruNode[V]
	head, tail int32   // most / least recently used; -1 when empty
	free       []int32 // slots of evicted entries
	max        int
	onEvict    func(keyLen int, v *V)
}

// lruKey identifies a key: its hash under two seeds.
type lruKey [2]uint64

// lruFront is the size of an lru's front table (a power of two).
const lruFront = 256

// slot returns the slot of key, or -1: from the front table when it holds
// it, else from the map (and then the front table holds it).
func (l *lru[V]) slot(key lruKey) int32 {
	f := &l.front[key[0]&(lruFront-1)]
	if i := *f - 1; i >= 0 && l.nodes[i].key == key {
		return i
	}
	i, ok := l.idx[key]
	if !ok {
		return -1
	}
	*f = i + 1
	return i
}

// The seeds of every table: keys hash alike in all of them, so an entry can
// name an entry of another table by its lruKey (a step its task).
var lruSeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

func keyOf(k []byte) lruKey {
	return lruKey{maphash.Bytes(lruSeeds[0], k), maphash.Bytes(lruSeeds[1], k)}
}

func keyOfString(k string) lruKey {
	return lruKey{maphash.String(lruSeeds[0], k), maphash.String(lruSeeds[1], k)}
}

type lruNode[V any] struct {
	key        lruKey
	keyLen     int32 // the key's length, for the memory budget
	prev, next int32
	val        V
}

func newLRU[V any](max int, onEvict func(keyLen int, v *V)) *lru[V] {
	initial := min(max, 1024)
	return &lru[V]{
		idx:     make(map[lruKey]int32, initial),
		nodes:   make([]lruNode[V], 0, initial),
		head:    -1,
		tail:    -1,
		max:     max,
		onEvict: onEvict,
	}
}

func (l *lru[V]) len() int { return len(l.idx) }

// get finds key and marks it most recently used.
func (l *lru[V]) get(key lruKey) *V {
	i := l.slot(key)
	if i < 0 {
		return nil
	}
	l.touch(i)
	return &l.nodes[i].val
}

// peek finds key without changing its recency.
func (l *lru[V]) peek(key lruKey) *V {
	if i := l.slot(key); i >= 0 {
		return &l.nodes[i].val
	}
	return nil
}

// insert adds key, of keyLen bytes (it must be absent), with a zero value,
// evicting the least recently used entry first when the table is full.
func (l *lru[V]) insert(key lruKey, keyLen int) *V {
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
	n.key, n.keyLen = key, int32(keyLen)
	l.idx[key] = i
	l.front[key[0]&(lruFront-1)] = i + 1
	l.pushFront(i)
	return &n.val
}

// evictOldest removes the least recently used entry (there must be one);
// its slot is reused by the next insert.
func (l *lru[V]) evictOldest() {
	i := l.tail
	n := &l.nodes[i]
	if l.onEvict != nil {
		l.onEvict(int(n.keyLen), &n.val)
	}
	delete(l.idx, n.key)
	l.unlink(i)
	var zero V
	n.val, n.key, n.keyLen = zero, lruKey{}, 0
	l.free = append(l.free, i)
}

// each calls f for every entry, in no particular order.
func (l *lru[V]) each(f func(v *V)) {
	for _, i := range l.idx {
		f(&l.nodes[i].val)
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
