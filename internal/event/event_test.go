package event

import (
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

func TestTraceIDMatchesDesignFormula(t *testing.T) {
	sum := sha256.Sum256([]byte("tasker/trace/42"))
	var want pcommon.TraceID
	copy(want[:], sum[:16])
	assert.Equal(t, want, TraceID("", "42"))

	sum = sha256.Sum256([]byte("tasker/trace/prod/42"))
	copy(want[:], sum[:16])
	assert.Equal(t, want, TraceID("prod", "42"))
	assert.NotEqual(t, TraceID("", "42"), TraceID("prod", "42"))
	assert.True(t, TraceID("", "").IsEmpty())
}

func TestSpanIDMatchesDesignFormula(t *testing.T) {
	sum := sha256.Sum256([]byte("step/42/1006/2"))
	var want pcommon.SpanID
	copy(want[:], sum[:8])
	assert.Equal(t, want, StepSpanID("42", "1006", 2))
	assert.NotEqual(t, StepSpanID("42", "1006", 1), StepSpanID("42", "1006", 2))
	assert.NotEqual(t, SpanID(RoleHandler, "42", "1006", 1), StepSpanID("42", "1006", 1))
	assert.Equal(t, StepSpanID("42", "1006", 2), SpanIDBytes(RoleStep, "42", []byte("1006"), 2))
	assert.Equal(t, SpanID(RoleBatch, "42", "", 0), SpanIDBytes(RoleBatch, "42", nil, 0))
}

func newRecord(t *testing.T, payload map[string]any) plog.LogRecord {
	t.Helper()
	lr := plog.NewLogRecord()
	require.NoError(t, lr.Body().SetEmptyMap().FromRaw(payload))
	return lr
}

func TestNormalizeStepFailure(t *testing.T) {
	lr := newRecord(t, map[string]any{
		"task_id": 3, "step_id": 1006, "step_name": "fetch_account", "attempt_number": 2, "retry_limit": 3,
		"started_at": "2025-11-25T19:46:40.240Z", "completed_at": nil,
		"error_message": "card declined", "exception_class": "PaymentGateway::Declined", "error_class": "Other",
		"backtrace": []any{"a.rb:1", "b.rb:2"}, "timestamp": "2025-11-25T19:46:40.268Z",
	})
	recv := pcommon.NewTimestampFromTime(time.Unix(1_800_000_000, 0))
	Normalize(lr, "step.failed", "", recv)

	assert.Equal(t, "step.failed", lr.EventName())
	assert.Equal(t, TraceID("", "3"), lr.TraceID())
	assert.Equal(t, StepSpanID("3", "1006", 2), lr.SpanID())
	assert.Equal(t, plog.SeverityNumberError, lr.SeverityNumber())
	assert.Equal(t, recv, lr.ObservedTimestamp())
	want, _ := time.Parse(time.RFC3339Nano, "2025-11-25T19:46:40.268Z")
	assert.Equal(t, pcommon.NewTimestampFromTime(want), lr.Timestamp())
	assert.Equal(t, map[string]any{
		AttrTaskID: "3", AttrStepID: "1006", AttrStepName: "fetch_account", AttrStepAttempt: int64(2),
		AttrStepRetryLimit: int64(3), AttrErrorType: "PaymentGateway::Declined", AttrErrorMessage: "card declined",
		AttrExceptionStacktrace: "a.rb:1\nb.rb:2",
	}, lr.Attributes().AsRaw())
	// the body is never changed
	assert.Equal(t, 12, lr.Body().Map().Len())
}

func TestNormalizeIDTypesAgree(t *testing.T) {
	a := newRecord(t, map[string]any{"task_id": 42, "step_id": 7})
	b := newRecord(t, map[string]any{"task_id": "42", "step_id": "7"})
	c := newRecord(t, map[string]any{"task_id": 42.0, "step_id": 7.0})
	for _, lr := range []plog.LogRecord{a, b, c} {
		Normalize(lr, "step.completed", "", 1)
	}
	assert.Equal(t, a.TraceID(), b.TraceID())
	assert.Equal(t, a.TraceID(), c.TraceID())
	assert.Equal(t, a.SpanID(), b.SpanID())
	assert.Equal(t, a.SpanID(), c.SpanID())
	// a missing attempt number is the first attempt
	assert.Equal(t, StepSpanID("42", "7", 1), a.SpanID())
}

func TestNormalizeEventsWithoutTask(t *testing.T) {
	lr := newRecord(t, map[string]any{"registry_name": "handler_factory", "entity_id": "default/x"})
	Normalize(lr, "handler.registered", "", 5)
	assert.True(t, lr.TraceID().IsEmpty())
	assert.True(t, lr.SpanID().IsEmpty())
	assert.Equal(t, pcommon.Timestamp(5), lr.Timestamp(), "receive time stands in for a missing event time")
	assert.Equal(t, 0, lr.Attributes().Len())
}

func TestNormalizeDatabaseAndTask(t *testing.T) {
	db := newRecord(t, map[string]any{"task_id": 3, "step_id": 1006, "sql": "SELECT * FROM \"orders\" WHERE id = $1",
		"duration": 0.009, "started_at": "2025-11-25T19:46:40.247Z"})
	Normalize(db, "database.query_executed", "", 1)
	assert.Equal(t, DBSpanID("3", "1006", "2025-11-25T19:46:40.247Z", "", "SELECT * FROM \"orders\" WHERE id = $1"), db.SpanID())
	op, _ := db.Attributes().Get(AttrDBOperation)
	tbl, _ := db.Attributes().Get(AttrDBCollection)
	assert.Equal(t, "SELECT", op.Str())
	assert.Equal(t, "orders", tbl.Str())

	task := newRecord(t, map[string]any{"task_id": 3, "task_name": "payment_processing", "correlation_id": "tsk_x_y"})
	Normalize(task, "task.completed", "ns", 1)
	assert.Equal(t, TraceID("ns", "3"), task.TraceID())
	assert.Equal(t, TaskSpanID("3"), task.SpanID())
	assert.Equal(t, plog.SeverityNumberInfo, task.SeverityNumber())
}

// attrList is a record's attributes in order.
func attrList(lr plog.LogRecord) []any {
	var out []any
	for k, v := range lr.Attributes().All() {
		out = append(out, k, v.AsRaw())
	}
	return out
}

// A Normalizer reused across a batch gives every record exactly what
// Normalize gives it alone, whatever the order of tasks, steps and
// namespaces, and whether its caches hit, miss or collide.
func TestNormalizerMatchesNormalize(t *testing.T) {
	payloads := []map[string]any{
		{"task_id": 1, "task_name": "a"},
		{"task_id": 9, "step_id": 1000, "attempt_number": 2}, // slot of task 1
		{"task_id": 1, "step_id": 1016},                      // slot of step 1000
		{"task_id": "1"},
		{"task_id": " 9 ", "step_id": 1000, "attempt_number": 2},
		{"task_id": 9.0, "sql": "SELECT 1 FROM t", "started_at": "2025-11-25T19:46:40.247Z"},
		{"task_id": int64(1) << 40, "job_id": 1000, "queue_name": "q"},
		{"task_id": -3, "step_id": "s-1"},
		{"task_id": 1.5},
		{"task_id": "uuid-a", "step_id": 1000},
		{"task_id": "uuid-i"}, // slot of "uuid-a" (same last byte modulo 8)
		{"registry_name": "handler_factory"},
		{"task_id": 1, "correlation_id": "tsk_own"},
	}
	n := Normalizer{ReceivedAt: 7, CorrelationID: "tsk_hdr"}
	for round, ns := range []string{"", "prod", "", "staging", "prod"} {
		n.Namespace = ns
		for i, p := range payloads {
			got, want := newRecord(t, p), newRecord(t, p)
			n.Normalize(got, "step.completed")
			Normalize(want, "step.completed", ns, 7)
			if _, ok := want.Attributes().Get(AttrCorrelationID); !ok {
				want.Attributes().PutStr(AttrCorrelationID, "tsk_hdr")
			}
			what := fmt.Sprintf("round %d, payload %d", round, i)
			require.Equal(t, want.TraceID(), got.TraceID(), what)
			require.Equal(t, want.SpanID(), got.SpanID(), what)
			require.Equal(t, attrList(want), attrList(got), what)
			if id, ok := got.Attributes().Get(AttrTaskID); ok {
				require.Equal(t, TraceID(ns, id.Str()), got.TraceID(), what)
			}
		}
	}
}

func TestName(t *testing.T) {
	lr := plog.NewLogRecord()
	assert.Equal(t, "", Name(lr))
	lr.Attributes().PutStr(AttrEventName, "step.completed")
	assert.Equal(t, "step.completed", Name(lr))
	lr.SetEventName("task.failed")
	assert.Equal(t, "task.failed", Name(lr))
}

func TestSeverity(t *testing.T) {
	for name, want := range map[string]plog.SeverityNumber{
		"step.failed": plog.SeverityNumberError, "task.failed": plog.SeverityNumberError,
		"handler.validation_failed": plog.SeverityNumberError, "observability.step.max_retries_reached": plog.SeverityNumberError,
		"observability.step.backoff": plog.SeverityNumberWarn, "step.retry_requested": plog.SeverityNumberWarn,
		"workflow.task_reenqueue_delayed": plog.SeverityNumberWarn, "task.cancelled": plog.SeverityNumberWarn,
		"step.completed": plog.SeverityNumberInfo, "custom.thing": plog.SeverityNumberInfo,
	} {
		got, _ := Severity(name)
		assert.Equal(t, want, got, name)
	}
}

func TestSummarizeSQL(t *testing.T) {
	cases := []struct{ sql, op, table string }{
		{"SELECT * FROM inventory_items WHERE id = $1", "SELECT", "inventory_items"},
		{"select id from public.\"Orders\" o join x on 1=1", "SELECT", "public.Orders"},
		{"INSERT INTO orders (state, payload) VALUES ($1, $2)", "INSERT", "orders"},
		{"  UPDATE users SET state = $1 WHERE id = $2", "UPDATE", "users"},
		{"DELETE FROM sessions WHERE expired", "DELETE", "sessions"},
		{"SELECT 1", "SELECT", ""},
		{"BEGIN", "BEGIN", ""},
		{"", "", ""},
	}
	for _, c := range cases {
		op, table := SummarizeSQL(c.sql)
		assert.Equal(t, c.op, op, c.sql)
		assert.Equal(t, c.table, table, c.sql)
	}
}

func TestRedactor(t *testing.T) {
	m := pcommon.NewMap()
	require.NoError(t, m.FromRaw(map[string]any{
		"task_id": 1,
		"task_context": map[string]any{
			"customer_id": 5, "api_token": "sk_live_x", "Password": "hunter2",
			"nested": []any{map[string]any{"client_secret": "s", "ok": "v"}},
		},
		"session_cookie":  map[string]any{"deep": "x"},
		"idempotency_key": "k",
	}))
	r := NewRedactor(DefaultRedactionConfig())
	assert.Equal(t, 5, r.RedactMap(m))
	assert.Equal(t, map[string]any{
		"task_id": int64(1),
		"task_context": map[string]any{
			"customer_id": int64(5), "api_token": Filtered, "Password": Filtered,
			"nested": []any{map[string]any{"client_secret": Filtered, "ok": "v"}},
		},
		"session_cookie":  Filtered,
		"idempotency_key": Filtered,
	}, m.AsRaw())
	assert.Equal(t, 0, r.RedactMap(m), "redaction is idempotent")

	allow := NewRedactor(RedactionConfig{Enabled: true, ExtraKeys: []string{"customer"}, AllowKeys: []string{"IDEMPOTENCY_KEY"}})
	assert.True(t, allow.Sensitive("customer_id"))
	assert.False(t, allow.Sensitive("idempotency_key"))
	assert.True(t, allow.Sensitive("api_key"))

	only := NewRedactor(RedactionConfig{Enabled: true, Keys: []string{"pin"}})
	assert.True(t, only.Sensitive("PIN_code"))
	assert.False(t, only.Sensitive("password"))

	assert.Nil(t, NewRedactor(RedactionConfig{}))
	assert.Error(t, RedactionConfig{Enabled: true, ExtraKeys: []string{" "}}.Validate())
}

func BenchmarkNormalize(b *testing.B) {
	payload := map[string]any{
		"task_id": 3, "step_id": 1006, "step_name": "fetch_account", "attempt_number": 2, "retry_limit": 3,
		"event_type": "completed", "started_at": "2025-11-25T19:46:40.396Z", "completed_at": "2025-11-25T19:46:40.517Z",
		"execution_duration": 0.12, "step_results": map[string]any{"ok": true}, "timestamp": "2025-11-25T19:46:40.517Z",
	}
	lr := plog.NewLogRecord()
	_ = lr.Body().SetEmptyMap().FromRaw(payload)
	b.ReportAllocs()
	for b.Loop() {
		lr.Attributes().Clear()
		lr.SetTimestamp(0)
		Normalize(lr, "step.completed", "", 1)
	}
}

// 42, 42.0 and "42" name the same task; other numbers keep their digits.
func TestIDString(t *testing.T) {
	for _, tc := range []struct {
		v    pcommon.Value
		want string
	}{
		{pcommon.NewValueStr(" 42 "), "42"},
		{pcommon.NewValueInt(42), "42"},
		{pcommon.NewValueDouble(42), "42"},
		{pcommon.NewValueDouble(-7), "-7"},
		{pcommon.NewValueDouble(1.5), "1.5"},
		{pcommon.NewValueDouble(1e20), "100000000000000000000"},
		{pcommon.NewValueBool(true), ""},
		{pcommon.NewValueEmpty(), ""},
	} {
		assert.Equal(t, tc.want, IDString(tc.v), "%v", tc.v.AsRaw())
	}
}
