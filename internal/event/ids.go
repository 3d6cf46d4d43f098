package event

import (
	"crypto/sha256"
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Role names the kind of entity a span stands for; it is part of the span id,
// so two roles never collide even for the same task and entity.
type Role string

const (
	RoleTask          Role = "task"
	RoleBatch         Role = "batch"
	RoleStep          Role = "step"
	RoleHandler       Role = "handler"
	RoleDB            Role = "db"
	RoleOrchestration Role = "orchestration"
	RoleEnqueue       Role = "enqueue"
	RoleDependency    Role = "dependency"
)

// TraceID derives the trace id of a task: the first 16 bytes of
// SHA-256("tasker/trace/" + namespace + "/" + taskID), with the namespace and
// its slash left out when the namespace is empty. Every collector instance
// computes the same id for the same task, whatever order its events arrive in.
// An empty task id has no trace: the zero id is returned.
func TraceID(namespace, taskID string) pcommon.TraceID {
	if taskID == "" {
		return pcommon.NewTraceIDEmpty()
	}
	var buf [128]byte
	b := append(buf[:0], "tasker/trace/"...)
	if namespace != "" {
		b = append(b, namespace...)
		b = append(b, '/')
	}
	b = append(b, taskID...)
	sum := sha256.Sum256(b)
	var id pcommon.TraceID
	copy(id[:], sum[:16])
	return id
}

// SpanID derives the id of the span of one entity: the first 8 bytes of
// SHA-256(role + "/" + taskID + "/" + entityID + "/" + attempt).
func SpanID(role Role, taskID, entityID string, attempt int64) pcommon.SpanID {
	return spanID(role, taskID, entityID, attempt)
}

// SpanIDBytes is SpanID for an entity id built in a byte buffer, which the
// caller then need not turn into a string.
func SpanIDBytes(role Role, taskID string, entityID []byte, attempt int64) pcommon.SpanID {
	return spanID(role, taskID, entityID, attempt)
}

func spanID[E string | []byte](role Role, taskID string, entityID E, attempt int64) pcommon.SpanID {
	var buf [160]byte
	b := append(buf[:0], role...)
	b = append(b, '/')
	b = append(b, taskID...)
	b = append(b, '/')
	b = append(b, entityID...)
	b = append(b, '/')
	b = strconv.AppendInt(b, attempt, 10)
	sum := sha256.Sum256(b)
	var id pcommon.SpanID
	copy(id[:], sum[:8])
	return id
}

// TaskSpanID is the id of a task's root span.
func TaskSpanID(taskID string) pcommon.SpanID { return SpanID(RoleTask, taskID, "", 0) }

// StepSpanID is the id of one attempt of a step.
func StepSpanID(taskID, stepID string, attempt int64) pcommon.SpanID {
	return SpanID(RoleStep, taskID, stepID, attempt)
}
