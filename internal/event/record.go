package event

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// IsNormalized reports whether an event record (Name(lr) is not empty) is
// in normalized form already. The taskerevents receiver and
// NormalizeRecord write the task id attribute on every event of a task, so
// a record with it is normalized. A record without it is not when its name
// is only an attribute, or when its payload (a map body, else the
// attributes) names a task; an event that belongs to no task and has its
// EventName set is taken as it is.
func IsNormalized(lr plog.LogRecord) bool {
	if _, ok := lr.Attributes().Get(AttrTaskID); ok {
		return true
	}
	if lr.EventName() == "" {
		return false
	}
	payload := lr.Attributes()
	if body := lr.Body(); body.Type() == pcommon.ValueTypeMap {
		payload = body.Map()
	}
	_, ok := payload.Get(FieldTaskID)
	return !ok
}

// NormalizeRecord turns an event record as an OTLP sender writes it (the
// event name as EventName or an event.name attribute, the payload as a map
// body or as attributes) into the record the taskerevents receiver writes
// for the same event: the payload in a map body, redacted by r (nil: no
// redaction), then normalized by n. When the body is not a map, the payload
// is the attributes, copied into a new map body; a non-empty original body
// is kept under "message" unless the payload has that key. The record's
// own attributes are redacted too.
func (n *Normalizer) NormalizeRecord(lr plog.LogRecord, name string, r *Redactor) {
	body := lr.Body()
	if body.Type() != pcommon.ValueTypeMap {
		payloadFromAttributes(lr)
	}
	r.RedactMap(lr.Attributes())
	r.RedactValue(body)
	n.Normalize(lr, name)
}

// payloadFromAttributes replaces a body that is not a map with a map of
// the record's attributes (event.name left out) and the old body.
func payloadFromAttributes(lr plog.LogRecord) {
	body := lr.Body()
	hasOrig := body.Type() != pcommon.ValueTypeEmpty
	orig := pcommon.NewValueEmpty()
	if hasOrig {
		body.CopyTo(orig)
	}
	attrs := lr.Attributes()
	m := body.SetEmptyMap()
	m.EnsureCapacity(attrs.Len() + 1)
	attrs.Range(func(k string, v pcommon.Value) bool {
		if k != AttrEventName {
			v.CopyTo(m.PutEmpty(k))
		}
		return true
	})
	if hasOrig {
		if _, ok := m.Get("message"); !ok {
			orig.CopyTo(m.PutEmpty("message"))
		}
	}
}
