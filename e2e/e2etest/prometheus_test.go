//go:build e2e

package e2etest

import (
	"fmt"
	"math"
	"testing"
)

// TestPrometheusScrape: Prometheus scrapes the collector's exporter.
func TestPrometheusScrape(t *testing.T) {
	prom := env(t, "E2E_PROMETHEUS")
	if v := waitScalar(t, prom, `up{job="otelcol-tasker"}`, 1); v != 1 {
		t.Errorf(`up{job="otelcol-tasker"} = %v, want 1`, v)
	}
}

// TestPrometheusCounts: the counters and gauges Prometheus holds after the
// run equal the simulator's counts exactly.
func TestPrometheusCounts(t *testing.T) {
	s := loadSummary(t)
	prom := env(t, "E2E_PROMETHEUS")
	// The last task ends a moment before the router's last flush and the
	// last scrape: wait for the total first, then compare everything.
	waitScalar(t, prom, `sum(tasker_tasks_total)`, float64(s.Tasks))
	waitScalar(t, prom, `sum(tasker_events_total)`, float64(s.Events))

	checks := []struct {
		query string
		want  int
	}{
		{`sum(tasker_tasks_total)`, s.Tasks},
		{`sum(tasker_tasks_total{status="completed"})`, s.TasksCompleted},
		{`sum(tasker_tasks_total{status="failed"})`, s.TasksFailed},
		{`sum(tasker_steps_total)`, s.StepAttempts},
		{`sum(tasker_steps_total{status="completed"})`, s.StepsCompleted},
		{`sum(tasker_steps_total{status="failed"})`, s.StepsFailedAttempts},
		{`sum(tasker_step_retries_total)`, s.Retries},
		{`sum(tasker_events_total)`, s.Events},
		{`sum(tasker_workflow_duration_seconds_count)`, s.Tasks},
		{`sum(tasker_step_duration_seconds_count)`, s.StepAttempts},
		{`sum(tasker_db_query_duration_seconds_count)`, s.DBQueries},
		{`sum(tasker_step_backoff_seconds_count)`, s.ByName["observability.step.backoff"]},
		{`sum(tasker_tasks_enqueued_total)`, s.ByName["observability.task.enqueue"]},
		{`sum(tasker_tasks_active)`, 0},
		{`sum(tasker_steps_active)`, 0},
	}
	for _, c := range checks {
		v, err := promScalar(prom, c.query)
		if err != nil {
			t.Error(err)
			continue
		}
		if v != float64(c.want) {
			t.Errorf("%s = %v, want %d", c.query, v, c.want)
		}
	}

	// Every event name counted as often as the simulator sent it.
	res, err := promQuery(prom, `sum by (event) (tasker_events_total)`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, r := range res {
		v, err := sampleValue(r)
		if err != nil {
			t.Fatal(err)
		}
		got[r.Metric["event"]] = int(v)
	}
	if d := multisetDiff(got, s.ByName); d != "" {
		t.Errorf("tasker_events_total by event differs from the simulator's counts: %s", d)
	}

	// The summed durations: the simulator's mean is rounded to the
	// millisecond, so the sum may differ by half a millisecond per task.
	sum, err := promScalar(prom, `sum(tasker_workflow_duration_seconds_sum)`)
	if err != nil {
		t.Fatal(err)
	}
	want := s.WorkflowDuration.Mean * float64(s.WorkflowDuration.Count)
	if tol := 0.0005*float64(s.WorkflowDuration.Count) + 1e-6; math.Abs(sum-want) > tol {
		t.Errorf("sum(tasker_workflow_duration_seconds_sum) = %v, the simulator's durations add up to %v (±%v)", sum, want, tol)
	}
}

// TestPrometheusRate: the counters grew over many scrapes, so rate() and
// histogram_quantile() over rates work, and the p95 lands where the
// simulator's durations are.
func TestPrometheusRate(t *testing.T) {
	s := loadSummary(t)
	prom := env(t, "E2E_PROMETHEUS")
	waitScalar(t, prom, `sum(tasker_tasks_total)`, float64(s.Tasks))

	// Prometheus saw the total change at many scrapes, not jump once.
	changes, err := promScalar(prom, `changes(sum(tasker_tasks_total)[5m:1s])`)
	if err != nil {
		t.Fatal(err)
	}
	if changes < 5 {
		t.Errorf("sum(tasker_tasks_total) changed at %v scrapes, want at least 5 for rate() to mean anything", changes)
	}
	rate, err := promScalar(prom, `sum(rate(tasker_tasks_total[5m]))`)
	if err != nil {
		t.Fatal(err)
	}
	if !(rate > 0) {
		t.Errorf("sum(rate(tasker_tasks_total[5m])) = %v, want > 0", rate)
	}

	// histogram_quantile interpolates linearly inside the bucket where the
	// 95th percentile of the observations falls. The rate covers the tasks
	// that ended between the first and the last scrape of each series, a
	// subset of the simulator's tasks, so their p95 lies between the
	// simulator's min and max; the estimate can then be anywhere in the
	// buckets holding those, i.e. within [lower bound of min's bucket,
	// upper bound of max's bucket]. Nothing tighter holds for a window.
	q := `histogram_quantile(0.95, sum by (le) (rate(tasker_workflow_duration_seconds_bucket[5m])))`
	p95, err := promScalar(prom, q)
	if err != nil {
		t.Fatal(err)
	}
	lo, _ := bucketBounds(s.WorkflowDuration.Min)
	_, hi := bucketBounds(s.WorkflowDuration.Max)
	if math.IsNaN(p95) || p95 < lo || p95 > hi {
		t.Errorf("%s = %v, want within [%v, %v] (simulator: min %v, max %v)", q, p95, lo, hi, s.WorkflowDuration.Min, s.WorkflowDuration.Max)
	}

	// Over the cumulative buckets (every task, not a window), Prometheus'
	// rank 0.95×count falls in the bucket of the simulator's nearest-rank
	// p95, exactly: the estimate must lie within that bucket's bounds.
	q = `histogram_quantile(0.95, sum by (le) (tasker_workflow_duration_seconds_bucket))`
	all, err := promScalar(prom, q)
	if err != nil {
		t.Fatal(err)
	}
	lo, hi = bucketBounds(s.WorkflowDuration.P95)
	if math.IsNaN(all) || all < lo || all > hi {
		t.Errorf("%s = %v, want within the bucket [%v, %v] of the simulator's p95 %v", q, all, lo, hi, s.WorkflowDuration.P95)
	}
	t.Logf("p95 over rate: %.3fs, over all tasks: %.3fs, simulator's p95 %.3fs (min %.3f, max %.3f); %v changes, %.1f tasks/s",
		p95, all, s.WorkflowDuration.P95, s.WorkflowDuration.Min, s.WorkflowDuration.Max, changes, rate)
}

// TestCollectorTelemetry: the collector's own metrics (job otelcol) agree:
// every span reached Jaeger and the files, nothing was refused, failed or
// left unfinished.
func TestCollectorTelemetry(t *testing.T) {
	s := loadSummary(t)
	prom := env(t, "E2E_PROMETHEUS")
	trs := taskTraces(t)
	spans := 0
	for _, tr := range trs {
		spans += len(tr.Spans)
	}
	// The self-telemetry names may or may not carry a _total suffix.
	m := func(name string) string { return fmt.Sprintf(`{__name__=~"%s(_total)?"`, name) }
	sent := m("otelcol_exporter_sent_spans") + `,job="otelcol",exporter="otlp_grpc/jaeger"}`
	waitScalar(t, prom, `sum(`+sent+`)`, float64(spans))
	checks := []struct {
		query string
		want  int
	}{
		{`up{job="otelcol"}`, 1},
		{`sum(` + sent + `)`, spans},
		{`sum(` + m("otelcol_receiver_accepted_log_records") + `,job="otelcol"})`, s.Events},
		{`sum(` + m("otelcol_receiver_refused_log_records") + `,job="otelcol"}) or vector(0)`, 0},
		{`sum(` + m("otelcol_receiver_failed_log_records") + `,job="otelcol"}) or vector(0)`, 0},
		{`sum(` + m("otelcol_exporter_send_failed_spans") + `,job="otelcol"}) or vector(0)`, 0},
		{`sum(` + m("otelcol_exporter_send_failed_log_records") + `,job="otelcol"}) or vector(0)`, 0},
		{`sum(` + m("otelcol_exporter_send_failed_metric_points") + `,job="otelcol"}) or vector(0)`, 0},
		{`sum(` + m("otelcol_eventrouter_spans_unfinished") + `,job="otelcol"}) or vector(0)`, 0},
		{`sum(` + m("otelcol_eventrouter_spans_emitted") + `,job="otelcol"})`, spans},
		{`sum(` + m("otelcol_eventrouter_spans_pending") + `,job="otelcol"})`, 0},
	}
	for _, c := range checks {
		v, err := promScalar(prom, c.query)
		if err != nil {
			t.Error(err)
			continue
		}
		if v != float64(c.want) {
			t.Errorf("%s = %v, want %d", c.query, v, c.want)
		}
	}
}
