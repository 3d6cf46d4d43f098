// How attempts, steps and tasks end: the planned outcome of an attempt and
// the events of a step or task that completes or fails.

package sim

import (
	"math"
	"strconv"
)

// planAttempt decides how the attempt that just entered its handler ends,
// when, and which database queries it runs on the way.
func (g *Generator) planAttempt(t *task, step int32, handlerStart int64) {
	st := &t.steps[step]
	fail := int(step) == t.fatalStep || g.rng.Float64() < g.cfg.FailureRate
	median := t.tmpl.Steps[step].MedianMS
	dur := median * math.Exp(0.5*g.rng.NormFloat64())
	if fail {
		dur *= 0.3 + 0.7*g.rng.Float64() // failures tend to come early
	}
	dur = math.Min(math.Max(dur, 5), 20*median)
	end := max(st.startedAt+int64(math.Round(dur)), handlerStart+1)

	// Queries: a geometric count with the configured mean, run one after the
	// other inside the handler; a query that would not end before the step
	// does is not run.
	p := g.cfg.DBQueries / (1 + g.cfg.DBQueries)
	cursor := handlerStart + g.between(1, 8)
	for n := 0; n < 8 && g.rng.Float64() < p; n++ {
		us := int64(math.Min(math.Max(8000*math.Exp(0.9*g.rng.NormFloat64()), 200), 250000))
		qEnd := cursor + (us+500)/1000
		if qEnd >= end {
			break
		}
		g.push(action{at: qEnd, kind: actQuery, t: t, step: step, p1: cursor, p2: us,
			p3: int64(g.rng.IntN(len(t.tmpl.queries)))})
		cursor = qEnd + g.between(1, 12)
	}
	outcome := int64(0)
	if fail {
		outcome = 1
	}
	g.push(action{at: end, kind: actStepEnd, t: t, step: step, p1: outcome})
}

func (g *Generator) stepCompleted(t *task, step int32, at int64) {
	st := &t.steps[step]
	g.beginStep(nStepCompleted, at, t, step)
	g.add("event_type", Str("completed"))
	g.add("started_at", TimeMS(st.startedAt))
	g.add("completed_at", TimeMS(at))
	g.add("execution_duration", Float(float64(at-st.startedAt)/1000))
	g.add("step_results", stepResultsOK)
	g.add("timestamp", TimeMS(at))

	st.state = stepDone
	t.completed++
	t.active--
	if t.failed == 0 { // a task with a failed step discovers nothing new
		var viable []int32
		for _, child := range t.tmpl.children[step] {
			if t.steps[child].state != stepPending {
				continue
			}
			ready := true
			for _, d := range t.tmpl.deps[child] {
				if t.steps[d].state != stepDone {
					ready = false
					break
				}
			}
			if ready {
				viable = append(viable, int32(child))
				t.steps[child].state = stepClaimed
				t.active++
			}
		}
		if len(viable) > 0 {
			g.push(action{at: at + g.between(1, 10), kind: actDiscover, t: t, steps: viable})
		}
	}
	g.maybeFinalize(t, at)
}

func (g *Generator) stepFailed(t *task, step int32, at int64) {
	st := &t.steps[step]
	e := stepErrors[g.rng.IntN(len(stepErrors))]
	line := g.between(40, 95)
	name := t.tmpl.Steps[step].Name
	g.beginStep(nStepFailed, at, t, step)
	g.add("event_type", Str("failed"))
	g.add("started_at", TimeMS(st.startedAt))
	g.add("completed_at", Null())
	g.add("error_message", Str(e.message))
	g.add("exception_class", Str(e.class))
	g.add("error_class", Str(e.class))
	trace := g.arenaSlice(2)
	trace[0] = Field{Val: Str("app/handlers/" + name + "_handler.rb:" + strconv.FormatInt(line, 10) + ":in `process'")}
	trace[1] = Field{Val: Str("lib/tasker/step_handler/base.rb:120:in `handle'")}
	g.add("backtrace", List(trace...))
	g.add("timestamp", TimeMS(at))

	if st.attempt < g.cfg.RetryLimit {
		g.push(action{at: at, kind: actBackoff, t: t, step: step})
		return
	}
	st.state = stepFailed
	t.failed++
	t.active--
	t.errorSteps = append(t.errorSteps, Field{Val: Str(name)})
	g.maybeFinalize(t, at)
}

func (g *Generator) maybeFinalize(t *task, at int64) {
	if t.active == 0 {
		g.push(action{at: at + g.between(1, 10), kind: actFinalizeStart, t: t})
	}
}

func (g *Generator) taskEnd(t *task, at int64) {
	total := int64(len(t.steps))
	duration := at - t.start
	if t.failed == 0 {
		g.begin(nTaskCompleted, at, t.id)
	} else {
		g.begin(nTaskFailed, at, t.id)
	}
	g.add("task_id", Int(t.id))
	g.add("task_name", t.tmpl.taskName)
	g.add("started_at", TimeMS(t.start))
	g.add("task_type", Str(taskType))
	g.add("total_steps", Int(total))
	g.add("completed_steps", Int(int64(t.completed)))
	g.add("failed_steps", Int(int64(t.failed)))
	g.add("pending_steps", Int(total-int64(t.completed+t.failed)))
	if t.failed == 0 {
		g.add("event_type", Str("completed"))
		g.add("completed_at", TimeMS(at))
		g.add("total_execution_duration", Float(float64(duration)/1000))
		g.add("completion_percentage", Float(100))
		g.add("health_status", Str("healthy"))
	} else {
		g.add("event_type", Str("failed"))
		g.add("completed_at", Null())
		g.add("current_execution_duration", Float(float64(duration)/1000))
		g.add("error_message", Str("steps_in_error_state"))
		g.add("error_steps", List(t.errorSteps...))
		g.add("failed_steps_count", Int(int64(t.failed)))
		g.add("health_status", Str("blocked"))
	}
	g.add("timestamp", TimeMS(at))

	g.durations = append(g.durations, duration)
	g.inFlight--
	g.tasksFinished.Add(1)
	if g.blocked {
		g.blocked = false
		g.scheduleArrival(at)
	}
}

var (
	emptyMap      = Map()
	stepResultsOK = Map(Field{Key: "ok", Val: Bool(true)})
)

type stepError struct{ class, message string }

var stepErrors = []stepError{
	{"Net::ReadTimeout", "execution expired"},
	{"Faraday::ServerError", "the server responded with status 503"},
	{"ActiveRecord::Deadlocked", "PG::TRDeadlockDetected: deadlock detected"},
	{"PaymentGateway::Declined", "card declined (code 51)"},
	{"Redis::TimeoutError", "Connection timed out"},
	{"Faraday::ConnectionFailed", "Failed to open TCP connection (Connection refused)"},
}
