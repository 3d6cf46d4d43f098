// Package bytestr views bytes as a string without copying them.
package bytestr // import "github.com/otelcol-tasker/otelcol-tasker/internal/bytestr"

import "unsafe"

// View returns b as a string without copying it, for a call that reads it
// and does not keep it: the string changes if b does.
func View(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
