package taskerevents

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

// Once an event of a task carried a correlation id, the task's later
// events get it, across requests; other tasks do not.
func TestCorrelationIDSpreadsToLaterEvents(t *testing.T) {
	sink := new(consumertest.LogsSink)
	r := startReceiver(t, testConfig(), sink)
	bodies := []string{
		`{"name":"task.initialize_requested","payload":{"task_id":1}}`,
		`{"name":"task.start_requested","payload":{"task_id":1,"correlation_id":"corr-audit-1"}}`,
		`{"name":"step.completed","payload":{"task_id":1,"step_id":3}}` + "\n" + `{"name":"step.completed","payload":{"task_id":2,"step_id":4}}`,
		`{"name":"task.completed","payload":{"task_id":1}}`,
	}
	for _, b := range bodies {
		require.Equal(t, 200, post(t, r, "application/x-ndjson", []byte(b)).status)
	}
	var got []string
	for _, ld := range sink.AllLogs() {
		lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		for i := 0; i < lrs.Len(); i++ {
			v, _ := lrs.At(i).Attributes().Get(event.AttrCorrelationID)
			task, _ := lrs.At(i).Attributes().Get(event.AttrTaskID)
			got = append(got, task.Str()+":"+v.Str())
		}
	}
	assert.Equal(t, []string{"1:", "1:corr-audit-1", "1:corr-audit-1", "2:", "1:corr-audit-1"}, got)
}
