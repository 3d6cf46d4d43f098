package event

import "testing"

// Every outcome of a terminal event has a bit of its own; anything else has none.
func TestOutcomeBits(t *testing.T) {
	seen := map[uint8]string{}
	for _, in := range Catalog() {
		if !in.Terminal() {
			continue
		}
		b := OutcomeBit(in.Outcome)
		if b == 0 || b&(b-1) != 0 {
			t.Fatalf("%s: outcome %q has bit %#x, want a single bit", in.Name, in.Outcome, b)
		}
		if o, ok := seen[b]; ok && o != in.Outcome {
			t.Fatalf("outcomes %q and %q share bit %#x", o, in.Outcome, b)
		}
		seen[b] = in.Outcome
	}
	if len(seen) != 4 {
		t.Fatalf("%d outcomes, want completed, failed, cancelled and resolved_manually", len(seen))
	}
	if OutcomeBit("") != 0 || OutcomeBit("exploded") != 0 {
		t.Fatal("a string that is no outcome has a bit")
	}
}
