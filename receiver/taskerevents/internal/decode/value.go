package decode

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/valyala/fastjson"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

// object copies the members of o (except skip) into m. level is the nesting
// level of o, the payload being level 1. It returns the reason the content
// is refused, or "".
func (s *state) object(o *fastjson.Object, m pcommon.Map, level int, skip string) string {
	if level > s.opts.MaxDepth {
		return s.tooDeep()
	}
	if o.Len() > largeObjectMembers {
		return s.largeObject(o, m, level, skip)
	}
	m.EnsureCapacity(o.Len())
	o.Visit(func(k []byte, v *fastjson.Value) {
		if s.err != nil || (skip != "" && string(k) == skip) {
			return
		}
		e := s.key(k)
		if e.sensitive {
			m.PutEmpty(e.key).SetStr(event.Filtered)
			return
		}
		if reason := s.value(m.PutEmpty(e.key), v, level); reason != "" {
			s.err = &Error{Reason: reason}
		}
	})
	return s.takeErr()
}

// largeObject copies an object with many members. pcommon.Map.Put* looks the
// key up linearly, which would make a body of one huge object quadratic;
// here the members are deduplicated in a Go map (the last one wins, as with
// Put*) and the pcommon map is built in one go. Member order is not kept.
func (s *state) largeObject(o *fastjson.Object, m pcommon.Map, level int, skip string) string {
	type member struct {
		v         *fastjson.Value
		sensitive bool
	}
	members := make(map[string]member, o.Len())
	o.Visit(func(k []byte, v *fastjson.Value) {
		if skip == "" || string(k) != skip {
			e := s.key(k)
			members[e.key] = member{v, e.sensitive}
		}
	})
	keys := make(map[string]any, len(members))
	for k := range members {
		keys[k] = nil
	}
	if err := m.FromRaw(keys); err != nil {
		return err.Error()
	}
	m.Range(func(k string, dst pcommon.Value) bool {
		mb := members[k]
		if mb.sensitive {
			dst.SetStr(event.Filtered)
			return true
		}
		if reason := s.value(dst, mb.v, level); reason != "" {
			s.err = &Error{Reason: reason}
			return false
		}
		return true
	})
	return s.takeErr()
}

// array copies the elements of a into sl; level is the nesting level of a.
func (s *state) array(a []*fastjson.Value, sl pcommon.Slice, level int) string {
	if level > s.opts.MaxDepth {
		return s.tooDeep()
	}
	sl.EnsureCapacity(len(a))
	for _, v := range a {
		if reason := s.value(sl.AppendEmpty(), v, level); reason != "" {
			return reason
		}
	}
	return ""
}

// value sets dst to v, a member or element of a container at level.
func (s *state) value(dst pcommon.Value, v *fastjson.Value, level int) string {
	switch v.Type() {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		dst.SetStr(s.arena.str(b))
	case fastjson.TypeNumber:
		return s.number(dst, v)
	case fastjson.TypeObject:
		o, _ := v.Object()
		return s.object(o, dst.SetEmptyMap(), level+1, "")
	case fastjson.TypeArray:
		a, _ := v.Array()
		return s.array(a, dst.SetEmptySlice(), level+1)
	case fastjson.TypeTrue:
		dst.SetBool(true)
	case fastjson.TypeFalse:
		dst.SetBool(false)
	case fastjson.TypeNull:
		// an empty value stands for JSON null
	}
	return ""
}

// number stores a JSON number: an Int when it is written as an integer that
// fits int64, a Double otherwise. fastjson accepts more than JSON does (NaN,
// Inf, "1.2.3"), so the text is checked against the JSON grammar here.
func (s *state) number(dst pcommon.Value, v *fastjson.Value) string {
	s.num = v.MarshalTo(s.num[:0])
	raw := s.num
	isInt, ok := jsonNumber(raw)
	if !ok {
		return fmt.Sprintf("invalid number %q", raw)
	}
	if isInt {
		if n, ok := parseInt(raw); ok {
			dst.SetInt(n)
			return ""
		}
	}
	f, err := strconv.ParseFloat(b2s(raw), 64)
	if err != nil || math.IsInf(f, 0) {
		return fmt.Sprintf("number %s is out of range", raw)
	}
	dst.SetDouble(f)
	return ""
}

func (s *state) tooDeep() string {
	return fmt.Sprintf("payload nesting deeper than %d levels (max_nesting_depth)", s.opts.MaxDepth)
}

func (s *state) takeErr() string {
	if s.err == nil {
		return ""
	}
	reason := s.err.(*Error).Reason
	s.err = nil
	return reason
}

// jsonNumber checks b against the JSON number grammar and tells whether it
// is written as an integer (no fraction, no exponent).
func jsonNumber(b []byte) (isInt, ok bool) {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return false, false
	}
	isInt = true
	if i < len(b) && b[i] == '.' {
		isInt = false
		i++
		if i == len(b) || !isDigit(b[i]) {
			return false, false
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		isInt = false
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i == len(b) || !isDigit(b[i]) {
			return false, false
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	return isInt, i == len(b)
}

// parseInt parses a JSON integer known to be well formed; ok is false when
// it does not fit int64.
func parseInt(b []byte) (int64, bool) {
	neg := b[0] == '-'
	if neg {
		b = b[1:]
	}
	var n uint64
	for _, c := range b {
		if n > (math.MaxUint64-9)/10 {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	if neg {
		if n > 1<<63 {
			return 0, false
		}
		return -int64(n), true //nolint:gosec // n <= 1<<63 was checked
	}
	if n > math.MaxInt64 {
		return 0, false
	}
	return int64(n), true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// arena hands out immutable strings copied into a chunk (see reserve). A
// chunk never grows (a full one falls back to a plain copy), so the bytes
// behind a string handed out are never written again.
type arena struct{ buf []byte }

func (a *arena) init(size int) { a.buf = make([]byte, 0, size) }

// arenaChunk is the size of the chunks reserve allocates: about ten
// Tasker events, and all a kept string can pin.
const arenaChunk = 4 << 10

// reserve makes room for at least n more bytes, in a new chunk when the
// current one is short; the old chunk stays with the strings made from it.
func (a *arena) reserve(n int) {
	if cap(a.buf)-len(a.buf) < n {
		a.init(max(n, arenaChunk))
	}
}

// str returns a string holding b, replacing invalid UTF-8 (pdata strings
// must be valid UTF-8 to be exported) as encoding/json does.
func (a *arena) str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if !utf8.Valid(b) {
		b = bytes.ToValidUTF8(b, []byte("\uFFFD"))
	}
	if len(a.buf)+len(b) > cap(a.buf) {
		return string(b)
	}
	start := len(a.buf)
	a.buf = append(a.buf, b...)
	return unsafe.String(&a.buf[start], len(b))
}

// b2s views b as a string without copying, for read-only use in a call that
// does not keep it.
func b2s(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
