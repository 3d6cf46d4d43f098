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
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
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
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range calls {
				td := ptrace.NewTraces()
				spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
				for i := range perCall {
					s := spans.AppendEmpty()
					s.SetName("step \"x\",\nwith a line break")
					s.Attributes().PutStr("id", fmt.Sprintf("%d-%d-%d", w, c, i))
				}
				for e.ConsumeTraces(context.Background(), td) != nil {
					time.Sleep(time.Millisecond) // queue full: try again
				}
			}
		}()
	}
	wg.Wait()
	require.NoError(t, e.Shutdown(context.Background()))

	l, err := newLayout(cfg, 0)
	require.NoError(t, err)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Greater(t, len(entries), 3, "rotated several times")
	seen := map[string]bool{}
	for _, ent := range entries {
		f, err := os.Open(filepath.Join(dir, ent.Name()))
		require.NoError(t, err)
		var r io.Reader = f
		if strings.HasSuffix(ent.Name(), ".gz") {
			zr, err := gzip.NewReader(f)
			require.NoError(t, err)
			r = zr
		}
		data, err := io.ReadAll(r)
		require.NoError(t, err)
		f.Close()
		require.True(t, bytes.HasPrefix(data, l.header), "%s starts with the header", ent.Name())
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

type recorder struct {
	mu       sync.Mutex
	statuses []int
	reqs     []*http.Request
	bodies   [][]byte
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.reqs = append(rc.reqs, r)
	rc.bodies = append(rc.bodies, body)
	status := http.StatusOK
	if len(rc.statuses) > 0 {
		status, rc.statuses = rc.statuses[0], rc.statuses[1:]
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "0")
	}
	w.WriteHeader(status)
}

func TestHTTPRetriesHeadersAndCompression(t *testing.T) {
	rc := &recorder{statuses: []int{http.StatusServiceUnavailable, http.StatusBadGateway}}
	srv := httptest.NewServer(rc)
	defer srv.Close()

	cfg := httpConfig(srv.URL + "/ingest/{signal}")
	cfg.ClientConfig.Headers = configopaque.MapList{{Name: "X-Api-Key", Value: "k1"}}
	cfg.ClientConfig.Compression = configcompression.TypeGzip
	ld := flattentest.Logs(4)
	export(t, cfg, ld)

	require.Len(t, rc.reqs, 3, "503, 502, then success")
	for i, r := range rc.reqs {
		assert.Equal(t, "/ingest/logs", r.URL.Path)
		assert.Equal(t, "text/csv; charset=utf-8; header=present", r.Header.Get("Content-Type"))
		assert.Equal(t, "k1", r.Header.Get("X-Api-Key"))
		assert.Equal(t, "gzip", r.Header.Get("Content-Encoding"))
		zr, err := gzip.NewReader(bytes.NewReader(rc.bodies[i]))
		require.NoError(t, err)
		plain, err := io.ReadAll(zr)
		require.NoError(t, err)
		header, rows := readCSV(t, bytes.NewReader(plain), ',')
		assert.Equal(t, "timestamp", header[0], "each request starts with the header row")
		assert.Len(t, rows, ld.LogRecordCount())
	}
}
