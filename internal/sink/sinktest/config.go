package sinktest

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pipeline"

	"github.com/otelcol-tasker/otelcol-tasker/internal/flatten"
	"github.com/otelcol-tasker/otelcol-tasker/internal/flatten/flattentest"
	"github.com/otelcol-tasker/otelcol-tasker/internal/sink"
)

// UseFile points d at the file path, without the async queue so that records
// keep the order of the calls.
func UseFile(d sink.Delivery, path string) {
	d.File.Path = path
	*d.Queue = configoptional.None[exporterhelper.QueueBatchConfig]()
}

// UseHTTP points d at endpoint, retrying quickly, without the async queue.
func UseHTTP(d sink.Delivery, endpoint string) {
	d.HTTP.Endpoint = endpoint
	*d.Queue = configoptional.None[exporterhelper.QueueBatchConfig]()
	d.Retry.InitialInterval = 5 * time.Millisecond
	d.Retry.MaxInterval = 20 * time.Millisecond
	d.Retry.MaxElapsedTime = 5 * time.Second
}

// CheckMisspelledKeyIsRefused checks that the factory's config refuses a key
// it does not have (the squashed confighttp config would let it through).
func CheckMisspelledKeyIsRefused(t *testing.T, f exporter.Factory) {
	cfg := f.CreateDefaultConfig().(confmap.Unmarshaler)
	conf := confmap.NewFromStringMap(map[string]any{"flush_intervall": "2s"})
	require.EqualError(t, cfg.Unmarshal(conf), "unknown configuration key(s): flush_intervall")
}

// CheckConsumeContract runs exportertest.CheckConsumeContract for every
// signal: the exporter posts to a ContractServer (endpoint: its URL +
// "/{signal}"), which parses the bodies back with parse.
func CheckConsumeContract(t *testing.T, f exporter.Factory, httpConfig func(endpoint string) component.Config, parse ParseFunc) {
	srv := NewContractServer(t, parse)
	for _, sig := range []pipeline.Signal{pipeline.SignalTraces, pipeline.SignalMetrics, pipeline.SignalLogs} {
		t.Run(sig.String(), func(t *testing.T) {
			exportertest.CheckConsumeContract(exportertest.CheckConsumeContractParams{
				T:                    t,
				NumberOfTestElements: 10,
				Signal:               sig,
				ExporterFactory:      f,
				ExporterConfig:       httpConfig(srv.URL + "/{signal}"),
				ReceiverFactory:      srv.ReceiverFactory(),
				ReceiverConfig:       srv.ReceiverFactory().CreateDefaultConfig(),
			})
		})
	}
}

// BenchmarkWorkflow pushes batches of batchLen workflow records of signal s
// (flattentest's Workflow data, marked read-only) through a real exporter
// (exporterhelper included) configured by cfg.
func BenchmarkWorkflow(b *testing.B, f exporter.Factory, cfg component.Config, s flatten.Signal, batchLen int) {
	var data any
	switch s {
	case flatten.Traces:
		td := flattentest.WorkflowTraces(batchLen)
		td.MarkReadOnly()
		data = td
	case flatten.Metrics:
		md := flattentest.WorkflowMetrics(batchLen)
		md.MarkReadOnly()
		data = md
	default:
		ld := flattentest.WorkflowLogs(batchLen)
		ld.MarkReadOnly()
		data = ld
	}
	BenchmarkExport(b, f, cfg, data, batchLen)
}

// LoadConfig returns the factory's default config with the section
// "<type>/<name>" (or "<type>" when name is "") of testdata/config.yaml
// decoded over it.
func LoadConfig(t *testing.T, f exporter.Factory, name string) component.Config {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	cfg := f.CreateDefaultConfig()
	sub, err := cm.Sub(component.NewIDWithName(f.Type(), name).String())
	require.NoError(t, err)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg
}
