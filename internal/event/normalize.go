package event

import (
	"math"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// Name returns the event name of a log record: its EventName, else its
// event.name attribute. An empty result means the record is not an event.
func Name(lr plog.LogRecord) string {
	if n := lr.EventName(); n != "" {
		return n
	}
	if v, ok := lr.Attributes().Get(AttrEventName); ok && v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	return ""
}

// payloadFacts holds what one pass over a payload finds.
type payloadFacts struct {
	taskID, taskName, stepID, stepName string
	correlationID, fromState, toState  string
	queueName, jobID                   string
	errType, errMessage, sql           string
	timestamp, startedAt               string
	attempt, retryLimit                int64
	backtrace                          pcommon.Value
	hasBacktrace                       bool
	hasAttempt, hasRetryLimit          bool
}

func (f *payloadFacts) read(k string, v pcommon.Value) {
	switch k {
	case FieldTaskID:
		f.taskID = IDString(v)
	case FieldTaskName:
		f.taskName = strValue(v)
	case FieldStepID:
		f.stepID = IDString(v)
	case FieldStepName:
		f.stepName = strValue(v)
	case FieldAttemptNumber:
		f.attempt, f.hasAttempt = IntValue(v)
	case FieldRetryLimit:
		f.retryLimit, f.hasRetryLimit = IntValue(v)
	case FieldCorrelationID:
		f.correlationID = strValue(v)
	case FieldFromState:
		f.fromState = strValue(v)
	case FieldToState:
		f.toState = strValue(v)
	case FieldQueueName:
		f.queueName = strValue(v)
	case FieldJobID:
		f.jobID = IDString(v)
	case FieldExceptionClass:
		if s := strValue(v); s != "" {
			f.errType = s // the exception class wins over error_class
		}
	case FieldErrorClass:
		if f.errType == "" {
			f.errType = strValue(v)
		}
	case FieldErrorMessage:
		f.errMessage = strValue(v)
	case FieldBacktrace:
		f.backtrace, f.hasBacktrace = v, true
	case FieldSQL:
		f.sql = strValue(v)
	case FieldTimestamp:
		f.timestamp = strValue(v)
	case FieldStartedAt:
		f.startedAt = strValue(v)
	}
}

// Normalize turns a log record whose body is an event payload (a map) into a
// normalized event record: it sets the event name, the timestamps when they
// are missing, the trace and span ids, the severity and the normalized
// attributes. It reads the payload once and never changes the body.
//
// namespace separates the trace ids of independent Tasker installations; it
// must be the same on every collector that sees events of one installation.
func Normalize(lr plog.LogRecord, name, namespace string, receivedAt pcommon.Timestamp) {
	lr.SetEventName(name)
	if lr.ObservedTimestamp() == 0 {
		lr.SetObservedTimestamp(receivedAt)
	}
	var f payloadFacts
	if body := lr.Body(); body.Type() == pcommon.ValueTypeMap {
		body.Map().Range(func(k string, v pcommon.Value) bool {
			f.read(k, v)
			return true
		})
	}
	if lr.Timestamp() == 0 {
		ts := receivedAt
		if t, ok := ParseTime(f.timestamp); ok {
			ts = t
		}
		lr.SetTimestamp(ts)
	}

	sev, sevText := Severity(name)
	lr.SetSeverityNumber(sev)
	lr.SetSeverityText(sevText)

	attrs := lr.Attributes()
	attrs.EnsureCapacity(attrs.Len() + 8)
	if f.taskID != "" {
		attrs.PutStr(AttrTaskID, f.taskID)
		lr.SetTraceID(TraceID(namespace, f.taskID))
	}
	putNonEmpty(attrs, AttrTaskName, f.taskName)
	if f.stepID != "" {
		attrs.PutStr(AttrStepID, f.stepID)
		if !f.hasAttempt || f.attempt < 1 {
			f.attempt = 1 // Tasker leaves attempt_number out of some step events; they belong to the first attempt
		}
		attrs.PutInt(AttrStepAttempt, f.attempt)
	}
	putNonEmpty(attrs, AttrStepName, f.stepName)
	if f.hasRetryLimit {
		attrs.PutInt(AttrStepRetryLimit, f.retryLimit)
	}
	putNonEmpty(attrs, AttrCorrelationID, f.correlationID)
	putNonEmpty(attrs, AttrFromState, f.fromState)
	putNonEmpty(attrs, AttrToState, f.toState)
	putNonEmpty(attrs, AttrQueueName, f.queueName)
	putNonEmpty(attrs, AttrJobID, f.jobID)
	putNonEmpty(attrs, AttrErrorType, f.errType)
	putNonEmpty(attrs, AttrErrorMessage, f.errMessage)
	if f.hasBacktrace {
		if f.backtrace.Type() == pcommon.ValueTypeSlice && f.backtrace.Slice().Len() > 0 {
			attrs.PutStr(AttrExceptionStacktrace, joinLines(f.backtrace.Slice()))
		} else if s := strValue(f.backtrace); s != "" {
			attrs.PutStr(AttrExceptionStacktrace, s)
		}
	}
	if f.sql != "" {
		attrs.PutStr(AttrDBQueryText, f.sql)
		op, table := SummarizeSQL(f.sql)
		putNonEmpty(attrs, AttrDBOperation, op)
		putNonEmpty(attrs, AttrDBCollection, table)
	}

	switch {
	case f.taskID == "":
		// registry and custom events belong to no task and carry no ids
	case f.sql != "":
		lr.SetSpanID(DBSpanID(f.taskID, f.stepID, f.startedAt, f.timestamp, f.sql))
	case f.stepID != "":
		lr.SetSpanID(StepSpanID(f.taskID, f.stepID, f.attempt))
	default:
		lr.SetSpanID(TaskSpanID(f.taskID))
	}
}

// DBSpanID is the id of one database query span: the query is identified by
// its step, its start (or, lacking one, its timestamp) and its text.
func DBSpanID(taskID, stepID, startedAt, timestamp, sql string) pcommon.SpanID {
	when := startedAt
	if when == "" {
		when = timestamp
	}
	var buf [256]byte
	b := append(buf[:0], stepID...)
	b = append(b, '@')
	b = append(b, when...)
	b = append(b, '#')
	if len(sql) > 128 {
		sql = sql[:128]
	}
	b = append(b, sql...)
	return SpanID(RoleDB, taskID, string(b), 0)
}

// Severity maps an event name to a log severity: failures are errors,
// retries, backoff, cancellations and warnings of the engine are warnings,
// everything else is informational.
func Severity(name string) (plog.SeverityNumber, string) {
	switch {
	case strings.HasSuffix(name, "failed"), strings.HasSuffix(name, "max_retries_reached"):
		return plog.SeverityNumberError, "ERROR"
	case strings.HasSuffix(name, "backoff"), strings.HasSuffix(name, "retry_requested"),
		strings.HasSuffix(name, "cancelled"), strings.Contains(name, "reenqueue"),
		strings.HasSuffix(name, "state_unclear"), strings.HasSuffix(name, "slow_operation"),
		strings.HasSuffix(name, "spike_detected"), strings.HasSuffix(name, "step.skip"):
		return plog.SeverityNumberWarn, "WARN"
	}
	return plog.SeverityNumberInfo, "INFO"
}

// IDString renders an id the same way whatever JSON type it came as, so that
// 42, 42.0 and "42" name the same task.
func IDString(v pcommon.Value) string {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return strings.TrimSpace(v.Str())
	case pcommon.ValueTypeInt:
		return strconv.FormatInt(v.Int(), 10)
	case pcommon.ValueTypeDouble:
		d := v.Double()
		if d == math.Trunc(d) && math.Abs(d) < 1<<53 {
			return strconv.FormatInt(int64(d), 10)
		}
		return strconv.FormatFloat(d, 'f', -1, 64)
	}
	return ""
}

// IntValue reads a whole number given as a JSON number or numeric string.
func IntValue(v pcommon.Value) (int64, bool) {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return v.Int(), true
	case pcommon.ValueTypeDouble:
		d := v.Double()
		if d == math.Trunc(d) && math.Abs(d) < 1<<53 {
			return int64(d), true
		}
	case pcommon.ValueTypeStr:
		n, err := strconv.ParseInt(strings.TrimSpace(v.Str()), 10, 64)
		return n, err == nil
	}
	return 0, false
}

// FloatValue reads a number given as a JSON number or numeric string.
func FloatValue(v pcommon.Value) (float64, bool) {
	switch v.Type() {
	case pcommon.ValueTypeDouble:
		return v.Double(), true
	case pcommon.ValueTypeInt:
		return float64(v.Int()), true
	case pcommon.ValueTypeStr:
		f, err := strconv.ParseFloat(strings.TrimSpace(v.Str()), 64)
		return f, err == nil
	}
	return 0, false
}

// ParseTime reads an ISO-8601 / RFC 3339 time as Tasker writes it.
func ParseTime(s string) (pcommon.Timestamp, bool) {
	if s == "" {
		return 0, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, false
	}
	return pcommon.NewTimestampFromTime(t), true
}

func strValue(v pcommon.Value) string {
	if v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	return ""
}

func putNonEmpty(m pcommon.Map, k, v string) {
	if v != "" {
		m.PutStr(k, v)
	}
}

func joinLines(s pcommon.Slice) string {
	n := 0
	for i := 0; i < s.Len(); i++ {
		n += len(s.At(i).AsString()) + 1
	}
	var b strings.Builder
	b.Grow(n)
	for i := 0; i < s.Len(); i++ {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(s.At(i).AsString())
	}
	return b.String()
}
