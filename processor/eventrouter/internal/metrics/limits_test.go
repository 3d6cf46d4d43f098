package metrics

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

// taskCompleted is a normalized task.completed event of task id named name.
func taskCompleted(id int, name string) plog.LogRecord {
	lr := plog.NewLogRecord()
	p := lr.Body().SetEmptyMap()
	p.PutInt(event.FieldTaskID, int64(id))
	p.PutStr(event.FieldTaskName, name)
	p.PutStr(event.FieldStartedAt, "2026-11-26T10:00:00Z")
	p.PutDouble(event.FieldTotalExecutionDuration, 1)
	event.Normalize(lr, "task.completed", "", 1)
	return lr
}

func serviceRes(name string) pcommon.Resource {
	res := pcommon.NewResource()
	res.Attributes().PutStr("service.name", name)
	return res
}

// The first reproducer: 30 task.completed events with distinct
// 1 MiB task names. Each label is cut to max_label_length, the 30 events
// are counted once each, and the state stays small.
func TestLongLabelsAreTruncatedAndCounted(t *testing.T) {
	a := newAggregator(t, nil)
	res := serviceRes("billing")
	for i := 1; i <= 30; i++ {
		name := strconv.Itoa(i) + strings.Repeat("T", 1<<20)
		a.Observe(taskCompleted(i, name), res)
	}
	st := a.Stats()
	assert.EqualValues(t, 30, st.LabelsTruncated)
	assert.Zero(t, st.StateOverflows)
	assert.Less(t, st.StateBytes, int64(64<<10), "30 tasks and ~60 series, each label at most 256 bytes")

	_, got := snapshot(a)
	tasks := got["tasker.tasks"]
	require.NotNil(t, tasks)
	require.Len(t, tasks.points, 30, "the names differ in their first bytes: 30 series")
	for _, p := range tasks.points {
		name := p.attrs["task_name"]
		assert.Len(t, name, 256)
		assert.True(t, strings.HasSuffix(name, event.Truncated), name[240:])
		assert.Equal(t, 1.0, p.value)
	}
	assert.Equal(t, 30.0, got["tasker.workflow.duration"].total())

	// a name that fits is not counted
	a.Observe(taskCompleted(31, strings.Repeat("n", 256)), res)
	assert.EqualValues(t, 30, a.Stats().LabelsTruncated)
	a.Observe(taskCompleted(32, strings.Repeat("n", 257)), res)
	assert.EqualValues(t, 31, a.Stats().LabelsTruncated)
}

// A cut never splits a UTF-8 character.
func TestLabelCutKeepsUTF8(t *testing.T) {
	a := newAggregator(t, func(c *Config) { c.MaxLabelLength = 32 })
	a.Observe(taskCompleted(1, strings.Repeat("é", 40)), serviceRes("s"))
	_, got := snapshot(a)
	name := got["tasker.tasks"].points[0].attrs["task_name"]
	assert.Equal(t, strings.Repeat("é", 9)+event.Truncated, name) // 18 + 14 bytes
}

// Past max_state_bytes, new label sets go to the overflow series and are
// counted; totals stay right and the state stays under the cap.
func TestStateBytesCap(t *testing.T) {
	const events = 20000
	a := newAggregator(t, func(c *Config) { c.MaxStateBytes = 1 << 20 })
	res := serviceRes("billing")
	for i := 1; i <= events; i++ {
		a.Observe(taskCompleted(i, "task_"+strconv.Itoa(i)+strings.Repeat("x", 100)), res)
	}
	st := a.Stats()
	assert.LessOrEqual(t, st.StateBytes, int64(1<<20))
	assert.Positive(t, st.StateOverflows)

	_, got := snapshot(a)
	tasks := got["tasker.tasks"]
	overflow := tasks.total(overflowLabel, "true")
	assert.Positive(t, overflow)
	assert.Equal(t, float64(events), tasks.total(), "every event is counted, in its series or the overflow")
	assert.Equal(t, float64(events), got["tasker.workflow.duration"].total())
	assert.Equal(t, float64(events), got["tasker.events"].total())
	// both task metrics refused the same events: each refusal is counted
	assert.EqualValues(t, 2*int(overflow), st.StateOverflows)

	// the tracking table gave way too: it holds fewer than max_tracked_tasks
	assert.Less(t, a.tasks.len(), 20000)
}

// A service whose resource does not fit the budget is counted in the
// overflow series.
func TestStateBytesCapServices(t *testing.T) {
	a := newAggregator(t, func(c *Config) { c.MaxStateBytes = 1 << 20 })
	big := serviceRes("big")
	big.Attributes().PutStr("k8s.pod.annotations", strings.Repeat("a", 1<<20))
	a.Observe(taskCompleted(1, "t"), big)
	assert.EqualValues(t, 1, a.Stats().StateOverflows)
	_, got := snapshot(a)
	assert.Equal(t, 1.0, got["tasker.tasks"].total(overflowLabel, "true"))
}
