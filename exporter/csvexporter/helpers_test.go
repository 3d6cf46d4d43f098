package csvexporter

import (
	"context"
	"encoding/csv"
	"encoding/hex"
	"io"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-tasker/otelcol-tasker/exporter/csvexporter/internal/metadata"
)

// fileConfig is a default config writing to path, without the async queue
// so that rows keep the order of the calls.
func fileConfig(path string) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.File.Path = path
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	return cfg
}

// export runs a real exporter from the factory over data, then shuts it down.
func export(t testing.TB, cfg *Config, data ...any) {
	t.Helper()
	f := NewFactory()
	set := exportertest.NewNopSettings(metadata.Type)
	set.ID = component.NewIDWithName(metadata.Type, "audit")
	ctx := context.Background()
	var start, shutdown func() error
	var consume func(any) error
	switch data[0].(type) {
	case ptrace.Traces:
		e, err := f.CreateTraces(ctx, set, cfg)
		require.NoError(t, err)
		start = func() error { return e.Start(ctx, componenttest.NewNopHost()) }
		consume = func(d any) error { return e.ConsumeTraces(ctx, d.(ptrace.Traces)) }
		shutdown = func() error { return e.Shutdown(ctx) }
	case pmetric.Metrics:
		e, err := f.CreateMetrics(ctx, set, cfg)
		require.NoError(t, err)
		start = func() error { return e.Start(ctx, componenttest.NewNopHost()) }
		consume = func(d any) error { return e.ConsumeMetrics(ctx, d.(pmetric.Metrics)) }
		shutdown = func() error { return e.Shutdown(ctx) }
	case plog.Logs:
		e, err := f.CreateLogs(ctx, set, cfg)
		require.NoError(t, err)
		start = func() error { return e.Start(ctx, componenttest.NewNopHost()) }
		consume = func(d any) error { return e.ConsumeLogs(ctx, d.(plog.Logs)) }
		shutdown = func() error { return e.Shutdown(ctx) }
	}
	require.NoError(t, start())
	for _, d := range data {
		require.NoError(t, consume(d))
	}
	require.NoError(t, shutdown())
}

// readCSV parses r with encoding/csv (which also checks that every row has
// the header's number of cells) and returns rows as header->cell maps.
func readCSV(t testing.TB, r io.Reader, sep rune) (header []string, rows []map[string]string) {
	t.Helper()
	cr := csv.NewReader(r)
	cr.Comma = sep
	all, err := cr.ReadAll()
	require.NoError(t, err)
	require.NotEmpty(t, all)
	header = all[0]
	for _, rec := range all[1:] {
		require.Len(t, rec, len(header))
		row := make(map[string]string, len(rec))
		for i, h := range header {
			row[h] = rec[i]
		}
		rows = append(rows, row)
	}
	return header, rows
}

func readCSVFile(t testing.TB, path string) ([]string, []map[string]string) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	return readCSV(t, f, ',')
}

func assertTime(t testing.TB, want pcommon.Timestamp, got, field string) {
	t.Helper()
	if want == 0 {
		assert.Empty(t, got, field)
		return
	}
	tm, err := time.Parse(time.RFC3339Nano, got)
	require.NoError(t, err, field)
	assert.True(t, want.AsTime().Equal(tm), "%s: want %s got %s", field, want.AsTime(), tm)
}

func hexID(b []byte) string {
	for _, c := range b {
		if c != 0 {
			return hex.EncodeToString(b)
		}
	}
	return ""
}
