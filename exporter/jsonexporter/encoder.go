package jsonexporter // import "github.com/otelcol-tasker/otelcol-tasker/exporter/jsonexporter"

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-tasker/otelcol-tasker/internal/flatten"
	"github.com/otelcol-tasker/otelcol-tasker/internal/sink"
)

// layout is what every encoder of one exporter shares: the selected fields
// with their keys already encoded, and the static suffix.
type layout struct {
	cols       []flatten.Column
	keys       [][]byte // `"name":` per column
	attrIdx    int      // index of the attributes column, -1 if not written
	flat       bool
	attrPrefix string
	// extra is `"k":"v","k2":"v2"` for additional_fields, sorted by key.
	extra      []byte
	meta       bool
	exporterID string
	version    string
	timeFormat flatten.TimeFormat
	pretty     bool
	now        func() time.Time
}

func newLayout(cfg *Config, s flatten.Signal, exporterID, version string) (*layout, error) {
	cols, err := flatten.Select(s, cfg.Include, cfg.Exclude, cfg.FieldMapping, false)
	if err != nil {
		return nil, err
	}
	l := &layout{
		cols:       cols,
		attrIdx:    -1,
		flat:       cfg.FlattenAttributes,
		attrPrefix: cfg.AttributePrefix,
		meta:       cfg.IncludeMetadata,
		exporterID: exporterID,
		version:    version,
		timeFormat: cfg.TimeFormat,
		pretty:     cfg.Pretty,
		now:        time.Now,
	}
	for i, c := range cols {
		key := flatten.AppendString(nil, c.Out)
		l.keys = append(l.keys, append(key, ':'))
		if c.Name == flatten.AttributesField {
			l.attrIdx = i
		}
	}
	names := make([]string, 0, len(cfg.AdditionalFields))
	for k := range cfg.AdditionalFields {
		names = append(names, k)
	}
	slices.Sort(names)
	for i, k := range names {
		if i > 0 {
			l.extra = append(l.extra, ',')
		}
		l.extra = flatten.AppendString(l.extra, k)
		l.extra = append(l.extra, ':')
		l.extra = flatten.AppendString(l.extra, cfg.AdditionalFields[k])
	}
	return l, nil
}

// encoder writes records of one batch as JSON objects. It implements
// flatten.Encoder; buf is the batch being filled.
type encoder struct {
	*layout
	buf    []byte
	rec    flatten.Record
	meta   []byte
	pretty []byte
}

var _ sink.Encoder = (*encoder)(nil)

func newEncoder(l *layout) *encoder {
	return &encoder{layout: l, rec: flatten.Record{TimeFormat: l.timeFormat}}
}

func (e *encoder) begin(b *sink.Batch) {
	e.buf = b.Data
	if e.layout.meta {
		e.meta = append(e.meta[:0], `"`+metaField+`":{"exporter":`...)
		e.meta = flatten.AppendString(e.meta, e.exporterID)
		e.meta = append(e.meta, `,"version":`...)
		e.meta = flatten.AppendString(e.meta, e.version)
		e.meta = append(e.meta, `,"exported_at":`...)
		e.meta = flatten.AppendJSONTime(e.meta, pcommon.NewTimestampFromTime(e.now()), e.timeFormat)
		e.meta = append(e.meta, '}')
	}
}

// Traces implements sink.Encoder.
func (e *encoder) Traces(td ptrace.Traces, b *sink.Batch) {
	e.begin(b)
	flatten.EachSpan(td, &e.rec, func(r *flatten.Record) { e.record(r, b) })
	b.Data = e.buf
}

// Metrics implements sink.Encoder.
func (e *encoder) Metrics(md pmetric.Metrics, b *sink.Batch) {
	e.begin(b)
	flatten.EachPoint(md, &e.rec, func(r *flatten.Record) { e.record(r, b) })
	b.Data = e.buf
}

// Logs implements sink.Encoder.
func (e *encoder) Logs(ld plog.Logs, b *sink.Batch) {
	e.begin(b)
	flatten.EachLog(ld, &e.rec, func(r *flatten.Record) { e.record(r, b) })
	b.Data = e.buf
}

func (e *encoder) record(r *flatten.Record, b *sink.Batch) {
	start := len(e.buf)
	e.buf = append(e.buf, '{')
	first := true
	for i := range e.cols {
		if i == e.attrIdx && e.flat {
			for k, v := range r.Attrs.All() {
				if !first {
					e.buf = append(e.buf, ',')
				}
				first = false
				e.buf = append(e.buf, '"')
				e.buf = flatten.AppendStringContent(e.buf, e.attrPrefix)
				e.buf = flatten.AppendStringContent(e.buf, k)
				e.buf = append(e.buf, '"', ':')
				e.buf = flatten.AppendValue(e.buf, v)
			}
			continue
		}
		if !first {
			e.buf = append(e.buf, ',')
		}
		first = false
		e.buf = append(e.buf, e.keys[i]...)
		e.cols[i].Write(r, e)
	}
	for _, part := range [][]byte{e.extra, e.meta} {
		if len(part) == 0 {
			continue
		}
		if !first {
			e.buf = append(e.buf, ',')
		}
		first = false
		e.buf = append(e.buf, part...)
	}
	e.buf = append(e.buf, '}')
	if e.layout.pretty {
		e.indent(start)
	}
	e.buf = append(e.buf, '\n')
	b.Ends = append(b.Ends, len(e.buf))
}

// indent re-writes the record starting at start with two-space indentation.
// Only used with pretty: true, which is meant for people, not throughput.
func (e *encoder) indent(start int) {
	e.pretty = append(e.pretty[:0], e.buf[start:]...)
	out := bytes.NewBuffer(e.buf[:start])
	if err := json.Indent(out, e.pretty, "", "  "); err != nil {
		// Cannot happen for output of this encoder; keep the compact form.
		e.buf = append(e.buf[:start], e.pretty...)
		return
	}
	e.buf = out.Bytes()
}

// The flatten.Encoder methods write one value at the end of buf.

func (e *encoder) Null()           { e.buf = append(e.buf, "null"...) }
func (e *encoder) Str(s string)    { e.buf = flatten.AppendString(e.buf, s) }
func (e *encoder) Int(v int64)     { e.buf = strconv.AppendInt(e.buf, v, 10) }
func (e *encoder) Uint(v uint64)   { e.buf = strconv.AppendUint(e.buf, v, 10) }
func (e *encoder) Float(v float64) { e.buf = flatten.AppendFloat(e.buf, v) }
func (e *encoder) Bool(v bool)     { e.buf = strconv.AppendBool(e.buf, v) }

func (e *encoder) Time(ts pcommon.Timestamp) {
	e.buf = flatten.AppendJSONTime(e.buf, ts, e.timeFormat)
}

func (e *encoder) TraceID(id pcommon.TraceID) {
	e.buf = append(e.buf, '"')
	e.buf = flatten.AppendTraceID(e.buf, id)
	e.buf = append(e.buf, '"')
}

func (e *encoder) SpanID(id pcommon.SpanID) {
	e.buf = append(e.buf, '"')
	e.buf = flatten.AppendSpanID(e.buf, id)
	e.buf = append(e.buf, '"')
}

func (e *encoder) Attributes(m pcommon.Map) { e.buf = flatten.AppendMap(e.buf, m, nil) }
func (e *encoder) Map(m pcommon.Map)        { e.buf = flatten.AppendMap(e.buf, m, nil) }
func (e *encoder) Value(v pcommon.Value)    { e.buf = flatten.AppendValue(e.buf, v) }
func (e *encoder) RawJSON(b []byte)         { e.buf = append(e.buf, b...) }
