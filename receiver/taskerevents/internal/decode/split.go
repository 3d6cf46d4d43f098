package decode

import (
	"bytes"
	"fmt"
)

// splitLines records the byte range of every non-blank NDJSON line. Lines
// end with "\n" or "\r\n".
func (s *state) splitLines(body []byte) error {
	max := s.opts.MaxEvents
	line := 0
	for start := 0; start < len(body); {
		line++
		end := bytes.IndexByte(body[start:], '\n')
		next := len(body)
		if end < 0 {
			end = len(body)
		} else {
			end += start
			next = end + 1
		}
		lo, hi := start, end
		for lo < hi && isSpace(body[lo]) {
			lo++
		}
		for hi > lo && isSpace(body[hi-1]) {
			hi--
		}
		if lo < hi {
			if max > 0 && len(s.spans) == max {
				return &TooManyEventsError{Limit: max}
			}
			s.spans = append(s.spans, span{start: lo, end: hi, line: line})
		}
		start = next
	}
	return nil
}

// splitArray records the byte range of every element of the JSON array that
// starts at body[open]. It only tracks strings and brackets: each element is
// then parsed (and so validated) on its own, which keeps the parser's memory
// bounded by the largest event rather than the whole body.
func (s *state) splitArray(body []byte, open int) error {
	max := s.opts.MaxEvents
	depth := 0 // nesting inside the current element
	start := -1
	i := open + 1
	for ; i < len(body); i++ {
		c := body[i]
		switch {
		case c == '"':
			if start < 0 {
				start = i
			}
			end := skipString(body, i+1)
			if end < 0 {
				return syntaxAt(i, "unterminated string")
			}
			i = end
		case c == '{' || c == '[':
			if start < 0 {
				start = i
			}
			depth++
		case c == '}' || c == ']':
			if depth > 0 {
				depth--
				continue
			}
			if c == '}' {
				return syntaxAt(i, "unexpected '}'")
			}
			if start >= 0 {
				s.spans = append(s.spans, span{start: start, end: trimRight(body, start, i)})
			} else if len(s.spans) > 0 {
				return syntaxAt(i, "missing value after ','")
			}
			if max > 0 && len(s.spans) > max {
				return &TooManyEventsError{Limit: max}
			}
			if j := skipSpace(body, i+1); j < len(body) {
				return syntaxAt(j, "data after the end of the array")
			}
			return nil
		case c == ',' && depth == 0:
			if start < 0 {
				return syntaxAt(i, "missing value before ','")
			}
			s.spans = append(s.spans, span{start: start, end: trimRight(body, start, i)})
			start = -1
			if max > 0 && len(s.spans) > max {
				return &TooManyEventsError{Limit: max}
			}
		case isSpace(c):
		default:
			if start < 0 {
				start = i
			}
		}
	}
	return syntaxAt(len(body), "unexpected end of JSON array")
}

// skipString returns the index of the quote closing the string whose
// content starts at body[i], or -1.
func skipString(body []byte, i int) int {
	for {
		q := bytes.IndexByte(body[i:], '"')
		if q < 0 {
			return -1
		}
		q += i
		// The quote is escaped when an odd number of backslashes precede it.
		n := 0
		for j := q - 1; j >= i && body[j] == '\\'; j-- {
			n++
		}
		if n%2 == 0 {
			return q
		}
		i = q + 1
	}
}

func syntaxAt(offset int, what string) error {
	return &Error{Index: -1, Reason: fmt.Sprintf("invalid JSON at byte offset %d: %s", offset, what)}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

func trimRight(b []byte, lo, hi int) int {
	for hi > lo && isSpace(b[hi-1]) {
		hi--
	}
	return hi
}
