package logfmtexporter

import (
	"strconv"
	"strings"
	"time"
	"unicode"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-tasker/otelcol-tasker/internal/flatten"
	"github.com/otelcol-tasker/otelcol-tasker/internal/sink"
)

// encoder writes a batch's records as logfmt lines. It is a sink.Encoder
// (whole batches in) and a flatten.Encoder (one typed value at a time).
type encoder struct {
	cols []flatten.Column
	rec  flatten.Record
	buf  []byte
	key  string // the column being written
}

var (
	_ sink.Encoder    = (*encoder)(nil)
	_ flatten.Encoder = (*encoder)(nil)
)

func (e *encoder) Traces(td ptrace.Traces, b *sink.Batch) {
	flatten.EachSpan(td, &e.rec, func(r *flatten.Record) { e.record(r, b) })
}

func (e *encoder) Metrics(md pmetric.Metrics, b *sink.Batch) {
	flatten.EachPoint(md, &e.rec, func(r *flatten.Record) { e.record(r, b) })
}

func (e *encoder) Logs(ld plog.Logs, b *sink.Batch) {
	flatten.EachLog(ld, &e.rec, func(r *flatten.Record) { e.record(r, b) })
}

// record appends one line and marks its end, so that a file rotation or an
// HTTP body never cuts a record in two.
func (e *encoder) record(r *flatten.Record, b *sink.Batch) {
	e.buf = b.Data
	start := len(e.buf)
	for _, c := range e.cols {
		e.key = c.Out
		c.Write(r, e)
	}
	if len(e.buf) > start && e.buf[start] == ' ' {
		e.buf = append(e.buf[:start], e.buf[start+1:]...)
	}
	e.buf = append(e.buf, '\n')
	b.Data = e.buf
	b.EndRecord()
}

// pair appends ` key=value` (the key in two parts, so that map entries
// need no concatenation), quoting the value when logfmt needs it.
func (e *encoder) pair(key, subkey, value string) {
	e.buf = append(e.buf, ' ')
	e.buf = append(e.buf, key...)
	if subkey != "" {
		e.buf = append(e.buf, '.')
		e.buf = append(e.buf, subkey...)
	}
	e.buf = append(e.buf, '=')
	if needsQuotes(value) {
		e.buf = strconv.AppendQuote(e.buf, value)
	} else {
		e.buf = append(e.buf, value...)
	}
}

func needsQuotes(s string) bool {
	return s == "" || strings.IndexFunc(s, func(r rune) bool {
		return r <= ' ' || r == '=' || r == '"' || r == '\\' || !unicode.IsPrint(r)
	}) >= 0
}

// The flatten.Encoder methods: one value of the column e.key. A field with
// no value (Null) is left out of the line.

func (e *encoder) Null()                 {}
func (e *encoder) Str(s string)          { e.pair(e.key, "", s) }
func (e *encoder) Int(v int64)           { e.pair(e.key, "", strconv.FormatInt(v, 10)) }
func (e *encoder) Uint(v uint64)         { e.pair(e.key, "", strconv.FormatUint(v, 10)) }
func (e *encoder) Float(v float64)       { e.pair(e.key, "", strconv.FormatFloat(v, 'g', -1, 64)) }
func (e *encoder) Bool(v bool)           { e.pair(e.key, "", strconv.FormatBool(v)) }
func (e *encoder) RawJSON(b []byte)      { e.pair(e.key, "", string(b)) }
func (e *encoder) Value(v pcommon.Value) { e.pair(e.key, "", v.AsString()) }

func (e *encoder) Time(ts pcommon.Timestamp) {
	if ts != 0 {
		e.pair(e.key, "", ts.AsTime().UTC().Format(time.RFC3339Nano))
	}
}

func (e *encoder) TraceID(id pcommon.TraceID) {
	if !id.IsEmpty() {
		e.pair(e.key, "", id.String())
	}
}

func (e *encoder) SpanID(id pcommon.SpanID) {
	if !id.IsEmpty() {
		e.pair(e.key, "", id.String())
	}
}

// Attributes and Map write one pair per entry, `column.key=value`, in the
// map's order.
func (e *encoder) Attributes(m pcommon.Map) { e.Map(m) }

func (e *encoder) Map(m pcommon.Map) {
	for k, v := range m.All() {
		e.pair(e.key, k, v.AsString())
	}
}
