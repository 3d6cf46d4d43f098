package assembly

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/xpdata/entity"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

// testRedactor redacts values under keys that end in "_token".
type testRedactor struct{}

func (testRedactor) NeedsRedaction(m pcommon.Map) bool {
	found := false
	m.Range(func(k string, _ pcommon.Value) bool {
		found = strings.HasSuffix(k, "_token")
		return !found
	})
	return found
}

func (testRedactor) RedactMap(m pcommon.Map) {
	m.Range(func(k string, v pcommon.Value) bool {
		if strings.HasSuffix(k, "_token") {
			v.SetStr(event.Filtered)
		}
		return true
	})
}

func TestResTable(t *testing.T) {
	tab := newResTable(testRedactor{})
	res := func(kv ...string) pcommon.Resource {
		r := pcommon.NewResource()
		for i := 0; i < len(kv); i += 2 {
			r.Attributes().PutStr(kv[i], kv[i+1])
		}
		return r
	}
	hold := func(r pcommon.Resource) *sharedRes {
		e := tab.lookup(r)
		e.refs++
		return e
	}
	a := hold(res("service.name", "a", "host", "h1"))
	assert.Same(t, a, hold(res("service.name", "a", "host", "h1")), "equal resources share one entry")
	assert.Equal(t, 2, a.refs)
	b := hold(res("service.name", "b"))
	assert.NotSame(t, a, b)
	dropped := res("service.name", "b")
	dropped.SetDroppedAttributesCount(1)
	assert.NotSame(t, b, hold(dropped), "the dropped count is part of the resource")

	withRefs := res("service.name", "b")
	entity.ResourceEntityRefs(withRefs).AppendEmpty().SetType("service")
	e := hold(withRefs)
	assert.NotSame(t, b, e, "entity references are never shared")
	assert.Equal(t, 1, entity.ResourceEntityRefs(e.res).Len())
	tab.release(e)

	tab.release(b)
	assert.NotSame(t, b, tab.lookup(res("service.name", "b")), "the last release removes an entry")
}

func TestSymbolsAreBounded(t *testing.T) {
	var a Assembler
	st := &taskState{}
	first := a.intern(st, "first")
	require.NotZero(t, first.n&symBit, "a symbol while there is room")
	var held ref
	for i := 0; i < 2*maxSymbols; i++ {
		s := "s" + strconv.Itoa(i)
		r := a.intern(st, s)
		require.Equal(t, s, a.str(st, r))
		require.LessOrEqual(t, len(a.syms.list), maxSymbols)
		if i == 2*maxSymbols-1 {
			held = r
		}
	}
	assert.Equal(t, "first", a.str(st, first), "symbols handed out stay valid")
	assert.Zero(t, held.n&symBit, "once the table is full, strings are held by their task")
	assert.Equal(t, "s4096", a.syms.bytes([]byte("s4096")), "a full table copies")
	assert.Equal(t, "first", a.syms.bytes([]byte("first")))
	assert.Equal(t, ref{}, a.intern(st, ""))

	var b Assembler
	long := strings.Repeat("x", maxSymbolLen+1)
	r := b.intern(st, long)
	assert.Zero(t, r.n&symBit, "a long string is held by its task")
	assert.Equal(t, long, b.str(st, r))
	assert.Empty(t, b.syms.list)
}

// The held forms are kept free of Go pointers, so that the garbage
// collector does not scan the pending state (strings.go).
func TestHeldFormsHaveNoPointers(t *testing.T) {
	for _, v := range []any{span{}, attr{}, heldEvent{}, orchMark{}, spanExtra{}, ref{}} {
		typ := reflect.TypeOf(v)
		assert.False(t, hasPointers(typ), "%s holds a pointer", typ)
	}
}

func hasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.String, reflect.Slice, reflect.Map, reflect.Interface,
		reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return true
	case reflect.Array:
		return t.Len() > 0 && hasPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if hasPointers(t.Field(i).Type) {
				return true
			}
		}
	}
	return false
}

// The held structures are sized to Go's allocation classes; a new field
// that pushes one into the next class costs every pending span.
func TestHeldSizes(t *testing.T) {
	require.Equal(t, uintptr(24), unsafe.Sizeof(attr{}))
	require.Equal(t, uintptr(32), unsafe.Sizeof(heldEvent{}))
	require.Equal(t, uintptr(80), unsafe.Sizeof(span{}))
	require.Equal(t, uintptr(168), unsafe.Sizeof(taskState{})) // in the 176-byte class
}
