package eventrouter

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/assembly"
)

// A terminal event without started_at but with a duration gives a span
// that ends at its completion and starts that long before, marked as
// such; a start event, when there is one, wins over the duration.
func TestStartFromDuration(t *testing.T) {
	end := time.Date(2026, 11, 26, 10, 0, 5, 0, time.UTC)
	ts := end.Format(time.RFC3339Nano)
	ev := func(name string, payload map[string]any) fixtureEvent {
		return fixtureEvent{Name: name, Timestamp: ts, Payload: payload}
	}
	cases := []struct {
		name      string
		events    []fixtureEvent
		span      string
		wantStart time.Time
		derived   bool
	}{
		{"task, total_execution_duration", []fixtureEvent{
			ev("task.completed", map[string]any{"task_id": int64(1), "task_name": "t", "total_execution_duration": 4.9}),
		}, "task t", end.Add(-4900 * time.Millisecond), true},
		{"step, execution_duration", []fixtureEvent{
			ev("step.completed", map[string]any{"task_id": int64(2), "step_id": int64(7), "step_name": "s", "execution_duration": 1.25}),
		}, "step s", end.Add(-1250 * time.Millisecond), true},
		{"step, duration_ms", []fixtureEvent{
			ev("step.failed", map[string]any{"task_id": int64(3), "step_id": int64(7), "step_name": "s", "duration_ms": int64(300)}),
		}, "step s", end.Add(-300 * time.Millisecond), true},
		{"task, duration", []fixtureEvent{
			ev("task.failed", map[string]any{"task_id": int64(4), "task_name": "t", "duration": 2}),
		}, "task t", end.Add(-2 * time.Second), true},
		{"a start event wins", []fixtureEvent{
			{Name: "task.start_requested", Timestamp: end.Add(-time.Second).Format(time.RFC3339Nano), Payload: map[string]any{"task_id": int64(5), "task_name": "t"}},
			ev("task.completed", map[string]any{"task_id": int64(5), "task_name": "t", "total_execution_duration": 4.9}),
		}, "task t", end.Add(-time.Second), false},
		{"started_at wins", []fixtureEvent{
			ev("task.completed", map[string]any{"task_id": int64(6), "task_name": "t", "total_execution_duration": 4.9,
				"started_at": end.Add(-3 * time.Second).Format(time.RFC3339Nano)}),
		}, "task t", end.Add(-3 * time.Second), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sink := new(consumertest.TracesSink)
			c := newTracesOnly(t, holdAll(), sink)
			require.NoError(t, c.ConsumeLogs(context.Background(), buildLogs(t, tc.events)))
			require.NoError(t, c.emit(context.Background(), c.asm.Flush, time.Now()))
			require.NoError(t, c.Shutdown(context.Background()))
			var found bool
			for _, s := range allSpans(sink.AllTraces()) {
				if s.Name() != tc.span {
					continue
				}
				found = true
				assert.Equal(t, pcommon.NewTimestampFromTime(end), s.EndTimestamp())
				assert.Equal(t, pcommon.NewTimestampFromTime(tc.wantStart), s.StartTimestamp())
				v, ok := s.Attributes().Get(assembly.AttrStartFromDuration)
				assert.Equal(t, tc.derived, ok && v.Bool(), "marked as built from the duration")
				_, unfinished := s.Attributes().Get(assembly.AttrUnfinished)
				assert.False(t, unfinished)
			}
			require.True(t, found, "span %q emitted", tc.span)
		})
	}
}
