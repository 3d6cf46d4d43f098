package csvexporter

import (
	"bytes"
	"encoding/csv"
	"flag"
	"path/filepath"
	"testing"

	"go.opentelemetry.io/collector/component"

	"github.com/otelcol-tasker/otelcol-tasker/internal/sink/sinktest"
)

var update = flag.Bool("update", false, "rewrite the expected files of the golden tests")

// TestGolden writes each golden case (internal/sink/sinktest/testdata/golden)
// with the default config and compares the CSV with
// testdata/golden/<case>/<signal>.csv.
func TestGolden(t *testing.T) {
	sinktest.Golden(t, NewFactory(), func(path string) component.Config { return fileConfig(path) },
		filepath.Join("testdata", "golden"), sinktest.GoldenFormat{Ext: "csv", Records: csvRecords}, *update)
}

// csvRecords counts the rows under the header; encoding/csv also checks
// that every row has the header's number of cells.
func csvRecords(out []byte) (int, error) {
	rows, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	return len(rows) - 1, nil
}
