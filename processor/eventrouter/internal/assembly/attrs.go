// Held attributes: 24 bytes each, their strings held (strings.go).

package assembly // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/assembly"

import (
	"math"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// attr is one attribute held on a span or span event (24 bytes, against 48
// for the KV it is made from). A known key is only its id. The key of any
// other attribute is kept in v: alone for a number or a boolean, in front
// of the string value otherwise, n then being the key's length.
type attr struct {
	v    ref
	n    uint64 // int64, float64 bits, 0/1, or len(key) (see above)
	id   uint8  // of known keys, else KeyUnknown
	typ  uint8  // a pcommon.ValueType
	prio int8
}

// key is the attribute's key; st is the task holding it.
func (a *Assembler) key(st *taskState, x *attr) string {
	switch {
	case x.id != KeyUnknown:
		return KnownKeys[x.id]
	case x.typ == typStr:
		return a.str(st, x.v)[:x.n]
	}
	return a.str(st, x.v)
}

// value is the string value of x.
func (a *Assembler) value(st *taskState, x *attr) string {
	switch {
	case x.typ != typStr:
		return ""
	case x.id == KeyUnknown:
		return a.str(st, x.v)[x.n:]
	}
	return a.str(st, x.v)
}

// num is the value of a number or boolean.
func (x *attr) num() uint64 {
	if x.typ == typStr {
		return 0
	}
	return x.n
}

func (a *Assembler) putAttr(st *taskState, x *attr, m pcommon.Map) {
	k := a.key(st, x)
	switch x.typ {
	case typStr:
		m.PutStr(k, a.value(st, x))
	case typInt:
		m.PutInt(k, int64(x.n))
	case typDouble:
		m.PutDouble(k, math.Float64frombits(x.n))
	case typBool:
		m.PutBool(k, x.n != 0)
	}
}

// sameKey reports whether x, held by st, holds the attribute in.
func (a *Assembler) sameKey(st *taskState, x *attr, in *KV) bool {
	return x.id == in.id && (in.id != KeyUnknown || a.key(st, x) == in.key)
}

// lessValue orders two values of one key, to break ties the same way
// whatever order the events came in.
func lessValue(at uint8, as string, an uint64, bt uint8, bs string, bn uint64) bool {
	if at != bt {
		return at < bt
	}
	switch at {
	case typStr:
		return as < bs
	case typInt:
		return int64(an) < int64(bn)
	case typDouble:
		return math.Float64frombits(an) < math.Float64frombits(bn)
	}
	return an < bn
}
