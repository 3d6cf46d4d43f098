package decode

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/otelcol-tasker/otelcol-tasker/internal/bytestr"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

// value decodes the JSON value at s.i into dst. level is the nesting level
// of the container holding it, the payload being level 1. e, when not nil,
// is the entry of the member's name, whose hints size a container value.
func (s *state) value(dst pcommon.Value, level int, e *keyEntry) bool {
	switch s.peek() {
	case '"':
		v, ascii, ok := s.readStr()
		if !ok {
			return false
		}
		var str string
		if max := s.opts.MaxStringLength; max > 0 && len(v) > max {
			str = s.longText(v, ascii, max)
		} else {
			str = s.arena.text(v, ascii)
		}
		if s.opts.Redactor != nil && len(str) >= event.MinCredentialLen {
			str, _ = event.Scrub(str)
		}
		dst.SetStr(str)
		return true
	case '{':
		if level >= s.opts.MaxDepth {
			return s.tooDeep()
		}
		return s.object(dst.SetEmptyMap(), level+1, e, 0)
	case '[':
		if level >= s.opts.MaxDepth {
			return s.tooDeep()
		}
		return s.array(dst.SetEmptySlice(), level+1, e)
	case 't':
		dst.SetBool(true)
		return s.literal("true")
	case 'f':
		dst.SetBool(false)
		return s.literal("false")
	case 'n':
		return s.literal("null") // an empty value stands for JSON null
	}
	return s.number(dst)
}

// object decodes the object at s.i into m; level is its nesting level.
// Members named skip (an event's name in a flat event) are left out.
//
// pcommon.Map.PutEmpty looks the name up linearly, which keeps duplicate
// names out (the last value wins, at the first one's place) but would make
// a huge object quadratic: past largeObjectMembers members the object is
// read again by largeObject.
func (s *state) object(m pcommon.Map, level int, e *keyEntry, skip attr) bool {
	open := s.i
	s.i++
	s.ws()
	if s.peek() == '}' {
		s.i++
		return true
	}
	// The members are not counted beforehand: the size of the last object
	// under the same name is a good guess, and saves growing the map.
	guess := &s.guess
	if e != nil {
		guess = &e.first
		if e.objCap > 0 {
			m.EnsureCapacity(int(e.objCap))
		}
	}
	for n := 1; ; n++ {
		if n > largeObjectMembers {
			s.i = open
			return s.largeObject(m, level, skip)
		}
		k, ok := s.memberName(&guess)
		if !ok {
			return false
		}
		switch {
		case skip != 0 && k.attr == skip:
			ok = s.skip(level + s.base + 1)
		case k.sensitive:
			m.PutEmpty(k.key).SetStr(event.Filtered)
			ok = s.skip(level + s.base + 1)
		default:
			ok = s.value(m.PutEmpty(k.key), level, k)
		}
		if !ok {
			return false
		}
		if more, ok := s.next('}'); !more {
			if !ok {
				return false
			}
			break
		}
	}
	if e != nil {
		e.objCap = uint16(m.Len()) // at most largeObjectMembers
	}
	return true
}

// maxHint bounds the capacity a hint asks for: one huge array must not make
// the next one under its name allocate as much.
const maxHint = 1024

// largeObject decodes the object at s.i, of more than largeObjectMembers
// members, into m. The members are deduplicated in a Go map first (the last
// one wins, as with PutEmpty) and the pcommon map is built in one go; then
// each value is decoded from where it was seen. Member order is not kept.
func (s *state) largeObject(m pcommon.Map, level int, skip attr) bool {
	type member struct {
		at        int
		sensitive bool
	}
	members := make(map[string]member, 2*largeObjectMembers)
	guess := &s.guess
	s.i++
	s.ws()
	for {
		k, ok := s.memberName(&guess)
		if !ok {
			return false
		}
		at := s.i
		if !s.skip(level + s.base + 1) {
			return false
		}
		if skip == 0 || k.attr != skip {
			members[k.key] = member{at, k.sensitive}
		}
		if more, ok := s.next('}'); !more {
			if !ok {
				return false
			}
			break
		}
	}
	end := s.i
	keys := make(map[string]any, len(members))
	for k := range members {
		keys[k] = nil
	}
	if err := m.FromRaw(keys); err != nil {
		return s.content("%s", err.Error())
	}
	ok := true
	m.Range(func(k string, dst pcommon.Value) bool {
		mb := members[k]
		if mb.sensitive {
			dst.SetStr(event.Filtered)
			return true
		}
		s.i = mb.at
		ok = s.value(dst, level, nil)
		return ok
	})
	s.i = end
	return ok
}

// array decodes the array at s.i into sl; level is its nesting level. e is
// the entry of the member holding it, whose hints also size the elements.
func (s *state) array(sl pcommon.Slice, level int, e *keyEntry) bool {
	s.i++
	s.ws()
	if s.peek() == ']' {
		s.i++
		return true
	}
	if e != nil && e.arrCap > 0 {
		// Lists under one name (ids of steps) often vary by an element:
		// a spare slot costs less than regrowing the slice.
		sl.EnsureCapacity(int(e.arrCap) + 1)
	}
	for {
		if !s.value(sl.AppendEmpty(), level, e) {
			return false
		}
		if more, ok := s.next(']'); !more {
			if !ok {
				return false
			}
			break
		}
	}
	if e != nil {
		e.arrCap = uint16(min(sl.Len(), maxHint))
	}
	return true
}

// number stores the JSON number at s.i: an Int when it is written as an
// integer that fits int64, a Double otherwise.
func (s *state) number(dst pcommon.Value) bool {
	tok, isInt, ok := s.numberToken()
	if !ok {
		return false
	}
	if isInt {
		if n, ok := parseInt(tok); ok {
			dst.SetInt(n)
			return true
		}
	}
	f, err := strconv.ParseFloat(bytestr.View(tok), 64)
	if err != nil || math.IsInf(f, 0) {
		return s.content("number %s is out of range", tok)
	}
	dst.SetDouble(f)
	return true
}

// content records that the decoder refuses valid JSON (errContent).
func (s *state) content(format string, args ...any) bool {
	s.errKind, s.errWhat = errContent, fmt.Sprintf(format, args...)
	return false
}

func (s *state) tooDeep() bool {
	return s.content("%s", tooDeep(s.opts.MaxDepth))
}

func tooDeep(maxDepth int) string {
	return fmt.Sprintf("payload nesting deeper than %d levels (max_nesting_depth)", maxDepth)
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

// arena hands out immutable strings copied into a chunk (see reserve). A
// chunk never grows (a full one falls back to a plain copy), so the bytes
// behind a string handed out are never written again.
// longText copies a string value longer than max into the arena, cut to
// max bytes ending with event.Truncated.
func (s *state) longText(v []byte, ascii bool, max int) string {
	keep := max - len(event.Truncated)
	for keep > 0 && !utf8.RuneStart(v[keep]) {
		keep--
	}
	return s.arena.text(v[:keep], ascii) + event.Truncated
}

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
func (a *arena) str(b []byte) string { return a.text(b, false) }

// text is str for b known to be ASCII when ascii is set.
func (a *arena) text(b []byte, ascii bool) string {
	if len(b) == 0 {
		return ""
	}
	if !ascii && !utf8.Valid(b) {
		b = bytes.ToValidUTF8(b, []byte("\uFFFD"))
	}
	if len(a.buf)+len(b) > cap(a.buf) {
		return string(b)
	}
	start := len(a.buf)
	a.buf = append(a.buf, b...)
	return unsafe.String(&a.buf[start], len(b))
}
