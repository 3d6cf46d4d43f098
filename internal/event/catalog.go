package event // import "github.com/otelcol-tasker/otelcol-tasker/internal/event"

import (
	"fmt"

	"go.opentelemetry.io/collector/pdata/plog"
)

// The event catalog: what each Tasker event name means, in one table. Span
// assembly, the router's tasker preset, the metrics aggregator and the
// severities of normalized records all read it; adding an event is one row.
// The names are the lifecycle events of Tasker (gem tasker-engine 0.1.0).

// Span is what an event does in span assembly.
type Span uint8

const (
	SpanEvent        Span = iota // a span event on its step attempt, else its task
	SpanTaskInit                 // task.initialize_requested: the task's earliest start
	SpanTaskStart                // the task's start
	SpanTaskEnd                  // the task's terminal event
	SpanStepStart                // a step attempt's start
	SpanBeforeHandle             // the attempt's handler starts
	SpanStepEnd                  // the attempt's terminal event
	SpanBatch                    // a step batch: the steps found viable together (step_ids)
	SpanPassStart                // an orchestration pass starts (Pass)
	SpanPassEnd                  // an orchestration pass ends (Pass)
	SpanEnqueue                  // the task is enqueued: a producer span
	SpanQuery                    // a database query: a client span
	SpanDependency               // dependency resolution, a span when it has a duration
)

// Pass is an orchestration pass, a span opened and closed by two events.
type Pass uint8

const (
	PassFinalize Pass = iota
	PassExecute
	PassReenqueue
)

// PassNames are the span names of the passes, by Pass.
var PassNames = [...]string{PassFinalize: "finalize task", PassExecute: "execute steps", PassReenqueue: "reenqueue task"}

// Metric is the bookkeeping of the built-in metrics an event drives (on
// top of tasker.events, which counts every event).
type Metric uint8

const (
	MetricNone          Metric = iota
	MetricTaskStart            // the task becomes active (tasker.tasks.active) and ends its queue time
	MetricTaskOutcome          // tasker.tasks and tasker.workflow.duration, by Outcome
	MetricTaskEnded            // the task stops being active
	MetricTaskRetry            // the task may start again
	MetricStepStart            // the attempt becomes active (tasker.steps.active) and ends its step's wait
	MetricStepOutcome          // tasker.steps and tasker.step.duration, by Outcome
	MetricStepRetry            // tasker.step.retries
	MetricBackoff              // tasker.step.backoff
	MetricEnqueue              // tasker.tasks.enqueued; the task's queue time starts
	MetricQuery                // tasker.db.query.duration (and slow queries)
	MetricSlowOperation        // tasker.slow_operations
	MetricStepsViable          // the listed steps start waiting (tasker.step.wait.duration)
)

// Signals are the outputs of the router's tasker preset.
type Signals uint8

const (
	Traces Signals = 1 << iota
	Metrics
	Logs

	All         = Traces | Metrics | Logs
	MetricsLogs = Metrics | Logs // events that belong to no task
)

// Level is the severity of an event's log record.
type Level uint8

const (
	LevelInfo Level = iota
	LevelWarn
	LevelError
)

// Info is one row of the catalog.
type Info struct {
	Name     string
	Signals  Signals // where the tasker preset routes it
	Severity Level
	Span     Span
	Pass     Pass   // of SpanPassStart and SpanPassEnd
	Outcome  string // of terminal events: the outcome label of spans and metrics
	Failed   bool   // the task, attempt or pass failed
	Metric   Metric
}

// Terminal reports whether the event ends a task or a step attempt.
func (i Info) Terminal() bool { return i.Span == SpanTaskEnd || i.Span == SpanStepEnd }

var catalog = [...]Info{
	// task events
	{Name: "task.initialize_requested", Signals: All, Severity: LevelInfo, Span: SpanTaskInit},
	{Name: "task.start_requested", Signals: All, Severity: LevelInfo, Span: SpanTaskStart, Metric: MetricTaskStart},
	{Name: "task.completed", Signals: All, Severity: LevelInfo, Span: SpanTaskEnd, Outcome: "completed", Metric: MetricTaskOutcome},
	{Name: "task.failed", Signals: All, Severity: LevelError, Span: SpanTaskEnd, Outcome: "failed", Failed: true, Metric: MetricTaskOutcome},
	{Name: "task.retry_requested", Signals: All, Severity: LevelWarn, Span: SpanEvent, Metric: MetricTaskRetry},
	{Name: "task.cancelled", Signals: All, Severity: LevelWarn, Span: SpanTaskEnd, Outcome: "cancelled", Metric: MetricTaskOutcome},
	{Name: "task.resolved_manually", Signals: All, Severity: LevelInfo, Span: SpanTaskEnd, Outcome: "resolved_manually", Metric: MetricTaskOutcome},
	{Name: "task.before_transition", Signals: All, Severity: LevelInfo, Span: SpanEvent},

	// step events
	{Name: "step.initialize_requested", Signals: All, Severity: LevelInfo, Span: SpanEvent},
	{Name: "step.execution_requested", Signals: All, Severity: LevelInfo, Span: SpanStepStart, Metric: MetricStepStart},
	{Name: "step.before_handle", Signals: All, Severity: LevelInfo, Span: SpanBeforeHandle, Metric: MetricStepStart},
	{Name: "step.handle", Signals: All, Severity: LevelInfo, Span: SpanEvent},
	{Name: "step.completed", Signals: All, Severity: LevelInfo, Span: SpanStepEnd, Outcome: "completed", Metric: MetricStepOutcome},
	{Name: "step.failed", Signals: All, Severity: LevelError, Span: SpanStepEnd, Outcome: "failed", Failed: true, Metric: MetricStepOutcome},
	{Name: "step.retry_requested", Signals: All, Severity: LevelWarn, Span: SpanEvent, Metric: MetricStepRetry},
	{Name: "step.cancelled", Signals: All, Severity: LevelWarn, Span: SpanStepEnd, Outcome: "cancelled", Metric: MetricStepOutcome},
	{Name: "step.resolved_manually", Signals: All, Severity: LevelInfo, Span: SpanStepEnd, Outcome: "resolved_manually", Metric: MetricStepOutcome},
	{Name: "step.before_transition", Signals: All, Severity: LevelInfo, Span: SpanEvent},

	// workflow events
	{Name: "workflow.task_started", Signals: All, Severity: LevelInfo, Span: SpanEvent, Metric: MetricTaskStart},
	{Name: "workflow.task_completed", Signals: All, Severity: LevelInfo, Span: SpanEvent, Metric: MetricTaskEnded},
	{Name: "workflow.task_failed", Signals: All, Severity: LevelError, Span: SpanEvent, Metric: MetricTaskEnded},
	{Name: "workflow.step_completed", Signals: All, Severity: LevelInfo, Span: SpanEvent},
	{Name: "workflow.step_failed", Signals: All, Severity: LevelError, Span: SpanEvent},
	{Name: "workflow.viable_steps_discovered", Signals: All, Severity: LevelInfo, Span: SpanBatch, Metric: MetricStepsViable},
	{Name: "workflow.no_viable_steps", Signals: All, Severity: LevelInfo, Span: SpanEvent},
	{Name: "workflow.orchestration_requested", Signals: All, Severity: LevelInfo, Span: SpanEvent},
	{Name: "workflow.task_finalization_started", Signals: All, Severity: LevelInfo, Span: SpanPassStart, Pass: PassFinalize},
	{Name: "workflow.task_finalization_completed", Signals: All, Severity: LevelInfo, Span: SpanPassEnd, Pass: PassFinalize},
	{Name: "workflow.task_reenqueue_started", Signals: All, Severity: LevelWarn, Span: SpanPassStart, Pass: PassReenqueue},
	{Name: "workflow.task_reenqueue_requested", Signals: All, Severity: LevelWarn, Span: SpanPassEnd, Pass: PassReenqueue},
	{Name: "workflow.task_reenqueue_failed", Signals: All, Severity: LevelError, Span: SpanPassEnd, Pass: PassReenqueue, Failed: true},
	{Name: "workflow.task_reenqueue_delayed", Signals: All, Severity: LevelWarn, Span: SpanPassEnd, Pass: PassReenqueue},
	{Name: "workflow.task_state_unclear", Signals: All, Severity: LevelWarn, Span: SpanEvent},
	{Name: "workflow.step_execution_failed", Signals: All, Severity: LevelError, Span: SpanEvent},
	{Name: "workflow.viable_steps_batch_ready", Signals: All, Severity: LevelInfo, Span: SpanEvent},
	{Name: "workflow.steps_execution_started", Signals: All, Severity: LevelInfo, Span: SpanPassStart, Pass: PassExecute},
	{Name: "workflow.steps_execution_completed", Signals: All, Severity: LevelInfo, Span: SpanPassEnd, Pass: PassExecute},

	// observability events
	{Name: "observability.task.handle", Signals: All, Severity: LevelInfo, Span: SpanEvent},
	{Name: "observability.task.enqueue", Signals: All, Severity: LevelInfo, Span: SpanEnqueue, Metric: MetricEnqueue},
	{Name: "observability.task.finalize", Signals: All, Severity: LevelInfo, Span: SpanEvent},
	{Name: "observability.step.handle", Signals: All, Severity: LevelInfo, Span: SpanEvent},
	{Name: "observability.step.find_viable", Signals: All, Severity: LevelInfo, Span: SpanEvent},
	{Name: "observability.step.backoff", Signals: All, Severity: LevelWarn, Span: SpanEvent, Metric: MetricBackoff},
	{Name: "observability.step.skip", Signals: All, Severity: LevelWarn, Span: SpanEvent},
	{Name: "observability.step.max_retries_reached", Signals: All, Severity: LevelError, Span: SpanEvent},

	// planned events
	{Name: "database.query_executed", Signals: All, Severity: LevelInfo, Span: SpanQuery, Metric: MetricQuery},
	{Name: "dependency.resolved", Signals: All, Severity: LevelInfo, Span: SpanDependency},
	{Name: "batch.step_execution", Signals: All, Severity: LevelInfo, Span: SpanEvent},
	{Name: "memory.spike_detected", Signals: All, Severity: LevelWarn, Span: SpanEvent},
	{Name: "performance.slow_operation", Signals: All, Severity: LevelWarn, Span: SpanEvent, Metric: MetricSlowOperation},

	// registry events
	{Name: "handler.registered", Signals: MetricsLogs, Severity: LevelInfo, Span: SpanEvent},
	{Name: "handler.unregistered", Signals: MetricsLogs, Severity: LevelInfo, Span: SpanEvent},
	{Name: "handler.validation_failed", Signals: MetricsLogs, Severity: LevelError, Span: SpanEvent},
	{Name: "plugin.registered", Signals: MetricsLogs, Severity: LevelInfo, Span: SpanEvent},
	{Name: "plugin.unregistered", Signals: MetricsLogs, Severity: LevelInfo, Span: SpanEvent},
	{Name: "plugin.validation_failed", Signals: MetricsLogs, Severity: LevelError, Span: SpanEvent},
	{Name: "subscriber.registered", Signals: MetricsLogs, Severity: LevelInfo, Span: SpanEvent},
	{Name: "subscriber.unregistered", Signals: MetricsLogs, Severity: LevelInfo, Span: SpanEvent},
	{Name: "subscriber.validation_failed", Signals: MetricsLogs, Severity: LevelError, Span: SpanEvent},
	{Name: "registry.sync_requested", Signals: MetricsLogs, Severity: LevelInfo, Span: SpanEvent},
	{Name: "registry.health_check", Signals: MetricsLogs, Severity: LevelInfo, Span: SpanEvent},
	{Name: "registry.stats_collected", Signals: MetricsLogs, Severity: LevelInfo, Span: SpanEvent},
	{Name: "registry.cross_discovery", Signals: MetricsLogs, Severity: LevelInfo, Span: SpanEvent},
	{Name: "registry.coordination_complete", Signals: MetricsLogs, Severity: LevelInfo, Span: SpanEvent},

	// telemetry events
	{Name: "tasker.telemetry.cache_synced", Signals: MetricsLogs, Severity: LevelInfo, Span: SpanEvent},
	{Name: "tasker.telemetry.export_requested", Signals: MetricsLogs, Severity: LevelInfo, Span: SpanEvent},
	{Name: "tasker.telemetry.export_completed", Signals: MetricsLogs, Severity: LevelInfo, Span: SpanEvent},
	{Name: "tasker.telemetry.export_failed", Signals: MetricsLogs, Severity: LevelError, Span: SpanEvent},
	{Name: "tasker.telemetry.plugin_registered", Signals: MetricsLogs, Severity: LevelInfo, Span: SpanEvent},
	{Name: "tasker.telemetry.plugin_unregistered", Signals: MetricsLogs, Severity: LevelInfo, Span: SpanEvent},
}

var byName = func() map[string]*Info {
	m := make(map[string]*Info, len(catalog))
	for i := range catalog {
		in := &catalog[i]
		if _, dup := m[in.Name]; dup {
			panic(fmt.Sprintf("event catalog: %q listed twice", in.Name))
		}
		if (in.Span == SpanTaskEnd || in.Span == SpanStepEnd) != (in.Outcome != "") {
			panic(fmt.Sprintf("event catalog: %q: terminal events, and only they, have an outcome", in.Name))
		}
		if (in.Span == SpanTaskEnd || in.Span == SpanStepEnd) != (in.Metric == MetricTaskOutcome || in.Metric == MetricStepOutcome) {
			panic(fmt.Sprintf("event catalog: %q: terminal events, and only they, count an outcome", in.Name))
		}
		m[in.Name] = in
	}
	return m
}()

// Lookup returns the catalog's row of an event name.
func Lookup(name string) (Info, bool) {
	if in := byName[name]; in != nil {
		return *in, true
	}
	return Info{}, false
}

// OutcomeBit is the bit of a terminal event's outcome in a set of the
// outcomes the catalog knows (at most eight, checked at init); 0 for any
// other string.
func OutcomeBit(outcome string) uint8 { return outcomeBits[outcome] }

var outcomeBits = func() map[string]uint8 {
	m := map[string]uint8{}
	for _, in := range catalog {
		if _, ok := m[in.Outcome]; in.Outcome != "" && !ok {
			if len(m) == 8 {
				panic("event catalog: more than eight outcomes")
			}
			m[in.Outcome] = 1 << len(m)
		}
	}
	return m
}()

// Catalog returns every row, in the catalog's order.
func Catalog() []Info { return catalog[:] }

// SeverityNumber and SeverityText are the log record severity of a level.
func (l Level) SeverityNumber() plog.SeverityNumber {
	switch l {
	case LevelError:
		return plog.SeverityNumberError
	case LevelWarn:
		return plog.SeverityNumberWarn
	}
	return plog.SeverityNumberInfo
}

func (l Level) String() string {
	switch l {
	case LevelError:
		return "ERROR"
	case LevelWarn:
		return "WARN"
	}
	return "INFO"
}
