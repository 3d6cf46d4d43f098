package metrics

import (
	"fmt"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

func TestSampleStream(t *testing.T) {
	s := loadSample(t)
	a := newAggregator(t, nil)
	s.feed(a, 0, len(s.records))
	md, got := snapshot(a)

	// one resource: the sample's service
	require.Equal(t, 1, md.ResourceMetrics().Len())
	svc, _ := md.ResourceMetrics().At(0).Resource().Attributes().Get("service.name")
	assert.Equal(t, sampleService, svc.Str())
	assert.Equal(t, ScopeName, md.ResourceMetrics().At(0).ScopeMetrics().At(0).Scope().Name())

	sum := s.sum
	tasks := got["tasker.tasks"]
	require.NotNil(t, tasks)
	assert.True(t, tasks.monotonic)
	assert.Equal(t, pmetric.AggregationTemporalityCumulative, tasks.temporal)
	assert.EqualValues(t, sum.Tasks, tasks.total())
	assert.EqualValues(t, sum.TasksCompleted, tasks.total("status", "completed"))
	assert.EqualValues(t, sum.TasksFailed, tasks.total("status", "failed"))

	steps := got["tasker.steps"]
	assert.EqualValues(t, sum.StepAttempts, steps.total())
	assert.EqualValues(t, sum.StepsCompleted, steps.total("status", "completed"))
	assert.EqualValues(t, sum.StepsFailedAttempts, steps.total("status", "failed"))
	// step events carry no task name: it is learnt from the task's own events
	assert.Zero(t, steps.total("task_name", unknown), "every step attempt gets its task's name")
	assert.EqualValues(t, sum.StepAttempts, got["tasker.step.duration"].total())

	assert.EqualValues(t, sum.Retries, got["tasker.step.retries"].total())
	assert.EqualValues(t, sum.ByName["observability.step.backoff"], got["tasker.step.backoff"].total("backoff_type", "exponential"))
	assert.EqualValues(t, sum.Tasks, got["tasker.workflow.duration"].total())
	assert.EqualValues(t, sum.TasksFailed, got["tasker.workflow.duration"].total("status", "failed"))
	assert.EqualValues(t, sum.ByName["observability.task.enqueue"], got["tasker.tasks.enqueued"].total("queue", "tasker_default"))

	// database: table and operation as the SQL text says, read here with a
	// regular expression independent of event.SummarizeSQL
	sqlRE := regexp.MustCompile(`^(\w+)\s+(?:.*?\bFROM\s+|INTO\s+|)(\w+)`)
	wantDB := map[string]int{}
	for _, r := range s.raw {
		if r.Name == "database.query_executed" {
			m := sqlRE.FindStringSubmatch(r.Payload["sql"].(string))
			require.NotNil(t, m)
			wantDB[m[2]+"/"+m[1]]++
		}
	}
	db := got["tasker.db.query.duration"]
	assert.EqualValues(t, sum.DBQueries, db.total())
	gotDB := map[string]int{}
	for _, p := range db.points {
		gotDB[p.attrs["table"]+"/"+p.attrs["operation"]] += int(p.count)
	}
	assert.Equal(t, wantDB, gotDB)

	// every event, by name
	events := got["tasker.events"]
	gotNames := map[string]int{}
	for _, p := range events.points {
		gotNames[p.attrs["event"]] = int(p.value)
	}
	assert.Equal(t, sum.ByName, gotNames)
	assert.EqualValues(t, sum.Events, events.total())

	// everything finished: nothing in flight
	assert.Zero(t, got["tasker.tasks.active"].total())
	assert.Zero(t, got["tasker.steps.active"].total())
	assert.False(t, got["tasker.tasks.active"].monotonic)
	assert.Equal(t, pmetric.MetricTypeSum, got["tasker.tasks.active"].typ)

	// no step of the sample runs past 5s and no query past 100ms unless the
	// fixture says so
	var slowSteps, slowQueries int
	for _, r := range s.raw {
		if d, ok := num(r.Payload["execution_duration"]); ok && d > 5 {
			slowSteps++
		}
		if d, ok := num(r.Payload["duration"]); ok && r.Name == "database.query_executed" && d > 0.1 {
			slowQueries++
		}
	}
	assert.EqualValues(t, slowQueries, got["tasker.slow_operations"].total("kind", "query"))
	if slowSteps == 0 {
		assert.Zero(t, got["tasker.slow_operations"].total("kind", "step"))
	}

	// histograms: buckets add up and use the configured bounds
	for _, name := range []string{"tasker.workflow.duration", "tasker.step.duration", "tasker.step.backoff", "tasker.db.query.duration"} {
		for _, p := range got[name].points {
			var n uint64
			for _, c := range p.buckets {
				n += c
			}
			assert.Equal(t, p.count, n, name)
			assert.Equal(t, DefaultBuckets, p.bounds, name)
			assert.Len(t, p.buckets, len(DefaultBuckets)+1, name)
		}
	}
}

// TestSlowOperations lowers the thresholds so the sample has slow work, and
// checks the counts against the fixture's own durations.
func TestSlowOperations(t *testing.T) {
	s := loadSample(t)
	a := newAggregator(t, func(c *Config) {
		c.SlowStepThreshold = 100 * time.Millisecond
		c.SlowQueryThreshold = 5 * time.Millisecond
	})
	s.feed(a, 0, len(s.records))
	_, got := snapshot(a)
	var wantSteps, wantQueries int
	for _, r := range s.raw {
		switch r.Name {
		case "step.completed", "step.failed":
			d, ok := num(r.Payload["execution_duration"])
			if !ok {
				start, _ := time.Parse(time.RFC3339Nano, r.Payload["started_at"].(string))
				end, _ := time.Parse(time.RFC3339Nano, r.Payload["timestamp"].(string))
				d = end.Sub(start).Seconds()
			}
			if d > 0.1 {
				wantSteps++
			}
		case "database.query_executed":
			if mustNum(r.Payload["duration"]) > 0.005 {
				wantQueries++
			}
		}
	}
	require.Positive(t, wantSteps)
	require.Positive(t, wantQueries)
	assert.EqualValues(t, wantSteps, got["tasker.slow_operations"].total("kind", "step"))
	assert.EqualValues(t, wantQueries, got["tasker.slow_operations"].total("kind", "query"))
}

// TestActiveGauges checks the in-flight gauges against a direct count of the
// fixture at regular points of the stream.
func TestActiveGauges(t *testing.T) {
	s := loadSample(t)
	a := newAggregator(t, nil)
	activeTasks := map[string]bool{}
	finished := map[string]bool{}
	activeSteps := map[string]bool{}
	var sawTasks, sawSteps bool
	for i, lr := range s.records {
		a.Observe(lr, s.res)
		p := s.raw[i].Payload
		task := fmt.Sprint(p["task_id"])
		attempt := fmt.Sprint(p["task_id"], "/", p["step_id"], "/", p["attempt_number"])
		switch s.raw[i].Name {
		case "task.start_requested", "workflow.task_started":
			if !finished[task] {
				activeTasks[task] = true
			}
		case "task.completed", "task.failed":
			delete(activeTasks, task)
			finished[task] = true
		case "step.execution_requested":
			activeSteps[attempt] = true
		case "step.completed", "step.failed":
			delete(activeSteps, attempt)
		}
		if i%20 != 0 {
			continue
		}
		_, got := snapshot(a)
		require.EqualValues(t, len(activeTasks), got["tasker.tasks.active"].total(), "tasks in flight after event %d", i)
		require.EqualValues(t, len(activeSteps), got["tasker.steps.active"].total(), "steps in flight after event %d", i)
		sawTasks = sawTasks || len(activeTasks) > 0
		sawSteps = sawSteps || len(activeSteps) > 0
	}
	assert.True(t, sawTasks && sawSteps, "the sample has work in flight midway")
	_, got := snapshot(a)
	assert.Zero(t, got["tasker.tasks.active"].total())
	assert.Zero(t, got["tasker.steps.active"].total())
	assert.NotEmpty(t, got["tasker.tasks.active"].points, "the gauge stays reported at 0")
}

// testEvent builds a normalized event from a payload.
func testEvent(name string, payload map[string]any) plog.LogRecord {
	lr := plog.NewLogRecord()
	if err := lr.Body().SetEmptyMap().FromRaw(payload); err != nil {
		panic(err)
	}
	event.Normalize(lr, name, "", pcommon.NewTimestampFromTime(time.Now()))
	return lr
}

func testResource(service string) pcommon.Resource {
	r := pcommon.NewResource()
	if service != "" {
		r.Attributes().PutStr("service.name", service)
	}
	return r
}

// taskOf is the payload of an event of task id; stepOf of one of attempt
// attempt of step id of task 1.
func taskOf(id int) map[string]any { return map[string]any{"task_id": id, "task_name": "t"} }

func stepOf(id, attempt int) map[string]any {
	return map[string]any{"task_id": 1, "step_id": id, "step_name": "s", "attempt_number": attempt}
}

func TestActiveGaugesOutOfOrderAndDuplicates(t *testing.T) {
	a := newAggregator(t, nil)
	res := testResource("svc")
	active := func() (float64, float64) {
		_, got := snapshot(a)
		return got["tasker.tasks.active"].total(), got["tasker.steps.active"].total()
	}

	// both start events of one task count once
	a.Observe(testEvent("task.start_requested", taskOf(1)), res)
	a.Observe(testEvent("workflow.task_started", taskOf(1)), res)
	a.Observe(testEvent("task.start_requested", taskOf(1)), res)
	tasks, _ := active()
	assert.EqualValues(t, 1, tasks)

	// an end that arrives before its start: the late start is not counted
	a.Observe(testEvent("task.completed", taskOf(2)), res)
	a.Observe(testEvent("task.start_requested", taskOf(2)), res)
	tasks, _ = active()
	assert.EqualValues(t, 1, tasks)

	// step attempts: duplicate starts count once, each attempt on its own
	a.Observe(testEvent("step.execution_requested", stepOf(10, 1)), res)
	a.Observe(testEvent("step.before_handle", stepOf(10, 1)), res)
	a.Observe(testEvent("step.execution_requested", stepOf(11, 1)), res)
	_, steps := active()
	assert.EqualValues(t, 2, steps)
	a.Observe(testEvent("step.failed", stepOf(10, 1)), res)
	a.Observe(testEvent("step.failed", stepOf(10, 1)), res) // duplicate end
	a.Observe(testEvent("step.execution_requested", stepOf(10, 2)), res)
	_, steps = active()
	assert.EqualValues(t, 2, steps)

	// the task ends with steps still in flight: they are closed with it
	a.Observe(testEvent("task.cancelled", taskOf(1)), res)
	tasks, steps = active()
	assert.Zero(t, tasks)
	assert.Zero(t, steps)
	// and their late ends do not push the gauge below zero
	a.Observe(testEvent("step.completed", stepOf(10, 2)), res)
	_, steps = active()
	assert.Zero(t, steps)

	// a retried task may start again
	a.Observe(testEvent("task.retry_requested", taskOf(1)), res)
	a.Observe(testEvent("task.start_requested", taskOf(1)), res)
	tasks, _ = active()
	assert.EqualValues(t, 1, tasks)
}

func TestTerminalEventsCountOnce(t *testing.T) {
	a := newAggregator(t, nil)
	res := testResource("svc")
	observe := func(name string, attrs map[string]any) bool {
		return a.Observe(testEvent(name, attrs), res)
	}
	assert.True(t, observe("step.failed", stepOf(10, 1)))
	assert.False(t, observe("step.failed", stepOf(10, 1)), "the same attempt's end again")
	assert.True(t, observe("step.failed", stepOf(10, 2)), "another attempt")
	assert.True(t, observe("step.resolved_manually", stepOf(10, 2)), "another outcome of the attempt")
	assert.True(t, observe("task.failed", taskOf(1)))
	assert.False(t, observe("task.failed", taskOf(1)))
	assert.True(t, observe("task.resolved_manually", taskOf(1)), "a failed task resolved by hand counts both")
	assert.True(t, observe("task.failed", taskOf(2)), "another task")
	assert.True(t, observe("step.execution_requested", stepOf(10, 3)), "other events are not terminal")
	assert.True(t, observe("step.execution_requested", stepOf(10, 3)))

	_, got := snapshot(a)
	assert.EqualValues(t, 3, got["tasker.steps"].total())
	assert.EqualValues(t, 3, got["tasker.tasks"].total())
	assert.EqualValues(t, 8, got["tasker.events"].total(), "a repeat is not an event either")
}

func TestTrackedTasksBounded(t *testing.T) {
	a := newAggregator(t, func(c *Config) { c.MaxTrackedTasks = 3; c.MaxTrackedSteps = 2 })
	res := testResource("svc")
	for i := 1; i <= 10; i++ {
		a.Observe(testEvent("task.start_requested", map[string]any{"task_id": i, "task_name": "t"}), res)
		a.Observe(testEvent("step.execution_requested", map[string]any{"task_id": i, "step_id": i, "step_name": "s"}), res)
	}
	assert.Equal(t, 3, a.tasks.len())
	assert.Equal(t, 2, a.steps.len())
	_, got := snapshot(a)
	// evicted work is no longer counted as in flight
	assert.EqualValues(t, 3, got["tasker.tasks.active"].total())
	assert.EqualValues(t, 2, got["tasker.steps.active"].total())
	// the remembered tasks end normally, evicted ones are ignored
	for i := 1; i <= 10; i++ {
		a.Observe(testEvent("step.completed", map[string]any{"task_id": i, "step_id": i, "step_name": "s"}), res)
		a.Observe(testEvent("task.completed", map[string]any{"task_id": i, "task_name": "t"}), res)
	}
	_, got = snapshot(a)
	assert.Zero(t, got["tasker.tasks.active"].total())
	assert.Zero(t, got["tasker.steps.active"].total())
	assert.EqualValues(t, 10, got["tasker.tasks"].total())
}

func TestUnknownTaskName(t *testing.T) {
	a := newAggregator(t, nil)
	res := testResource("")
	a.Observe(testEvent("step.completed", map[string]any{"task_id": 7, "step_id": 1, "step_name": "s", "execution_duration": 0.2}), res)
	a.Observe(testEvent("task.initialize_requested", map[string]any{"task_id": 7, "task_name": "late"}), res)
	a.Observe(testEvent("step.completed", map[string]any{"task_id": 7, "step_id": 2, "step_name": "s", "execution_duration": 0.2}), res)
	md, got := snapshot(a)
	assert.EqualValues(t, 1, got["tasker.steps"].total("task_name", unknown))
	assert.EqualValues(t, 1, got["tasker.steps"].total("task_name", "late"))
	svc, _ := md.ResourceMetrics().At(0).Resource().Attributes().Get("service.name")
	assert.Equal(t, unknownService, svc.Str())
}

func TestCumulativeSnapshots(t *testing.T) {
	s := loadSample(t)
	a := newAggregator(t, nil)
	half := len(s.records) / 2
	s.feed(a, 0, half)
	_, first := snapshot(a)
	time.Sleep(2 * time.Millisecond)
	s.feed(a, half, len(s.records))
	_, second := snapshot(a)

	later := map[string]point{}
	for name, mi := range second {
		for _, p := range mi.points {
			later[seriesKey(name, p)] = p
		}
	}
	n := 0
	for name, mi := range first {
		for _, p := range mi.points {
			q, ok := later[seriesKey(name, p)]
			require.True(t, ok, "series %s disappeared", seriesKey(name, p))
			assert.Less(t, p.ts, q.ts)
			if mi.typ == pmetric.MetricTypeGauge || (mi.typ == pmetric.MetricTypeSum && !mi.monotonic) {
				continue // in-flight counts go down as work finishes
			}
			n++
			assert.NotZero(t, p.start)
			assert.Equal(t, p.start, q.start, "start time of %s", seriesKey(name, p))
			assert.LessOrEqual(t, p.start, p.ts)
			assert.LessOrEqual(t, p.value, q.value)
			assert.LessOrEqual(t, p.count, q.count)
			for b := range p.buckets {
				assert.LessOrEqual(t, p.buckets[b], q.buckets[b])
			}
		}
	}
	assert.Greater(t, n, 20)
	// the second half added something
	assert.Greater(t, second["tasker.events"].total(), first["tasker.events"].total())
}

func TestCardinalityOverflow(t *testing.T) {
	a := newAggregator(t, func(c *Config) { c.MaxSeriesPerMetric = 10 })
	res := testResource("svc")
	for i := 0; i < 100; i++ {
		a.Observe(testEvent("task.completed", map[string]any{
			"task_id": i, "task_name": "name_" + strconv.Itoa(i), "total_execution_duration": 0.5,
		}), res)
	}
	_, got := snapshot(a)
	for _, name := range []string{"tasker.tasks", "tasker.workflow.duration"} {
		mi := got[name]
		require.Len(t, mi.points, 11, name)
		var normal, overflow int
		for _, p := range mi.points {
			v := p.value
			if p.buckets != nil {
				v = float64(p.count)
			}
			if p.attrs[overflowLabel] == "true" {
				assert.Len(t, p.attrs, 1, "the overflow series has no other labels")
				overflow++
				assert.EqualValues(t, 90, v, name)
			} else {
				normal++
				assert.EqualValues(t, 1, v, name)
			}
		}
		assert.Equal(t, 10, normal)
		assert.Equal(t, 1, overflow)
	}
	// events_total has a single series and is not affected
	assert.Len(t, got["tasker.events"].points, 1)
}

func TestServicesGroupedByName(t *testing.T) {
	a := newAggregator(t, nil)
	ra := testResource("billing")
	ra.Attributes().PutStr("host.name", "h1")
	rb := testResource("shipping")
	for i := 0; i < 3; i++ {
		a.Observe(testEvent("task.completed", map[string]any{"task_id": i, "task_name": "t"}), ra)
	}
	a.Observe(testEvent("task.completed", map[string]any{"task_id": 9, "task_name": "t"}), rb)
	md, _ := snapshot(a)
	require.Equal(t, 2, md.ResourceMetrics().Len())
	for i := 0; i < 2; i++ {
		rm := md.ResourceMetrics().At(i)
		one := pmetric.NewMetrics()
		rm.CopyTo(one.ResourceMetrics().AppendEmpty())
		got := collect(one)
		name, _ := rm.Resource().Attributes().Get("service.name")
		want := map[string]float64{"billing": 3, "shipping": 1}[name.Str()]
		assert.Equal(t, want, got["tasker.tasks"].total(), name.Str())
		if name.Str() == "billing" {
			h, ok := rm.Resource().Attributes().Get("host.name")
			assert.True(t, ok && h.Str() == "h1", "resource attributes are kept")
		}
	}
}

func TestExemplars(t *testing.T) {
	s := loadSample(t)
	traces := map[pcommon.TraceID]bool{}
	spans := map[pcommon.SpanID]bool{}
	for _, lr := range s.records {
		traces[lr.TraceID()] = true
		spans[lr.SpanID()] = true
	}
	a := newAggregator(t, nil)
	s.feed(a, 0, len(s.records))
	_, got := snapshot(a)
	n := 0
	for name, mi := range got {
		for _, p := range mi.points {
			for _, e := range p.exemplars {
				n++
				assert.True(t, traces[e.TraceID()], "%s exemplar trace id %s was observed", name, e.TraceID())
				assert.False(t, e.TraceID().IsEmpty())
				assert.True(t, spans[e.SpanID()], "%s exemplar span id was observed", name)
				assert.NotZero(t, e.Timestamp())
			}
			assert.LessOrEqual(t, len(p.exemplars), 1)
		}
	}
	// every task-bound counter and histogram series has one
	for _, name := range []string{"tasker.tasks", "tasker.steps", "tasker.workflow.duration", "tasker.step.duration", "tasker.db.query.duration"} {
		for _, p := range got[name].points {
			assert.Len(t, p.exemplars, 1, name)
		}
	}
	// handler.registered belongs to no task: no trace, no exemplar
	for _, p := range got["tasker.events"].points {
		if p.attrs["event"] == "handler.registered" {
			assert.Empty(t, p.exemplars)
		}
	}
	assert.Greater(t, n, 50)

	// histogram exemplar values are observations
	for _, p := range got["tasker.step.backoff"].points {
		assert.Greater(t, p.exemplars[0].DoubleValue(), 0.0)
	}

	off := newAggregator(t, func(c *Config) { c.Exemplars = false })
	s.feed(off, 0, len(s.records))
	_, got = snapshot(off)
	for _, mi := range got {
		for _, p := range mi.points {
			assert.Empty(t, p.exemplars)
		}
	}
}

func TestConcurrentObserve(t *testing.T) {
	s := loadSample(t)
	a := newAggregator(t, nil)
	const workers = 4
	var wg sync.WaitGroup
	done := make(chan struct{})
	snaps := make(chan int, 1)
	go func() { // snapshots race with the writers
		n := 0
		for {
			select {
			case <-done:
				snaps <- n
				return
			default:
				md := pmetric.NewMetrics()
				a.AppendTo(md, pcommon.NewTimestampFromTime(time.Now()))
				n++
				time.Sleep(time.Millisecond)
			}
		}
	}()
	// each worker sends the sample's tasks under task ids of its own (the
	// same terminal event twice counts once)
	inputs := make([][]plog.LogRecord, workers)
	for w := range inputs {
		for _, lr := range s.records {
			c := plog.NewLogRecord()
			lr.CopyTo(c)
			if v, ok := c.Attributes().Get(event.AttrTaskID); ok {
				v.SetStr(v.Str() + "-w" + strconv.Itoa(w))
			}
			inputs[w] = append(inputs[w], c)
		}
	}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			res := testResource("svc-" + strconv.Itoa(w%2))
			for _, lr := range inputs[w] {
				a.Observe(lr, res)
			}
		}(w)
	}
	wg.Wait()
	close(done)
	assert.Positive(t, <-snaps)
	_, got := snapshot(a)
	assert.EqualValues(t, workers*s.sum.Events, got["tasker.events"].total())
	assert.EqualValues(t, workers*s.sum.Tasks, got["tasker.tasks"].total())
	assert.EqualValues(t, workers*s.sum.StepAttempts, got["tasker.steps"].total())
	assert.Zero(t, got["tasker.tasks.active"].total())
	assert.Zero(t, got["tasker.steps.active"].total())
}

func TestAppendToEmpty(t *testing.T) {
	a := newAggregator(t, nil)
	md := pmetric.NewMetrics()
	a.AppendTo(md, pcommon.NewTimestampFromTime(time.Now()))
	assert.Zero(t, md.ResourceMetrics().Len())
	// records that are not events are ignored
	a.Observe(plog.NewLogRecord(), testResource("svc"))
	a.AppendTo(md, pcommon.NewTimestampFromTime(time.Now()))
	assert.Zero(t, md.ResourceMetrics().Len())
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxSeriesPerMetric = 0
	_, err := New(cfg)
	assert.ErrorContains(t, err, "max_series_per_metric")
}

func TestSlowOperationEvent(t *testing.T) {
	a := newAggregator(t, nil)
	res := testResource("svc")
	a.Observe(testEvent("performance.slow_operation", map[string]any{"kind": "render"}), res)
	a.Observe(testEvent("performance.slow_operation", map[string]any{"operation_type": "cache"}), res)
	a.Observe(testEvent("performance.slow_operation", map[string]any{}), res)
	_, got := snapshot(a)
	for _, k := range []string{"render", "cache", "other"} {
		assert.EqualValues(t, 1, got["tasker.slow_operations"].total("kind", k), k)
	}
}

func TestLRU(t *testing.T) {
	var evicted []string
	// values are the key's letter; the eviction callback gets the key's length
	l := newLRU[string](3, func(n int, v *string) { evicted = append(evicted, fmt.Sprint(*v, "/", n)) })
	for _, k := range []string{"a", "bb", "ccc"} {
		*l.insert(keyOfString(k), len(k)) = k
	}
	require.NotNil(t, l.get(keyOfString("a"))) // a becomes most recent: bb is the oldest
	*l.insert(keyOfString("d"), 1) = "d"
	assert.Equal(t, []string{"bb/2"}, evicted)
	assert.Nil(t, l.peek(keyOfString("bb")))
	assert.Equal(t, "a", *l.get(keyOf([]byte("a"))), "a key hashes alike as bytes and as a string")
	*l.insert(keyOfString("e"), 1) = "e" // ccc is the oldest now
	assert.Equal(t, []string{"bb/2", "ccc/3"}, evicted)
	assert.Equal(t, 3, l.len())
	seen := map[string]bool{}
	l.each(func(v *string) { seen[*v] = true })
	assert.Equal(t, map[string]bool{"a": true, "d": true, "e": true}, seen)
	assert.Equal(t, "", *l.insert(keyOfString("f"), 1), "a reused slot starts from the zero value")
}

// Keys that share a slot of the front table are told apart by the full key,
// and a slot reused after an eviction never answers for the evicted key.
func TestLRUFrontCollisions(t *testing.T) {
	l := newLRU[int](2, nil)
	k := func(i uint64) lruKey { return lruKey{i * lruFront, i} } // all in front slot 0
	*l.insert(k(1), 1) = 1
	*l.insert(k(2), 1) = 2
	for i := uint64(1); i <= 2; i++ {
		require.NotNil(t, l.get(k(i)))
		assert.EqualValues(t, i, *l.get(k(i)))
		assert.EqualValues(t, i, *l.peek(k(i)))
	}
	*l.insert(k(3), 1) = 3 // evicts 1 (2 was used last), reusing its slot
	assert.Nil(t, l.get(k(1)))
	assert.Nil(t, l.peek(k(1)))
	assert.EqualValues(t, 2, *l.peek(k(2)))
	assert.EqualValues(t, 3, *l.get(k(3)))
	assert.Nil(t, l.get(lruKey{}), "the zero key is never held")
}
