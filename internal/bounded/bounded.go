// Package bounded holds tables of a fixed size: Set keeps the latest keys,
// the oldest forgotten first; Cache keeps verdicts on the first keys met.
package bounded // import "github.com/otelcol-tasker/otelcol-tasker/internal/bounded"

// Set holds at most max uint64 keys; a new key past that evicts the
// oldest. Keys are expected to be uniform (hashes, digests). It holds no
// Go pointers and answers with one probe sequence in a flat table (open
// addressing, linear probing, at most half full), where a Go map of the
// same keys with its eviction ring took three map operations per new key,
// each a cache miss at this size. It is not safe for concurrent use.
type Set struct {
	slots []uint64 // 0 is an empty slot: key 0 is stored as 1
	mask  uint64
	ring  []uint64 // the keys in the order they came
	next  int      // the oldest key's place in ring, once it is full
	max   int
}

// NewSet returns an empty set of at most max keys.
func NewSet(max int) *Set {
	n := 8
	for n < 2*max {
		n <<= 1
	}
	return &Set{slots: make([]uint64, n), mask: uint64(n - 1), ring: make([]uint64, 0, min(max, 1024)), max: max}
}

// Add adds k and reports whether it was new.
func (s *Set) Add(k uint64) bool {
	if k == 0 {
		k = 1
	}
	i := s.home(k)
	for ; s.slots[i] != 0; i = (i + 1) & s.mask {
		if s.slots[i] == k {
			return false
		}
	}
	if len(s.ring) < s.max {
		s.ring = append(s.ring, k)
	} else {
		old := s.ring[s.next]
		s.ring[s.next] = k
		s.next = (s.next + 1) % s.max
		s.remove(old)
		// the removal may have moved keys into the probe sequence: look
		// for the free slot again
		for i = s.home(k); s.slots[i] != 0; i = (i + 1) & s.mask {
		}
	}
	s.slots[i] = k
	return true
}

// Has reports whether k is in the set.
func (s *Set) Has(k uint64) bool {
	if k == 0 {
		k = 1
	}
	for i := s.home(k); s.slots[i] != 0; i = (i + 1) & s.mask {
		if s.slots[i] == k {
			return true
		}
	}
	return false
}

// Len returns the number of keys held.
func (s *Set) Len() int { return len(s.ring) }

// home is the first slot of k's probe sequence (a multiplicative hash, so
// that keys that are not quite uniform still spread).
func (s *Set) home(k uint64) uint64 { return (k * 0x9e3779b97f4a7c15 >> 20) & s.mask }

// remove deletes k, which is in the set, shifting the keys after it back
// so that every probe sequence stays unbroken (no tombstones).
func (s *Set) remove(k uint64) {
	i := s.home(k)
	for s.slots[i] != k {
		i = (i + 1) & s.mask
	}
	for j := i; ; {
		j = (j + 1) & s.mask
		if s.slots[j] == 0 {
			break
		}
		h := s.home(s.slots[j])
		// the key at j may move to i unless its home lies cyclically in (i, j]
		if i <= j && i < h && h <= j || i > j && (i < h || h <= j) {
			continue
		}
		s.slots[i] = s.slots[j]
		i = j
	}
	s.slots[i] = 0
}
