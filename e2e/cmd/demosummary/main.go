// Command demosummary prints a short summary of a `make demo` run, read back
// from Prometheus' HTTP API: tasks per second, failure rate, p95 task and
// step durations, retries, and a trace to open in Jaeger (from an exemplar).
//
//	demosummary -prometheus http://127.0.0.1:19090 -jaeger http://127.0.0.1:16686 -window 60s -at 1795654249
//
// The rates and quantiles are taken over -window ending at -at (Unix
// seconds; default now): the stretch of traffic that just ended.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"
)

func main() {
	prom := flag.String("prometheus", "http://127.0.0.1:19090", "Prometheus base URL")
	jaeger := flag.String("jaeger", "http://127.0.0.1:16686", "Jaeger query base URL (for the example trace link)")
	window := flag.Duration("window", time.Minute, "time range of rates and quantiles")
	at := flag.Int64("at", 0, "evaluation time in Unix seconds (0: now)")
	flag.Parse()
	when := time.Now()
	if *at > 0 {
		when = time.Unix(*at, 0)
	}
	if err := run(os.Stdout, *prom, *jaeger, *window, when); err != nil {
		fmt.Fprintln(os.Stderr, "demosummary:", err)
		os.Exit(1)
	}
}

var client = &http.Client{Timeout: 10 * time.Second}

func run(w io.Writer, prom, jaeger string, window time.Duration, at time.Time) error {
	r := fmt.Sprintf("%ds", max(int(window.Seconds()), 2))
	rows := []struct {
		label, query, format string
	}{
		{"tasks finished", `sum(tasker_tasks_total)`, "%.0f"},
		{"tasks failed", `sum(tasker_tasks_total{status="failed"}) or vector(0)`, "%.0f"},
		{"tasks/s", `sum(rate(tasker_tasks_total[` + r + `]))`, "%.1f"},
		{"failure rate", `(sum(rate(tasker_tasks_total{status="failed"}[` + r + `])) or vector(0)) / sum(rate(tasker_tasks_total[` + r + `]))`, "%.1f %%"},
		{"p95 task duration", `histogram_quantile(0.95, sum by (le) (rate(tasker_workflow_duration_seconds_bucket[` + r + `])))`, "%.3f s"},
		{"p95 step duration", `histogram_quantile(0.95, sum by (le) (rate(tasker_step_duration_seconds_bucket[` + r + `])))`, "%.3f s"},
		{"step attempts/s", `sum(rate(tasker_steps_total[` + r + `]))`, "%.1f"},
		{"retries/s", `sum(rate(tasker_step_retries_total[` + r + `])) or vector(0)`, "%.1f"},
		{"events/s", `sum(rate(tasker_events_total[` + r + `]))`, "%.0f"},
		{"tasks in flight", `sum(tasker_tasks_active)`, "%.0f"},
	}
	fmt.Fprintf(w, "Summary from Prometheus (rates over the %s of traffic up to %s):\n", r, at.Format(time.TimeOnly))
	for _, row := range rows {
		v, err := scalar(prom, row.query, at)
		if err != nil {
			return err
		}
		if row.label == "failure rate" {
			v *= 100
		}
		s := "n/a"
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			s = fmt.Sprintf(row.format, v)
		}
		fmt.Fprintf(w, "  %-20s %-12s %s\n", row.label, s, row.query)
	}
	if id, err := exemplarTrace(prom, window, at); err == nil && id != "" {
		fmt.Fprintf(w, "  %-20s %s/api/traces/%s\n", "a trace (exemplar)", jaeger, id)
	}
	return nil
}

func getJSON(u string, out any) error {
	resp, err := client.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", u, resp.Status, body)
	}
	return json.Unmarshal(body, out)
}

// scalar runs an instant query at time at; no result is NaN.
func scalar(prom, q string, at time.Time) (float64, error) {
	var res struct {
		Data struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	u := prom + "/api/v1/query?" + url.Values{"query": {q}, "time": {strconv.FormatInt(at.Unix(), 10)}}.Encode()
	if err := getJSON(u, &res); err != nil {
		return 0, err
	}
	if len(res.Data.Result) == 0 {
		return math.NaN(), nil
	}
	s, _ := res.Data.Result[0].Value[1].(string)
	return strconv.ParseFloat(s, 64)
}

// exemplarTrace returns the trace id of the latest exemplar of the workflow
// duration histogram.
func exemplarTrace(prom string, window time.Duration, at time.Time) (string, error) {
	var res struct {
		Data []struct {
			Exemplars []struct {
				Labels    map[string]string `json:"labels"`
				Timestamp float64           `json:"timestamp"`
			} `json:"exemplars"`
		} `json:"data"`
	}
	q := url.Values{
		"query": {"tasker_workflow_duration_seconds_bucket"},
		"start": {strconv.FormatInt(at.Add(-window-time.Minute).Unix(), 10)},
		"end":   {strconv.FormatInt(time.Now().Unix(), 10)},
	}
	if err := getJSON(prom+"/api/v1/query_exemplars?"+q.Encode(), &res); err != nil {
		return "", err
	}
	id, latest := "", 0.0
	for _, s := range res.Data {
		for _, e := range s.Exemplars {
			if e.Labels["trace_id"] != "" && e.Timestamp > latest {
				id, latest = e.Labels["trace_id"], e.Timestamp
			}
		}
	}
	return id, nil
}
