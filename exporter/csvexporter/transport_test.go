package csvexporter

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-tasker/otelcol-tasker/exporter/csvexporter/internal/metadata"
	"github.com/otelcol-tasker/otelcol-tasker/internal/flatten/flattentest"
	"github.com/otelcol-tasker/otelcol-tasker/internal/sink"
	"github.com/otelcol-tasker/otelcol-tasker/internal/sink/sinktest"
)

func TestRotationUnderConcurrentExports(t *testing.T) {
	dir := t.TempDir()
	cfg := createDefaultConfig().(*Config) // with the default async queue
	cfg.File.Path = filepath.Join(dir, "spans.csv")
	cfg.File.FlushThreshold = 100
	cfg.File.FlushInterval = 10 * time.Millisecond
	cfg.File.Rotation = sink.RotationConfig{MaxMegabytes: 0.03, Compress: true}
	cfg.Traces.AttributeColumns = []string{"id"}

	e, err := NewFactory().CreateTraces(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, e.Start(context.Background(), componenttest.NewNopHost()))

	const writers, calls, perCall = 6, 30, 20
	sinktest.ConsumeConcurrently(writers, calls, func(w, c int) error {
		td := ptrace.NewTraces()
		spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
		for i := range perCall {
			s := spans.AppendEmpty()
			s.SetName("step \"x\",\nwith a line break")
			s.Attributes().PutStr("id", fmt.Sprintf("%d-%d-%d", w, c, i))
		}
		return e.ConsumeTraces(context.Background(), td)
	})
	require.NoError(t, e.Shutdown(context.Background()))

	l, err := newLayout(cfg, 0)
	require.NoError(t, err)
	files := sinktest.ReadDirFiles(t, dir)
	require.Greater(t, len(files), 3, "rotated several times")
	seen := map[string]bool{}
	for name, data := range files {
		require.True(t, bytes.HasPrefix(data, l.header), "%s starts with the header", name)
		_, rows := readCSV(t, bytes.NewReader(data), ',')
		for _, row := range rows {
			require.Equal(t, "step \"x\",\nwith a line break", row["name"])
			id := row["label_id"]
			require.False(t, seen[id], "duplicate %s", id)
			seen[id] = true
		}
	}
	assert.Len(t, seen, writers*calls*perCall, "no record lost")
}

func TestShutdownWritesEverything(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spans.csv")
	cfg := fileConfig(path)
	cfg.File.FlushInterval = time.Hour
	cfg.File.FlushThreshold = 1 << 30
	e, err := NewFactory().CreateTraces(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, e.Start(context.Background(), componenttest.NewNopHost()))
	td := flattentest.Traces(1000)
	require.NoError(t, e.ConsumeTraces(context.Background(), td))
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, 1, bytes.Count(raw, []byte("\n")), "only the header so far")
	require.NoError(t, e.Shutdown(context.Background()))
	_, rows := readCSVFile(t, path)
	assert.Len(t, rows, td.SpanCount())
}

func TestColumnsChangeAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "events.csv")
	cfg := fileConfig(path)
	export(t, cfg, flattentest.Logs(2))
	export(t, cfg, flattentest.Logs(3))
	_, rows := readCSVFile(t, path)
	assert.Len(t, rows, 5, "same columns: appended under the one header")

	cfg.Logs.Columns = []string{"timestamp", "body"}
	export(t, cfg, flattentest.Logs(1))
	header, rows := readCSVFile(t, path)
	assert.Equal(t, []string{"timestamp", "body"}, header)
	assert.Len(t, rows, 1)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 2, "the file with the old columns was rotated aside")
}

// httpConfig posts to endpoint, retrying quickly, without the async queue.
func httpConfig(endpoint string) *Config {
	cfg := createDefaultConfig().(*Config)
	sinktest.UseHTTP(cfg.Delivery(), endpoint)
	return cfg
}

func parseCSVBody(body []byte) ([]map[string]string, error) {
	all, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("no header")
	}
	col := -1
	for i, h := range all[0] {
		if h == "attributes" {
			col = i
		}
	}
	var out []map[string]string
	for _, rec := range all[1:] {
		var attrs map[string]any
		if err := json.Unmarshal([]byte(rec[col]), &attrs); err != nil {
			return nil, err
		}
		m := map[string]string{}
		for k, v := range attrs {
			if s, ok := v.(string); ok {
				m[k] = s
			}
		}
		out = append(out, m)
	}
	return out, nil
}

func TestConsumeContract(t *testing.T) {
	sinktest.CheckConsumeContract(t, NewFactory(), func(endpoint string) component.Config { return httpConfig(endpoint) }, parseCSVBody)
}

func TestHTTPRetriesHeadersAndCompression(t *testing.T) {
	rc := sinktest.NewRecorder(t, true, http.StatusServiceUnavailable, http.StatusBadGateway)

	cfg := httpConfig(rc.URL + "/ingest/{signal}")
	cfg.ClientConfig.Headers = configopaque.MapList{{Name: "X-Api-Key", Value: "k1"}}
	cfg.ClientConfig.Compression = configcompression.TypeGzip
	ld := flattentest.Logs(4)
	export(t, cfg, ld)

	reqs := rc.Requests()
	require.Len(t, reqs, 3, "503, 502, then success")
	for _, r := range reqs {
		assert.Equal(t, "/ingest/logs", r.Path)
		assert.Equal(t, "text/csv; charset=utf-8; header=present", r.Header.Get("Content-Type"))
		assert.Equal(t, "k1", r.Header.Get("X-Api-Key"))
		assert.Equal(t, "gzip", r.Header.Get("Content-Encoding"))
		zr, err := gzip.NewReader(bytes.NewReader(r.Body))
		require.NoError(t, err)
		plain, err := io.ReadAll(zr)
		require.NoError(t, err)
		header, rows := readCSV(t, bytes.NewReader(plain), ',')
		assert.Equal(t, "timestamp", header[0], "each request starts with the header row")
		assert.Len(t, rows, ld.LogRecordCount())
	}
}
