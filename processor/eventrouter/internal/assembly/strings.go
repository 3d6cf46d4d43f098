// Held strings: the task's own bytes, or the assembler's symbols.

package assembly // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/assembly"

import (
	"strings"
	"unsafe"
)

// ref is a held string: bytes of the task's buffer, or an entry of the
// Assembler's symbol table when n has symBit set (off is then its index).
type ref struct{ off, n uint32 }

const symBit = 1 << 31

// internedValue marks the known attributes whose values repeat from task to
// task (names, types, states, outcomes): they become symbols. Values of the
// others (ids, messages, query texts) are copied into the task's buffer.
var internedValue = func() (t [256]bool) {
	for _, k := range []string{
		"tasker.task.name", "tasker.step.name", "tasker.state.from", "tasker.state.to",
		"tasker.queue.name", "error.type", "db.operation.name", "db.collection.name",
		"tasker.task.outcome", "tasker.step.outcome", "messaging.destination.name", "exception.type",
		"tasker.backoff.type", "tasker.retry.reason", "tasker.retry.backoff_strategy",
		"tasker.batch.processing_mode", "tasker.orchestration.final_status", "tasker.reenqueue.reason",
		"tasker.task.type", "tasker.task.health_status", "tasker.db.query_name", "tasker.dependency.name",
	} {
		id, ok := keyIDs[k]
		if !ok {
			panic("assembly: interned key is not a known key: " + k)
		}
		t[id] = true
	}
	return t
}()

// symbols keeps one owned copy of strings that repeat across tasks: held
// ones are referred to by index. Indexes must stay valid while any task
// holds them, so the table never forgets; it is bounded (in count and in
// the length of a string), and once full a new string is held in its
// task's buffer instead.
type symbols struct {
	m    map[string]uint32
	list []string
}

const (
	maxSymbols   = 4096
	maxSymbolLen = 256
)

// lookup returns the symbol of s, adding it when there is room.
func (t *symbols) lookup(s string) (ref, bool) {
	if i, ok := t.m[s]; ok {
		return ref{off: i, n: symBit}, true
	}
	if len(t.list) >= maxSymbols || len(s) > maxSymbolLen {
		return ref{}, false
	}
	return t.add(strings.Clone(s)), true
}

// bytes returns the symbol string of b, without allocating when it is known
// (a plain copy when it cannot be added).
func (t *symbols) bytes(b []byte) string {
	if i, ok := t.m[string(b)]; ok {
		return t.list[i]
	}
	if len(t.list) >= maxSymbols || len(b) > maxSymbolLen {
		return string(b)
	}
	r := t.add(string(b))
	return t.list[r.off]
}

func (t *symbols) add(s string) ref {
	if t.m == nil {
		t.m = make(map[string]uint32, 256)
	}
	i := uint32(len(t.list))
	t.list = append(t.list, s)
	t.m[s] = i
	return ref{off: i, n: symBit}
}

// str returns the held string r of task st.
func (a *Assembler) str(st *taskState, r ref) string {
	switch {
	case r.n&symBit != 0:
		return a.syms.list[r.off]
	case r.n == 0:
		return ""
	}
	return unsafe.String(&st.buf[r.off], int(r.n))
}

// hold copies s into the task's buffer. The buffer only grows: the strings
// emitted with the task's spans are views into it, so it is never reused.
func (st *taskState) hold(s string) ref {
	if s == "" {
		return ref{}
	}
	off := len(st.buf)
	st.buf = append(st.buf, s...)
	return ref{off: uint32(off), n: uint32(len(s))}
}

// intern holds s as a symbol, or in the task's buffer when the table is
// full.
func (a *Assembler) intern(st *taskState, s string) ref {
	if s == "" {
		return ref{}
	}
	if r, ok := a.syms.lookup(s); ok {
		return r
	}
	return st.hold(s)
}

// hold2 copies k and v into the task's buffer as one string.
func (st *taskState) hold2(k, v string) ref {
	off := len(st.buf)
	st.buf = append(append(st.buf, k...), v...)
	n := len(st.buf) - off
	if n == 0 {
		return ref{}
	}
	return ref{off: uint32(off), n: uint32(n)}
}
