package sim

import (
	"fmt"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-tasker/otelcol-tasker/internal/flatten"
)

// Format is a wire shape of the taskerevents receiver.
type Format string

const (
	// FormatNDJSON is native events, one per line (application/x-ndjson).
	FormatNDJSON Format = "ndjson"
	// FormatNative is a JSON array of native events {"name","timestamp","payload"}.
	FormatNative Format = "native"
	// FormatFlat is a JSON array of flat events (payload fields at top level).
	FormatFlat Format = "flat"
	// FormatFlatNDJSON is flat events, one per line.
	FormatFlatNDJSON Format = "flat-ndjson"
	// FormatCloudEvents is a CloudEvents 1.0 JSON batch.
	FormatCloudEvents Format = "cloudevents"
)

// Formats lists every format.
var Formats = []Format{FormatNDJSON, FormatNative, FormatFlat, FormatFlatNDJSON, FormatCloudEvents}

// ParseFormat checks a format name.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats {
		if string(f) == s {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown format %q (one of %v)", s, Formats)
}

// ContentType is the media type of a request body in this format.
func (f Format) ContentType() string {
	switch f {
	case FormatNDJSON, FormatFlatNDJSON:
		return "application/x-ndjson"
	case FormatCloudEvents:
		return "application/cloudevents-batch+json"
	}
	return "application/json"
}

// Array tells whether a body is a JSON array of events (else one per line).
func (f Format) Array() bool {
	return f == FormatNative || f == FormatFlat || f == FormatCloudEvents
}

// CloudEventsTypePrefix is prepended to event names in CloudEvents `type`.
const CloudEventsTypePrefix = "dev.tasker."

// DefaultCloudEventsSource is the CloudEvents `source` of simulated events.
const DefaultCloudEventsSource = "/tasker/engine"

// Encoder appends single events in one format.
type Encoder struct {
	Format Format
	Source string // CloudEvents source; DefaultCloudEventsSource when empty
}

// Append appends the JSON object of one event (no separator, no newline).
func (e Encoder) Append(b []byte, ev *Event) []byte {
	switch e.Format {
	case FormatFlat, FormatFlatNDJSON:
		return AppendFlat(b, ev)
	case FormatCloudEvents:
		src := e.Source
		if src == "" {
			src = DefaultCloudEventsSource
		}
		return AppendCloudEvent(b, ev, src)
	}
	return AppendNative(b, ev)
}

// AppendNative appends {"name":...,"timestamp":...,"payload":{...}}.
func AppendNative(b []byte, ev *Event) []byte {
	b = append(b, `{"name":`...)
	b = flatten.AppendString(b, ev.Name)
	b = append(b, `,"timestamp":"`...)
	b = AppendTime(b, ev.Time)
	b = append(b, `","payload":`...)
	b = AppendObject(b, ev.Fields)
	return append(b, '}')
}

// AppendFlat appends {"name":..., <payload fields>}.
func AppendFlat(b []byte, ev *Event) []byte {
	b = append(b, `{"name":`...)
	b = flatten.AppendString(b, ev.Name)
	if len(ev.Fields) > 0 {
		b = append(b, ',')
		b = appendMembers(b, ev.Fields)
	}
	return append(b, '}')
}

// AppendCloudEvent appends a structured CloudEvents 1.0 event whose type is
// dev.tasker.<name> and whose data is the payload.
func AppendCloudEvent(b []byte, ev *Event, source string) []byte {
	b = append(b, `{"specversion":"1.0","type":"`+CloudEventsTypePrefix...)
	b = append(b, ev.Name...)
	b = append(b, `","source":`...)
	b = flatten.AppendString(b, source)
	b = append(b, `,"id":"`...)
	for _, c := range ev.ID {
		b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
	}
	b = append(b, `","time":"`...)
	b = AppendTime(b, ev.Time)
	b = append(b, `","datacontenttype":"application/json","data":`...)
	b = AppendObject(b, ev.Fields)
	return append(b, '}')
}

// AppendLogRecord appends ev to lrs as the log record an OTLP sender would
// produce: EventName, Timestamp and the payload as a map body. It is not
// normalized; pass it through event.Normalize for the receiver's output.
func AppendLogRecord(lrs plog.LogRecordSlice, ev *Event) plog.LogRecord {
	lr := lrs.AppendEmpty()
	lr.SetEventName(ev.Name)
	lr.SetTimestamp(pcommon.Timestamp(ev.Time * 1e6))
	PutMap(lr.Body().SetEmptyMap(), ev.Fields)
	return lr
}
