package csvexporter // import "github.com/otelcol-tasker/otelcol-tasker/exporter/csvexporter"

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-tasker/otelcol-tasker/internal/flatten"
	"github.com/otelcol-tasker/otelcol-tasker/internal/sink"
)

// column is either a record field or one attribute pulled into its own column.
type column struct {
	field   flatten.Field
	attrKey string
	isAttr  bool
}

// layout is what every encoder of one exporter shares.
type layout struct {
	cols       []column
	header     []byte
	attrKeys   []string // keys written in their own columns
	sep        byte
	escape     bool
	timeFormat flatten.TimeFormat
}

// newLayout resolves the columns of signal s. Attribute columns go just
// before the attributes column, or last when there is none.
func newLayout(cfg *Config, s flatten.Signal) (*layout, error) {
	sc := cfg.signal(s)
	fields, err := flatten.Select(s, sc.Columns, nil, cfg.FieldMapping, true)
	if err != nil {
		return nil, fmt.Errorf("%s::columns: %w", s, err)
	}
	l := &layout{sep: separators[cfg.Separator], escape: cfg.EscapeFormulas, timeFormat: cfg.TimeFormat}
	if l.sep == 0 {
		l.sep = ','
	}
	var names []string
	attrCols := make([]column, 0, len(sc.AttributeColumns))
	attrNames := make([]string, 0, len(sc.AttributeColumns))
	for _, k := range sc.AttributeColumns {
		if k == "" {
			return nil, fmt.Errorf("%s::attribute_columns: empty attribute key", s)
		}
		if slices.Contains(l.attrKeys, k) {
			return nil, fmt.Errorf("%s::attribute_columns: %q is listed twice", s, k)
		}
		l.attrKeys = append(l.attrKeys, k)
		attrCols = append(attrCols, column{attrKey: k, isAttr: true})
		attrNames = append(attrNames, cfg.AttributeColumnPrefix+k)
	}
	placed := false
	for _, f := range fields {
		if f.Name == flatten.AttributesField {
			l.cols = append(l.cols, attrCols...)
			names = append(names, attrNames...)
			placed = true
		}
		l.cols = append(l.cols, column{field: f.Field})
		names = append(names, f.Out)
	}
	if !placed {
		l.cols = append(l.cols, attrCols...)
		names = append(names, attrNames...)
	}
	if len(l.cols) == 0 {
		return nil, fmt.Errorf("%s::columns: no columns", s)
	}
	seen := make(map[string]bool, len(names))
	for i, n := range names {
		if seen[n] {
			return nil, fmt.Errorf("%s::attribute_columns: column %q appears twice in the header", s, n)
		}
		seen[n] = true
		if i > 0 {
			l.header = append(l.header, l.sep)
		}
		l.header = appendQuoted(l.header, n, l.sep)
	}
	l.header = append(l.header, '\n')
	return l, nil
}

// encoder writes records of one batch as CSV rows. It implements
// flatten.Encoder; buf is the batch being filled.
type encoder struct {
	*layout
	buf     []byte
	rec     flatten.Record
	scratch []byte
	skip    func(string) bool
}

var _ sink.Encoder = (*encoder)(nil)

func newEncoder(l *layout) *encoder {
	e := &encoder{layout: l, rec: flatten.Record{TimeFormat: l.timeFormat}}
	if len(l.attrKeys) > 0 {
		e.skip = func(k string) bool { return slices.Contains(l.attrKeys, k) }
	}
	return e
}

// Traces implements sink.Encoder.
func (e *encoder) Traces(td ptrace.Traces, b *sink.Batch) {
	e.buf = b.Data
	flatten.EachSpan(td, &e.rec, func(r *flatten.Record) { e.row(r, b) })
	b.Data = e.buf
}

// Metrics implements sink.Encoder.
func (e *encoder) Metrics(md pmetric.Metrics, b *sink.Batch) {
	e.buf = b.Data
	flatten.EachPoint(md, &e.rec, func(r *flatten.Record) { e.row(r, b) })
	b.Data = e.buf
}

// Logs implements sink.Encoder.
func (e *encoder) Logs(ld plog.Logs, b *sink.Batch) {
	e.buf = b.Data
	flatten.EachLog(ld, &e.rec, func(r *flatten.Record) { e.row(r, b) })
	b.Data = e.buf
}

// row writes one cell per column, always exactly as many as the header has.
func (e *encoder) row(r *flatten.Record, b *sink.Batch) {
	start := len(e.buf)
	for i := range e.cols {
		if i > 0 {
			e.buf = append(e.buf, e.sep)
		}
		c := &e.cols[i]
		if !c.isAttr {
			c.field.Write(r, e)
			continue
		}
		if v, ok := r.Attrs.Get(c.attrKey); ok {
			e.Value(v)
		}
	}
	if len(e.buf) == start {
		// A lone empty cell would be a blank line, which CSV readers skip.
		e.buf = append(e.buf, '"', '"')
	}
	e.buf = append(e.buf, '\n')
	b.Ends = append(b.Ends, len(e.buf))
}

// text writes a cell that holds text from the data (names, attribute
// strings, bodies): escaped against spreadsheet formulas when enabled, and
// quoted when needed.
func (e *encoder) text(s string) {
	if e.escape && len(s) > 0 && isFormulaStart(s[0]) {
		e.buf = appendCell(e.buf, "'", s, e.sep)
		return
	}
	e.buf = appendCell(e.buf, "", s, e.sep)
}

// json writes a cell holding a JSON value. JSON starts with {, [, ", a
// digit, -, t, f or n; only a bare negative number can look like a formula,
// and that is a number, so JSON cells are never prefixed.
func (e *encoder) json(b []byte) {
	// JSON objects and arrays nearly always hold a quote or a comma, so
	// they are always quoted; doubling the quotes uses IndexByte, which is
	// much faster than a byte loop on these long cells.
	e.buf = append(e.buf, '"')
	for {
		i := bytes.IndexByte(b, '"')
		if i < 0 {
			break
		}
		e.buf = append(e.buf, b[:i+1]...)
		e.buf = append(e.buf, '"')
		b = b[i+1:]
	}
	e.buf = append(e.buf, b...)
	e.buf = append(e.buf, '"')
}

// isFormulaStart reports whether a cell starting with c would be evaluated
// by a spreadsheet (OWASP CSV injection guidance).
func isFormulaStart(c byte) bool {
	switch c {
	case '=', '+', '-', '@', '\t', '\r':
		return true
	}
	return false
}

// appendQuoted writes s as an RFC 4180 cell: quoted, with quotes doubled,
// when it contains the separator, a quote or a line break, or starts with a
// space or tab (some readers trim unquoted leading blanks).
func appendQuoted[T string | []byte](dst []byte, s T, sep byte) []byte {
	return appendCell(dst, "", s, sep)
}

// appendCell writes prefix+s as one cell; the prefix (the formula escape)
// goes inside the quotes.
func appendCell[T string | []byte](dst []byte, prefix string, s T, sep byte) []byte {
	if !needsQuotes(s, sep) {
		dst = append(dst, prefix...)
		return append(dst, s...)
	}
	dst = append(dst, '"')
	dst = append(dst, prefix...)
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			dst = append(dst, s[start:i+1]...)
			dst = append(dst, '"')
			start = i + 1
		}
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

func needsQuotes[T string | []byte](s T, sep byte) bool {
	if len(s) == 0 {
		return false
	}
	if s[0] == ' ' || s[0] == '\t' {
		return true
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case sep, '"', '\n', '\r':
			return true
		}
	}
	return false
}

// The flatten.Encoder methods write one cell at the end of buf. Numbers are
// written by the exporter itself, never from user text, so they are not
// formula-escaped: a gauge of -3 stays the number -3.

func (e *encoder) Null()           {}
func (e *encoder) Str(s string)    { e.text(s) }
func (e *encoder) Int(v int64)     { e.buf = strconv.AppendInt(e.buf, v, 10) }
func (e *encoder) Uint(v uint64)   { e.buf = strconv.AppendUint(e.buf, v, 10) }
func (e *encoder) Float(v float64) { e.buf = flatten.AppendNumber(e.buf, v) }
func (e *encoder) Bool(v bool)     { e.buf = strconv.AppendBool(e.buf, v) }

func (e *encoder) Time(ts pcommon.Timestamp) {
	if ts != 0 {
		e.buf = flatten.AppendTime(e.buf, ts, e.timeFormat)
	}
}

func (e *encoder) TraceID(id pcommon.TraceID) { e.buf = flatten.AppendTraceID(e.buf, id) }
func (e *encoder) SpanID(id pcommon.SpanID)   { e.buf = flatten.AppendSpanID(e.buf, id) }

// Attributes writes the attributes that have no column of their own as a
// JSON object.
func (e *encoder) Attributes(m pcommon.Map) {
	e.scratch = flatten.AppendMap(e.scratch[:0], m, e.skip)
	e.json(e.scratch)
}

func (e *encoder) Map(m pcommon.Map) {
	e.scratch = flatten.AppendMap(e.scratch[:0], m, nil)
	e.json(e.scratch)
}

func (e *encoder) RawJSON(b []byte) { e.json(b) }

// Value writes a body or attribute value: strings as text, numbers and
// booleans as themselves, maps and lists as JSON, bytes as base64 text.
func (e *encoder) Value(v pcommon.Value) {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		e.text(v.Str())
	case pcommon.ValueTypeInt:
		e.Int(v.Int())
	case pcommon.ValueTypeDouble:
		e.Float(v.Double())
	case pcommon.ValueTypeBool:
		e.Bool(v.Bool())
	case pcommon.ValueTypeMap, pcommon.ValueTypeSlice:
		e.scratch = flatten.AppendValue(e.scratch[:0], v)
		e.json(e.scratch)
	case pcommon.ValueTypeBytes:
		e.text(v.AsString())
	}
}
