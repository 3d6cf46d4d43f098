package bounded

import (
	"math/rand/v2"
	"testing"
)

func TestSetForgetsOldestFirst(t *testing.T) {
	s := NewSet(3)
	for k := uint64(1); k <= 3; k++ {
		if !s.Add(k) {
			t.Fatalf("key %d is new", k)
		}
	}
	if s.Add(2) {
		t.Fatal("a key held is not new")
	}
	s.Add(4) // evicts 1, the oldest
	if s.Has(1) {
		t.Fatal("the oldest key is forgotten")
	}
	for _, k := range []uint64{2, 3, 4} {
		if !s.Has(k) {
			t.Fatalf("key %d is kept", k)
		}
	}
	s.Add(5) // evicts 2: adding 2 again did not make it younger
	if s.Has(2) || s.Len() != 3 {
		t.Fatalf("bounded at 3: len %d", s.Len())
	}
	if !s.Add(0) || s.Add(0) || !s.Has(0) {
		t.Fatal("key 0 is a key like any other")
	}
}

// TestSetAgreesWithAModel adds random keys, with many repeats and keys that
// share probe sequences, and compares every answer with a map and a queue.
func TestSetAgreesWithAModel(t *testing.T) {
	for _, max := range []int{1, 7, 64, 1000} {
		rng := rand.New(rand.NewPCG(uint64(max), 1))
		s := NewSet(max)
		held := map[uint64]bool{}
		var order []uint64
		for n := 0; n < 50*max+1000; n++ {
			var k uint64
			switch rng.IntN(3) {
			case 0: // a recent key again
				if len(order) > 0 {
					k = order[len(order)-1-rng.IntN(min(len(order), 2*max))]
				}
			case 1: // keys whose homes collide (the hash keeps the high bits)
				k = uint64(rng.IntN(4*max+1)) << 44
			default:
				k = rng.Uint64()
			}
			if k == 0 {
				k = 1
			}
			want := !held[k]
			if got := s.Add(k); got != want {
				t.Fatalf("max %d, add %d of %#x: new = %v, want %v", max, n, k, got, want)
			}
			if want {
				held[k] = true
				order = append(order, k)
				if len(order) > max {
					delete(held, order[len(order)-max-1])
				}
			}
			if n%97 == 0 {
				for k := range held {
					if !s.Has(k) {
						t.Fatalf("max %d, after %d adds: %#x lost", max, n, k)
					}
				}
				if s.Len() != len(held) {
					t.Fatalf("max %d: len %d, want %d", max, s.Len(), len(held))
				}
			}
		}
	}
}

func BenchmarkSetAdd(b *testing.B) {
	s := NewSet(1 << 16)
	rng := rand.New(rand.NewPCG(1, 2))
	keys := make([]uint64, 1<<20)
	for i := range keys {
		keys[i] = rng.Uint64()
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s.Add(keys[i&(len(keys)-1)])
		i++
	}
}

func TestCacheKeepsFirstVerdictsUpToItsBound(t *testing.T) {
	c := NewCache[int](2)
	buf := []byte("a")
	c.Put(string(buf), 1)
	buf[0] = 'z'  // the key was copied
	c.Put("a", 9) // a key held keeps its value
	c.Put("b", 2)
	c.Put("c", 3) // full: not kept
	for k, want := range map[string]int{"a": 1, "b": 2} {
		if v, ok := c.Get(k); !ok || v != want {
			t.Fatalf("Get(%q) = %d, %v; want %d", k, v, ok, want)
		}
	}
	if _, ok := c.Get("c"); ok || c.Len() != 2 {
		t.Fatalf("bounded at 2: len %d", c.Len())
	}
}
