//go:build e2e

package e2etest

import "testing"

// TestPrometheusWaitingTime: the waiting-time histograms count what the
// simulator did. Every task is enqueued once and then starts; every step is
// made viable once (workflow.viable_steps_discovered) and its first attempt
// starts, while its retries follow step.retry_requested without a new
// viability, so they wait for nothing.
func TestPrometheusWaitingTime(t *testing.T) {
	s := loadSummary(t)
	prom := env(t, "E2E_PROMETHEUS")
	for _, c := range []struct {
		query string
		want  int
	}{
		{`sum(tasker_task_queue_duration_seconds_count)`, s.Tasks},
		{`sum(tasker_step_wait_duration_seconds_count)`, s.StepAttempts - s.Retries},
	} {
		if v := waitScalar(t, prom, c.query, float64(c.want)); v != float64(c.want) {
			t.Errorf("%s = %v, want %d", c.query, v, c.want)
		}
	}
	// the simulator enqueues a task 50 to 130 ms before it starts
	q := `sum(tasker_task_queue_duration_seconds_sum) / sum(tasker_task_queue_duration_seconds_count)`
	v, err := promScalar(prom, q)
	if err != nil {
		t.Fatal(err)
	}
	if v < 0.05 || v > 0.13 {
		t.Errorf("%s = %v s, want within the simulator's 0.05..0.13 s", q, v)
	}
}
