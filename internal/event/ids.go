package event

import (
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-tasker/otelcol-tasker/pkg/taskerid"
)

// The ids are derived by the public package pkg/taskerid, the one
// implementation (documented in docs/IDS.md) that applications use too; the
// functions here only give its ids the pdata types.

// Role names the kind of entity a span stands for; it is part of the span id.
type Role = taskerid.Role

const (
	RoleTask          = taskerid.RoleTask
	RoleBatch         = taskerid.RoleBatch
	RoleStep          = taskerid.RoleStep
	RoleHandler       = taskerid.RoleHandler
	RoleDB            = taskerid.RoleDB
	RoleOrchestration = taskerid.RoleOrchestration
	RoleEnqueue       = taskerid.RoleEnqueue
	RoleDependency    = taskerid.RoleDependency
)

// TraceID is taskerid.TraceID: the trace id of a task in a namespace, the
// zero id for an empty task id.
func TraceID(namespace, taskID string) pcommon.TraceID {
	return pcommon.TraceID(taskerid.TraceID(namespace, taskID))
}

// SpanID is taskerid.SpanID: the id of the span of one entity of a task.
func SpanID(role Role, taskID, entityID string, attempt int64) pcommon.SpanID {
	return pcommon.SpanID(taskerid.SpanID(role, taskID, entityID, attempt))
}

// SpanIDBytes is SpanID for an entity id built in a byte buffer, which the
// caller then need not turn into a string.
func SpanIDBytes(role Role, taskID string, entityID []byte, attempt int64) pcommon.SpanID {
	return pcommon.SpanID(taskerid.SpanIDBytes(role, taskID, entityID, attempt))
}

// TaskSpanID is the id of a task's root span.
func TaskSpanID(taskID string) pcommon.SpanID { return pcommon.SpanID(taskerid.TaskSpanID(taskID)) }

// StepSpanID is the id of one attempt of a step.
func StepSpanID(taskID, stepID string, attempt int64) pcommon.SpanID {
	return pcommon.SpanID(taskerid.StepSpanID(taskID, stepID, attempt))
}

// DBSpanID is the id of one database query span: the query is identified by
// its step, its start (or, lacking one, its timestamp) as sent, and its text.
func DBSpanID(taskID, stepID, startedAt, timestamp, sql string) pcommon.SpanID {
	if startedAt == "" {
		startedAt = timestamp
	}
	return pcommon.SpanID(taskerid.DBSpanID(taskID, stepID, startedAt, sql))
}
