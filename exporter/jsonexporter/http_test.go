package jsonexporter

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exportertest"

	"github.com/otelcol-tasker/otelcol-tasker/exporter/jsonexporter/internal/metadata"
	"github.com/otelcol-tasker/otelcol-tasker/internal/flatten/flattentest"
	"github.com/otelcol-tasker/otelcol-tasker/internal/sink/sinktest"
)

// httpConfig posts to endpoint, retrying quickly, without the async queue.
func httpConfig(endpoint string) *Config {
	cfg := createDefaultConfig().(*Config)
	sinktest.UseHTTP(cfg.Delivery(), endpoint)
	return cfg
}

func parseNDJSON(body []byte) ([]map[string]string, error) {
	var out []map[string]string
	for _, line := range bytes.Split(bytes.TrimSpace(body), []byte("\n")) {
		var rec struct {
			Attributes map[string]any `json:"attributes"`
		}
		if err := json.Unmarshal(line, &rec); err != nil {
			return nil, err
		}
		attrs := map[string]string{}
		for k, v := range rec.Attributes {
			if s, ok := v.(string); ok {
				attrs[k] = s
			}
		}
		out = append(out, attrs)
	}
	return out, nil
}

func TestConsumeContract(t *testing.T) {
	sinktest.CheckConsumeContract(t, NewFactory(), func(endpoint string) component.Config { return httpConfig(endpoint) }, parseNDJSON)
}

type recordedRequest struct {
	path, contentType, encoding, auth string
	body                              []byte
}

// recorder answers with the given status codes in turn (then 200) and keeps
// every request.
type recorder struct {
	mu       sync.Mutex
	statuses []int
	reqs     []recordedRequest
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, recordedRequest{r.URL.Path, r.Header.Get("Content-Type"), r.Header.Get("Content-Encoding"), r.Header.Get("Authorization"), body})
	status := http.StatusOK
	if len(rc.statuses) > 0 {
		status, rc.statuses = rc.statuses[0], rc.statuses[1:]
	}
	rc.mu.Unlock()
	w.WriteHeader(status)
}

func TestHTTPRetriesUntilSuccess(t *testing.T) {
	rc := &recorder{statuses: []int{http.StatusServiceUnavailable, http.StatusServiceUnavailable}}
	srv := httptest.NewServer(rc)
	defer srv.Close()

	td := flattentest.Traces(3)
	export(t, httpConfig(srv.URL+"/v1/{signal}"), td)

	require.Len(t, rc.reqs, 3, "two 503s, success on the third try")
	for _, r := range rc.reqs {
		assert.Equal(t, "/v1/traces", r.path)
		assert.Equal(t, "application/x-ndjson", r.contentType)
		assert.Equal(t, rc.reqs[0].body, r.body, "every retry sends the same body")
	}
	assert.Len(t, readNDJSON(t, bytes.NewReader(rc.reqs[2].body)), td.SpanCount())
}

func TestHTTPPermanentErrorIsNotRetried(t *testing.T) {
	rc := &recorder{statuses: []int{http.StatusBadRequest}}
	srv := httptest.NewServer(rc)
	defer srv.Close()

	f := NewFactory()
	e, err := f.CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), httpConfig(srv.URL))
	require.NoError(t, err)
	require.NoError(t, e.Start(context.Background(), componenttest.NewNopHost()))
	err = e.ConsumeLogs(context.Background(), flattentest.Logs(2))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err))
	assert.ErrorContains(t, err, "HTTP 400")
	require.NoError(t, e.Shutdown(context.Background()))
	assert.Len(t, rc.reqs, 1)
}

func TestHTTPHeadersAndCompression(t *testing.T) {
	rc := &recorder{}
	srv := httptest.NewServer(rc)
	defer srv.Close()

	cfg := httpConfig(srv.URL)
	cfg.ClientConfig.Headers = configopaque.MapList{{Name: "Authorization", Value: "Bearer s3cret"}}
	cfg.ClientConfig.Compression = configcompression.TypeGzip
	md := flattentest.Metrics(2)
	export(t, cfg, md)

	require.Len(t, rc.reqs, 1)
	r := rc.reqs[0]
	assert.Equal(t, "Bearer s3cret", r.auth)
	assert.Equal(t, "gzip", r.encoding)
	zr, err := gzip.NewReader(bytes.NewReader(r.body))
	require.NoError(t, err)
	plain, err := io.ReadAll(zr)
	require.NoError(t, err)
	assert.Len(t, readNDJSON(t, bytes.NewReader(plain)), md.DataPointCount())
}
