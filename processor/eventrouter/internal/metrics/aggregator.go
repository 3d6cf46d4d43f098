// Package metrics aggregates normalized workflow events into cumulative
// OpenTelemetry metrics (counters, histograms, in-flight gauges and
// user-defined metrics) for the eventrouter connector.
package metrics

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

// ScopeName is the instrumentation scope of the metrics this package writes.
const ScopeName = "github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter"

// unknownService is the service.name of events whose resource has none (the
// OpenTelemetry SDK default).
const unknownService = "unknown_service"

// maxServices bounds the resources the aggregator keeps apart. Events of
// further services are counted in each metric's overflow series.
const maxServices = 1000

// In-flight states of a task or step attempt.
const (
	stateNone uint8 = iota
	stateActive
	stateFinished
)

type taskState struct {
	name        string
	state       uint8
	counted     uint8   // outcomes of the task counted (event.OutcomeBit)
	active      *series // the tasks.active series it incremented
	activeSteps int32
}

type stepState struct {
	task    lruKey // the key of its task in the tasks table
	state   uint8
	counted uint8 // outcomes of the attempt counted (event.OutcomeBit)
	active  *series
}

type service struct {
	name string
	res  pcommon.Resource
}

// Aggregator turns events into cumulative metrics. All methods are safe for
// concurrent use; one mutex guards the state because an update is a handful
// of map lookups, far cheaper than the contention sharding would avoid here.
type Aggregator struct {
	mu sync.Mutex

	tables     [numBuiltins]*table
	user       []*userMetric
	matchCache map[string][]*userMetric

	services []service
	svcIdx   map[string]int32

	tasks *lru[taskState]
	steps *lru[stepState]
	names map[string]string // task names held by the tasks table, shared
	waits *lru[waitState]   // by task and step id, and by task for its queue (waits.go)

	slowStep, slowQuery float64 // seconds
	exemplars           bool
	nowFn               func() pcommon.Timestamp

	// reusable buffers for series and step keys
	key  []byte
	ends []int
	skey []byte
	wkey []byte

	maxLabel  int    // max_label_length
	budget    budget // max_state_bytes
	truncated int64  // events with a label value cut to maxLabel
	cut       bool   // the event being observed had a label value cut
}

// New builds an aggregator from a configuration, validating it first.
func New(cfg Config) (*Aggregator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	bounds := append([]float64(nil), cfg.HistogramBuckets...)
	a := &Aggregator{
		matchCache: make(map[string][]*userMetric, 64),
		names:      make(map[string]string, 64),
		svcIdx:     make(map[string]int32, 4),
		slowStep:   cfg.SlowStepThreshold.Seconds(),
		slowQuery:  cfg.SlowQueryThreshold.Seconds(),
		exemplars:  cfg.Exemplars,
		nowFn:      func() pcommon.Timestamp { return pcommon.NewTimestampFromTime(time.Now()) },
		key:        make([]byte, 0, 256),
		ends:       make([]int, 0, 8),
		skey:       make([]byte, 0, 64),
		maxLabel:   cfg.MaxLabelLength,
		budget:     budget{max: cfg.MaxStateBytes},
		wkey:       make([]byte, 0, 64),
	}
	for i, d := range builtins {
		if d.kind == kindHistogram {
			d.bounds = bounds
		}
		a.tables[i] = newTable(d, cfg.MaxSeriesPerMetric, &a.budget)
	}
	a.user = compileDefinitions(cfg.Definitions, bounds, cfg.MaxSeriesPerMetric, &a.budget)
	a.tasks = newLRU(cfg.MaxTrackedTasks, a.evictTask)
	a.steps = newLRU(cfg.MaxTrackedSteps, a.evictStep)
	a.waits = newLRU(cfg.MaxTrackedSteps, a.evictWait)
	return a, nil
}

// evictTask keeps the in-flight gauge honest when a task leaves the table:
// a task no longer tracked is no longer counted as active.
func (a *Aggregator) evictTask(keyLen int, t *taskState) {
	a.budget.give(taskCost + keyLen + len(t.name))
	if t.state == stateActive {
		t.active.value--
	}
}

func (a *Aggregator) evictStep(keyLen int, s *stepState) {
	a.budget.give(stepCost + keyLen)
	if s.state == stateActive {
		s.active.value--
		if t := a.tasks.peek(s.task); t != nil && t.activeSteps > 0 {
			t.activeSteps--
		}
	}
}

// Observe records one normalized event. res is the resource the event came
// with; its service.name selects the resource the metrics are reported under.
// It reports false for a terminal event already counted (see ObserveWith).
func (a *Aggregator) Observe(lr plog.LogRecord, res pcommon.Resource) bool {
	return a.ObserveWith(lr, lr.Body(), res)
}

// ObserveWith records one normalized event whose payload is body rather than
// lr's own body: the router normalizes OTLP input into a record holding only
// attributes, and passes the input's payload along as it is.
//
// A terminal event (a task's or a step attempt's end) that was counted
// already, delivered again by a sender's retry or a replayed queue, is not
// counted again: the task's or attempt's entry in the tracking tables
// remembers which outcomes it counted (a task that failed and was then
// resolved manually counts both). It then reports false. Once the entry is
// evicted (max_tracked_tasks, max_tracked_steps), a repeat counts again.
func (a *Aggregator) ObserveWith(lr plog.LogRecord, body pcommon.Value, res pcommon.Resource) bool {
	payload := noPayload
	if body.Type() == pcommon.ValueTypeMap {
		payload = body.Map()
	}
	name := lr.EventName()
	if name == "" {
		if name = event.Name(lr); name == "" {
			return true
		}
	}
	attrs := lr.Attributes()

	a.mu.Lock()
	defer a.mu.Unlock()

	taskID := attrStr(attrs, event.AttrTaskID)
	if len(taskID) > a.maxLabel {
		taskID, _ = event.Truncate(taskID, a.maxLabel)
	}
	attrTaskName := attrStr(attrs, event.AttrTaskName)
	if len(attrTaskName) > a.maxLabel {
		attrTaskName = a.label(attrTaskName)
	}
	var task *taskState
	tr := taskRef{id: taskID}
	if taskID != "" {
		tr.key = keyOfString(taskID)
		if task = a.tasks.get(tr.key); task == nil {
			if cost := taskCost + len(taskID); !a.budget.take(cost) {
				makeRoom(a, a.tasks, cost)
			}
			task = a.tasks.insert(tr.key, len(taskID))
		}
		if attrTaskName != "" && attrTaskName != task.name {
			a.budget.used += int64(len(attrTaskName) - len(task.name))
			task.name = a.intern(attrTaskName)
		}
	}
	taskName := attrTaskName
	if task != nil && task.name != "" {
		taskName = task.name
	}
	if taskName == "" {
		taskName = unknown
	}

	// what the event means comes from the event catalog; names outside it
	// feed tasker.events and user-defined metrics only
	in, _ := event.Lookup(name)
	var step *stepState // of a step attempt's end
	switch in.Metric {
	case event.MetricTaskOutcome:
		if task != nil {
			o := event.OutcomeBit(in.Outcome)
			if task.counted&o != 0 {
				return false
			}
			task.counted |= o
		}
	case event.MetricStepOutcome:
		if stepID := attrStr(attrs, event.AttrStepID); taskID != "" && stepID != "" {
			step = a.step(tr, stepID, attrInt(attrs, event.AttrStepAttempt))
			o := event.OutcomeBit(in.Outcome)
			if step.counted&o != 0 {
				return false
			}
			step.counted |= o
		}
	}

	svc := a.service(res)
	var exv exemplar
	var ex *exemplar
	if a.exemplars {
		if tid := lr.TraceID(); !tid.IsEmpty() {
			exv = exemplar{trace: tid, span: lr.SpanID(), ts: lr.Timestamp(), ok: true}
			ex = &exv
		}
	}
	a.find(mEvents, svc, name).add(1, ex)

	switch in.Metric {
	case event.MetricTaskStart:
		if task != nil && task.state == stateNone {
			task.state = stateActive
			task.active = a.find(mTasksActive, svc, taskName)
			task.active.value++
		}
		a.queueMark(taskID, false, lr.Timestamp(), svc, taskName, ex)
	case event.MetricTaskOutcome:
		a.taskOutcome(lr, payload, task, tr, svc, taskName, in.Outcome, ex)
	case event.MetricTaskEnded:
		a.taskEnded(task, tr)
	case event.MetricTaskRetry:
		// a retried task runs again: let its next start count
		if task != nil && task.state == stateFinished {
			task.state = stateNone
			a.queueReset(taskID)
		}
	case event.MetricStepStart:
		a.stepStarted(lr, attrs, task, tr, svc, taskName, ex)
	case event.MetricStepsViable:
		a.stepsViable(payload, taskID, lr.Timestamp(), svc, taskName, ex)
	case event.MetricStepOutcome:
		a.stepOutcome(lr, payload, attrs, step, tr, svc, taskName, in.Outcome, ex)
	case event.MetricStepRetry:
		a.find(mStepRetries, svc, taskName, orUnknown(attrStr(attrs, event.AttrStepName))).add(1, ex)
	case event.MetricBackoff:
		if d, ok := payloadFloat(payload, event.FieldBackoffSeconds); ok && d >= 0 {
			a.find(mStepBackoff, svc, orUnknown(payloadStr(payload, event.FieldBackoffType))).observe(d, a.tables[mStepBackoff].bounds, ex)
		}
	case event.MetricEnqueue:
		a.find(mTasksEnqueued, svc, orUnknown(attrStr(attrs, event.AttrQueueName))).add(1, ex)
		a.queueMark(taskID, true, lr.Timestamp(), svc, taskName, ex)
	case event.MetricQuery:
		d, ok := payloadFloat(payload, event.FieldDuration)
		if !ok {
			d, ok = elapsed(lr, payload)
		}
		if ok && d >= 0 {
			a.find(mDBQueryDuration, svc,
				orUnknown(attrStr(attrs, event.AttrDBCollection)),
				orUnknown(attrStr(attrs, event.AttrDBOperation))).observe(d, a.tables[mDBQueryDuration].bounds, ex)
			if d > a.slowQuery {
				a.find(mSlowOperations, svc, "query").add(1, ex)
			}
		}
	case event.MetricSlowOperation:
		kind := payloadStr(payload, "kind")
		if kind == "" {
			if kind = payloadStr(payload, "operation_type"); kind == "" {
				kind = "other"
			}
		}
		a.find(mSlowOperations, svc, kind).add(1, ex)
	}

	if len(a.user) > 0 {
		for _, u := range a.matching(name) {
			a.observeUser(u, name, lr, body, res, svc, ex)
		}
	}
	if a.cut { // a label value of this event was cut
		a.truncated++
		a.cut = false
	}
	return true
}

func (a *Aggregator) taskOutcome(lr plog.LogRecord, body pcommon.Map, task *taskState, tr taskRef, svc int32, taskName, status string, ex *exemplar) {
	a.find(mTasks, svc, taskName, status).add(1, ex)
	d, ok := payloadFloat(body, event.FieldTotalExecutionDuration)
	if !ok {
		d, ok = elapsed(lr, body)
	}
	if ok && d >= 0 {
		a.find(mWorkflowDuration, svc, taskName, status).observe(d, a.tables[mWorkflowDuration].bounds, ex)
	}
	a.taskEnded(task, tr)
}

// taskEnded marks a task finished, so a late or repeated start event does not
// count it again, and closes any of its step attempts still in flight.
func (a *Aggregator) taskEnded(task *taskState, tr taskRef) {
	if task == nil {
		return
	}
	if task.state == stateActive {
		task.active.value--
		task.active = nil
	}
	task.state = stateFinished
	if task.activeSteps > 0 {
		a.steps.each(func(s *stepState) {
			if s.state == stateActive && s.task == tr.key {
				s.active.value--
				s.active = nil
				s.state = stateFinished
			}
		})
		task.activeSteps = 0
	}
}

// intern returns name as held in names: the tasks table keeps one copy of
// each task name (names are few, tasks many); past maxNames, a copy each.
func (a *Aggregator) intern(name string) string {
	if n, ok := a.names[name]; ok {
		return n
	}
	n := strings.Clone(name) // name may be a view into an input batch
	if len(a.names) < maxNames {
		a.names[n] = n
	}
	return n
}

// maxNames bounds the task names interned (each at most max_label_length
// bytes).
const maxNames = 4096

// taskRef is the task of the event being observed: its id and its key in
// the tasks table, which its steps keep.
type taskRef struct {
	id  string
	key lruKey
}

// step returns the in-flight entry of one step attempt, creating it.
func (a *Aggregator) step(tr taskRef, stepID string, attempt int64) *stepState {
	if len(stepID) > a.maxLabel {
		stepID, _ = event.Truncate(stepID, a.maxLabel)
	}
	a.skey = append(a.skey[:0], tr.id...)
	a.skey = append(a.skey, keySep)
	a.skey = append(a.skey, stepID...)
	a.skey = append(a.skey, keySep)
	a.skey = strconv.AppendInt(a.skey, attempt, 10)
	k := keyOf(a.skey)
	if s := a.steps.get(k); s != nil {
		return s
	}
	if cost := stepCost + len(a.skey); !a.budget.take(cost) {
		makeRoom(a, a.steps, cost)
	}
	s := a.steps.insert(k, len(a.skey))
	s.task = tr.key
	return s
}

func (a *Aggregator) stepStarted(lr plog.LogRecord, attrs pcommon.Map, task *taskState, tr taskRef, svc int32, taskName string, ex *exemplar) {
	stepID := attrStr(attrs, event.AttrStepID)
	if tr.id == "" || stepID == "" {
		return
	}
	// every start event, whatever the attempt's state: the wait keeps the
	// earliest, even when the attempt's end came first
	stepName := attrStr(attrs, event.AttrStepName)
	a.stepStartedAt(tr.id, stepID, stepName, lr.Timestamp(), svc, taskName, ex)
	s := a.step(tr, stepID, attrInt(attrs, event.AttrStepAttempt))
	if s.state != stateNone {
		return
	}
	s.state = stateActive
	s.active = a.find(mStepsActive, svc, taskName, orUnknown(stepName))
	s.active.value++
	if task != nil {
		task.activeSteps++
	}
}

// stepOutcome counts a step attempt's end; s is its entry (nil when the
// event names no task or step).
func (a *Aggregator) stepOutcome(lr plog.LogRecord, body, attrs pcommon.Map, s *stepState, tr taskRef, svc int32, taskName, status string, ex *exemplar) {
	stepName := orUnknown(attrStr(attrs, event.AttrStepName))
	a.find(mSteps, svc, taskName, stepName, status).add(1, ex)
	d, ok := payloadFloat(body, event.FieldExecutionDuration)
	if !ok {
		d, ok = elapsed(lr, body)
	}
	if ok && d >= 0 {
		a.find(mStepDuration, svc, taskName, stepName, status).observe(d, a.tables[mStepDuration].bounds, ex)
		if d > a.slowStep {
			a.find(mSlowOperations, svc, "step").add(1, ex)
		}
	}
	if s == nil {
		return
	}
	if s.state == stateActive {
		s.active.value--
		s.active = nil
		if t := a.tasks.peek(tr.key); t != nil && t.activeSteps > 0 {
			t.activeSteps--
		}
	}
	s.state = stateFinished
}

// service returns the index of the resource an event belongs to, keyed by
// service.name; -1 when maxServices are already known.
func (a *Aggregator) service(res pcommon.Resource) int32 {
	name := unknownService
	if v, ok := res.Attributes().Get("service.name"); ok && v.Type() == pcommon.ValueTypeStr && v.Str() != "" {
		if name = v.Str(); len(name) > a.maxLabel {
			name = a.label(name)
		}
	}
	if i, ok := a.svcIdx[name]; ok {
		return i
	}
	if len(a.services) >= maxServices {
		return -1
	}
	if !a.budget.take(resourceCost(res) + len(name)) {
		a.budget.refused++
		return -1
	}
	r := pcommon.NewResource()
	res.CopyTo(r)
	r.Attributes().PutStr("service.name", name)
	i := int32(len(a.services))
	a.services = append(a.services, service{name: strings.Clone(name), res: r})
	a.svcIdx[a.services[i].name] = i
	return i
}

// find returns the series of builtin metric m for the given label values.
func (a *Aggregator) find(m int, svc int32, labels ...string) *series {
	a.beginKey(svc)
	for _, l := range labels {
		if len(l) > a.maxLabel {
			l = a.label(l)
		}
		a.addLabel(l)
	}
	return a.tables[m].find(a.key, a.ends, svc, a.nowFn)
}

func (a *Aggregator) beginKey(svc int32) {
	a.key = append(a.key[:0], byte(svc>>24), byte(svc>>16), byte(svc>>8), byte(svc))
	a.ends = a.ends[:0]
}

// addLabel appends a label value that is at most max_label_length long
// (callers cut longer ones with label: addLabel stays small enough to be
// inlined).
func (a *Aggregator) addLabel(v string) {
	a.key = append(a.key, v...)
	a.endLabel()
}

func (a *Aggregator) endLabel() {
	a.ends = append(a.ends, len(a.key))
	a.key = append(a.key, keySep)
}

// AppendTo appends a cumulative snapshot of everything observed so far: one
// ResourceMetrics per service, each with one scope holding every metric that
// has series for that service. The overflow series go with the first service.
func (a *Aggregator) AppendTo(md pmetric.Metrics, now pcommon.Timestamp) {
	a.mu.Lock()
	defer a.mu.Unlock()
	services := a.services
	if len(services) == 0 { // only overflow series, if any: under the default service
		res := pcommon.NewResource()
		res.Attributes().PutStr("service.name", unknownService)
		services = []service{{name: unknownService, res: res}}
	}
	for i, svc := range services {
		if !a.hasSeries(i) {
			continue
		}
		rm := md.ResourceMetrics().AppendEmpty()
		svc.res.CopyTo(rm.Resource())
		sm := rm.ScopeMetrics().AppendEmpty()
		sm.Scope().SetName(ScopeName)
		for _, t := range a.tables {
			t.appendTo(sm, i, now, a.exemplars)
		}
		for _, u := range a.user {
			u.table.appendTo(sm, i, now, a.exemplars)
		}
	}
}

func (a *Aggregator) hasSeries(svc int) bool {
	has := func(t *table) bool {
		return (svc < len(t.bySvc) && len(t.bySvc[svc]) > 0) || (svc == 0 && t.overflow != nil)
	}
	for _, t := range a.tables {
		if has(t) {
			return true
		}
	}
	for _, u := range a.user {
		if has(u.table) {
			return true
		}
	}
	return false
}

func attrStr(m pcommon.Map, k string) string {
	if v, ok := m.Get(k); ok && v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	return ""
}

func attrInt(m pcommon.Map, k string) int64 {
	if v, ok := m.Get(k); ok {
		if n, ok := event.IntValue(v); ok {
			return n
		}
	}
	return 1
}

// noPayload stands for the payload of an event whose body is not a map; it
// is only ever read.
var noPayload = pcommon.NewMap()

func orUnknown(s string) string {
	if s == "" {
		return unknown
	}
	return s
}

func payloadFloat(m pcommon.Map, k string) (float64, bool) {
	if v, ok := m.Get(k); ok {
		return event.FloatValue(v)
	}
	return 0, false
}

func payloadStr(m pcommon.Map, k string) string {
	if v, ok := m.Get(k); ok && v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	return ""
}

// elapsed is completed_at − started_at, else the event time − started_at.
func elapsed(lr plog.LogRecord, body pcommon.Map) (float64, bool) {
	start, ok := event.ParseTime(payloadStr(body, event.FieldStartedAt))
	if !ok {
		return 0, false
	}
	end, ok := event.ParseTime(payloadStr(body, event.FieldCompletedAt))
	if !ok {
		if end = lr.Timestamp(); end == 0 {
			return 0, false
		}
	}
	return float64(int64(end)-int64(start)) / 1e9, true
}
