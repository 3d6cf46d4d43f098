package sinktest

import (
	"embed"
	"os"
	"path"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-tasker/otelcol-tasker/internal/fixtures"
)

// goldenInputs are the pdata batches (OTLP JSON) both exporters' golden
// tests feed in: testdata/golden/<case>/{traces,metrics,logs}.json.
// testdata/golden/README.md says what each case holds and how it was made.
//
//go:embed testdata/golden
var goldenInputs embed.FS

// PlantedMarker is in every sensitive value the redaction case plants; it
// must not reach any output.
const PlantedMarker = "s3cr3t-"

// GoldenFormat is what the golden tests need to know of an exporter's output.
type GoldenFormat struct {
	// Ext is the ending of the expected files: <case>/<signal>.<Ext>.
	Ext string
	// Records counts the records in an output file, so that a golden file
	// that lost records cannot be accepted by -update unnoticed.
	Records func(out []byte) (int, error)
}

// Golden runs every golden case through the factory's exporter (the config
// newFileConfig returns for an output path: the exporter's defaults writing
// to that file) and compares each signal's output file byte for byte with
// expectedDir/<case>/<signal>.<ext>. With update, it rewrites the expected
// files instead. Every case also checks that each input record is one output
// record and that none of the fixture's planted secrets is in any output.
func Golden(t *testing.T, f exporter.Factory, newFileConfig func(path string) component.Config, expectedDir string, format GoldenFormat, update bool) {
	cases, err := goldenInputs.ReadDir("testdata/golden")
	require.NoError(t, err)
	seen := map[string]bool{}
	for _, c := range cases {
		if !c.IsDir() {
			continue
		}
		seen[c.Name()] = true
		t.Run(c.Name(), func(t *testing.T) {
			for _, signal := range []string{"traces", "metrics", "logs"} {
				input, err := goldenInputs.ReadFile(path.Join("testdata/golden", c.Name(), signal+".json"))
				if err != nil {
					continue // the case has no input for this signal
				}
				data, records := decodeInput(t, signal, input)
				out := filepath.Join(t.TempDir(), signal+"."+format.Ext)
				Export(t, f, newFileConfig(out), data)
				got, err := os.ReadFile(out)
				require.NoError(t, err)

				n, err := format.Records(got)
				require.NoError(t, err, "%s: output does not parse", signal)
				assert.Equal(t, records, n, "%s: one output record per input record", signal)
				for _, s := range append(fixtures.Secrets(), PlantedMarker) {
					assert.NotContains(t, string(got), s, "%s: a planted secret reached the output", signal)
				}

				expected := filepath.Join(expectedDir, c.Name(), signal+"."+format.Ext)
				if update {
					require.NoError(t, os.MkdirAll(filepath.Dir(expected), 0o755))
					require.NoError(t, os.WriteFile(expected, got, 0o644))
					continue
				}
				want, err := os.ReadFile(expected)
				require.NoError(t, err, "no golden file: run the test with -update")
				assert.Equal(t, string(want), string(got), "%s differs from %s (run with -update to accept)", signal, expected)
			}
		})
	}
	// An expected case whose input is gone is stale.
	entries, err := os.ReadDir(expectedDir)
	require.NoError(t, err)
	for _, e := range entries {
		if e.IsDir() && !seen[e.Name()] {
			t.Errorf("%s has no input case in internal/sink/sinktest/testdata/golden: remove it", filepath.Join(expectedDir, e.Name()))
		}
	}
}

// decodeInput returns the pdata of one input file and its record count
// (spans, data points or log records).
func decodeInput(t *testing.T, signal string, b []byte) (any, int) {
	switch signal {
	case "traces":
		td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(b)
		require.NoError(t, err)
		return td, td.SpanCount()
	case "metrics":
		md, err := (&pmetric.JSONUnmarshaler{}).UnmarshalMetrics(b)
		require.NoError(t, err)
		return md, md.DataPointCount()
	default:
		ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(b)
		require.NoError(t, err)
		return ld, ld.LogRecordCount()
	}
}
