package bounded

import "testing"

func TestMapForgetsOldestFirst(t *testing.T) {
	m := New[int, string](3)
	for i := 1; i <= 3; i++ {
		if !m.Put(i, "v") {
			t.Fatalf("key %d is new", i)
		}
	}
	if m.Put(2, "w") {
		t.Fatal("an existing key is not new")
	}
	if v, _ := m.Get(2); v != "w" {
		t.Fatalf("Put updates: got %q", v)
	}
	m.Put(4, "v") // evicts 1, the oldest
	if _, ok := m.Get(1); ok {
		t.Fatal("the oldest key is forgotten")
	}
	for _, k := range []int{2, 3, 4} {
		if _, ok := m.Get(k); !ok {
			t.Fatalf("key %d is kept", k)
		}
	}
	m.Put(5, "v") // evicts 2
	if _, ok := m.Get(2); ok || m.Len() != 3 {
		t.Fatalf("bounded at 3: len %d", m.Len())
	}
}
