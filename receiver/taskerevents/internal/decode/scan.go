package decode

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// scanner reads the JSON text of one event, strictly as RFC 8259 has it.
// Its methods advance i past what they read and return false on a syntax
// error, which they record (see fail): the callers only pass the failure up.
type scanner struct {
	b   []byte // the event's text; a view into the request body
	i   int    // read position in b
	tmp []byte // strings with escapes, unescaped; reused

	// The first failure: its kind, its offset in b (syntax errors) and what
	// went wrong.
	errKind errKind
	errAt   int
	errWhat string
}

type errKind uint8

const (
	errNone errKind = iota
	// errSyntax is bad JSON at errAt.
	errSyntax
	// errNesting is JSON nested beyond maxNesting.
	errNesting
	// errContent is valid JSON the decoder refuses (nesting beyond the
	// configured depth, a number out of range). The decoder reports it
	// only once the event is known to be valid JSON (see deferContent).
	errContent
)

// maxNesting bounds the nesting of values the decoder validates without
// converting them (members outside the payload, redacted values): a value at
// this depth, counting the event object as 1 and scalars too, may not hold
// another. It is what the previous parser (fastjson) allowed, and it keeps
// the recursion bounded on any input.
const maxNesting = 300

func (s *scanner) load(b []byte) {
	s.b, s.i = b, 0
	s.errKind, s.errAt, s.errWhat = errNone, 0, ""
}

// ws skips whitespace.
func (s *scanner) ws() {
	for s.i < len(s.b) {
		if c := s.b[s.i]; c > ' ' || !isSpace(c) {
			return
		}
		s.i++
	}
}

// peek returns the byte at i, 0 at the end (0 is never valid there).
func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// fail records a syntax error at offset at.
func (s *scanner) fail(at int, format string, args ...any) bool {
	s.errKind, s.errAt, s.errWhat = errSyntax, at, fmt.Sprintf(format, args...)
	return false
}

// expected records that the byte at i is not what want says.
func (s *scanner) expected(want string) bool {
	return s.fail(s.i, "expected %s, found %s", want, s.found())
}

// found names the byte at i for an error message.
func (s *scanner) found() string {
	if s.i >= len(s.b) {
		return "end of input"
	}
	if c := s.b[s.i]; c > ' ' && c < utf8.RuneSelf {
		return fmt.Sprintf("%q", c)
	}
	return fmt.Sprintf("byte 0x%02x", s.b[s.i])
}

// end checks that only whitespace follows the value just read.
func (s *scanner) end() bool {
	s.ws()
	if s.i < len(s.b) {
		return s.fail(s.i, "unexpected %s after the JSON value", s.found())
	}
	return true
}

// readStr reads the string whose opening quote is at i and returns its
// content, unescaped: a view into b when it has no escapes, else into tmp
// (valid until the next call). ascii tells that the content is all ASCII,
// and so valid UTF-8.
func (s *scanner) readStr() (v []byte, ascii, ok bool) {
	start := s.i + 1
	i, high := plain(s.b, start)
	if i < len(s.b) && s.b[i] == '"' {
		s.i = i + 1
		return s.b[start:i], high&highBits == 0, true
	}
	return s.unescape(start, i)
}

// unescape finishes reading a string at b[i], its content starting at
// b[start]: an escape, a control character or the end of b. Lone UTF-16
// surrogates become U+FFFD, as encoding/json has them.
func (s *scanner) unescape(start, i int) (v []byte, ascii, ok bool) {
	b := s.b
	t := append(s.tmp[:0], b[start:i]...)
	for i < len(b) {
		switch c := b[i]; {
		case c == '"':
			s.i, s.tmp = i+1, t
			return t, false, true // not worth tracking: arena.str checks
		case c < ' ':
			return nil, false, s.fail(i, "control character 0x%02x in a string (escape it)", c)
		}
		// A backslash.
		if i+1 >= len(b) {
			break
		}
		switch e := b[i+1]; e {
		case '"', '\\', '/':
			t = append(t, e)
		case 'b':
			t = append(t, '\b')
		case 'f':
			t = append(t, '\f')
		case 'n':
			t = append(t, '\n')
		case 'r':
			t = append(t, '\r')
		case 't':
			t = append(t, '\t')
		case 'u':
			r := hex4(b, i+2)
			if r < 0 {
				return nil, false, s.fail(i, "invalid escape %q in a string", escapeText(b[i:]))
			}
			i += 4
			if utf16.IsSurrogate(r) {
				// Only a high surrogate escaped right before a low one
				// makes a character.
				d := utf16.DecodeRune(r, escapedRune(b, i+2))
				if d != utf8.RuneError {
					i += 6
				}
				r = d
			}
			t = utf8.AppendRune(t, r)
		default:
			return nil, false, s.fail(i, "invalid escape %q in a string", escapeText(b[i:]))
		}
		j, _ := plain(b, i+2)
		t = append(t, b[i+2:j]...)
		i = j
	}
	s.tmp = t
	return nil, false, s.fail(start-1, "unterminated string")
}

const highBits = 0x8080808080808080

// plain returns the index of the first byte at or after b[i] that ends a
// plain run of string content (a quote, a backslash, a control character),
// or len(b), and the bytes before it ORed together (to tell non-ASCII).
func plain(b []byte, i int) (int, uint64) {
	const ones = 0x0101010101010101
	var high uint64
	// Eight bytes at a time: most strings are mostly plain.
	for rest := b[i:]; len(rest) >= 8; rest = rest[8:] {
		x := binary.LittleEndian.Uint64(rest)
		// Each test sets the high bit of the bytes that match; a borrow
		// may set it in bytes above a match too, never below one.
		q, bs := x^(ones*'"'), x^(ones*'\\')
		if stop := ((x-ones*' ')&^x | (q-ones)&^q | (bs-ones)&^bs) & highBits; stop != 0 {
			n := bits.TrailingZeros64(stop) / 8
			return len(b) - len(rest) + n, high | x&(1<<(8*n)-1)
		}
		high |= x
		i += 8
	}
	for ; i < len(b); i++ {
		c := b[i]
		if c < ' ' || c == '"' || c == '\\' {
			break
		}
		high |= uint64(c)
	}
	return i, high
}

// hex4 decodes the 4 hex digits at b[i:], or returns -1.
func hex4(b []byte, i int) rune {
	if i+4 > len(b) {
		return -1
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// escapedRune decodes a \uXXXX escape at b[i:], or returns -1.
func escapedRune(b []byte, i int) rune {
	if i+1 < len(b) && b[i] == '\\' && b[i+1] == 'u' {
		return hex4(b, i+2)
	}
	return -1
}

// escapeText returns the escape sequence starting at b[0] for a message.
func escapeText(b []byte) string {
	n := min(2, len(b))
	if n == 2 && b[1] == 'u' {
		for n < min(6, len(b)) && isWordByte(b[n]) {
			n++
		}
	}
	return string(b[:n])
}

// skipStr validates the string at i and moves past it.
func (s *scanner) skipStr() bool {
	_, _, ok := s.readStr()
	return ok
}

// numberToken reads the number at i and tells whether it is written as an
// integer (no fraction, no exponent).
func (s *scanner) numberToken() (tok []byte, isInt, ok bool) {
	start := s.i
	i := start
	for i < len(s.b) && isNumberByte(s.b[i]) {
		i++
	}
	tok = s.b[start:i]
	isInt, ok = jsonNumber(tok)
	if !ok || (i < len(s.b) && isWordByte(s.b[i])) {
		return nil, false, s.badWord(start)
	}
	s.i = i
	return tok, isInt, true
}

// literal reads true, false or null (word) at i.
func (s *scanner) literal(word string) bool {
	end := s.i + len(word)
	if end > len(s.b) || string(s.b[s.i:end]) != word || (end < len(s.b) && isWordByte(s.b[end])) {
		return s.badWord(s.i)
	}
	s.i = end
	return true
}

// badWord reports the bare word at start that is no JSON value (NaN,
// Infinity, 01, 1.2.3, True, undefined...).
func (s *scanner) badWord(start int) bool {
	end := start
	for end < len(s.b) && end-start < 32 && isWordByte(s.b[end]) {
		end++
	}
	w := s.b[start:end]
	if len(w) == 0 {
		s.i = start
		return s.expected("a value")
	}
	what := "number"
	if c := w[0] | 0x20; c >= 'a' && c <= 'z' && !bytes.EqualFold(w, []byte("nan")) && !bytes.HasPrefix(bytes.ToLower(w), []byte("inf")) {
		what = "literal" // True, nil, undefined...; NaN and Infinity are numbers JSON lacks
	}
	return s.fail(start, "invalid %s %q", what, w)
}

// skip validates the value at i and moves past it. depth is the value's
// nesting depth, the event object being 1 (see maxNesting).
func (s *scanner) skip(depth int) bool {
	if depth > maxNesting {
		s.errKind = errNesting
		return false
	}
	switch s.peek() {
	case '"':
		return s.skipStr()
	case '{':
		s.i++
		s.ws()
		if s.peek() == '}' {
			s.i++
			return true
		}
		for {
			if s.peek() != '"' {
				return s.expected("a member name (a string)")
			}
			if !s.skipStr() {
				return false
			}
			if !s.colon() || !s.skip(depth+1) {
				return false
			}
			if more, ok := s.next('}'); !more {
				return ok
			}
		}
	case '[':
		s.i++
		s.ws()
		if s.peek() == ']' {
			s.i++
			return true
		}
		for {
			if !s.skip(depth + 1) {
				return false
			}
			if more, ok := s.next(']'); !more {
				return ok
			}
		}
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	}
	_, _, ok := s.numberToken()
	return ok
}

// colon reads the ':' after a member name and the whitespace around it.
func (s *scanner) colon() bool {
	if s.peek() != ':' {
		if s.ws(); s.peek() != ':' {
			return s.expected("':' after a member name")
		}
	}
	s.i++
	s.ws()
	return true
}

// next reads what follows a member (closing is '}') or an element (']'): a
// ',' and the whitespace after it (more), or the closing bracket (done, ok).
func (s *scanner) next(closing byte) (more, ok bool) {
	s.ws()
	switch s.peek() {
	case ',':
		s.i++
		s.ws()
		if closing == '}' && s.peek() != '"' {
			return false, s.expected("a member name (a string) after ','")
		}
		return true, true
	case closing:
		s.i++
		return false, true
	}
	if closing == '}' {
		return false, s.expected("',' or '}' after an object member")
	}
	return false, s.expected("',' or ']' after an array element")
}

// kindAt names the JSON type of the (valid) value at offset at, with the
// names the decoder's messages have always used.
func (s *scanner) kindAt(at int) string {
	switch s.b[at] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't':
		return "true"
	case 'f':
		return "false"
	case 'n':
		return "null"
	}
	return "number"
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

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// isNumberByte tells the bytes of a JSON number.
func isNumberByte(c byte) bool {
	return isDigit(c) || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

// isWordByte tells the bytes of a bare word (see badWord).
func isWordByte(c byte) bool {
	return isNumberByte(c) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}
