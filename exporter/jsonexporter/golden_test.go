package jsonexporter

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"path/filepath"
	"testing"

	"go.opentelemetry.io/collector/component"

	"github.com/otelcol-tasker/otelcol-tasker/internal/sink/sinktest"
)

var update = flag.Bool("update", false, "rewrite the expected files of the golden tests")

// TestGolden writes each golden case (internal/sink/sinktest/testdata/golden)
// with the default config and compares the NDJSON with
// testdata/golden/<case>/<signal>.jsonl.
func TestGolden(t *testing.T) {
	sinktest.Golden(t, NewFactory(), func(path string) component.Config { return fileConfig(path) },
		filepath.Join("testdata", "golden"), sinktest.GoldenFormat{Ext: "jsonl", Records: ndjsonRecords}, *update)
}

// ndjsonRecords counts the lines of out, each of which must be one JSON object.
func ndjsonRecords(out []byte) (int, error) {
	n := 0
	for line := range bytes.Lines(out) {
		if !bytes.HasSuffix(line, []byte("\n")) {
			return n, fmt.Errorf("line %d is not terminated", n+1)
		}
		if !json.Valid(line) || line[0] != '{' {
			return n, fmt.Errorf("line %d is not a JSON object: %s", n+1, line)
		}
		n++
	}
	return n, nil
}
