package workload

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
)

// ServiceName is the service.name of the OTLP resource, the same name the
// taskerevents receiver gives events by default.
const ServiceName = "tasker"

// otlpPrefix is the start of a one-resource, one-scope OTLP JSON request up
// to the opening bracket of its log records.
func otlpPrefix() string {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", ServiceName)
	rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().SetEventName("x")
	b, err := plogotlp.NewExportRequestFromLogs(ld).MarshalJSON()
	const marker = `"logRecords":[`
	i := bytes.Index(b, []byte(marker))
	if err != nil || i < 0 {
		panic(fmt.Sprintf("workload: cannot find the log records in %s: %v", b, err))
	}
	return string(b[:i+len(marker)])
}

// ToLogs turns Tasker native NDJSON lines into OTLP log records the way a
// service instrumented with an OpenTelemetry logs SDK would send them:
// EventName set, Timestamp from the event, the payload as a map body (key
// order and integer types kept), one resource with service.name. The records
// are not normalized: no trace id, no tasker.* attributes.
func ToLogs(lines [][]byte) (plog.Logs, error) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", ServiceName)
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	lrs.EnsureCapacity(len(lines))
	for i, l := range lines {
		if err := appendRecord(lrs, l); err != nil {
			return ld, fmt.Errorf("line %d: %w", i+1, err)
		}
	}
	return ld, nil
}

func appendRecord(lrs plog.LogRecordSlice, line []byte) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	top := pcommon.NewMap()
	if err := decodeObject(dec, top); err != nil {
		return err
	}
	name, ok := top.Get("name")
	if !ok || name.Type() != pcommon.ValueTypeStr {
		return errors.New("event without a name")
	}
	lr := lrs.AppendEmpty()
	lr.SetEventName(name.Str())
	if ts, ok := top.Get("timestamp"); ok {
		if t, err := time.Parse(time.RFC3339Nano, ts.Str()); err == nil {
			lr.SetTimestamp(pcommon.NewTimestampFromTime(t))
		}
	}
	if p, ok := top.Get("payload"); ok && p.Type() == pcommon.ValueTypeMap {
		p.CopyTo(lr.Body())
	} else {
		return errors.New("event without a payload map")
	}
	return nil
}

// decodeObject reads one JSON object into m, keeping key order.
func decodeObject(dec *json.Decoder, m pcommon.Map) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("want an object, got %v", tok)
	}
	return decodeMembers(dec, m)
}

func decodeMembers(dec *json.Decoder, m pcommon.Map) error {
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		if err := decodeValue(dec, m.PutEmpty(key)); err != nil {
			return err
		}
	}
	_, err := dec.Token() // '}'
	return err
}

func decodeValue(dec *json.Decoder, v pcommon.Value) error {
	tok, err := dec.Token()
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			return decodeMembers(dec, v.SetEmptyMap())
		case '[':
			s := v.SetEmptySlice()
			for dec.More() {
				if err := decodeValue(dec, s.AppendEmpty()); err != nil {
					return err
				}
			}
			_, err := dec.Token() // ']'
			return err
		}
		return fmt.Errorf("unexpected %v", t)
	case string:
		v.SetStr(t)
	case bool:
		v.SetBool(t)
	case nil:
		// an empty value: JSON null
	case json.Number:
		if i, err := strconv.ParseInt(t.String(), 10, 64); err == nil {
			v.SetInt(i)
		} else if f, err := t.Float64(); err == nil {
			v.SetDouble(f)
		} else {
			return err
		}
	}
	return nil
}
