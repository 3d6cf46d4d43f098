package event

// Normalized attribute keys written on every event log record. Where an
// OpenTelemetry semantic convention exists its name is used.
const (
	AttrEventName      = "event.name"
	AttrTaskID         = "tasker.task.id"
	AttrTaskName       = "tasker.task.name"
	AttrStepID         = "tasker.step.id"
	AttrStepName       = "tasker.step.name"
	AttrStepAttempt    = "tasker.step.attempt"
	AttrStepRetryLimit = "tasker.step.retry_limit"
	AttrCorrelationID  = "tasker.correlation_id"
	AttrFromState      = "tasker.state.from"
	AttrToState        = "tasker.state.to"
	AttrQueueName      = "tasker.queue.name"
	AttrJobID          = "tasker.job.id"

	AttrErrorType           = "error.type"
	AttrErrorMessage        = "error.message"
	AttrExceptionType       = "exception.type"
	AttrExceptionMessage    = "exception.message"
	AttrExceptionStacktrace = "exception.stacktrace"

	AttrDBQueryText  = "db.query.text"
	AttrDBOperation  = "db.operation.name"
	AttrDBCollection = "db.collection.name"
)

// Payload field names of Tasker's publishers that normalization reads.
const (
	FieldTaskID                 = "task_id"
	FieldTaskName               = "task_name"
	FieldStepID                 = "step_id"
	FieldStepName               = "step_name"
	FieldAttemptNumber          = "attempt_number"
	FieldRetryLimit             = "retry_limit"
	FieldCorrelationID          = "correlation_id"
	FieldTimestamp              = "timestamp"
	FieldStartedAt              = "started_at"
	FieldCompletedAt            = "completed_at"
	FieldExecutionDuration      = "execution_duration"
	FieldTotalExecutionDuration = "total_execution_duration"
	FieldDuration               = "duration"
	FieldDurationMS             = "duration_ms"
	FieldErrorMessage           = "error_message"
	FieldExceptionClass         = "exception_class"
	FieldErrorClass             = "error_class"
	FieldBacktrace              = "backtrace"
	FieldSQL                    = "sql"
	FieldFromState              = "from_state"
	FieldToState                = "to_state"
	FieldQueueName              = "queue_name"
	FieldJobID                  = "job_id"
	FieldStepIDs                = "step_ids"
	FieldBackoffSeconds         = "backoff_seconds"
	FieldBackoffType            = "backoff_type"
)

// ScopeName is the instrumentation scope of log records this project writes.
const ScopeName = "github.com/otelcol-tasker/otelcol-tasker"
