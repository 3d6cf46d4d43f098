package event

import (
	"math"
	"strconv"
	"strings"

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

// Normalize turns a log record whose body is an event payload (a map) into a
// normalized event record: it sets the event name, the timestamps when they
// are missing, the trace and span ids, the severity and the normalized
// attributes. It reads the payload once and never changes the body.
//
// namespace separates the trace ids of independent Tasker installations; it
// must be the same on every collector that sees events of one installation.
func Normalize(lr plog.LogRecord, name, namespace string, receivedAt pcommon.Timestamp) {
	n := Normalizer{Namespace: namespace, ReceivedAt: receivedAt}
	n.Normalize(lr, name)
}

// Normalizer normalizes the records of one batch as Normalize does. A batch
// names the same few tasks and steps over and over: it remembers the ids of
// recent tasks and the text of recent numeric ids, so as to hash and format
// them once per run of events rather than once per event.
type Normalizer struct {
	Namespace  string
	ReceivedAt pcommon.Timestamp
	// CorrelationID, when set, is put last on records whose payload
	// carries no correlation id (the request's correlation header).
	CorrelationID string
	// Correlations, when set, spreads a task's correlation id: learned from
	// the events that carry one, put on the task's later events that do not.
	Correlations *Correlations
	// MaxValueLength bounds every normalized attribute value (Truncate);
	// 0 means DefaultMaxValueLength, a negative value no bound.
	MaxValueLength int
	// Redactor, when set, scrubs credentials out of the normalized
	// attribute values (Redactor.Scrub); the payload is left alone.
	Redactor *Redactor

	tasks [recentTasks]taskIDs    // direct-mapped by id.slot
	nums  [recentNums]id          // formatted numbers, direct-mapped by id.slot
	steps [recentSteps]stepSpanID // span ids of recent step attempts, by step id.slot
}

// Cache sizes of a Normalizer. A Tasker batch interleaves the events of a
// couple of dozen tasks in flight (the sample's runs of one task's events
// are 1.4 long): with fewer slots than tasks, ids were hashed again and
// again.
const (
	recentTasks = 32
	recentNums  = 64
	recentSteps = 64
)

// stepSpanID is the span id of one step attempt.
type stepSpanID struct {
	task, step string // their texts; empty in an unused slot
	attempt    int64
	span       pcommon.SpanID
}

// taskIDs are the ids of one task.
type taskIDs struct {
	namespace string
	id        id // with its text; empty in an unused slot
	trace     pcommon.TraceID
	span      pcommon.SpanID // the task's root span, once needed
	hasSpan   bool
	corr      string // its correlation id, once looked up or learned
	hasCorr   bool
}

// Normalize normalizes lr, whose event name is name.
func (n *Normalizer) Normalize(lr plog.LogRecord, name string) {
	n.NormalizeWith(lr, name, lr.Body())
}

// NormalizeWith normalizes lr as Normalize does, reading the payload from
// body rather than from lr's own body (which it leaves alone): a record
// holding only attributes can be normalized from another record's payload
// without a copy of it.
func (n *Normalizer) NormalizeWith(lr plog.LogRecord, name string, body pcommon.Value) {
	lr.SetEventName(name)
	if lr.ObservedTimestamp() == 0 {
		lr.SetObservedTimestamp(n.ReceivedAt)
	}
	var f payloadFacts
	if body.Type() == pcommon.ValueTypeMap {
		body.Map().Range(func(k string, v pcommon.Value) bool {
			f.read(k, v)
			return true
		})
	}
	if lr.Timestamp() == 0 {
		ts := n.ReceivedAt
		if t, ok := ParseTime(f.timestamp); ok {
			ts = t
		}
		lr.SetTimestamp(ts)
	}
	sev, sevText := Severity(name)
	lr.SetSeverityNumber(sev)
	lr.SetSeverityText(sevText)

	var task *taskIDs
	if !f.taskID.empty() {
		task = n.task(f.taskID)
		f.taskID.text = task.id.text
	}
	f.stepID.text = n.text(f.stepID)
	f.jobID.text = n.text(f.jobID)
	if f.stepID.text != "" && (!f.hasAttempt || f.attempt < 1) {
		f.attempt = 1 // Tasker leaves attempt_number out of some step events; they belong to the first attempt
	}
	if task != nil && n.Correlations != nil {
		n.correlate(task, &f)
	}
	n.putAttributes(lr.Attributes(), &f)
	if task == nil {
		return // registry and custom events belong to no task and carry no ids
	}
	lr.SetTraceID(task.trace)
	taskID, stepID := f.taskID.text, f.stepID.text
	switch {
	case f.sql != "":
		lr.SetSpanID(DBSpanID(taskID, stepID, f.startedAt, f.timestamp, f.sql))
	case stepID != "":
		lr.SetSpanID(n.stepSpan(f.stepID.slot(recentSteps), taskID, stepID, f.attempt))
	default:
		if !task.hasSpan {
			task.span, task.hasSpan = TaskSpanID(taskID), true
		}
		lr.SetSpanID(task.span)
	}
}

// correlate learns the task's correlation id from the event, or gives the
// event the one the task is known by.
func (n *Normalizer) correlate(task *taskIDs, f *payloadFacts) {
	corr := f.correlationID
	if corr == "" {
		corr = n.CorrelationID
	}
	switch {
	case corr != "":
		if !task.hasCorr || task.corr != corr {
			n.Correlations.Learn(task.trace, corr)
			task.corr, task.hasCorr = corr, true
		}
	case task.hasCorr:
		f.correlationID = task.corr
	default:
		task.corr, task.hasCorr = n.Correlations.Lookup(task.trace)
		f.correlationID = task.corr
	}
}

// putAttributes puts the normalized attributes, in a map grown once to
// hold exactly them.
func (n *Normalizer) putAttributes(attrs pcommon.Map, f *payloadFacts) {
	stack := f.stacktrace()
	var op, table string
	if f.sql != "" {
		op, table = SummarizeSQL(f.sql)
	}
	correlationID := ""
	if f.correlationID == "" {
		correlationID = n.CorrelationID
	}
	count := nonEmpty(f.taskID.text) + nonEmpty(f.taskName) + 2*nonEmpty(f.stepID.text) + // the step id comes with its attempt
		nonEmpty(f.stepName) + nonEmpty(f.correlationID) + nonEmpty(f.fromState) + nonEmpty(f.toState) +
		nonEmpty(f.queueName) + nonEmpty(f.jobID.text) + nonEmpty(f.errType) + nonEmpty(f.errMessage) +
		nonEmpty(stack) + nonEmpty(f.sql) + nonEmpty(op) + nonEmpty(table) + nonEmpty(correlationID)
	if f.hasRetryLimit {
		count++
	}
	attrs.EnsureCapacity(attrs.Len() + count)

	n.put(attrs, AttrTaskID, f.taskID.text)
	n.put(attrs, AttrTaskName, f.taskName)
	if f.stepID.text != "" {
		n.put(attrs, AttrStepID, f.stepID.text)
		attrs.PutInt(AttrStepAttempt, f.attempt)
	}
	n.put(attrs, AttrStepName, f.stepName)
	if f.hasRetryLimit {
		attrs.PutInt(AttrStepRetryLimit, f.retryLimit)
	}
	n.put(attrs, AttrCorrelationID, f.correlationID)
	n.put(attrs, AttrFromState, f.fromState)
	n.put(attrs, AttrToState, f.toState)
	n.put(attrs, AttrQueueName, f.queueName)
	n.put(attrs, AttrJobID, f.jobID.text)
	n.put(attrs, AttrErrorType, f.errType)
	n.put(attrs, AttrErrorMessage, f.errMessage)
	n.put(attrs, AttrExceptionStacktrace, stack)
	n.put(attrs, AttrDBQueryText, f.sql)
	n.put(attrs, AttrDBOperation, op)
	n.put(attrs, AttrDBCollection, table)
	n.put(attrs, AttrCorrelationID, correlationID)
}

// task returns the ids of the task x (not empty) in n.Namespace, hashing
// them only when they are not the ones its slot remembers.
func (n *Normalizer) task(x id) *taskIDs {
	t := &n.tasks[x.slot(recentTasks)]
	if t.id.empty() || !t.id.same(x) || t.namespace != n.Namespace {
		x.text = n.text(x)
		*t = taskIDs{namespace: n.Namespace, id: x, trace: TraceID(n.Namespace, x.text)}
	}
	return t
}

// stepSpan returns StepSpanID(taskID, stepID, attempt), remembered in
// steps[slot].
func (n *Normalizer) stepSpan(slot int, taskID, stepID string, attempt int64) pcommon.SpanID {
	s := &n.steps[slot]
	if s.step != stepID || s.attempt != attempt || s.task != taskID {
		*s = stepSpanID{task: taskID, step: stepID, attempt: attempt, span: StepSpanID(taskID, stepID, attempt)}
	}
	return s.span
}

// text returns the text of x, formatting a number only when it is not the
// one its slot remembers.
func (n *Normalizer) text(x id) string {
	if !x.isNum {
		return x.text
	}
	r := &n.nums[x.slot(recentNums)]
	if r.text == "" || r.num != x.num {
		*r = id{text: strconv.FormatInt(x.num, 10), num: x.num, isNum: true}
	}
	return r.text
}

// payloadFacts holds what one pass over a payload finds.
type payloadFacts struct {
	taskID, stepID, jobID             id
	taskName, stepName                string
	correlationID, fromState, toState string
	queueName                         string
	errType, errMessage, sql          string
	timestamp, startedAt              string
	attempt, retryLimit               int64
	backtrace                         pcommon.Value
	hasBacktrace                      bool
	hasAttempt, hasRetryLimit         bool
}

func (f *payloadFacts) read(k string, v pcommon.Value) {
	switch k {
	case FieldTaskID:
		f.taskID = readID(v)
	case FieldTaskName:
		f.taskName = strValue(v)
	case FieldStepID:
		f.stepID = readID(v)
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
		f.jobID = readID(v)
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

// stacktrace is the exception.stacktrace attribute the backtrace gives.
func (f *payloadFacts) stacktrace() string {
	if !f.hasBacktrace {
		return ""
	}
	if f.backtrace.Type() == pcommon.ValueTypeSlice && f.backtrace.Slice().Len() > 0 {
		return joinLines(f.backtrace.Slice())
	}
	return strValue(f.backtrace)
}

// id is an id member of a payload as IDString renders it: its text, or a
// whole number whose text the Normalizer makes (and remembers) when needed.
type id struct {
	text  string
	num   int64
	isNum bool
}

func readID(v pcommon.Value) id {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return id{text: strings.TrimSpace(v.Str())}
	case pcommon.ValueTypeInt:
		return id{num: v.Int(), isNum: true}
	case pcommon.ValueTypeDouble:
		if d := v.Double(); d == math.Trunc(d) && math.Abs(d) < 1<<53 {
			return id{num: int64(d), isNum: true}
		}
		return id{text: strconv.FormatFloat(v.Double(), 'f', -1, 64)}
	}
	return id{}
}

func (x id) empty() bool { return !x.isNum && x.text == "" }

// same reports whether y is the id x as sent. The text of a number is not
// compared: it may not be made yet.
func (x id) same(y id) bool {
	if x.isNum || y.isNum {
		return x.isNum == y.isNum && x.num == y.num
	}
	return x.text == y.text
}

// slot picks x's place in a direct-mapped cache of size n: ids are mostly
// counters, so numbers spread by their value and texts by their last byte.
func (x id) slot(n int) int {
	if x.isNum {
		return int(uint64(x.num) % uint64(n))
	}
	if x.text == "" {
		return 0
	}
	return int(x.text[len(x.text)-1]) % n
}

// Severity maps an event name to a log severity: failures are errors,
// retries, backoff, cancellations and warnings of the engine are warnings,
// everything else is informational.
func Severity(name string) (plog.SeverityNumber, string) {
	if in := byName[name]; in != nil {
		return in.Severity.SeverityNumber(), in.Severity.String()
	}
	// names outside the catalog (custom events) by the catalog's own rule
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
	x := readID(v)
	if x.isNum {
		return strconv.FormatInt(x.num, 10)
	}
	return x.text
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

func strValue(v pcommon.Value) string {
	if v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	return ""
}

// nonEmpty is 1 for an attribute value that putNonEmpty puts, else 0.
func nonEmpty(v string) int {
	if v == "" {
		return 0
	}
	return 1
}

// put puts a non-empty attribute value, bounded and scrubbed.
func (n *Normalizer) put(m pcommon.Map, k, v string) {
	if v == "" {
		return
	}
	max := n.MaxValueLength
	if max == 0 {
		max = DefaultMaxValueLength
	}
	if max > 0 && len(v) > max {
		v, _ = Truncate(v, max)
	}
	if n.Redactor != nil && len(v) >= MinCredentialLen {
		v, _ = n.Redactor.Scrub(v)
	}
	m.PutStr(k, v)
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
