// Package sim simulates a Tasker workflow engine and produces the lifecycle
// events it would publish, shaped exactly like Tasker's payloads (see
// internal/event/catalog.go and internal/fixtures/data/sample-native.ndjson).
//
// The simulation is a discrete-event simulation on a virtual millisecond
// clock: tasks arrive, their step DAGs run with as much parallelism as the
// dependencies allow, attempts fail and are retried after an exponential
// backoff, handlers run database queries, and a step that exhausts its
// retries fails its task. Events come out in timestamp order, one at a time
// (Generator.Next), and the whole stream is a pure function of the Config:
// the same Config (seed included) gives byte-identical output.
//
// Every duration in a payload is computed from the millisecond timestamps the
// same payloads carry, so execution_duration == completed_at - started_at
// exactly.
package sim

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync/atomic"
	"time"
)

// Event is one generated event. The generator reuses it: it is valid until
// the next call of Next, and its values must not be modified.
type Event struct {
	Seq    int64  // position in the stream, from 0
	Name   string // e.g. step.completed
	Time   int64  // Unix milliseconds, equal to the payload's timestamp
	TaskID int64  // 0 for registry events
	ID     [16]byte
	Fields []Field // the payload, in Tasker's field order
}

// Event names the simulator publishes.
const (
	EventHandlerRegistered   = "handler.registered"
	EventTaskInitialize      = "task.initialize_requested"
	EventTaskEnqueue         = "observability.task.enqueue"
	EventTaskStart           = "task.start_requested"
	EventTaskStarted         = "workflow.task_started"
	EventViableSteps         = "workflow.viable_steps_discovered"
	EventStepExecRequested   = "step.execution_requested"
	EventStepBeforeHandle    = "step.before_handle"
	EventDBQuery             = "database.query_executed"
	EventStepCompleted       = "step.completed"
	EventStepFailed          = "step.failed"
	EventStepBackoff         = "observability.step.backoff"
	EventStepRetry           = "step.retry_requested"
	EventFinalizationStarted = "workflow.task_finalization_started"
	EventFinalizationDone    = "workflow.task_finalization_completed"
	EventTaskCompleted       = "task.completed"
	EventTaskFailed          = "task.failed"
)

type nameID uint8

const (
	nHandlerRegistered nameID = iota
	nTaskInitialize
	nTaskEnqueue
	nTaskStart
	nTaskStarted
	nViableSteps
	nStepExec
	nStepBeforeHandle
	nDBQuery
	nStepCompleted
	nStepFailed
	nStepBackoff
	nStepRetry
	nFinalizationStarted
	nFinalizationDone
	nTaskCompleted
	nTaskFailed
	numNames
)

// EventNames lists the names the simulator publishes, in lifecycle order.
var EventNames = [numNames]string{
	EventHandlerRegistered, EventTaskInitialize, EventTaskEnqueue, EventTaskStart,
	EventTaskStarted, EventViableSteps, EventStepExecRequested, EventStepBeforeHandle,
	EventDBQuery, EventStepCompleted, EventStepFailed, EventStepBackoff, EventStepRetry,
	EventFinalizationStarted, EventFinalizationDone, EventTaskCompleted, EventTaskFailed,
}

// Tasker's backoff settings, as the fixture shows them.
const (
	backoffBase       = 0.05
	backoffMultiplier = 2
	queueName         = "tasker_default"
	taskType          = "Tasker::Task"
)

const (
	stepPending uint8 = iota
	stepClaimed       // discovered, running or waiting for a retry
	stepDone
	stepFailed
)

type stepState struct {
	state     uint8
	attempt   int
	startedAt int64
}

type task struct {
	id         int64
	tmpl       *compiled
	start      int64
	corr       Value
	job        Value
	ctx        Value
	firstStep  int64
	steps      []stepState
	active     int // claimed steps not yet done or failed
	completed  int
	failed     int
	fatalStep  int // -1: none
	errorSteps []Field
}

// Generator produces the event stream of one simulated run.
type Generator struct {
	cfg       Config
	rng       *rand.Rand
	tmpls     []*compiled
	startMS   int64
	interval  float64 // ms
	queue     actionHeap
	seq       uint64
	ev        Event
	arena     []Field
	nextTask  int64
	nextStep  int64
	created   int
	inFlight  int
	blocked   bool
	arrivalAt float64
	stop      atomic.Bool
	counts    [numNames]int64
	taskIDs   []int64
	durations []int64 // ms, per finished task
	emitted   int64
	firstTime int64
	lastTime  int64

	tasksStarted  atomic.Int64
	tasksFinished atomic.Int64
}

// New validates cfg and prepares a generator.
func New(cfg Config) (*Generator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	g := &Generator{
		cfg:      cfg,
		rng:      rand.New(rand.NewPCG(uint64(cfg.Seed), 0x7a5ce75e)),
		startMS:  cfg.Start.UnixMilli(),
		interval: float64(cfg.TaskInterval) / float64(time.Millisecond),
		nextTask: cfg.FirstTaskID,
		nextStep: 1000 + 10*(cfg.FirstTaskID-1) + 1,
	}
	for _, t := range Templates() {
		if len(cfg.Templates) > 0 && !slices.Contains(cfg.Templates, t.Name) {
			continue
		}
		c, err := compile(t)
		if err != nil {
			return nil, err
		}
		g.tmpls = append(g.tmpls, c)
	}
	if !cfg.NoRegistry {
		for i := range g.tmpls {
			g.push(action{at: g.startMS, kind: actRegistry, p1: int64(i)})
		}
	}
	g.arrivalAt = float64(g.startMS + 100)
	g.push(action{at: g.startMS + 100, kind: actArrive})
	return g, nil
}

// Stop ends the run gracefully: no task starts after it, the tasks in flight
// run to their end. Safe to call from any goroutine.
func (g *Generator) Stop() { g.stop.Store(true) }

// TasksStarted and TasksFinished may be read from any goroutine (progress).
func (g *Generator) TasksStarted() int64  { return g.tasksStarted.Load() }
func (g *Generator) TasksFinished() int64 { return g.tasksFinished.Load() }

// Next returns the next event in timestamp order, or false at the end of the
// run. The event is reused by the following call.
func (g *Generator) Next() (*Event, bool) {
	for len(g.queue) > 0 {
		a := g.queue.pop()
		if g.process(&a) {
			g.emitted++
			return &g.ev, true
		}
	}
	return nil, false
}

func (g *Generator) push(a action) {
	a.seq = g.seq
	g.seq++
	g.queue.push(a)
}

// between draws a whole number in [lo, hi].
func (g *Generator) between(lo, hi int64) int64 { return lo + g.rng.Int64N(hi-lo+1) }

func (g *Generator) begin(n nameID, at, taskID int64) {
	g.counts[n]++
	if g.emitted == 0 {
		g.firstTime = at
	}
	g.lastTime = at
	g.ev.Seq = g.emitted
	g.ev.Name = EventNames[n]
	g.ev.Time = at
	g.ev.TaskID = taskID
	g.ev.Fields = g.ev.Fields[:0]
	g.arena = g.arena[:0]
	// A cheap, seed-dependent unique id (CloudEvents id, ...).
	x := uint64(g.cfg.Seed)*0x9e3779b97f4a7c15 + uint64(g.emitted)
	putUint64(g.ev.ID[:8], splitmix(x))
	putUint64(g.ev.ID[8:], splitmix(x^0xd1b54a32d192ed03))
}

func (g *Generator) add(key string, v Value) {
	g.ev.Fields = append(g.ev.Fields, Field{Key: key, Val: v})
}

func (g *Generator) process(a *action) bool {
	t := a.t
	switch a.kind {
	case actRegistry:
		c := g.tmpls[a.p1]
		g.begin(nHandlerRegistered, a.at, 0)
		g.add("registry_name", Str("handler_factory"))
		g.add("entity_type", Str("task_handler"))
		g.add("entity_id", Str("default/"+c.Name))
		g.add("entity_class", Str(c.Class))
		g.add("options", emptyMap)
		g.add("registered_at", TimeMS(a.at))
		g.add("correlation_id", Str(g.correlationID(a.at)))
		g.add("timestamp", TimeMS(a.at))
		return true

	case actArrive:
		if g.stop.Load() || (g.cfg.Tasks > 0 && g.created >= g.cfg.Tasks) {
			return false
		}
		if g.cfg.Concurrency > 0 && g.inFlight >= g.cfg.Concurrency {
			g.blocked = true // the next arrival is scheduled when a task ends
			return false
		}
		t = g.newTask(a.at)
		g.begin(nTaskInitialize, a.at, t.id)
		g.add("task_id", Int(t.id))
		g.add("task_name", t.tmpl.taskName)
		g.add("task_context", t.ctx)
		g.add("from_state", Null())
		g.add("to_state", Str("pending"))
		g.add("transitioned_at", TimeMS(a.at))
		g.add("timestamp", TimeMS(a.at))
		g.push(action{at: a.at + g.between(5, 20), kind: actEnqueue, t: t})
		if g.cfg.Tasks == 0 || g.created < g.cfg.Tasks {
			g.scheduleArrival(a.at)
		}
		return true

	case actEnqueue:
		g.begin(nTaskEnqueue, a.at, t.id)
		g.add("task_id", Int(t.id))
		g.add("task_name", t.tmpl.taskName)
		g.add("task_context", t.ctx)
		g.add("event_type", Str("enqueue"))
		g.add("job_id", t.job)
		g.add("queue_name", Str(queueName))
		g.add("correlation_id", t.corr)
		g.add("attempt", Int(1))
		g.add("timestamp", TimeMS(a.at))
		g.push(action{at: a.at + g.between(50, 130), kind: actStart, t: t})
		return true

	case actStart:
		g.begin(nTaskStart, a.at, t.id)
		g.add("task_id", Int(t.id))
		g.add("task_name", t.tmpl.taskName)
		g.add("started_at", TimeMS(t.start))
		g.add("task_type", Str(taskType))
		g.add("event_type", Str("started"))
		g.add("total_steps", Int(int64(len(t.steps))))
		g.add("task_context", t.ctx)
		g.add("correlation_id", t.corr)
		g.add("timestamp", TimeMS(a.at))
		g.push(action{at: a.at, kind: actTaskStarted, t: t})
		return true

	case actTaskStarted:
		g.begin(nTaskStarted, a.at, t.id)
		g.add("task_id", Int(t.id))
		g.add("correlation_id", t.corr)
		g.add("event_type", Str("task_started"))
		g.add("orchestration_event", Bool(true))
		g.add("timestamp", TimeMS(a.at))
		var roots []int32
		for i := range t.steps {
			if len(t.tmpl.deps[i]) == 0 {
				roots = append(roots, int32(i))
				t.steps[i].state = stepClaimed
				t.active++
			}
		}
		g.push(action{at: a.at + g.between(1, 5), kind: actDiscover, t: t, steps: roots})
		return true

	case actDiscover:
		g.begin(nViableSteps, a.at, t.id)
		ids := g.arenaSlice(len(a.steps))
		for i, s := range a.steps {
			ids[i] = Field{Val: Int(t.firstStep + int64(s))}
		}
		g.add("task_id", Int(t.id))
		g.add("step_ids", List(ids...))
		g.add("processing_mode", Str("concurrent"))
		g.add("step_count", Int(int64(len(a.steps))))
		g.add("event_type", Str("viable_steps_discovered"))
		g.add("orchestration_event", Bool(true))
		g.add("timestamp", TimeMS(a.at))
		at := a.at
		for _, s := range a.steps {
			at += g.between(2, 20)
			g.push(action{at: at, kind: actExec, t: t, step: s})
		}
		return true

	case actExec:
		st := &t.steps[a.step]
		st.attempt++
		st.startedAt = a.at
		g.beginStep(nStepExec, a.at, t, a.step)
		g.add("event_type", Str("started"))
		g.add("started_at", TimeMS(a.at))
		g.add("step_inputs", t.tmpl.stepInput)
		g.add("step_dependencies", t.tmpl.stepDeps[a.step])
		g.add("timestamp", TimeMS(a.at))
		g.push(action{at: a.at + g.between(0, 2), kind: actBeforeHandle, t: t, step: a.step})
		return true

	case actBeforeHandle:
		st := &t.steps[a.step]
		g.beginStep(nStepBeforeHandle, a.at, t, a.step)
		g.add("event_type", Str("before_handle"))
		g.add("started_at", TimeMS(st.startedAt))
		g.add("timestamp", TimeMS(a.at))
		g.planAttempt(t, a.step, a.at)
		return true

	case actQuery:
		q := t.tmpl.queries[a.p3]
		g.begin(nDBQuery, a.at, t.id)
		g.add("task_id", Int(t.id))
		g.add("step_id", Int(t.firstStep+int64(a.step)))
		g.add("sql", Str(q.sql))
		g.add("query_name", Str(q.name))
		g.add("duration", Float(float64(a.p2)/1e6))
		g.add("started_at", TimeMS(a.p1))
		g.add("timestamp", TimeMS(a.at))
		return true

	case actStepEnd:
		if a.p1 == 0 {
			g.stepCompleted(t, a.step, a.at)
		} else {
			g.stepFailed(t, a.step, a.at)
		}
		return true

	case actBackoff:
		st := &t.steps[a.step]
		factor := math.Pow(backoffMultiplier, float64(st.attempt)) * (0.8 + 0.4*g.rng.Float64())
		ms := max(int64(math.Round(backoffBase*factor*1000)), 1)
		g.beginStep(nStepBackoff, a.at, t, a.step)
		g.add("event_type", Str("backoff"))
		g.add("backoff_seconds", Float(float64(ms)/1000))
		g.add("backoff_type", Str("exponential"))
		g.add("attempt", Int(int64(st.attempt)))
		g.add("base_delay", Float(backoffBase))
		g.add("multiplier", Int(backoffMultiplier))
		g.add("jitter_enabled", Bool(true))
		g.add("timestamp", TimeMS(a.at))
		g.push(action{at: a.at + ms, kind: actRetry, t: t, step: a.step})
		return true

	case actRetry:
		st := &t.steps[a.step]
		g.beginStep(nStepRetry, a.at, t, a.step)
		g.add("event_type", Str("retry"))
		g.add("previous_attempts", Int(int64(st.attempt)))
		g.add("retry_reason", Str("Step execution failed"))
		g.add("backoff_strategy", Str("exponential"))
		g.add("timestamp", TimeMS(a.at))
		g.push(action{at: a.at + g.between(10, 50), kind: actExec, t: t, step: a.step})
		return true

	case actFinalizeStart:
		g.begin(nFinalizationStarted, a.at, t.id)
		g.add("task_id", Int(t.id))
		g.add("processed_steps_count", Int(int64(t.completed+t.failed)))
		g.add("event_type", Str("task_finalization_started"))
		g.add("orchestration_event", Bool(true))
		g.add("timestamp", TimeMS(a.at))
		g.push(action{at: a.at + g.between(1, 8), kind: actFinalizeDone, t: t})
		return true

	case actFinalizeDone:
		status := "complete"
		if t.failed > 0 {
			status = "error"
		}
		g.begin(nFinalizationDone, a.at, t.id)
		g.add("task_id", Int(t.id))
		g.add("processed_steps_count", Int(int64(t.completed+t.failed)))
		g.add("final_status", Str(status))
		g.add("event_type", Str("task_finalization_completed"))
		g.add("orchestration_event", Bool(true))
		g.add("timestamp", TimeMS(a.at))
		g.push(action{at: a.at, kind: actTaskEnd, t: t})
		return true

	case actTaskEnd:
		g.taskEnd(t, a.at)
		return true
	}
	panic("sim: unknown action")
}

// beginStep starts a step event with the fields every step event carries.
func (g *Generator) beginStep(n nameID, at int64, t *task, step int32) {
	g.begin(n, at, t.id)
	g.add("task_id", Int(t.id))
	g.add("step_id", Int(t.firstStep+int64(step)))
	g.add("step_name", Str(t.tmpl.Steps[step].Name))
	g.add("attempt_number", Int(int64(t.steps[step].attempt)))
	g.add("retry_limit", Int(int64(g.cfg.RetryLimit)))
}

func (g *Generator) arenaSlice(n int) []Field {
	start := len(g.arena)
	g.arena = slices.Grow(g.arena, n)[:start+n]
	return g.arena[start : start+n : start+n]
}

func (g *Generator) scheduleArrival(after int64) {
	g.arrivalAt = math.Max(g.arrivalAt, float64(after)) + g.rng.ExpFloat64()*g.interval
	g.push(action{at: int64(g.arrivalAt), kind: actArrive})
}

func (g *Generator) newTask(at int64) *task {
	c := g.tmpls[g.rng.IntN(len(g.tmpls))]
	t := &task{
		id:        g.nextTask,
		tmpl:      c,
		start:     at,
		firstStep: g.nextStep,
		steps:     make([]stepState, len(c.Steps)),
		fatalStep: -1,
	}
	g.nextTask++
	g.nextStep += int64(len(c.Steps))
	g.created++
	g.inFlight++
	g.tasksStarted.Add(1)
	g.taskIDs = append(g.taskIDs, t.id)
	t.corr = Str(g.correlationID(at))
	t.job = Str(g.randomString(hexDigits, 32))
	t.ctx = Map(
		Field{Key: "customer_id", Val: Int(g.between(1, 99999))},
		Field{Key: "api_token", Val: Str("sk_live_" + g.randomString(tokenChars, 24))},
		Field{Key: "password", Val: Str("hunter2-" + strconv.FormatInt(g.between(100, 999), 10))},
	)
	if g.rng.Float64() < g.cfg.FatalRate {
		t.fatalStep = g.rng.IntN(len(c.Steps))
	}
	return t
}

const (
	tokenChars = "0123456789abcdefABCDEF"
	base36     = "0123456789abcdefghijklmnopqrstuvwxyz"
)

func (g *Generator) randomString(alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[g.rng.IntN(len(alphabet))]
	}
	return string(b)
}

// correlationID has Tasker's form tsk_<base36 milliseconds>_<6 characters>.
func (g *Generator) correlationID(ms int64) string {
	b := make([]byte, 0, 24)
	b = append(b, "tsk_"...)
	b = strconv.AppendInt(b, ms, 36)
	b = append(b, '_')
	for range 6 {
		b = append(b, base36[g.rng.IntN(36)])
	}
	return string(b)
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func putUint64(b []byte, v uint64) {
	for i := 7; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
}
