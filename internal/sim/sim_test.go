package sim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
