package eventrouter // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter"

import (
	"encoding/binary"
	"sync"

	"github.com/otelcol-tasker/otelcol-tasker/internal/bounded"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// countedTerminals remembers the terminal events (a task's or a step
// attempt's end) the metrics side counted lately, so that one delivered
// again (a sender's retry, a replayed queue) does not count twice. A
// terminal event is known by its trace id, its span id (the task's or the
// attempt's) and its name: a task that failed and was then resolved
// manually counts both. It holds the last maxCountedTerminals as 8-byte
// digests (1.5 MiB: a flat table of 2^17 slots and the order of arrival,
// no pointers); older repeats count again.
type countedTerminals struct {
	mu sync.Mutex
	m  *bounded.Set
}

const maxCountedTerminals = 1 << 16

func newCountedTerminals() *countedTerminals {
	return &countedTerminals{m: bounded.NewSet(maxCountedTerminals)}
}

// digest mixes the ids and the name into 64 bits (the ids are already
// SHA-256 output: folding them keeps them uniform).
func digest(trace pcommon.TraceID, span pcommon.SpanID, name string) uint64 {
	h := binary.LittleEndian.Uint64(trace[:8]) ^ binary.LittleEndian.Uint64(trace[8:])*0x9e3779b97f4a7c15 ^
		binary.LittleEndian.Uint64(span[:])*0xc2b2ae3d27d4eb4f
	for i := 0; i < len(name); i++ {
		h = (h ^ uint64(name[i])) * 0x100000001b3
	}
	return h
}

// first reports whether the terminal event is seen for the first time, and
// remembers it.
func (c *countedTerminals) first(trace pcommon.TraceID, span pcommon.SpanID, name string) bool {
	k := digest(trace, span, name)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m.Add(k)
}
