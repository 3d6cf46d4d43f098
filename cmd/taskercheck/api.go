package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// apiClient fetches JSON from one server's HTTP API.
type apiClient struct {
	base string // URL without a trailing slash
	http *http.Client
}

func newAPIClient(base string, timeout time.Duration) apiClient {
	return apiClient{base: strings.TrimRight(base, "/"), http: &http.Client{Timeout: timeout}}
}

// getJSON GETs path with query q and decodes the answer into out. An answer
// other than 200 is an error quoting the start of its body.
func (c apiClient) getJSON(ctx context.Context, path string, q url.Values, out any) error {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %.200s", u, resp.Status, strings.TrimSpace(string(body)))
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("GET %s: not the expected JSON: %w", u, err)
	}
	return nil
}

// --- Prometheus HTTP API (/api/v1) -----------------------------------------

type prometheus struct {
	apiClient
	at time.Time // every query is evaluated at this one instant
}

type promSample struct {
	Labels map[string]string
	Value  float64
}

// query runs an instant query at p.at and returns its vector.
func (p prometheus) query(ctx context.Context, q string) ([]promSample, error) {
	var res struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	v := url.Values{"query": {q}, "time": {strconv.FormatFloat(float64(p.at.UnixMilli())/1000, 'f', 3, 64)}}
	if err := p.getJSON(ctx, "/api/v1/query", v, &res); err != nil {
		return nil, err
	}
	if res.Status != "success" {
		return nil, fmt.Errorf("query %s: %s", q, res.Error)
	}
	if res.Data.ResultType != "vector" {
		return nil, fmt.Errorf("query %s: a %s, want a vector", q, res.Data.ResultType)
	}
	out := make([]promSample, 0, len(res.Data.Result))
	for _, r := range res.Data.Result {
		s, _ := r.Value[1].(string)
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("query %s: value %q: %w", q, s, err)
		}
		out = append(out, promSample{Labels: r.Metric, Value: f})
	}
	return out, nil
}

// scalar runs a query expected to return at most one sample; ok is false
// when it returned none.
func (p prometheus) scalar(ctx context.Context, q string) (v float64, ok bool, err error) {
	res, err := p.query(ctx, q)
	if err != nil || len(res) == 0 {
		return 0, false, err
	}
	if len(res) > 1 {
		return 0, false, fmt.Errorf("query %s: %d samples, want one", q, len(res))
	}
	return res[0].Value, true, nil
}

type buildInfo struct {
	Version string `json:"version"`
}

func (p prometheus) buildInfo(ctx context.Context) (buildInfo, error) {
	var res struct {
		Data buildInfo `json:"data"`
	}
	err := p.getJSON(ctx, "/api/v1/status/buildinfo", nil, &res)
	return res.Data, err
}

type exemplar struct {
	SeriesLabels map[string]string
	TraceID      string
	SpanID       string
	Value        float64
}

// exemplars returns the exemplars of the series q selects between from and
// p.at.
func (p prometheus) exemplars(ctx context.Context, q string, from time.Time) ([]exemplar, error) {
	var res struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   []struct {
			SeriesLabels map[string]string `json:"seriesLabels"`
			Exemplars    []struct {
				Labels map[string]string `json:"labels"`
				Value  string            `json:"value"`
			} `json:"exemplars"`
		} `json:"data"`
	}
	v := url.Values{"query": {q}, "start": {strconv.FormatInt(from.Unix(), 10)}, "end": {strconv.FormatInt(p.at.Unix()+1, 10)}}
	if err := p.getJSON(ctx, "/api/v1/query_exemplars", v, &res); err != nil {
		return nil, err
	}
	if res.Status != "success" {
		return nil, fmt.Errorf("exemplars of %s: %s", q, res.Error)
	}
	var out []exemplar
	for _, s := range res.Data {
		for _, e := range s.Exemplars {
			f, _ := strconv.ParseFloat(e.Value, 64)
			out = append(out, exemplar{SeriesLabels: s.SeriesLabels, TraceID: e.Labels["trace_id"], SpanID: e.Labels["span_id"], Value: f})
		}
	}
	return out, nil
}

type promAlert struct {
	Labels map[string]string `json:"labels"`
	State  string            `json:"state"`
}

func (p prometheus) alerts(ctx context.Context) ([]promAlert, error) {
	var res struct {
		Data struct {
			Alerts []promAlert `json:"alerts"`
		} `json:"data"`
	}
	err := p.getJSON(ctx, "/api/v1/alerts", nil, &res)
	return res.Data.Alerts, err
}

// alertRules returns the names of the alerting rules Prometheus loaded.
func (p prometheus) alertRules(ctx context.Context) ([]string, error) {
	var res struct {
		Data struct {
			Groups []struct {
				Rules []struct {
					Name string `json:"name"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	if err := p.getJSON(ctx, "/api/v1/rules", url.Values{"type": {"alert"}}, &res); err != nil {
		return nil, err
	}
	var out []string
	for _, g := range res.Data.Groups {
		for _, r := range g.Rules {
			out = append(out, r.Name)
		}
	}
	return out, nil
}

// --- Jaeger query API (/api, as the Jaeger UI uses it) ---------------------

type jaeger struct{ apiClient }

type jaegerSpan struct {
	TraceID       string `json:"traceID"`
	SpanID        string `json:"spanID"`
	OperationName string `json:"operationName"`
	References    []struct {
		RefType string `json:"refType"`
		SpanID  string `json:"spanID"`
	} `json:"references"`
	StartTime int64 `json:"startTime"` // µs
	Duration  int64 `json:"duration"`  // µs
}

// parent is the span's CHILD_OF reference, "" for a root.
func (s jaegerSpan) parent() string {
	for _, r := range s.References {
		if r.RefType == "CHILD_OF" {
			return r.SpanID
		}
	}
	return ""
}

type jaegerTrace struct {
	TraceID string       `json:"traceID"`
	Spans   []jaegerSpan `json:"spans"`
}

type jaegerAnswer[T any] struct {
	Data   T `json:"data"`
	Errors []struct {
		Msg string `json:"msg"`
	} `json:"errors"`
}

func jaegerGet[T any](ctx context.Context, j jaeger, path string, q url.Values) (T, error) {
	var res jaegerAnswer[T]
	if err := j.getJSON(ctx, path, q, &res); err != nil {
		return res.Data, err
	}
	if len(res.Errors) > 0 {
		return res.Data, fmt.Errorf("%s: %s", path, res.Errors[0].Msg)
	}
	return res.Data, nil
}

func (j jaeger) services(ctx context.Context) ([]string, error) {
	return jaegerGet[[]string](ctx, j, "/api/services", nil)
}

// traces searches the traces of service with spans between from and to.
func (j jaeger) traces(ctx context.Context, service string, from, to time.Time, limit int) ([]jaegerTrace, error) {
	q := url.Values{
		"service": {service},
		"start":   {strconv.FormatInt(from.UnixMicro(), 10)},
		"end":     {strconv.FormatInt(to.UnixMicro(), 10)},
		"limit":   {strconv.Itoa(limit)},
	}
	return jaegerGet[[]jaegerTrace](ctx, j, "/api/traces", q)
}

// trace fetches one trace by id; found is false when Jaeger has none.
func (j jaeger) trace(ctx context.Context, id string) (tr jaegerTrace, found bool, err error) {
	trs, err := jaegerGet[[]jaegerTrace](ctx, j, "/api/traces/"+url.PathEscape(id), nil)
	if err != nil {
		if strings.Contains(err.Error(), "404") {
			return tr, false, nil
		}
		return tr, false, err
	}
	if len(trs) == 0 {
		return tr, false, nil
	}
	return trs[0], true, nil
}
