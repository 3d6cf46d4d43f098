// The rules every simulated task's events keep, checked event by event.

package sim

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

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
