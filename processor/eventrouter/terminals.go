package eventrouter // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter"

import (
	"hash/maphash"
	"sync"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// countedTerminals remembers the terminal events (a task's or a step
// attempt's end) the metrics side counted lately, so that one delivered
// again (a sender's retry, a replayed queue) does not count twice. A
// terminal event is known by its trace id, its span id (the task's or the
// attempt's) and its name: a task that failed and was then resolved
// manually counts both. It holds the last maxCountedTerminals (32 bytes
// each and a map entry: about 4 MiB); older repeats count again.
type countedTerminals struct {
	mu   sync.Mutex
	seed maphash.Seed
	m    map[terminalKey]struct{}
	ring []terminalKey
	next int
}

type terminalKey struct {
	trace pcommon.TraceID
	span  pcommon.SpanID
	name  uint64
}

const maxCountedTerminals = 1 << 16

func newCountedTerminals() *countedTerminals {
	return &countedTerminals{seed: maphash.MakeSeed(), m: make(map[terminalKey]struct{}, 1024)}
}

// first reports whether the terminal event is seen for the first time, and
// remembers it.
func (c *countedTerminals) first(trace pcommon.TraceID, span pcommon.SpanID, name string) bool {
	k := terminalKey{trace: trace, span: span, name: maphash.String(c.seed, name)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; ok {
		return false
	}
	if len(c.ring) < maxCountedTerminals {
		c.ring = append(c.ring, k)
	} else {
		delete(c.m, c.ring[c.next])
		c.ring[c.next] = k
		c.next = (c.next + 1) % maxCountedTerminals
	}
	c.m[k] = struct{}{}
	return true
}
