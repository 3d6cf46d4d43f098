package flatten

import (
	"encoding/base64"
	"math"
	"strconv"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// The appenders below write JSON straight into a caller-owned byte slice.
// They exist so that no record ever goes through map[string]any and
// encoding/json: the output of a hot loop is one growing, reused buffer.

const hexDigits = "0123456789abcdef"

// safeASCII[b] is true when the ASCII byte b may appear unescaped inside a
// JSON string.
var safeASCII = func() (t [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\'
	}
	return t
}()

// AppendString appends s as a quoted JSON string.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = AppendStringContent(dst, s)
	return append(dst, '"')
}

// AppendStringContent appends s escaped for use inside a JSON string,
// without the surrounding quotes. Invalid UTF-8 becomes U+FFFD, and U+2028
// and U+2029 are escaped so the output is also safe to embed in JavaScript.
func AppendStringContent(dst []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if safeASCII[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}

// AppendFloat appends f as a JSON number. JSON has no NaN or infinities, so
// those are written as the strings "NaN", "+Inf" and "-Inf" (the spelling
// Prometheus uses).
func AppendFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(dst, `"+Inf"`...)
	case math.IsInf(f, -1):
		return append(dst, `"-Inf"`...)
	}
	return AppendNumber(dst, f)
}

// AppendNumber appends a finite float the way encoding/json does (ES6 number
// formatting: plain decimals, exponent only for very small or large values).
// NaN and infinities are written as strconv spells them (NaN, +Inf, -Inf).
func AppendNumber(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return strconv.AppendFloat(dst, f, 'g', -1, 64)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// Shorten e-07 to e-7 as encoding/json does.
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// AppendValue appends an attribute or body value as JSON: strings, numbers,
// booleans, objects and arrays map to themselves, bytes become a base64
// string and an empty value becomes null.
func AppendValue(dst []byte, v pcommon.Value) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return AppendString(dst, v.Str())
	case pcommon.ValueTypeInt:
		return strconv.AppendInt(dst, v.Int(), 10)
	case pcommon.ValueTypeDouble:
		return AppendFloat(dst, v.Double())
	case pcommon.ValueTypeBool:
		return strconv.AppendBool(dst, v.Bool())
	case pcommon.ValueTypeMap:
		return AppendMap(dst, v.Map(), nil)
	case pcommon.ValueTypeSlice:
		return AppendSlice(dst, v.Slice())
	case pcommon.ValueTypeBytes:
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, v.Bytes().AsRaw())
		return append(dst, '"')
	default:
		return append(dst, "null"...)
	}
}

// AppendMap appends m as a JSON object, leaving out the keys for which skip
// returns true (skip may be nil).
func AppendMap(dst []byte, m pcommon.Map, skip func(string) bool) []byte {
	dst = append(dst, '{')
	first := true
	for k, v := range m.All() {
		if skip != nil && skip(k) {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = AppendString(dst, k)
		dst = append(dst, ':')
		dst = AppendValue(dst, v)
	}
	return append(dst, '}')
}

// AppendSlice appends s as a JSON array.
func AppendSlice(dst []byte, s pcommon.Slice) []byte {
	dst = append(dst, '[')
	for i := 0; i < s.Len(); i++ {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendValue(dst, s.At(i))
	}
	return append(dst, ']')
}

// AppendFloats appends a JSON array of numbers.
func AppendFloats(dst []byte, s pcommon.Float64Slice) []byte {
	dst = append(dst, '[')
	for i := 0; i < s.Len(); i++ {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendFloat(dst, s.At(i))
	}
	return append(dst, ']')
}

// AppendUints appends a JSON array of unsigned integers.
func AppendUints(dst []byte, s pcommon.UInt64Slice) []byte {
	dst = append(dst, '[')
	for i := 0; i < s.Len(); i++ {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = strconv.AppendUint(dst, s.At(i), 10)
	}
	return append(dst, ']')
}

// AppendHex appends the lowercase hex form of b.
func AppendHex(dst, b []byte) []byte {
	for _, c := range b {
		dst = append(dst, hexDigits[c>>4], hexDigits[c&0xF])
	}
	return dst
}

// AppendTraceID appends the hex trace id, or nothing when it is empty.
func AppendTraceID(dst []byte, id pcommon.TraceID) []byte {
	if id.IsEmpty() {
		return dst
	}
	return AppendHex(dst, id[:])
}

// AppendSpanID appends the hex span id, or nothing when it is empty.
func AppendSpanID(dst []byte, id pcommon.SpanID) []byte {
	if id.IsEmpty() {
		return dst
	}
	return AppendHex(dst, id[:])
}
