package taskerid_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelcol-tasker/otelcol-tasker/pkg/taskerid"
)

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestStepParentIsTheAttemptSpanAsRemoteSampledParent(t *testing.T) {
	sc := taskerid.StepParent("prod", "42", "1006", 2)
	assert.True(t, sc.IsValid())
	assert.True(t, sc.IsRemote())
	assert.True(t, sc.IsSampled())
	assert.Equal(t, sha256Hex("tasker/trace/prod/42")[:32], sc.TraceID().String())
	assert.Equal(t, sha256Hex("step/42/1006/2")[:16], sc.SpanID().String())
	assert.Equal(t, taskerid.StepSpanID("42", "1006", 2), sc.SpanID())

	task := taskerid.TaskParent("prod", "42")
	assert.Equal(t, sc.TraceID(), task.TraceID())
	assert.Equal(t, sha256Hex("task/42//0")[:16], task.SpanID().String())
	assert.True(t, task.IsRemote() && task.IsSampled())

	assert.False(t, taskerid.StepParent("prod", "", "1006", 2).IsValid(), "no task, no trace")
}

func TestContextWithStepParent(t *testing.T) {
	ctx := taskerid.ContextWithStepParent(context.Background(), "", "42", "1006", 1)
	got := trace.SpanContextFromContext(ctx)
	assert.Equal(t, taskerid.StepParent("", "42", "1006", 1), got)
	assert.True(t, got.IsRemote())
}

// Roles, attempts and entities each change the id.
func TestSpanIDsDiffer(t *testing.T) {
	ids := map[trace.SpanID]string{}
	for name, id := range map[string]trace.SpanID{
		"step 1":    taskerid.StepSpanID("42", "1006", 1),
		"step 2":    taskerid.StepSpanID("42", "1006", 2),
		"handler 1": taskerid.HandlerSpanID("42", "1006", 1),
		"other":     taskerid.StepSpanID("42", "1007", 1),
		"task":      taskerid.TaskSpanID("42"),
		"task 43":   taskerid.TaskSpanID("43"),
		"db":        taskerid.DBSpanID("42", "1006", "t", "SELECT 1"),
	} {
		assert.NotContains(t, ids, id, name)
		ids[id] = name
	}
	assert.Equal(t, taskerid.SpanID(taskerid.RoleBatch, "42", "x", 0), taskerid.SpanIDBytes(taskerid.RoleBatch, "42", []byte("x"), 0))
	assert.Equal(t, trace.TraceID{}, taskerid.TraceID("prod", ""))
}

func BenchmarkStepSpanID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = taskerid.StepSpanID("123456", "7890123", 2)
	}
}
