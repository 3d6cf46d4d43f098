//go:build e2e

package e2etest

// Small HTTP clients for Jaeger's and Prometheus' query APIs, shared by the
// end-to-end tests.

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"
)

// --- Jaeger ---------------------------------------------------------------

type jaegerTag struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value any    `json:"value"`
}

type jaegerSpan struct {
	TraceID       string `json:"traceID"`
	SpanID        string `json:"spanID"`
	OperationName string `json:"operationName"`
	References    []struct {
		RefType string `json:"refType"`
		TraceID string `json:"traceID"`
		SpanID  string `json:"spanID"`
	} `json:"references"`
	Tags      []jaegerTag `json:"tags"`
	ProcessID string      `json:"processID"`
}

type jaegerTrace struct {
	TraceID   string       `json:"traceID"`
	Spans     []jaegerSpan `json:"spans"`
	Processes map[string]struct {
		ServiceName string `json:"serviceName"`
	} `json:"processes"`
}

type jaegerResponse struct {
	Data   []jaegerTrace `json:"data"`
	Errors []struct {
		Msg string `json:"msg"`
	} `json:"errors"`
}

func (s jaegerSpan) tag(k string) (any, bool) {
	for _, tg := range s.Tags {
		if tg.Key == k {
			return tg.Value, true
		}
	}
	return nil, false
}

func (s jaegerSpan) tagStr(k string) string {
	v, _ := s.tag(k)
	return str(v)
}

func (s jaegerSpan) isError() bool {
	v, ok := s.tag("error")
	return ok && v == true
}

// parent is the span's CHILD_OF reference ("" for a root).
func (s jaegerSpan) parent() string {
	for _, r := range s.References {
		if r.RefType == "CHILD_OF" {
			return r.SpanID
		}
	}
	return ""
}

// depth is the number of levels of the span tree (a lone root is 1).
func depth(tr jaegerTrace) int {
	parent := map[string]string{}
	for _, s := range tr.Spans {
		parent[s.SpanID] = s.parent()
	}
	best := 0
	for _, s := range tr.Spans {
		d, id := 0, s.SpanID
		for id != "" && d <= len(tr.Spans) {
			d++
			id = parent[id]
		}
		best = max(best, d)
	}
	return best
}

// searchWindow is the time range of Jaeger searches: the run's event time,
// with a margin, in microseconds.
func searchWindow(s simSummary) (start, end string) {
	from := s.FirstTimestamp.Add(-time.Hour)
	if s.FirstTimestamp.IsZero() {
		from = time.Now().Add(-24 * time.Hour)
	}
	return strconv.FormatInt(from.UnixMicro(), 10), strconv.FormatInt(time.Now().Add(time.Hour).UnixMicro(), 10)
}

// findTraces runs /api/traces for service tasker, optionally with tags.
func findTraces(jaeger string, s simSummary, tags map[string]string, limit int) ([]jaegerTrace, error) {
	start, end := searchWindow(s)
	q := url.Values{"service": {"tasker"}, "limit": {strconv.Itoa(limit)}, "start": {start}, "end": {end}}
	if len(tags) > 0 {
		b, _ := json.Marshal(tags)
		q.Set("tags", string(b))
	}
	var res jaegerResponse
	if err := getJSON(jaeger+"/api/traces?"+q.Encode(), &res); err != nil {
		return nil, err
	}
	if len(res.Errors) > 0 {
		return nil, fmt.Errorf("jaeger: %s", res.Errors[0].Msg)
	}
	return res.Data, nil
}

// traceByID fetches one trace with /api/traces/{id}.
func traceByID(jaeger, id string) (jaegerTrace, error) {
	var res jaegerResponse
	if err := getJSON(jaeger+"/api/traces/"+id, &res); err != nil {
		return jaegerTrace{}, err
	}
	if len(res.Data) != 1 {
		return jaegerTrace{}, fmt.Errorf("/api/traces/%s: %d traces", id, len(res.Data))
	}
	return res.Data[0], nil
}

var (
	tracesOnce sync.Once
	traces     map[string]jaegerTrace // by task id
	tracesErrs []string
)

// taskTraces finds the trace of every task the simulator reported by the
// tasker.task.id tag, once. Each task must have exactly one trace.
func taskTraces(t testing.TB) map[string]jaegerTrace {
	t.Helper()
	s := loadSummary(t)
	jaeger := env(t, "E2E_JAEGER")
	tracesOnce.Do(func() {
		// Jaeger receives the spans a moment after the files get them: wait
		// until its search sees a trace per task (the count only; the
		// per-task searches below are what the tests check).
		eventually(func() bool {
			trs, err := findTraces(jaeger, s, nil, 2*s.Tasks+100)
			return err == nil && len(trs) >= s.Tasks
		})
		traces = make(map[string]jaegerTrace, s.Tasks)
		var mu sync.Mutex
		sem := make(chan struct{}, 8)
		var wg sync.WaitGroup
		for _, n := range s.TaskIDs {
			id := strconv.FormatInt(n, 10)
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				trs, err := findTraces(jaeger, s, map[string]string{"tasker.task.id": id}, 20)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					tracesErrs = append(tracesErrs, fmt.Sprintf("task %s: %v", id, err))
				case len(trs) != 1:
					tracesErrs = append(tracesErrs, fmt.Sprintf("task %s: %d traces carry its id, want exactly 1", id, len(trs)))
				default:
					traces[id] = trs[0]
				}
			}()
		}
		wg.Wait()
		sort.Strings(tracesErrs)
	})
	if len(tracesErrs) > 0 {
		t.Fatalf("%d of %d tasks have no single trace in Jaeger; first: %s", len(tracesErrs), s.Tasks, tracesErrs[0])
	}
	return traces
}

// --- Prometheus -----------------------------------------------------------

type promSample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func promQuery(prom, q string) ([]promSample, error) {
	var res struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string       `json:"resultType"`
			Result     []promSample `json:"result"`
		} `json:"data"`
	}
	if err := getJSON(prom+"/api/v1/query?"+url.Values{"query": {q}}.Encode(), &res); err != nil {
		return nil, err
	}
	if res.Status != "success" {
		return nil, fmt.Errorf("%s: %s", q, res.Error)
	}
	return res.Data.Result, nil
}

func sampleValue(s promSample) (float64, error) {
	v, _ := s.Value[1].(string)
	return strconv.ParseFloat(v, 64)
}

// promScalar runs a query that must return exactly one sample.
func promScalar(prom, q string) (float64, error) {
	res, err := promQuery(prom, q)
	if err != nil {
		return 0, err
	}
	if len(res) != 1 {
		return 0, fmt.Errorf("%s: %d results, want 1", q, len(res))
	}
	return sampleValue(res[0])
}

// waitScalar waits until query q returns want (or settle passed) and
// returns its last value.
func waitScalar(t testing.TB, prom, q string, want float64) float64 {
	t.Helper()
	var v float64
	var err error
	eventually(func() bool {
		v, err = promScalar(prom, q)
		return err == nil && v == want
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// defaultBuckets are the router's default histogram_buckets (seconds).
var defaultBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// bucketBounds returns the bounds (lo, hi] of the default histogram bucket
// holding v; Prometheus buckets are upper-inclusive (le).
func bucketBounds(v float64) (lo, hi float64) {
	for _, b := range defaultBuckets {
		if v <= b {
			return lo, b
		}
		lo = b
	}
	return lo, math.Inf(1)
}
