package event

import (
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

func traceOf(i int) pcommon.TraceID {
	var t pcommon.TraceID
	t[0], t[1], t[2], t[15] = byte(i), byte(i>>8), byte(i>>16), 1
	return t
}

func TestCorrelationsRemembersAndReplaces(t *testing.T) {
	c := NewCorrelations()
	long := strings.Repeat("x", MaxSpreadCorrelation)
	c.Learn(traceOf(1), "corr-1")
	c.Learn(traceOf(2), long)
	c.Learn(traceOf(3), long+"y") // too long to spread
	c.Learn(traceOf(4), "")
	for _, tc := range []struct {
		i    int
		want string
		ok   bool
	}{{1, "corr-1", true}, {2, long, true}, {3, "", false}, {4, "", false}} {
		got, ok := c.Lookup(traceOf(tc.i))
		if got != tc.want || ok != tc.ok || c.Has(traceOf(tc.i)) != tc.ok {
			t.Errorf("task %d: got %q %v, want %q %v", tc.i, got, ok, tc.want, tc.ok)
		}
	}
	// a task's id changes from inline to long and back
	c.Learn(traceOf(1), long)
	if got, _ := c.Lookup(traceOf(1)); got != long {
		t.Fatalf("replaced by a long id: got %q", got)
	}
	c.Learn(traceOf(1), "corr-1b")
	if got, _ := c.Lookup(traceOf(1)); got != "corr-1b" || len(c.long) != 1 {
		t.Fatalf("replaced by a short id: got %q, %d long ids held", got, len(c.long))
	}
}

// A task asked for before it is learned is found once learned, also when
// other tasks share its places in the fronts of the table.
func TestCorrelationsLearnedAfterAsked(t *testing.T) {
	c := NewCorrelations()
	for i := 0; i < 1000; i += 7 {
		if c.Has(traceOf(i)) {
			t.Fatalf("task %d is not learned yet", i)
		}
		c.Learn(traceOf(i), "corr")
		if !c.Has(traceOf(i)) || c.Has(traceOf(i+256)) {
			t.Fatalf("task %d: learned, and %d not", i, i+256)
		}
	}
	for i := 0; i < 1000; i++ {
		if got, ok := c.Lookup(traceOf(i)); ok != (i%7 == 0) || ok && got != "corr" {
			t.Fatalf("task %d: %q %v", i, got, ok)
		}
	}
	c.Learn(pcommon.TraceID{}, "corr") // no task: not learned
	if c.Has(pcommon.TraceID{}) {
		t.Fatal("the empty trace id has no correlation id")
	}
}

func TestCorrelationsForgetsOldestFirst(t *testing.T) {
	c := NewCorrelations()
	long := strings.Repeat("L", 100)
	for i := 0; i < MaxCorrelations+10; i++ {
		id := "corr-" + string(rune('a'+i%26))
		if i%3 == 0 {
			id = long
		}
		c.Learn(traceOf(i), id)
	}
	if len(c.at) != MaxCorrelations || len(c.slots) != MaxCorrelations {
		t.Fatalf("bounded at %d: %d held in %d slots", MaxCorrelations, len(c.at), len(c.slots))
	}
	for i := 0; i < 10; i++ {
		if c.Has(traceOf(i)) {
			t.Fatalf("task %d, among the oldest, is forgotten", i)
		}
	}
	longs := 0
	for i := 10; i < MaxCorrelations+10; i++ {
		got, ok := c.Lookup(traceOf(i))
		if !ok || (i%3 == 0) != (got == long) {
			t.Fatalf("task %d: got %q %v", i, got, ok)
		}
		if i%3 == 0 {
			longs++
		}
	}
	if len(c.long) != longs {
		t.Fatalf("long ids of forgotten tasks are let go: %d held, %d remembered", len(c.long), longs)
	}
}

func TestCorrelationsHoldNoPointersPerTask(t *testing.T) {
	// the reason for the slot layout: learning a short id allocates nothing
	c := NewCorrelations()
	for i := 0; i < 2048; i++ {
		c.Learn(traceOf(i), "warm")
	}
	allocs := testing.AllocsPerRun(100, func() { c.Learn(traceOf(7), "req-0f8fad5b-d9cb-469f-a165-70867728950e"); c.Learn(traceOf(7), "warm") })
	if allocs != 0 {
		t.Fatalf("Learn of a known task allocates %v times", allocs)
	}
}
