package bytestr

import "testing"

func TestView(t *testing.T) {
	b := []byte("task")
	s := View(b)
	if s != "task" {
		t.Fatalf("View = %q", s)
	}
	b[0] = 'm'
	if s != "mask" {
		t.Fatalf("View copies: %q after a change to its bytes", s)
	}
	if View(nil) != "" || View([]byte{}) != "" {
		t.Fatal("empty bytes view as the empty string")
	}
}
