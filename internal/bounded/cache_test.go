package bounded

import "testing"

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
