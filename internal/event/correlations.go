package event // import "github.com/otelcol-tasker/otelcol-tasker/internal/event"

import (
	"strings"
	"sync"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Correlations remembers the correlation id of recent tasks, so that the
// events of a task that do not carry it get it too: once any event of a
// task carried one, every later event of the task has it. It is safe for
// concurrent use and holds the last MaxCorrelations tasks (about 6 MiB at
// the bound); ids longer than MaxSpreadCorrelation are not spread, so that
// no input is copied onto many outputs.
//
// The table holds no Go pointers for ids up to inlineCorrelation bytes (a
// UUID, a ULID, a Rails request id): they sit in the slots of one ring,
// indexed by a map of trace ids to slot numbers, so the garbage collector
// marks two objects for the whole table. With one string per task it marked
// 65,536 small objects at every cycle, about 4 % of pipeline A's CPU (a
// collector holds a table in the receiver and one in the router).
type Correlations struct {
	mu    sync.Mutex
	at    map[pcommon.TraceID]int32 // slot of each remembered task
	slots []corrSlot                // ring: the oldest slot is reused first
	next  int                       // the slot to reuse once the ring is full
	long  map[int32]string          // ids longer than inlineCorrelation, by slot

	// front remembers the slots of recently met tasks, direct-mapped by
	// trace id: a task in flight is found with one compare instead of a
	// probe of the map, whose 65,536 entries miss the CPU caches. absent
	// remembers, the same way, recent tasks the table does not hold: the
	// records of a task without a correlation id all ask for it.
	front  [corrFront]int32 // 1 + a slot, 0 if none
	absent [corrFront]pcommon.TraceID
}

// corrFront is the size of a table's front (a power of two).
const corrFront = 256

// corrSlot is one remembered task: 64 bytes, no pointers.
type corrSlot struct {
	trace pcommon.TraceID
	n     uint8 // length of the id in id, or longID when in Correlations.long
	id    [inlineCorrelation]byte
}

// Bounds of a Correlations table.
const (
	MaxCorrelations      = 1 << 16
	MaxSpreadCorrelation = 128

	inlineCorrelation = 47
	longID            = 0xff
)

// NewCorrelations returns an empty table.
func NewCorrelations() *Correlations {
	// the ring's room is reserved at once (4 MiB, touched only as tasks come):
	// growing it by appends copied it again and again in the first seconds
	return &Correlations{at: make(map[pcommon.TraceID]int32, 1024), slots: make([]corrSlot, 0, MaxCorrelations)}
}

// Learn remembers corr as the correlation id of the task of trace id.
func (c *Correlations) Learn(id pcommon.TraceID, corr string) {
	if corr == "" || len(corr) > MaxSpreadCorrelation || id.IsEmpty() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.find(id)
	if ok {
		if c.holds(i, corr) {
			return
		}
	} else {
		i = c.take(id)
	}
	s := &c.slots[i]
	if s.n == longID {
		delete(c.long, i)
	}
	if len(corr) <= inlineCorrelation {
		s.n = uint8(copy(s.id[:], corr))
		return
	}
	s.n = longID
	if c.long == nil {
		c.long = make(map[int32]string)
	}
	c.long[i] = strings.Clone(corr) // corr may be a view into a batch
}

// take returns a slot for a task not in the table: a new one while the
// ring grows, else the oldest, whose task is forgotten.
func (c *Correlations) take(id pcommon.TraceID) int32 {
	var i int32
	if len(c.slots) < MaxCorrelations {
		c.slots = append(c.slots, corrSlot{})
		i = int32(len(c.slots) - 1)
	} else {
		i = int32(c.next)
		c.next = (c.next + 1) % MaxCorrelations
		old := &c.slots[i]
		delete(c.at, old.trace)
		if old.n == longID {
			delete(c.long, i)
		}
		old.n = 0
	}
	c.slots[i].trace = id
	c.at[id] = i
	j := frontOf(id)
	c.front[j] = i + 1
	if c.absent[j] == id {
		c.absent[j] = pcommon.TraceID{}
	}
	return i
}

func frontOf(id pcommon.TraceID) int {
	return int(id[0]) & (corrFront - 1)
}

// find returns the slot of the task of trace id; c.mu is held.
func (c *Correlations) find(id pcommon.TraceID) (int32, bool) {
	j := frontOf(id)
	if i := c.front[j] - 1; i >= 0 && c.slots[i].trace == id {
		return i, true
	}
	if c.absent[j] == id {
		return 0, false
	}
	i, ok := c.at[id]
	if ok {
		c.front[j] = i + 1
	} else {
		c.absent[j] = id
	}
	return i, ok
}

// holds reports whether slot i holds corr.
func (c *Correlations) holds(i int32, corr string) bool {
	s := &c.slots[i]
	if s.n == longID {
		return c.long[i] == corr
	}
	return string(s.id[:s.n]) == corr // compared in place, not copied
}

// Lookup returns the correlation id of the task of trace id, if known. An
// id held in a slot is copied out (one allocation): callers look up once
// per task and batch, and Has answers whether there is one without a copy.
func (c *Correlations) Lookup(id pcommon.TraceID) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.find(id)
	if !ok {
		return "", false
	}
	if s := &c.slots[i]; s.n != longID {
		return string(s.id[:s.n]), true
	}
	return c.long[i], true
}

// Has reports whether the task of trace id has a known correlation id.
func (c *Correlations) Has(id pcommon.TraceID) bool {
	c.mu.Lock()
	_, ok := c.find(id)
	c.mu.Unlock()
	return ok
}
