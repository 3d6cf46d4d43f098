// Package taskerid derives the trace and span ids that otelcol-tasker gives
// the spans of a Tasker task, so that an application can compute them too:
// a step handler instrumented with OpenTelemetry uses StepParent (or
// ContextWithStepParent) as the remote parent of its spans, and they appear
// in the task's trace under the step attempt that ran them.
//
// The ids are hashes of what a span is about, never random: every collector
// instance, and any program that follows docs/IDS.md, computes the same ids
// for the same task. This package is the one implementation the collector
// uses; it depends only on the standard library and the OpenTelemetry trace
// API, so an application does not pull the collector in with it.
package taskerid

import (
	"context"
	"crypto/sha256"
	"strconv"

	"go.opentelemetry.io/otel/trace"
)

// Role names the kind of entity a span stands for; it is part of the span id,
// so two roles never collide even for the same task and entity.
type Role string

// The roles of the spans of a task trace. Task, step, handler and database
// query spans have ids an application can compute (see the functions below);
// the others are named by times only the collector sees.
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

// MaxSQLBytes is how much of a query's text its span id hashes.
const MaxSQLBytes = 128

// TraceID derives the trace id of a task: the first 16 bytes of
// SHA-256("tasker/trace/" + namespace + "/" + taskID), with the namespace and
// its slash left out when the namespace is empty. namespace is the
// collector's trace_namespace; taskID is the task id as text (decimal for a
// number). An empty task id has no trace: the zero (invalid) id is returned.
func TraceID(namespace, taskID string) trace.TraceID {
	if taskID == "" {
		return trace.TraceID{}
	}
	var buf [128]byte
	b := append(buf[:0], "tasker/trace/"...)
	if namespace != "" {
		b = append(b, namespace...)
		b = append(b, '/')
	}
	b = append(b, taskID...)
	sum := sha256.Sum256(b)
	return trace.TraceID(sum[:16])
}

// SpanID derives the id of the span of one entity of a task: the first 8
// bytes of SHA-256(role + "/" + taskID + "/" + entityID + "/" + attempt),
// the attempt in decimal. The namespace is not part of it: the trace id
// already separates installations.
func SpanID(role Role, taskID, entityID string, attempt int64) trace.SpanID {
	return spanID(role, taskID, entityID, attempt)
}

// SpanIDBytes is SpanID for an entity id built in a byte buffer, which the
// caller then need not turn into a string.
func SpanIDBytes(role Role, taskID string, entityID []byte, attempt int64) trace.SpanID {
	return spanID(role, taskID, entityID, attempt)
}

func spanID[E string | []byte](role Role, taskID string, entityID E, attempt int64) trace.SpanID {
	var buf [160]byte
	b := append(buf[:0], role...)
	b = append(b, '/')
	b = append(b, taskID...)
	b = append(b, '/')
	b = append(b, entityID...)
	b = append(b, '/')
	b = strconv.AppendInt(b, attempt, 10)
	sum := sha256.Sum256(b)
	return trace.SpanID(sum[:8])
}

// TaskSpanID is the id of a task's root span.
func TaskSpanID(taskID string) trace.SpanID { return SpanID(RoleTask, taskID, "", 0) }

// StepSpanID is the id of the span of one attempt of a step. attempt is
// Tasker's attempt_number, from 1.
func StepSpanID(taskID, stepID string, attempt int64) trace.SpanID {
	return SpanID(RoleStep, taskID, stepID, attempt)
}

// HandlerSpanID is the id of the span the collector makes for a step
// handler's run (from step.before_handle), a child of the attempt's span.
func HandlerSpanID(taskID, stepID string, attempt int64) trace.SpanID {
	return SpanID(RoleHandler, taskID, stepID, attempt)
}

// DBSpanID is the id of the span of one database query of a step: its
// entity id is stepID + "@" + startedAt + "#" + the first MaxSQLBytes bytes
// of sql, where startedAt is the query event's started_at text exactly as
// sent (its timestamp text when it has none).
func DBSpanID(taskID, stepID, startedAt, sql string) trace.SpanID {
	var buf [256]byte
	b := append(buf[:0], stepID...)
	b = append(b, '@')
	b = append(b, startedAt...)
	b = append(b, '#')
	if len(sql) > MaxSQLBytes {
		sql = sql[:MaxSQLBytes]
	}
	b = append(b, sql...)
	return SpanIDBytes(RoleDB, taskID, b, 0)
}

// StepParent is the span context of one attempt of a step as a remote,
// sampled parent: spans started under it belong to the task's trace, as
// children of the attempt's span. Whether the collector keeps the trace is
// its own decision (its sampling), not this flag's. An empty task id gives
// an invalid context, under which a tracer starts a new trace.
func StepParent(namespace, taskID, stepID string, attempt int64) trace.SpanContext {
	return remote(TraceID(namespace, taskID), StepSpanID(taskID, stepID, attempt))
}

// TaskParent is the span context of a task's root span as a remote, sampled
// parent, for work that belongs to the task but to none of its steps.
func TaskParent(namespace, taskID string) trace.SpanContext {
	return remote(TraceID(namespace, taskID), TaskSpanID(taskID))
}

// ContextWithStepParent returns ctx with StepParent as its remote span
// context: a tracer's Start(ctx, ...) then makes children of the attempt.
func ContextWithStepParent(ctx context.Context, namespace, taskID, stepID string, attempt int64) context.Context {
	return trace.ContextWithRemoteSpanContext(ctx, StepParent(namespace, taskID, stepID, attempt))
}

func remote(tid trace.TraceID, sid trace.SpanID) trace.SpanContext {
	return trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    tid,
		SpanID:     sid,
		TraceFlags: trace.FlagsSampled,
		Remote:     true,
	})
}
