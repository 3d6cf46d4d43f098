package sim

import (
	"math"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-tasker/otelcol-tasker/internal/flatten"
)

// Kind is the JSON type of a payload value.
type Kind uint8

const (
	KindNull Kind = iota
	KindString
	KindInt
	KindFloat
	KindBool
	KindTime // Unix milliseconds, written as an ISO-8601 UTC string with milliseconds
	KindList // Kids hold the elements (their keys are empty)
	KindMap  // Kids hold the entries in order
)

// Value is one payload value. It is a small tagged union instead of `any`,
// so that payloads are built and encoded without reflection or boxing.
type Value struct {
	Kind Kind
	Str  string
	Num  int64 // KindInt, KindTime (ms), KindBool (0 or 1)
	F    float64
	Kids []Field
}

// Field is one key of a payload map (or, with an empty key, one list element).
type Field struct {
	Key string
	Val Value
}

// Constructors keep the generator readable.

func Str(s string) Value       { return Value{Kind: KindString, Str: s} }
func Int(n int64) Value        { return Value{Kind: KindInt, Num: n} }
func Float(f float64) Value    { return Value{Kind: KindFloat, F: f} }
func TimeMS(ms int64) Value    { return Value{Kind: KindTime, Num: ms} }
func Null() Value              { return Value{} }
func Map(kids ...Field) Value  { return Value{Kind: KindMap, Kids: kids} }
func List(kids ...Field) Value { return Value{Kind: KindList, Kids: kids} }
func Bool(b bool) Value {
	if b {
		return Value{Kind: KindBool, Num: 1}
	}
	return Value{Kind: KindBool}
}

// AppendTime writes Unix milliseconds as Tasker writes times:
// 2025-11-25T19:46:40.217Z.
func AppendTime(b []byte, ms int64) []byte {
	if ms < 0 || ms >= maxFastMS {
		return time.UnixMilli(ms).UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z")
	}
	// Plain arithmetic: several times faster than time.Format, and every
	// event carries two to four times.
	days, rem := ms/86400000, ms%86400000
	y, m, d := flatten.CivilDate(days)
	b = append(b,
		byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+m/10), byte('0'+m%10), '-', byte('0'+d/10), byte('0'+d%10), 'T')
	h, mi, sec, milli := rem/3600000, rem/60000%60, rem/1000%60, rem%1000
	return append(b,
		byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10), ':',
		byte('0'+sec/10), byte('0'+sec%10), '.',
		byte('0'+milli/100), byte('0'+milli/10%10), byte('0'+milli%10), 'Z')
}

// maxFastMS is 10000-01-01T00:00:00Z: four-digit years take the fast path.
const maxFastMS = 253402300800000

// FormatTime is AppendTime returning a string.
func FormatTime(ms int64) string { return string(AppendTime(nil, ms)) }

// AppendJSON appends v as JSON.
func (v Value) AppendJSON(b []byte) []byte {
	switch v.Kind {
	case KindString:
		return flatten.AppendString(b, v.Str)
	case KindInt:
		return strconv.AppendInt(b, v.Num, 10)
	case KindFloat:
		return appendFloat(b, v.F)
	case KindBool:
		if v.Num != 0 {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	case KindTime:
		b = append(b, '"')
		b = AppendTime(b, v.Num)
		return append(b, '"')
	case KindList:
		b = append(b, '[')
		for i := range v.Kids {
			if i > 0 {
				b = append(b, ',')
			}
			b = v.Kids[i].Val.AppendJSON(b)
		}
		return append(b, ']')
	case KindMap:
		return AppendObject(b, v.Kids)
	}
	return append(b, "null"...)
}

// AppendObject appends fields as a JSON object.
func AppendObject(b []byte, fields []Field) []byte {
	b = append(b, '{')
	b = appendMembers(b, fields)
	return append(b, '}')
}

func appendMembers(b []byte, fields []Field) []byte {
	for i := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = flatten.AppendString(b, fields[i].Key)
		b = append(b, ':')
		b = fields[i].Val.AppendJSON(b)
	}
	return b
}

// appendFloat keeps whole numbers recognisably floating point (100.0), as
// Tasker's Ruby JSON does, so decoders keep the type.
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.AppendFloat(b, f, 'f', 1, 64)
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}

const hexDigits = "0123456789abcdef"

// PutPcommon writes v into dst, the way the taskerevents receiver decodes the
// same JSON: times become strings, lists slices, maps maps.
func (v Value) PutPcommon(dst pcommon.Value) {
	switch v.Kind {
	case KindString:
		dst.SetStr(v.Str)
	case KindInt:
		dst.SetInt(v.Num)
	case KindFloat:
		dst.SetDouble(v.F)
	case KindBool:
		dst.SetBool(v.Num != 0)
	case KindTime:
		dst.SetStr(FormatTime(v.Num))
	case KindList:
		s := dst.SetEmptySlice()
		s.EnsureCapacity(len(v.Kids))
		for i := range v.Kids {
			v.Kids[i].Val.PutPcommon(s.AppendEmpty())
		}
	case KindMap:
		PutMap(dst.SetEmptyMap(), v.Kids)
	}
	// KindNull leaves dst empty, which is how pdata represents JSON null.
}

// PutMap writes fields into m.
func PutMap(m pcommon.Map, fields []Field) {
	m.EnsureCapacity(m.Len() + len(fields))
	for i := range fields {
		fields[i].Val.PutPcommon(m.PutEmpty(fields[i].Key))
	}
}
