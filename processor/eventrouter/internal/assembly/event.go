package assembly // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/assembly"

import (
	"math"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

// kind is the part an event plays in span assembly (event.Span).
type kind = event.Span

const (
	kindInstant      = event.SpanEvent
	kindTaskInit     = event.SpanTaskInit
	kindTaskStart    = event.SpanTaskStart
	kindTaskEnd      = event.SpanTaskEnd
	kindStepStart    = event.SpanStepStart
	kindBeforeHandle = event.SpanBeforeHandle
	kindStepEnd      = event.SpanStepEnd
	kindBatch        = event.SpanBatch
	kindOrchStart    = event.SpanPassStart
	kindOrchEnd      = event.SpanPassEnd
	kindEnqueue      = event.SpanEnqueue
	kindDB           = event.SpanQuery
	kindDependency   = event.SpanDependency
)

// KindInfo is what span assembly does with one event name: its row of the
// event catalog.
type KindInfo struct {
	kind    kind
	orch    uint8  // orchestration pass, index into orchNames
	outcome string // for terminal events
	failed  bool
}

// Terminal reports whether the event ends a task or a step attempt.
func (k KindInfo) Terminal() bool { return k.kind == kindTaskEnd || k.kind == kindStepEnd }

// FailedEnd reports whether the event ends a task or a step attempt in
// failure.
func (k KindInfo) FailedEnd() bool { return k.Terminal() && k.failed }

// KindOf returns what span assembly does with events of that name; names
// outside the catalog are instants (span events).
func KindOf(name string) KindInfo {
	in, ok := event.Lookup(name)
	if !ok {
		return KindInfo{}
	}
	return KindInfo{kind: in.Span, orch: uint8(in.Pass), outcome: in.Outcome, failed: in.Failed}
}

// Orchestration passes, by event.Pass.
var orchNames = event.PassNames[:]

// KV is one attribute as read from an event: its strings are views into the
// input batch, valid while the event is processed (held spans keep attr,
// strings.go). Numbers and booleans share n.
type KV struct {
	key string
	s   string
	n   uint64 // int64, float64 bits, or 0/1
	id  uint8  // of known keys, else KeyUnknown
	typ uint8  // a pcommon.ValueType
}

const (
	typStr    = uint8(pcommon.ValueTypeStr)
	typInt    = uint8(pcommon.ValueTypeInt)
	typDouble = uint8(pcommon.ValueTypeDouble)
	typBool   = uint8(pcommon.ValueTypeBool)
)

// ValueKV reads a scalar attribute value; other types are not held.
func ValueKV(key string, id uint8, v pcommon.Value) (KV, bool) {
	a := KV{key: key, id: id}
	switch v.Type() {
	case pcommon.ValueTypeStr:
		a.typ, a.s = typStr, v.Str()
	case pcommon.ValueTypeInt:
		a.typ, a.n = typInt, uint64(v.Int())
	case pcommon.ValueTypeDouble:
		a.typ, a.n = typDouble, math.Float64bits(v.Double())
	case pcommon.ValueTypeBool:
		a.typ = typBool
		if v.Bool() {
			a.n = 1
		}
	default:
		return KV{}, false
	}
	return a, true
}

// Redact replaces the value of a by the redaction marker.
func (a *KV) Redact() { a.typ, a.s = typStr, event.Filtered }

func knownInt(id uint8, n int64) KV {
	a := known(id)
	a.typ, a.n = typInt, uint64(n)
	return a
}

// BodyFields are the payload fields copied onto spans (Field), with the
// attribute each becomes (Attr). The rest of the payload (task contexts,
// step inputs and results) stays in the logs.
var BodyFields = []struct{ Field, Attr string }{
	{"backoff_seconds", "tasker.backoff.seconds"},
	{"backoff_type", "tasker.backoff.type"},
	{"retry_after", "tasker.backoff.retry_after"},
	{"retry_reason", "tasker.retry.reason"},
	{"previous_attempts", "tasker.retry.previous_attempts"},
	{"backoff_strategy", "tasker.retry.backoff_strategy"},
	{"step_count", "tasker.batch.step_count"},
	{"processing_mode", "tasker.batch.processing_mode"},
	{"processed_steps_count", "tasker.orchestration.processed_steps"},
	{"final_status", "tasker.orchestration.final_status"},
	{"reason", "tasker.reenqueue.reason"},
	{"delay_seconds", "tasker.reenqueue.delay_seconds"},
	{"task_type", "tasker.task.type"},
	{"total_steps", "tasker.task.total_steps"},
	{"completed_steps", "tasker.task.completed_steps"},
	{"failed_steps", "tasker.task.failed_steps"},
	{"pending_steps", "tasker.task.pending_steps"},
	{"health_status", "tasker.task.health_status"},
	{"total_execution_duration", "tasker.task.execution_duration"},
	{"execution_duration", "tasker.step.execution_duration"},
	{"query_name", "tasker.db.query_name"},
	{"dependency_name", "tasker.dependency.name"},
}

// Ids of the attribute keys the router reads or writes, so that merging
// compares small numbers and redaction verdicts are computed once.
const (
	KeyUnknown uint8 = iota
	KeyTaskID
	KeyTaskName
	KeyStepID
	KeyStepName
	KeyStepAttempt
	KeyRetryLimit
	KeyCorrelationID
	KeyFromState
	KeyToState
	KeyQueueName
	KeyJobID
	KeyErrorType
	KeyErrorMessage
	KeyStacktrace
	KeyDBText
	KeyDBOperation
	KeyDBCollection
	KeyTaskOutcome
	KeyStepOutcome
	KeyMessagingDestination
	KeyMessagingMessageID
	KeyExceptionType
	KeyExceptionMessage
	KeyFirstBody // BodyFields entries follow
)

var KnownKeys = append([]string{
	"", event.AttrTaskID, event.AttrTaskName, event.AttrStepID, event.AttrStepName,
	event.AttrStepAttempt, event.AttrStepRetryLimit, event.AttrCorrelationID,
	event.AttrFromState, event.AttrToState, event.AttrQueueName, event.AttrJobID,
	event.AttrErrorType, event.AttrErrorMessage, event.AttrExceptionStacktrace,
	event.AttrDBQueryText, event.AttrDBOperation, event.AttrDBCollection,
	"tasker.task.outcome", "tasker.step.outcome",
	"messaging.destination.name", "messaging.message.id",
	event.AttrExceptionType, event.AttrExceptionMessage,
}, bodyAttrNames()...)

func bodyAttrNames() []string {
	out := make([]string, len(BodyFields))
	for i, bf := range BodyFields {
		out[i] = bf.Attr
	}
	return out
}

// KeyID returns the id of a known attribute key, else KeyUnknown.
func KeyID(k string) uint8 { return keyIDs[k] }

var keyIDs = func() map[string]uint8 {
	m := make(map[string]uint8, len(KnownKeys))
	for i, k := range KnownKeys[1:] {
		m[k] = uint8(i + 1)
	}
	return m
}()

// known returns an attribute of a known key.
func known(id uint8) KV { return KV{key: KnownKeys[id], id: id} }

func knownStr(id uint8, s string) KV {
	a := known(id)
	a.typ, a.s = typStr, s
	return a
}

// Event is what span assembly reads from one normalized event record. Its
// strings may be views into the input batch: the assembler copies what it
// holds (strings.go).
type Event struct {
	Name    string
	Info    KindInfo
	TS      pcommon.Timestamp
	TraceID pcommon.TraceID
	SpanID  pcommon.SpanID

	TaskID, TaskName, StepID, StepName string
	Attempt                            int64
	FromState, ToState                 string
	ErrType, ErrMessage, Stacktrace    string
	Queue, Job                         string
	DBText, DBOp, DBTable              string

	StartedAt, CompletedAt pcommon.Timestamp // 0: absent
	Duration               float64
	HasDuration            bool
	StepIDs                []string

	Attrs []KV // normalized and curated attributes, redacted

	// SampledOut: the event's route sampled its task out; it is held in
	// case the task is kept whole (Config.KeepFailed, KeepSlowerThan).
	SampledOut bool
}

// Forget drops every string e holds, its scratch slices included.
func (e *Event) Forget() {
	clear(e.Attrs[:cap(e.Attrs)])
	clear(e.StepIDs[:cap(e.StepIDs)])
	e.Reset()
}

// Reset empties e, keeping its slices for reuse.
func (e *Event) Reset() {
	ids := e.StepIDs[:0]
	attrs := e.Attrs[:0]
	*e = Event{StepIDs: ids, Attrs: attrs}
}
