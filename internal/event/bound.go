package event

import "unicode/utf8"

// DefaultMaxValueLength bounds the length in bytes of every string value a
// client sends that is copied into an output: the payload's strings (cut
// by the taskerevents receiver) and the normalized attributes derived from
// them (task and step names, error messages, stack traces, SQL,
// correlation ids, ...), which go onto spans, log records and labels.
const DefaultMaxValueLength = 65536

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
