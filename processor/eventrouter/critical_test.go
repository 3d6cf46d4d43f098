package eventrouter

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/assembly"
)

// The critical path of known DAGs: each step is (name, start, end) in
// seconds from the task's start; the task ends at 10 s.
func TestCriticalPath(t *testing.T) {
	base := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	at := func(s float64) string {
		return base.Add(time.Duration(s * float64(time.Second))).Format(time.RFC3339Nano)
	}
	type step struct {
		name       string
		start, end float64
		attempt    int64
	}
	cases := []struct {
		name  string
		steps []step
		want  []string
		share float64
	}{
		{"chain", []step{{"a", 0, 1, 1}, {"b", 1, 3, 1}, {"c", 3, 6, 1}}, []string{"a", "b", "c"}, 0.6},
		{"diamond", []step{{"a", 0, 1, 1}, {"b", 1, 4, 1}, {"c", 1, 2, 1}, {"d", 4, 5, 1}}, []string{"a", "b", "d"}, 0.5},
		{"retries", []step{{"a", 0, 1, 1}, {"b", 1, 2, 1}, {"b", 3, 5, 2}, {"c", 0, 4, 1}}, []string{"a", "b", "b"}, 0.4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			events := []fixtureEvent{{Name: "task.completed", Timestamp: at(10), Payload: map[string]any{
				"task_id": int64(1), "task_name": "dag", "started_at": at(0)}}}
			for i, s := range tc.steps {
				events = append(events, fixtureEvent{Name: "step.completed", Timestamp: at(s.end), Payload: map[string]any{
					"task_id": int64(1), "step_id": int64(10 + i), "step_name": s.name, "attempt_number": s.attempt,
					"started_at": at(s.start)}})
			}
			// retries of one step share its id
			if tc.name == "retries" {
				events[3].Payload["step_id"] = events[2].Payload["step_id"]
			}
			sink := new(consumertest.TracesSink)
			c := newTracesOnly(t, holdAll(), sink)
			require.NoError(t, c.ConsumeLogs(context.Background(), buildLogs(t, events)))
			require.NoError(t, c.emit(context.Background(), c.asm.Flush, time.Now()))
			require.NoError(t, c.Shutdown(context.Background()))
			var found bool
			for _, s := range allSpans(sink.AllTraces()) {
				if s.Name() != "task dag" {
					continue
				}
				found = true
				path, ok := s.Attributes().Get(assembly.AttrCriticalPath)
				require.True(t, ok)
				var got []string
				for _, v := range path.Slice().AsRaw() {
					got = append(got, v.(string))
				}
				assert.Equal(t, tc.want, got)
				share, ok := s.Attributes().Get(assembly.AttrCriticalPathShare)
				require.True(t, ok)
				assert.Equal(t, tc.share, share.Double())
			}
			require.True(t, found)
		})
	}
}
