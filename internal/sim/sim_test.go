package sim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
	"github.com/otelcol-tasker/otelcol-tasker/internal/fixtures"
)

// generate runs cfg to the end and returns the NDJSON stream and the stats.
func generate(t testing.TB, cfg Config) ([]byte, Stats) {
	t.Helper()
	g, err := New(cfg)
	require.NoError(t, err)
	var b []byte
	for {
		ev, ok := g.Next()
		if !ok {
			break
		}
		b = AppendNative(b, ev)
		b = append(b, '\n')
	}
	return b, g.Stats()
}

// stressConfig fails often, so retries, exhausted steps and failed tasks
// all occur many times.
func stressConfig() Config {
	cfg := DefaultConfig()
	cfg.Tasks = 400
	cfg.FailureRate = 0.35
	cfg.FatalRate = 0.1
	cfg.DBQueries = 1.5
	cfg.Seed = 42
	return cfg
}

func TestSameSeedSameStream(t *testing.T) {
	cfg := stressConfig()
	a, sa := generate(t, cfg)
	b, sb := generate(t, cfg)
	require.Equal(t, a, b, "same config must give the same bytes")
	require.Equal(t, sa, sb)

	cfg.Seed++
	c, _ := generate(t, cfg)
	require.NotEqual(t, a, c, "another seed must give another stream")
}

func TestStartTimeShiftsOnlyTimes(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Tasks = 10
	_, a := generate(t, cfg)
	cfg.Start = cfg.Start.Add(time.Hour)
	_, b := generate(t, cfg)
	assert.Equal(t, a.ByName, b.ByName)
	assert.Equal(t, a.WorkflowDuration, b.WorkflowDuration)
	assert.NotEqual(t, a.FirstTimestamp, b.FirstTimestamp)
}

// wire is one decoded native event.
type wire struct {
	Name      string         `json:"name"`
	Timestamp string         `json:"timestamp"`
	Payload   map[string]any `json:"payload"`
	raw       []byte
}

func decodeStream(t testing.TB, b []byte) []wire {
	t.Helper()
	var out []wire
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		d := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		d.UseNumber()
		var w wire
		require.NoError(t, d.Decode(&w), sc.Text())
		w.raw = slices.Clone(sc.Bytes())
		out = append(out, w)
	}
	require.NoError(t, sc.Err())
	return out
}

var isoMillis = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$`)

func ms(t testing.TB, v any) int64 {
	t.Helper()
	s, ok := v.(string)
	require.True(t, ok, "time %v is not a string", v)
	require.Regexp(t, isoMillis, s)
	tm, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err)
	return tm.UnixMilli()
}

func num(t testing.TB, v any) int64 {
	t.Helper()
	n, ok := v.(json.Number)
	require.True(t, ok, "%v is not a number", v)
	i, err := n.Int64()
	require.NoError(t, err, "%v is not an integer", v)
	return i
}

func flt(t testing.TB, v any) float64 {
	t.Helper()
	n, ok := v.(json.Number)
	require.True(t, ok, "%v is not a number", v)
	f, err := n.Float64()
	require.NoError(t, err)
	return f
}

// recount derives the summary from the stream alone, without the generator.
func recount(t testing.TB, events []wire) Stats {
	t.Helper()
	s := Stats{ByName: map[string]int64{}, TaskIDs: []int64{}}
	var durations []int64
	for _, e := range events {
		s.Events++
		s.ByName[e.Name]++
		p := e.Payload
		switch e.Name {
		case EventTaskInitialize:
			s.Tasks++
			s.TaskIDs = append(s.TaskIDs, num(t, p["task_id"]))
			if ctx, ok := p["task_context"].(map[string]any); ok && ctx["api_token"] != nil && ctx["password"] != nil {
				s.SecretsPlanted++
			}
		case EventTaskCompleted:
			s.TasksCompleted++
			durations = append(durations, ms(t, p["completed_at"])-ms(t, p["started_at"]))
		case EventTaskFailed:
			s.TasksFailed++
			durations = append(durations, ms(t, p["timestamp"])-ms(t, p["started_at"]))
			s.StepsFailed += int64(len(p["error_steps"].([]any)))
		case EventStepExecRequested:
			s.StepAttempts++
		case EventStepCompleted:
			s.StepsCompleted++
		case EventStepFailed:
			s.StepsFailedAttempts++
		case EventStepRetry:
			s.Retries++
		case EventDBQuery:
			s.DBQueries++
		}
	}
	s.WorkflowDuration = DurationStatsOf(durations)
	if len(events) > 0 {
		s.FirstTimestamp = events[0].Timestamp
		s.LastTimestamp = events[len(events)-1].Timestamp
	}
	return s
}

func TestStatsEqualRecount(t *testing.T) {
	for _, cfg := range []Config{DefaultConfig(), stressConfig()} {
		b, stats := generate(t, cfg)
		events := decodeStream(t, b)
		got := recount(t, events)
		assert.Equal(t, got, stats)
		assert.Equal(t, int64(cfg.Tasks), stats.Tasks)
		assert.Equal(t, stats.Tasks, stats.TasksCompleted+stats.TasksFailed, "every task ends")
		assert.Equal(t, int64(5), stats.ByName[EventHandlerRegistered])
		// the run exercises what it should
		assert.Positive(t, stats.TasksFailed)
		assert.Positive(t, stats.Retries)
		assert.Positive(t, stats.DBQueries)
	}
}

// attempt collects the events of one step attempt.
type attempt struct {
	exec, before, end *wire
	backoff, retry    *wire
	queries           []*wire
}

func TestTaskInvariants(t *testing.T) {
	cfg := stressConfig()
	b, _ := generate(t, cfg)
	events := decodeStream(t, b)

	byTask := map[int64][]*wire{}
	var order []int64
	last := int64(0)
	for i := range events {
		e := &events[i]
		ts := ms(t, e.Timestamp)
		require.Equal(t, e.Timestamp, e.Payload["timestamp"], "timestamp in payload and envelope")
		require.GreaterOrEqual(t, ts, last, "stream is in time order")
		last = ts
		if e.Name == EventHandlerRegistered {
			require.Equal(t, "handler_factory", e.Payload["registry_name"])
			require.True(t, strings.HasPrefix(e.Payload["entity_id"].(string), "default/"))
			continue
		}
		id := num(t, e.Payload["task_id"])
		if _, ok := byTask[id]; !ok {
			order = append(order, id)
		}
		byTask[id] = append(byTask[id], e)
	}
	require.Len(t, order, cfg.Tasks)
	for _, id := range order {
		checkTask(t, id, byTask[id], cfg.RetryLimit)
	}
}

var correlationRE = regexp.MustCompile(`^tsk_([0-9a-z]+)_[0-9a-z]{6}$`)

func checkTask(t *testing.T, id int64, evs []*wire, retryLimit int) {
	t.Helper()
	names := func(i int) string { return evs[i].Name }
	require.Equal(t, EventTaskInitialize, names(0), "task %d", id)
	require.Equal(t, EventTaskEnqueue, names(1))
	require.Equal(t, EventTaskStart, names(2))
	require.Equal(t, EventTaskStarted, names(3))
	n := len(evs)
	require.Equal(t, EventFinalizationStarted, names(n-3))
	require.Equal(t, EventFinalizationDone, names(n-2))
	terminal := evs[n-1]

	init := evs[0].Payload
	start := ms(t, init["timestamp"])
	ctx := init["task_context"].(map[string]any)
	require.Contains(t, ctx, "api_token")
	require.Contains(t, ctx, "password")
	corr := evs[1].Payload["correlation_id"].(string)
	m := correlationRE.FindStringSubmatch(corr)
	require.NotNil(t, m, corr)
	created, err := strconv.ParseInt(m[1], 36, 64)
	require.NoError(t, err)
	require.Equal(t, start, created, "correlation id encodes the creation time")
	require.Equal(t, corr, evs[2].Payload["correlation_id"])
	require.Regexp(t, `^[0-9a-f]{32}$`, evs[1].Payload["job_id"])
	require.Equal(t, start, ms(t, evs[2].Payload["started_at"]))
	totalSteps := num(t, evs[2].Payload["total_steps"])

	attempts := map[[2]int64]*attempt{}
	key := func(p map[string]any) [2]int64 {
		return [2]int64{num(t, p["step_id"]), num(t, p["attempt_number"])}
	}
	deps := map[int64][]string{} // step id -> names of parents
	names2 := map[int64]string{} // step id -> name
	done := map[string]int64{}   // step name -> completion time
	discovered := map[int64]int64{}
	finalAttempt := map[int64]int64{}
	exhausted := []string{}
	var lastStepEnd int64
	for _, e := range evs[4 : n-3] {
		p := e.Payload
		ts := ms(t, e.Timestamp)
		switch e.Name {
		case EventViableSteps:
			ids := p["step_ids"].([]any)
			require.Equal(t, int64(len(ids)), num(t, p["step_count"]))
			for _, v := range ids {
				sid := num(t, v)
				_, again := discovered[sid]
				require.False(t, again, "step %d discovered twice", sid)
				discovered[sid] = ts
			}
		case EventStepExecRequested:
			k := key(p)
			sid := k[0]
			dt, ok := discovered[sid]
			require.True(t, ok, "step %d runs before it is discovered", sid)
			require.GreaterOrEqual(t, ts, dt)
			require.Nil(t, attempts[k], "attempt %v requested twice", k)
			require.Equal(t, finalAttempt[sid]+1, k[1], "attempts are numbered 1, 2, ...")
			require.LessOrEqual(t, k[1], int64(retryLimit))
			require.Equal(t, int64(retryLimit), num(t, p["retry_limit"]))
			finalAttempt[sid] = k[1]
			require.Equal(t, ts, ms(t, p["started_at"]))
			var parents []string
			for _, d := range p["step_dependencies"].([]any) {
				parents = append(parents, d.(string))
			}
			deps[sid] = parents
			names2[sid] = p["step_name"].(string)
			attempts[k] = &attempt{exec: e}
		case EventStepBeforeHandle:
			a := attempts[key(p)]
			require.NotNil(t, a)
			require.Nil(t, a.before)
			require.GreaterOrEqual(t, ts, ms(t, a.exec.Timestamp))
			require.Equal(t, a.exec.Payload["started_at"], p["started_at"])
			a.before = e
		case EventDBQuery:
			sid := num(t, p["step_id"])
			a := attempts[[2]int64{sid, finalAttempt[sid]}]
			require.NotNil(t, a.before, "query outside a handler")
			require.Nil(t, a.end, "query after the attempt ended")
			qs := ms(t, p["started_at"])
			require.GreaterOrEqual(t, qs, ms(t, a.before.Timestamp))
			require.LessOrEqual(t, math.Abs(float64(ts-qs)-flt(t, p["duration"])*1000), 0.5, "query duration matches its times")
			require.Contains(t, []string{"SELECT", "UPDATE", "INSERT"}, strings.Fields(p["sql"].(string))[0])
			a.queries = append(a.queries, e)
		case EventStepCompleted, EventStepFailed:
			a := attempts[key(p)]
			require.NotNil(t, a.before)
			require.Nil(t, a.end, "attempt ended twice")
			a.end = e
			started := ms(t, p["started_at"])
			require.Equal(t, ms(t, a.exec.Timestamp), started)
			lastStepEnd = max(lastStepEnd, ts)
			if e.Name == EventStepCompleted {
				require.Equal(t, ts, ms(t, p["completed_at"]))
				require.Equal(t, float64(ts-started)/1000, flt(t, p["execution_duration"]), "execution_duration == completed_at - started_at")
				done[p["step_name"].(string)] = ts
			} else {
				require.Nil(t, p["completed_at"])
				require.NotEmpty(t, p["error_message"])
				require.Equal(t, p["exception_class"], p["error_class"])
				require.Len(t, p["backtrace"].([]any), 2)
				if key(p)[1] == int64(retryLimit) {
					exhausted = append(exhausted, p["step_name"].(string))
				}
			}
		case EventStepBackoff:
			a := attempts[key(p)]
			require.NotNil(t, a.end)
			require.Equal(t, EventStepFailed, a.end.Name, "backoff follows a failure")
			require.Equal(t, ts, ms(t, a.end.Timestamp))
			require.Equal(t, "exponential", p["backoff_type"])
			require.Equal(t, key(p)[1], num(t, p["attempt"]))
			a.backoff = e
		case EventStepRetry:
			a := attempts[key(p)]
			require.NotNil(t, a.backoff, "retry follows a backoff")
			wait := ts - ms(t, a.backoff.Timestamp)
			require.Equal(t, float64(wait)/1000, flt(t, a.backoff.Payload["backoff_seconds"]), "retry waits the backoff")
			require.Equal(t, key(p)[1], num(t, p["previous_attempts"]))
			a.retry = e
		default:
			t.Fatalf("unexpected event %s inside task %d", e.Name, id)
		}
	}

	// Every attempt is complete; a retry follows every non-final failure.
	for k, a := range attempts {
		require.NotNil(t, a.before, "attempt %v has no before_handle", k)
		require.NotNil(t, a.end, "attempt %v never ends", k)
		for _, q := range a.queries {
			require.LessOrEqual(t, ms(t, q.Timestamp), ms(t, a.end.Timestamp))
		}
		final := finalAttempt[k[0]] == k[1]
		if a.end.Name == EventStepFailed && k[1] < int64(retryLimit) {
			require.NotNil(t, a.retry, "non-final failure %v without retry", k)
			require.False(t, final, "a retried attempt %v is followed by another", k)
		} else {
			require.Nil(t, a.retry)
			require.True(t, final, "attempt %v is the step's last", k)
		}
	}
	// Discovered steps only ran once their parents had completed.
	for sid, at := range discovered {
		for _, parent := range deps[sid] {
			doneAt, ok := done[parent]
			require.True(t, ok, "step %s discovered before parent %s completed", names2[sid], parent)
			require.LessOrEqual(t, doneAt, at)
		}
	}

	fin := evs[n-2].Payload
	tp := terminal.Payload
	end := ms(t, terminal.Timestamp)
	require.GreaterOrEqual(t, ms(t, evs[n-3].Timestamp), lastStepEnd)
	require.Equal(t, int64(len(done)+len(exhausted)), num(t, fin["processed_steps_count"]))
	require.Equal(t, int64(len(done)), num(t, tp["completed_steps"]))
	require.Equal(t, int64(len(exhausted)), num(t, tp["failed_steps"]))
	require.Equal(t, totalSteps-int64(len(done)+len(exhausted)), num(t, tp["pending_steps"]))
	require.Equal(t, start, ms(t, tp["started_at"]))
	if len(exhausted) == 0 {
		require.Equal(t, EventTaskCompleted, terminal.Name, "task %d has no exhausted step", id)
		require.Equal(t, "complete", fin["final_status"])
		require.Equal(t, totalSteps, int64(len(done)))
		require.Equal(t, end, ms(t, tp["completed_at"]))
		require.Equal(t, float64(end-start)/1000, flt(t, tp["total_execution_duration"]))
	} else {
		require.Equal(t, EventTaskFailed, terminal.Name, "task %d has an exhausted step", id)
		require.Equal(t, "error", fin["final_status"])
		require.Nil(t, tp["completed_at"])
		require.Equal(t, float64(end-start)/1000, flt(t, tp["current_execution_duration"]))
		var errSteps []string
		for _, s := range tp["error_steps"].([]any) {
			errSteps = append(errSteps, s.(string))
		}
		require.ElementsMatch(t, exhausted, errSteps)
	}
}

// fixtureShapes reads the payload key order and JSON kinds per event name.
func payloadShape(t testing.TB, line []byte) (string, []string, []string) {
	t.Helper()
	var env struct {
		Name    string          `json:"name"`
		Payload json.RawMessage `json:"payload"`
	}
	require.NoError(t, json.Unmarshal(line, &env))
	d := json.NewDecoder(bytes.NewReader(env.Payload))
	d.UseNumber()
	_, err := d.Token() // {
	require.NoError(t, err)
	var keys, kinds []string
	for d.More() {
		k, err := d.Token()
		require.NoError(t, err)
		var v any
		require.NoError(t, d.Decode(&v))
		keys = append(keys, k.(string))
		kinds = append(kinds, jsonKind(v))
	}
	return env.Name, keys, kinds
}

func jsonKind(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		if isoMillis.MatchString(x) {
			return "time"
		}
		return "string"
	case json.Number:
		if strings.ContainsAny(x.String(), ".eE") {
			return "float"
		}
		return "int"
	case bool:
		return "bool"
	case []any:
		return "array"
	}
	return "object"
}

// TestShapesMatchFixture: for every event name of the fixture, generated
// payloads have the same keys, in the same order, with the same JSON kinds.
func TestShapesMatchFixture(t *testing.T) {
	raw := fixtures.NativeNDJSON
	type shape struct{ keys, kinds []string }
	want := map[string][]shape{}
	for _, line := range bytes.Split(bytes.TrimSpace(raw), []byte("\n")) {
		name, keys, kinds := payloadShape(t, line)
		s := shape{keys, kinds}
		if !slices.ContainsFunc(want[name], func(o shape) bool {
			return slices.Equal(o.keys, s.keys) && slices.Equal(o.kinds, s.kinds)
		}) {
			want[name] = append(want[name], s)
		}
	}
	b, _ := generate(t, stressConfig())
	seen := map[string]bool{}
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		name, keys, kinds := payloadShape(t, line)
		seen[name] = true
		shapes, ok := want[name]
		require.True(t, ok, "event %s is not in the fixture", name)
		match := slices.ContainsFunc(shapes, func(o shape) bool {
			return slices.Equal(o.keys, keys) && slices.Equal(o.kinds, kinds)
		})
		require.True(t, match, "%s: keys %v kinds %v differ from the fixture's %v", name, keys, kinds, shapes)
	}
	for name := range want {
		assert.True(t, seen[name], "fixture event %s never generated", name)
	}
}

func TestConcurrencyCap(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Tasks = 60
	cfg.Concurrency = 4
	cfg.TaskInterval = time.Millisecond
	b, _ := generate(t, cfg)
	inFlight, peak := 0, 0
	for _, e := range decodeStream(t, b) {
		switch e.Name {
		case EventTaskInitialize:
			inFlight++
		case EventTaskCompleted, EventTaskFailed:
			inFlight--
		}
		peak = max(peak, inFlight)
		require.LessOrEqual(t, inFlight, cfg.Concurrency)
	}
	assert.Equal(t, cfg.Concurrency, peak, "tasks run in parallel up to the cap")
}

func TestParallelStepsOverlap(t *testing.T) {
	b, _ := generate(t, DefaultConfig())
	running := map[string]int{}
	peak := 0
	for _, e := range decodeStream(t, b) {
		if e.Payload["task_id"] == nil {
			continue
		}
		task := e.Payload["task_id"].(json.Number).String()
		switch e.Name {
		case EventStepExecRequested:
			running[task]++
			peak = max(peak, running[task])
		case EventStepCompleted, EventStepFailed:
			running[task]--
		}
	}
	assert.GreaterOrEqual(t, peak, 3, "steps of one task run in parallel where the DAG allows")
}

func TestStopDrainsTasksInFlight(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Tasks = 0 // until stopped
	g, err := New(cfg)
	require.NoError(t, err)
	var b []byte
	for i := 0; ; i++ {
		if i == 2000 {
			g.Stop()
		}
		ev, ok := g.Next()
		if !ok {
			break
		}
		b = AppendNative(b, ev)
		b = append(b, '\n')
		require.Less(t, i, 100000, "a stopped generator ends")
	}
	s := recount(t, decodeStream(t, b))
	assert.Equal(t, s.Tasks, s.TasksCompleted+s.TasksFailed, "every started task ends")
	assert.Equal(t, s.Tasks, g.TasksStarted())
	assert.Equal(t, s.Tasks, g.TasksFinished())
	assert.Greater(t, s.Tasks, int64(cfg.Concurrency))
}

func TestTemplatesAndIDs(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Tasks = 5
	cfg.Templates = []string{"report_generation"}
	cfg.FirstTaskID = 1001
	cfg.FailureRate, cfg.FatalRate = 0, 0
	b, s := generate(t, cfg)
	assert.Equal(t, []int64{1001, 1002, 1003, 1004, 1005}, s.TaskIDs)
	assert.Equal(t, int64(1), s.ByName[EventHandlerRegistered])
	assert.Equal(t, int64(5*8), s.StepsCompleted)
	assert.Zero(t, s.TasksFailed)
	assert.Zero(t, s.Retries)
	events := decodeStream(t, b)
	for _, e := range events {
		if e.Name == EventStepExecRequested {
			require.GreaterOrEqual(t, num(t, e.Payload["step_id"]), int64(1000+10*1000+1))
		}
		if e.Name == EventViableSteps && num(t, e.Payload["step_count"]) == 3 {
			return // the three queries of report_generation are discovered together
		}
	}
	t.Fatal("no batch of three parallel steps")
}

func TestValidate(t *testing.T) {
	for name, mutate := range map[string]func(*Config){
		"Start":        func(c *Config) { c.Start = time.Time{} },
		"Tasks":        func(c *Config) { c.Tasks = -1 },
		"Concurrency":  func(c *Config) { c.Concurrency = -1 },
		"TaskInterval": func(c *Config) { c.TaskInterval = -time.Second },
		"FailureRate":  func(c *Config) { c.FailureRate = 1.5 },
		"FatalRate":    func(c *Config) { c.FatalRate = math.NaN() },
		"RetryLimit":   func(c *Config) { c.RetryLimit = 0 },
		"DBQueries":    func(c *Config) { c.DBQueries = -1 },
		"FirstTaskID":  func(c *Config) { c.FirstTaskID = 0 },
		"template":     func(c *Config) { c.Templates = []string{"nope"} },
	} {
		cfg := DefaultConfig()
		mutate(&cfg)
		_, err := New(cfg)
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), name)
	}
	require.NoError(t, DefaultConfig().Validate())
}

func TestEncodersAgree(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Tasks = 3
	g, err := New(cfg)
	require.NoError(t, err)
	ids := map[string]bool{}
	for {
		ev, ok := g.Next()
		if !ok {
			break
		}
		var native struct {
			Name      string         `json:"name"`
			Timestamp string         `json:"timestamp"`
			Payload   map[string]any `json:"payload"`
		}
		require.NoError(t, json.Unmarshal(AppendNative(nil, ev), &native))

		var flat map[string]any
		require.NoError(t, json.Unmarshal(AppendFlat(nil, ev), &flat))
		assert.Equal(t, native.Name, flat["name"])
		delete(flat, "name")
		assert.Equal(t, native.Payload, flat)

		var ce map[string]any
		require.NoError(t, json.Unmarshal(Encoder{Format: FormatCloudEvents}.Append(nil, ev), &ce))
		assert.Equal(t, "1.0", ce["specversion"])
		assert.Equal(t, "dev.tasker."+native.Name, ce["type"])
		assert.Equal(t, DefaultCloudEventsSource, ce["source"])
		assert.Equal(t, native.Timestamp, ce["time"])
		assert.Equal(t, native.Payload, ce["data"])
		id := ce["id"].(string)
		assert.Regexp(t, `^[0-9a-f]{32}$`, id)
		assert.False(t, ids[id], "CloudEvents ids are unique")
		ids[id] = true
	}
}

func TestJSONEscaping(t *testing.T) {
	s := "quote\" backslash\\ newline\n tab\t ctrl\x01 utf8 é \xff end"
	b := AppendObject(nil, []Field{{Key: "k\"", Val: Str(s)}, {Key: "f", Val: Float(2)}, {Key: "n", Val: Null()}})
	require.True(t, json.Valid(b), string(b))
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	assert.Equal(t, strings.ToValidUTF8(s, "\ufffd"), m["k\""])
	assert.Contains(t, string(b), `"f":2.0`, "whole floats stay floats")
	assert.Nil(t, m["n"])
}

// TestLogRecordNormalizes: records built in-process carry what the shared
// normalization needs.
func TestLogRecordNormalizes(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Tasks = 1
	g, err := New(cfg)
	require.NoError(t, err)
	lrs := plog.NewLogRecordSlice()
	for {
		ev, ok := g.Next()
		if !ok {
			break
		}
		lr := AppendLogRecord(lrs, ev)
		event.Normalize(lr, ev.Name, "", pcommon.NewTimestampFromTime(time.Now()))
		assert.Equal(t, pcommon.Timestamp(ev.Time*1e6), lr.Timestamp())
		if ev.TaskID != 0 {
			v, ok := lr.Attributes().Get(event.AttrTaskID)
			require.True(t, ok)
			assert.Equal(t, strconv.FormatInt(ev.TaskID, 10), v.Str())
			assert.Equal(t, event.TraceID("", v.Str()), lr.TraceID())
		}
	}
	assert.Equal(t, int(g.Stats().Events), lrs.Len())
	body := lrs.At(lrs.Len() - 1).Body().Map()
	v, _ := body.Get("total_execution_duration")
	assert.Equal(t, pcommon.ValueTypeDouble, v.Type())
}

func TestAppendTime(t *testing.T) {
	for _, ms := range []int64{0, 1, 951782400000, 951868800123, 1764099999999, 1764100000000, 4102444800000, 253402300799999, 253402300800000, -1} {
		want := time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
		assert.Equal(t, want, FormatTime(ms), ms)
	}
	for ms := int64(0); ms < 4102444800000; ms += 86399999 * 7 {
		require.Equal(t, time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z"), FormatTime(ms), ms)
	}
}

// TestStatsKeysCoverFixtureSummary: the summary has every key of the
// fixture's, with the same meaning (checked by TestStatsEqualRecount).
func TestStatsKeysCoverFixtureSummary(t *testing.T) {
	keys := func(v any) map[string]any {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, json.Unmarshal(b, &m))
		return m
	}
	_, stats := generate(t, DefaultConfig())
	got := keys(stats)
	for k := range keys(fixtures.NativeSummary()) {
		assert.Contains(t, got, k)
	}
}
