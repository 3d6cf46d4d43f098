package eventrouter // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter"

import (
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
	"github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/assembly"
)

// evt is one event record read for span assembly, with what reading it
// found out about redaction.
type evt struct {
	assembly.Event

	// dirty: redaction would change the record (keyFilter.recordNeedsRedaction),
	// found on the way when look is set, so that the other pipelines need not
	// scan the record again
	look, dirty bool
	// clean: another pipeline found that redaction would change nothing in
	// the record, so no string of it holds a credential to scrub
	clean bool

	keys *keyMemo // kept across events of one call, cleared by forget
}

// forget drops every string e holds, its scratch slices included.
func (e *evt) forget() {
	e.Event.Forget()
	if e.keys != nil {
		e.keys.clear()
	}
	e.look, e.dirty, e.clean = false, false, false
}

func (e *evt) reset() {
	e.Event.Reset()
	e.look, e.dirty, e.clean = false, false, false
}

// Verdicts the reader is given on a record.
const (
	verdictWanted  = iota // find out whether the record needs redaction
	verdictNone           // not wanted, not known
	verdictIsClean        // known: redaction changes nothing in the record
)

// read fills e from a normalized event record and its payload, body (see
// normalized), and finds out whether it needs redaction when the verdict
// is wanted.
func (e *evt) read(lr plog.LogRecord, body pcommon.Value, name string, f *keyFilter, verdict int) {
	e.reset()
	e.look = verdict == verdictWanted && f.enabled()
	e.clean = verdict == verdictIsClean
	e.Name = name
	e.Info = assembly.KindOf(name)
	e.TS = lr.Timestamp()
	if e.TS == 0 {
		e.TS = lr.ObservedTimestamp()
	}
	e.TraceID = lr.TraceID()
	e.SpanID = lr.SpanID()
	lr.Attributes().Range(func(k string, v pcommon.Value) bool {
		e.readAttr(k, v, f)
		return true
	})
	if body.Type() == pcommon.ValueTypeMap {
		body.Map().Range(func(k string, v pcommon.Value) bool {
			e.readBody(k, v, f)
			return true
		})
	} else if e.look && !e.dirty {
		e.dirty = f.needsRedactionValue(body, e.memo())
	}
	if e.StepID != "" && e.Attempt < 1 {
		e.Attempt = 1 // as event.Normalize does: step events without a number are the first attempt
	}
}

// value looks at the value v of a key whose info is in: with a verdict
// wanted, whether redaction would change it (e.dirty), and, when span is
// set, v as a span may carry it (keyFilter.spanValue). A string is scrubbed
// once for both: the scrub is most of what reading an event costs the router.
func (e *evt) value(in keyInfo, v pcommon.Value, f *keyFilter, span bool) pcommon.Value {
	look := e.look && !e.dirty
	if v.Type() != pcommon.ValueTypeStr {
		if look {
			e.dirty = f.valueNeedsRedaction(in, v, e.keys)
		}
		return v // spanValue changes strings only
	}
	if !look && (!span || e.clean && len(v.Str()) <= event.DefaultMaxValueLength) {
		return v // a clean record's short strings are what a span carries
	}
	s := v.Str()
	clean, scrubbed := f.r.Scrub(s)
	if look {
		if in.sensitive {
			e.dirty = s != event.Filtered
		} else {
			e.dirty = scrubbed
		}
	}
	switch {
	case !span:
		return v
	case len(s) > event.DefaultMaxValueLength:
		return f.spanValue(v) // cut first, then scrubbed: the rare long value
	case scrubbed:
		return pcommon.NewValueStr(clean)
	}
	return v
}

// keyInfo returns what is known about key k.
func (e *evt) keyInfo(k string, f *keyFilter) keyInfo {
	return e.memo().info(k, f)
}

// memo returns e's key memo, which lives as long as e.
func (e *evt) memo() *keyMemo {
	if e.keys == nil {
		e.keys = new(keyMemo)
	}
	return e.keys
}

func (e *evt) readAttr(k string, v pcommon.Value, f *keyFilter) {
	in := e.keyInfo(k, f)
	v = e.value(in, v, f, true)
	id := in.attr
	switch id {
	case assembly.KeyTaskID:
		e.TaskID = v.AsString()
	case assembly.KeyTaskName:
		e.TaskName = v.Str()
	case assembly.KeyStepID:
		e.StepID = v.AsString()
	case assembly.KeyStepName:
		e.StepName = v.Str()
	case assembly.KeyStepAttempt:
		e.Attempt, _ = event.IntValue(v)
	case assembly.KeyFromState:
		e.FromState = v.Str()
	case assembly.KeyToState:
		e.ToState = v.Str()
	case assembly.KeyErrorType:
		e.ErrType = v.Str()
		return
	case assembly.KeyErrorMessage:
		e.ErrMessage = v.Str()
		return
	case assembly.KeyStacktrace:
		e.Stacktrace = v.Str()
		return
	case assembly.KeyQueueName:
		e.Queue = v.Str()
	case assembly.KeyJobID:
		e.Job = v.Str()
	case assembly.KeyDBText:
		e.DBText = v.Str()
	case assembly.KeyDBOperation:
		e.DBOp = v.Str()
	case assembly.KeyDBCollection:
		e.DBTable = v.Str()
	case assembly.KeyUnknown:
		// other attributes in the normalized namespaces are kept; anything
		// else (an OTLP payload given as attributes) stays in the logs
		if !(strings.HasPrefix(k, "tasker.") || strings.HasPrefix(k, "db.")) {
			return
		}
	}
	a, ok := assembly.ValueKV(k, id, v)
	if !ok {
		return
	}
	if in.sensitive {
		a.Redact()
	}
	e.Attrs = append(e.Attrs, a)
}

func (e *evt) readBody(k string, v pcommon.Value, f *keyFilter) {
	in := e.keyInfo(k, f)
	v = e.value(in, v, f, in.field != fieldNone || in.body != 0)
	switch in.field {
	case fieldNone:
	case fieldStartedAt:
		if v.Type() == pcommon.ValueTypeStr {
			e.StartedAt, _ = event.ParseTime(v.Str())
		}
		return
	case fieldCompletedAt:
		if v.Type() == pcommon.ValueTypeStr {
			e.CompletedAt, _ = event.ParseTime(v.Str())
		}
		return
	case fieldDuration, fieldDurationMS:
		if d, ok := event.FloatValue(v); ok {
			if in.field == fieldDurationMS {
				d /= 1000
			}
			e.Duration, e.HasDuration = d, true
		}
		if in.body == 0 {
			return
		}
	case fieldStepIDs:
		if v.Type() == pcommon.ValueTypeSlice {
			s := v.Slice()
			for i := 0; i < s.Len(); i++ {
				if id := event.IDString(s.At(i)); id != "" {
					e.StepIDs = append(e.StepIDs, id)
				}
			}
		}
		return
	}
	if in.body == 0 {
		return
	}
	i := int(in.body - 1)
	id := assembly.KeyFirstBody + uint8(i)
	a, ok := assembly.ValueKV(assembly.KnownKeys[id], id, v)
	if !ok {
		return
	}
	if f.body[i] {
		a.Redact()
	}
	e.Attrs = append(e.Attrs, a)
}
