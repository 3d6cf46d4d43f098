package assembly // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/assembly"

import (
	"math"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

// kind is the part an event plays in span assembly.
type kind uint8

const (
	kindInstant      kind = iota // a span event on the step attempt or task span
	kindTaskInit                 // task.initialize_requested: earliest task start
	kindTaskStart                // task.start_requested: task start
	kindTaskEnd                  // terminal task event
	kindStepStart                // step.execution_requested: attempt start
	kindBeforeHandle             // step.before_handle: handler start
	kindStepEnd                  // terminal step attempt event
	kindBatch                    // workflow.viable_steps_discovered
	kindOrchStart                // start of an orchestration pass
	kindOrchEnd                  // end of an orchestration pass
	kindEnqueue                  // observability.task.enqueue
	kindDB                       // database.query_executed
	kindDependency               // dependency.resolved
)

// KindInfo is what span assembly does with one event name.
type KindInfo struct {
	kind    kind
	orch    uint8  // orchestration pass type, index into orchNames
	outcome string // for terminal events
	failed  bool
}

// Orchestration passes: the events that open and close each.
var orchNames = []string{"finalize task", "execute steps", "reenqueue task"}

// Terminal reports whether the event ends a task or a step attempt.
func (k KindInfo) Terminal() bool { return k.kind == kindTaskEnd || k.kind == kindStepEnd }

// FailedEnd reports whether the event ends a task or a step attempt in
// failure.
func (k KindInfo) FailedEnd() bool { return k.Terminal() && k.failed }

// KindOf returns what span assembly does with events of that name; names
// it does not know are instants (span events).
func KindOf(name string) KindInfo { return eventKinds[name] }

var eventKinds = map[string]KindInfo{
	"task.initialize_requested": {kind: kindTaskInit},
	"task.start_requested":      {kind: kindTaskStart},
	"task.completed":            {kind: kindTaskEnd, outcome: "completed"},
	"task.failed":               {kind: kindTaskEnd, outcome: "failed", failed: true},
	"task.cancelled":            {kind: kindTaskEnd, outcome: "cancelled"},
	"task.resolved_manually":    {kind: kindTaskEnd, outcome: "resolved_manually"},

	"step.execution_requested": {kind: kindStepStart},
	"step.before_handle":       {kind: kindBeforeHandle},
	"step.completed":           {kind: kindStepEnd, outcome: "completed"},
	"step.failed":              {kind: kindStepEnd, outcome: "failed", failed: true},
	"step.cancelled":           {kind: kindStepEnd, outcome: "cancelled"},
	"step.resolved_manually":   {kind: kindStepEnd, outcome: "resolved_manually"},

	"workflow.viable_steps_discovered":     {kind: kindBatch},
	"workflow.task_finalization_started":   {kind: kindOrchStart, orch: 0},
	"workflow.task_finalization_completed": {kind: kindOrchEnd, orch: 0},
	"workflow.steps_execution_started":     {kind: kindOrchStart, orch: 1},
	"workflow.steps_execution_completed":   {kind: kindOrchEnd, orch: 1},
	"workflow.task_reenqueue_started":      {kind: kindOrchStart, orch: 2},
	"workflow.task_reenqueue_requested":    {kind: kindOrchEnd, orch: 2},
	"workflow.task_reenqueue_delayed":      {kind: kindOrchEnd, orch: 2},
	"workflow.task_reenqueue_failed":       {kind: kindOrchEnd, orch: 2, failed: true},

	"observability.task.enqueue": {kind: kindEnqueue},
	"database.query_executed":    {kind: kindDB},
	"dependency.resolved":        {kind: kindDependency},
}

// KV is one attribute as read from an event: its strings are views into the
// input batch, valid while the event is processed (held spans keep attr,
// see held.go). Numbers and booleans share n.
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

// Payload fields copied onto spans, and the attribute each becomes. The rest
// of the payload (task contexts, step inputs and results) stays in the logs.
// BodyFields: payload fields copied onto spans (field), with the attribute each becomes (attr).
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
// holds (see held.go).
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
