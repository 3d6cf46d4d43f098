package csvexporter

import (
	"encoding/csv"
	"io"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-tasker/otelcol-tasker/internal/sink/sinktest"
)

// fileConfig is a default config writing to path, without the async queue
// so that rows keep the order of the calls.
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
