package jsonexporter

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
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

func TestHTTPRetriesUntilSuccess(t *testing.T) {
	rc := sinktest.NewRecorder(t, false, http.StatusServiceUnavailable, http.StatusServiceUnavailable)

	td := flattentest.Traces(3)
	export(t, httpConfig(rc.URL+"/v1/{signal}"), td)

	reqs := rc.Requests()
	require.Len(t, reqs, 3, "two 503s, success on the third try")
	for _, r := range reqs {
		assert.Equal(t, "/v1/traces", r.Path)
		assert.Equal(t, "application/x-ndjson", r.Header.Get("Content-Type"))
		assert.Equal(t, reqs[0].Body, r.Body, "every retry sends the same body")
	}
	assert.Len(t, readNDJSON(t, bytes.NewReader(reqs[2].Body)), td.SpanCount())
}

func TestHTTPPermanentErrorIsNotRetried(t *testing.T) {
	rc := sinktest.NewRecorder(t, false, http.StatusBadRequest)

	f := NewFactory()
	e, err := f.CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), httpConfig(rc.URL))
	require.NoError(t, err)
	require.NoError(t, e.Start(context.Background(), componenttest.NewNopHost()))
	err = e.ConsumeLogs(context.Background(), flattentest.Logs(2))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err))
	assert.ErrorContains(t, err, "HTTP 400")
	require.NoError(t, e.Shutdown(context.Background()))
	assert.Len(t, rc.Requests(), 1)
}

func TestHTTPHeadersAndCompression(t *testing.T) {
	rc := sinktest.NewRecorder(t, false)

	cfg := httpConfig(rc.URL)
	cfg.ClientConfig.Headers = configopaque.MapList{{Name: "Authorization", Value: "Bearer s3cret"}}
	cfg.ClientConfig.Compression = configcompression.TypeGzip
	md := flattentest.Metrics(2)
	export(t, cfg, md)

	reqs := rc.Requests()
	require.Len(t, reqs, 1)
	r := reqs[0]
	assert.Equal(t, "Bearer s3cret", r.Header.Get("Authorization"))
	assert.Equal(t, "gzip", r.Header.Get("Content-Encoding"))
	zr, err := gzip.NewReader(bytes.NewReader(r.Body))
	require.NoError(t, err)
	plain, err := io.ReadAll(zr)
	require.NoError(t, err)
	assert.Len(t, readNDJSON(t, bytes.NewReader(plain)), md.DataPointCount())
}
