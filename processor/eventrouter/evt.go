package eventrouter // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter"

import (
	"math"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

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

type kindInfo struct {
	kind    kind
	orch    uint8  // orchestration pass type, index into orchNames
	outcome string // for terminal events
	failed  bool
}

// Orchestration passes: the events that open and close each.
var orchNames = []string{"finalize task", "execute steps", "reenqueue task"}

var eventKinds = map[string]kindInfo{
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

// kv is one attribute as read from an event: its strings are views into the
// input batch, valid while the event is processed (held spans keep attr,
// see held.go). Numbers and booleans share n.
type kv struct {
	key string
	s   string
	n   uint64 // int64, float64 bits, or 0/1
	id  uint8  // of known keys, else keyUnknown
	typ uint8  // a pcommon.ValueType
}

const (
	typStr    = uint8(pcommon.ValueTypeStr)
	typInt    = uint8(pcommon.ValueTypeInt)
	typDouble = uint8(pcommon.ValueTypeDouble)
	typBool   = uint8(pcommon.ValueTypeBool)
)

func valueKV(key string, id uint8, v pcommon.Value) (kv, bool) {
	a := kv{key: key, id: id}
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
		return kv{}, false
	}
	return a, true
}

func knownInt(id uint8, n int64) kv {
	a := known(id)
	a.typ, a.n = typInt, uint64(n)
	return a
}

// Payload fields copied onto spans, and the attribute each becomes. The rest
// of the payload (task contexts, step inputs and results) stays in the logs.
var bodyFieldList = []struct{ field, attr string }{
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
	keyUnknown uint8 = iota
	keyTaskID
	keyTaskName
	keyStepID
	keyStepName
	keyStepAttempt
	keyRetryLimit
	keyCorrelationID
	keyFromState
	keyToState
	keyQueueName
	keyJobID
	keyErrorType
	keyErrorMessage
	keyStacktrace
	keyDBText
	keyDBOperation
	keyDBCollection
	keyTaskOutcome
	keyStepOutcome
	keyMessagingDestination
	keyMessagingMessageID
	keyExceptionType
	keyExceptionMessage
	keyFirstBody // bodyFieldList entries follow
)

var knownKeys = append([]string{
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
	out := make([]string, len(bodyFieldList))
	for i, bf := range bodyFieldList {
		out[i] = bf.attr
	}
	return out
}

// known returns an attribute of a known key.
func known(id uint8) kv { return kv{key: knownKeys[id], id: id} }

func knownStr(id uint8, s string) kv {
	a := known(id)
	a.typ, a.s = typStr, s
	return a
}

// evt is what span assembly reads from one normalized event record.
type evt struct {
	name    string
	info    kindInfo
	ts      pcommon.Timestamp
	traceID pcommon.TraceID
	spanID  pcommon.SpanID

	taskID, taskName, stepID, stepName string
	attempt                            int64
	fromState, toState                 string
	errType, errMessage, stacktrace    string
	queue, job                         string
	dbText, dbOp, dbTable              string

	startedAt, completedAt pcommon.Timestamp // 0: absent
	duration               float64
	hasDuration            bool
	stepIDs                []string

	attrs []kv // normalized and curated attributes, redacted

	// dirty: redaction would change the record (keyFilter.recordNeedsRedaction),
	// found on the way when look is set, so that the other pipelines need not
	// scan the record again
	look, dirty bool

	keys *keyMemo // kept across events of one call, cleared by forget
}

// forget drops every string e holds, its scratch slices included.
func (e *evt) forget() {
	clear(e.attrs[:cap(e.attrs)])
	clear(e.stepIDs[:cap(e.stepIDs)])
	if e.keys != nil {
		e.keys.clear()
	}
	e.reset()
}

func (e *evt) reset() {
	ids := e.stepIDs[:0]
	attrs := e.attrs[:0]
	*e = evt{stepIDs: ids, attrs: attrs, keys: e.keys}
}

// read fills e from a normalized event record and its payload, body (see
// normalized), and finds out whether it needs redaction when verdict is
// set.
func (e *evt) read(lr plog.LogRecord, body pcommon.Value, name string, f *keyFilter, verdict bool) {
	e.reset()
	e.look = verdict && f.enabled()
	e.name = name
	e.info = eventKinds[name]
	e.ts = lr.Timestamp()
	if e.ts == 0 {
		e.ts = lr.ObservedTimestamp()
	}
	e.traceID = lr.TraceID()
	e.spanID = lr.SpanID()
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
	if e.stepID != "" && e.attempt < 1 {
		e.attempt = 1 // as event.Normalize does: step events without a number are the first attempt
	}
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
	if e.look && !e.dirty {
		e.dirty = f.valueNeedsRedaction(in, v, e.keys)
	}
	id := in.attr
	switch id {
	case keyTaskID:
		e.taskID = v.AsString()
	case keyTaskName:
		e.taskName = v.Str()
	case keyStepID:
		e.stepID = v.AsString()
	case keyStepName:
		e.stepName = v.Str()
	case keyStepAttempt:
		e.attempt, _ = event.IntValue(v)
	case keyFromState:
		e.fromState = v.Str()
	case keyToState:
		e.toState = v.Str()
	case keyErrorType:
		e.errType = v.Str()
		return
	case keyErrorMessage:
		e.errMessage = v.Str()
		return
	case keyStacktrace:
		e.stacktrace = v.Str()
		return
	case keyQueueName:
		e.queue = v.Str()
	case keyJobID:
		e.job = v.Str()
	case keyDBText:
		e.dbText = v.Str()
	case keyDBOperation:
		e.dbOp = v.Str()
	case keyDBCollection:
		e.dbTable = v.Str()
	case keyUnknown:
		// other attributes in the normalized namespaces are kept; anything
		// else (an OTLP payload given as attributes) stays in the logs
		if !(strings.HasPrefix(k, "tasker.") || strings.HasPrefix(k, "db.")) {
			return
		}
	}
	a, ok := valueKV(k, id, v)
	if !ok {
		return
	}
	if in.sensitive {
		a.typ, a.s = typStr, event.Filtered
	}
	e.attrs = append(e.attrs, a)
}

func (e *evt) readBody(k string, v pcommon.Value, f *keyFilter) {
	in := e.keyInfo(k, f)
	if e.look && !e.dirty {
		e.dirty = f.valueNeedsRedaction(in, v, e.keys)
	}
	switch in.field {
	case fieldNone:
	case fieldStartedAt:
		if v.Type() == pcommon.ValueTypeStr {
			e.startedAt, _ = event.ParseTime(v.Str())
		}
		return
	case fieldCompletedAt:
		if v.Type() == pcommon.ValueTypeStr {
			e.completedAt, _ = event.ParseTime(v.Str())
		}
		return
	case fieldDuration:
		e.duration, e.hasDuration = event.FloatValue(v)
		return
	case fieldStepIDs:
		if v.Type() == pcommon.ValueTypeSlice {
			s := v.Slice()
			for i := 0; i < s.Len(); i++ {
				if id := event.IDString(s.At(i)); id != "" {
					e.stepIDs = append(e.stepIDs, id)
				}
			}
		}
		return
	}
	if in.body == 0 {
		return
	}
	i := int(in.body - 1)
	id := keyFirstBody + uint8(i)
	a, ok := valueKV(knownKeys[id], id, v)
	if !ok {
		return
	}
	if f.body[i] {
		a.typ, a.s = typStr, event.Filtered
	}
	e.attrs = append(e.attrs, a)
}
