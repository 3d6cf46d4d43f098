package jsonexporter

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"math"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-tasker/otelcol-tasker/internal/sink/sinktest"
)

// fileConfig is a default config writing to path, without the async queue
// so that records keep the order of the calls.
func fileConfig(path string) *Config {
	cfg := createDefaultConfig().(*Config)
	sinktest.UseFile(cfg.Delivery(), path)
	return cfg
}

// export runs a real exporter from the factory over data (ptrace.Traces,
// pmetric.Metrics or plog.Logs), then shuts it down.
func export(t testing.TB, cfg *Config, data ...any) {
	t.Helper()
	sinktest.Export(t, NewFactory(), cfg, data...)
}

// readNDJSON parses every line of r as one JSON object, numbers kept exact.
func readNDJSON(t testing.TB, r io.Reader) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		out = append(out, decode(t, sc.Bytes()))
	}
	require.NoError(t, sc.Err())
	return out
}

func readNDJSONFile(t testing.TB, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	return readNDJSON(t, f)
}

func decode(t testing.TB, b []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	require.NoError(t, d.Decode(&m), "line %s", b)
	return m
}

// canonical is v as encoding/json would write it and read it back: the
// independent reference the exporter's output is compared with.
func canonical(t testing.TB, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var out any
	require.NoError(t, d.Decode(&out))
	return out
}

func assertTime(t testing.TB, want pcommon.Timestamp, got any, field string) {
	t.Helper()
	if want == 0 {
		assert.Nil(t, got, field)
		return
	}
	s, ok := got.(string)
	require.True(t, ok, "%s is %T", field, got)
	tm, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err, field)
	assert.True(t, want.AsTime().Equal(tm), "%s: want %s got %s", field, want.AsTime(), tm)
}

func assertFloat(t testing.TB, want float64, got any, field string) {
	t.Helper()
	n, ok := got.(json.Number)
	require.True(t, ok, "%s is %T (%v)", field, got, got)
	f, err := n.Float64()
	require.NoError(t, err)
	assert.Equal(t, want, f, field)
}

func nan() float64         { return math.NaN() }
func inf(sign int) float64 { return math.Inf(sign) }
