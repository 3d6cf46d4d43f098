package flattentest

import (
	"encoding/hex"

	"go.opentelemetry.io/collector/pdata/plog"
)

// The expectations below are written from the field documentation, not
// from internal/flatten's code, so that the exporters' tests check it.

// HexID is how a trace or span id is written: lower-case hex, or "" when
// every byte is zero (unset).
func HexID(b []byte) string {
	for _, c := range b {
		if c != 0 {
			return hex.EncodeToString(b)
		}
	}
	return ""
}

// EventName is the event_name of lr's record: its event name, or else its
// "event.name" attribute.
func EventName(lr plog.LogRecord) string {
	if n := lr.EventName(); n != "" {
		return n
	}
	v, _ := lr.Attributes().Get("event.name")
	return v.Str()
}

// Severity is the severity of lr's record: its severity text, or else the
// name of its severity number.
func Severity(lr plog.LogRecord) string {
	if s := lr.SeverityText(); s != "" {
		return s
	}
	return lr.SeverityNumber().String()
}
