package taskerevents

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelcol-tasker/otelcol-tasker/internal/fixtures"
	"github.com/otelcol-tasker/otelcol-tasker/receiver/taskerevents/internal/metadata"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, ok := fixtures.ByName(name)
	if !ok {
		t.Fatalf("no fixture named %s", name)
	}
	return b
}

func fixtureLines(t testing.TB, name string) [][]byte {
	t.Helper()
	var lines [][]byte
	sc := bufio.NewScanner(bytes.NewReader(readFixture(t, name)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if l := bytes.TrimSpace(sc.Bytes()); len(l) > 0 {
			lines = append(lines, append([]byte(nil), l...))
		}
	}
	require.NoError(t, sc.Err())
	return lines
}

// jsonArray joins JSON documents into one JSON array.
func jsonArray(docs [][]byte) []byte {
	return append(append([]byte("["), bytes.Join(docs, []byte(",\n"))...), ']')
}

type summary struct {
	Tasks   int            `json:"tasks"`
	Events  int            `json:"events"`
	TaskIDs []int          `json:"task_ids"`
	ByName  map[string]int `json:"by_name"`
}

func readSummary(t *testing.T) summary {
	var s summary
	require.NoError(t, json.Unmarshal(readFixture(t, "sample-native.summary.json"), &s))
	return s
}

func testConfig() *Config {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.ServerConfig.NetAddr.Endpoint = "127.0.0.1:0"
	return cfg
}

// startReceiver runs a receiver on a free loopback port until the test ends.
func startReceiver(t testing.TB, cfg *Config, next consumer.Logs) *eventsReceiver {
	t.Helper()
	return startReceiverWithHost(t, cfg, next, componenttest.NewNopHost())
}

func startReceiverWithHost(t testing.TB, cfg *Config, next consumer.Logs, host component.Host) *eventsReceiver {
	t.Helper()
	require.NoError(t, cfg.Validate())
	set := receivertest.NewNopSettings(metadata.Type)
	r, err := newReceiver(cfg, set, next)
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), host))
	t.Cleanup(func() { require.NoError(t, r.Shutdown(context.Background())) })
	return r
}

func (r *eventsReceiver) url(path string) string {
	return "http://" + r.addr.String() + path
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// errorText is the "error" member of a JSON error answer.
func (r response) errorText(t *testing.T) string {
	var e struct {
		Error string `json:"error"`
	}
	require.NoError(t, json.Unmarshal(r.body, &e), "body %s", r.body)
	return e.Error
}

func (r response) accepted(t *testing.T) int {
	var a struct {
		Accepted *int `json:"accepted"`
	}
	require.NoError(t, json.Unmarshal(r.body, &a), "body %s", r.body)
	require.NotNil(t, a.Accepted, "body %s", r.body)
	return *a.Accepted
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

func do(t testing.TB, method, url string, body []byte, headers map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	require.NoError(t, err)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := httpClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func post(t testing.TB, r *eventsReceiver, contentType string, body []byte) response {
	t.Helper()
	return do(t, http.MethodPost, r.url(r.cfg.Path), body, map[string]string{"Content-Type": contentType})
}

// records flattens everything a sink got, with the service name of each record.
type rec struct {
	service string
	lr      plog.LogRecord
}

func sinkRecords(sink *consumertest.LogsSink) []rec {
	var out []rec
	for _, ld := range sink.AllLogs() {
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			rl := ld.ResourceLogs().At(i)
			svc, _ := rl.Resource().Attributes().Get("service.name")
			for j := 0; j < rl.ScopeLogs().Len(); j++ {
				lrs := rl.ScopeLogs().At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					out = append(out, rec{service: svc.AsString(), lr: lrs.At(k)})
				}
			}
		}
	}
	return out
}

func receiverSettings() receiver.Settings { return receivertest.NewNopSettings(metadata.Type) }
