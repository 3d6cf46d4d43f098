package event

import "unicode/utf8"

// DefaultMaxAttributeLength bounds the length in bytes of every normalized
// attribute value (task and step names, error messages, stack traces, SQL,
// correlation ids, ...): they are copied onto spans and log records, and a
// client controls them.
const DefaultMaxAttributeLength = 8192

// Truncated ends a value cut short by Truncate.
const Truncated = "...[TRUNCATED]"

// Truncate returns s cut to at most max bytes, ending with Truncated, and
// whether it cut; s as it is when it fits or max < 1. The cut falls on a
// UTF-8 character boundary.
func Truncate(s string, max int) (string, bool) {
	if max < 1 || len(s) <= max {
		return s, false
	}
	keep := max - len(Truncated)
	if keep < 0 {
		return Truncated[:max], true
	}
	for keep > 0 && !utf8.RuneStart(s[keep]) {
		keep--
	}
	return s[:keep] + Truncated, true
}
