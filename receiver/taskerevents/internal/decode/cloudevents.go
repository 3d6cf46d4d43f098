// CloudEvents 1.0: a structured-mode event's attributes and data, and a
// binary-mode event (ce-* headers, data as the body).

package decode

import (
	"bytes"
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

// cloudEvent makes the record of a structured-mode CloudEvent.
func (s *state) cloudEvent(ev *eventScan) bool {
	var ce Binary
	for _, a := range [...]struct {
		attr attr
		dst  *string
	}{
		{attrSpecVersion, &ce.SpecVersion}, {attrType, &ce.Type}, {attrSource, &ce.Source},
		{attrID, &ce.ID}, {attrTime, &ce.Time}, {attrSubject, &ce.Subject},
	} {
		at := ev.at[a.attr]
		switch {
		case at < 0 || s.b[at] == 'n':
		case s.b[at] != '"':
			return s.content("CloudEvents attribute %q must be a string, got %s", attrNames[a.attr], s.kindAt(at))
		case a.attr == attrType:
			*a.dst = ev.names[attrType].key
		default:
			*a.dst = s.arena.str(s.strAt(at))
		}
	}
	if at := ev.at[attrDataContentType]; at >= 0 && s.b[at] != 'n' {
		if s.b[at] != '"' {
			return s.content("CloudEvents attribute \"datacontenttype\" must be a string, got %s", s.kindAt(at))
		}
		if b := s.strAt(at); !IsJSONMediaType(string(b)) {
			return s.content("datacontenttype %q is not JSON: data must be a JSON object", b)
		}
	}
	if ev.at[attrDataBase64] >= 0 {
		return s.content("data_base64 is not supported: data must be a JSON object")
	}
	lr, reason := s.cloudEventRecord(&ce)
	if reason != "" {
		return s.content("%s", reason)
	}
	if at := ev.at[attrData]; at >= 0 && s.b[at] != 'n' {
		if s.b[at] != '{' {
			return s.content("data must be a JSON object, got %s", s.kindAt(at))
		}
		if ev.body != bodyData { // the data came before the "specversion"
			s.i = at
			if !s.bodyObject(ev, bodyData) {
				return false
			}
		}
	}
	return s.finish(lr, ev)
}

// cloudEventRecord checks the context attributes of a CloudEvent and starts
// its record.
func (s *state) cloudEventRecord(ce *Binary) (plog.LogRecord, string) {
	if reason := s.contextAttributes(ce); reason != "" {
		return plog.LogRecord{}, reason
	}
	switch ce.SpecVersion {
	case cloudEventsVersion:
	case "":
		return plog.LogRecord{}, "missing CloudEvents specversion"
	default:
		return plog.LogRecord{}, fmt.Sprintf("CloudEvents specversion %q is not supported (want %q)", ce.SpecVersion, cloudEventsVersion)
	}
	if ce.Type == "" {
		return plog.LogRecord{}, "missing CloudEvents type"
	}
	name := strings.TrimPrefix(ce.Type, s.opts.TypePrefix)
	if strings.TrimSpace(name) == "" {
		return plog.LogRecord{}, fmt.Sprintf("CloudEvents type %q names no event once the prefix %q is removed", ce.Type, s.opts.TypePrefix)
	}
	lr := s.record(ce.Source)
	lr.SetEventName(name)
	if ce.Time != "" {
		ts, ok := event.ParseTime(ce.Time)
		if !ok {
			return plog.LogRecord{}, fmt.Sprintf("bad CloudEvents time %q: want an RFC 3339 time", ce.Time)
		}
		lr.SetTimestamp(ts)
	}
	if ce.ID != "" {
		lr.Attributes().PutStr(AttrCloudEventID, ce.ID)
	}
	if ce.Subject != "" {
		lr.Attributes().PutStr(AttrCloudEventSubj, ce.Subject)
	}
	return lr, ""
}

// contextAttributes bounds the CloudEvents attributes a record copies and
// scrubs credentials out of them.
func (s *state) contextAttributes(ce *Binary) string {
	for _, a := range [...]struct {
		name string
		v    *string
	}{{"type", &ce.Type}, {"source", &ce.Source}, {"id", &ce.ID}, {"subject", &ce.Subject}} {
		if max := s.opts.MaxContextAttribute; max > 0 && len(*a.v) > max {
			return fmt.Sprintf("CloudEvents attribute %q is %d bytes, longer than the %d allowed (max_header_value_length)", a.name, len(*a.v), max)
		}
		if a.name != "type" {
			*a.v, _ = s.opts.Redactor.Scrub(*a.v)
		}
	}
	return ""
}

// decodeBinary reads a binary-mode CloudEvent: attributes from headers, the
// body is the data.
func (s *state) decodeBinary(body []byte, attrs *Binary) error {
	lr, reason := s.cloudEventRecord(attrs)
	if reason != "" {
		return &Error{Index: 0, Reason: reason}
	}
	m := lr.Body().SetEmptyMap()
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	s.load(body)
	s.ws()
	at := s.i
	ok := false
	switch {
	case s.peek() != '{':
		if ok = s.skip(1) && s.end(); ok {
			ok = s.content("data must be a JSON object, got %s", s.kindAt(at))
		}
	default:
		s.base = 0
		ok = (s.object(m, 1, nil, attrNone) || s.deferContent(at, 1)) && s.end()
		if ok && s.deferred != "" {
			ok = s.content("%s", s.deferred)
		}
	}
	if ok {
		return nil
	}
	return &Error{Index: 0, Reason: s.reason(body, span{})}
}
