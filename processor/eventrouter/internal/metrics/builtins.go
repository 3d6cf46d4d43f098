package metrics

// Indexes of the built-in metrics in Aggregator.tables.
const (
	mTasks = iota
	mSteps
	mWorkflowDuration
	mStepDuration
	mStepRetries
	mStepBackoff
	mTasksActive
	mStepsActive
	mTasksEnqueued
	mDBQueryDuration
	mSlowOperations
	mEvents
	mTaskQueueDuration
	mStepWaitDuration
	numBuiltins
)

// Label names of the built-in metrics.
const (
	lTaskName    = "task_name"
	lStepName    = "step_name"
	lStatus      = "status"
	lBackoffType = "backoff_type"
	lQueue       = "queue"
	lTable       = "table"
	lOperation   = "operation"
	lKind        = "kind"
	lEvent       = "event"
)

// unknown is the label value used when an event does not carry (and the
// aggregator has not learnt) the value.
const unknown = "unknown"

// builtins are named the OpenTelemetry way; the Prometheus exporter appends
// the unit and, for monotonic sums, _total (see README.md for the names).
// Histogram bounds are filled in from the configuration.
var builtins = [numBuiltins]desc{
	mTasks: {name: "tasker.tasks", unit: "{task}", kind: kindCounter, ints: true,
		description: "Tasks that reached an outcome, by task name and status.",
		labels:      []string{lTaskName, lStatus}},
	mSteps: {name: "tasker.steps", unit: "{step}", kind: kindCounter, ints: true,
		description: "Step attempts that reached an outcome, by task, step and status.",
		labels:      []string{lTaskName, lStepName, lStatus}},
	mWorkflowDuration: {name: "tasker.workflow.duration", unit: "s", kind: kindHistogram,
		description: "Duration of tasks from start to outcome.",
		labels:      []string{lTaskName, lStatus}},
	mStepDuration: {name: "tasker.step.duration", unit: "s", kind: kindHistogram,
		description: "Duration of step attempts.",
		labels:      []string{lTaskName, lStepName, lStatus}},
	mStepRetries: {name: "tasker.step.retries", unit: "{retry}", kind: kindCounter, ints: true,
		description: "Step retries requested.",
		labels:      []string{lTaskName, lStepName}},
	mStepBackoff: {name: "tasker.step.backoff", unit: "s", kind: kindHistogram,
		description: "Backoff delays before step retries.",
		labels:      []string{lBackoffType}},
	mTasksActive: {name: "tasker.tasks.active", unit: "{task}", kind: kindUpDown, ints: true,
		description: "Tasks started and not yet finished.",
		labels:      []string{lTaskName}},
	mStepsActive: {name: "tasker.steps.active", unit: "{step}", kind: kindUpDown, ints: true,
		description: "Step attempts requested and not yet finished.",
		labels:      []string{lTaskName, lStepName}},
	mTasksEnqueued: {name: "tasker.tasks.enqueued", unit: "{task}", kind: kindCounter, ints: true,
		description: "Tasks enqueued for processing, by queue.",
		labels:      []string{lQueue}},
	mDBQueryDuration: {name: "tasker.db.query.duration", unit: "s", kind: kindHistogram,
		description: "Duration of database queries, by table and operation.",
		labels:      []string{lTable, lOperation}},
	mSlowOperations: {name: "tasker.slow_operations", unit: "{operation}", kind: kindCounter, ints: true,
		description: "Step attempts and queries slower than their threshold, and reported slow operations.",
		labels:      []string{lKind}},
	mEvents: {name: "tasker.events", unit: "{event}", kind: kindCounter, ints: true,
		description: "Events observed, by event name.",
		labels:      []string{lEvent}},
	mTaskQueueDuration: {name: "tasker.task.queue.duration", unit: "s", kind: kindHistogram,
		description: "Time tasks waited in their queue, from enqueue to start.",
		labels:      []string{lTaskName}},
	mStepWaitDuration: {name: "tasker.step.wait.duration", unit: "s", kind: kindHistogram,
		description: "Time steps waited to run, from being made viable to their attempt's start.",
		labels:      []string{lTaskName, lStepName}},
}
