// Package logfmtexporter is the worked example of docs/EXTENDING.md: an
// exporter of one's own, written on the packages the json and csv exporters
// share. internal/flatten turns pdata into flat records (one per span, data
// point or event) and names their fields; internal/sink delivers whole
// records to a file (rotated), stdout or an HTTP endpoint, behind the
// collector's queue and retry. This exporter only decides how a record is
// spelled: one logfmt line, `key=value` pairs.
package logfmtexporter // import "github.com/otelcol-tasker/otelcol-tasker/examples/logfmtexporter"

import (
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/otelcol-tasker/otelcol-tasker/internal/flatten"
	"github.com/otelcol-tasker/otelcol-tasker/internal/sink"
)

// typeStr is the component type, the key under `exporters:` in a config.
// (A component of the distribution generates it, with its stability, from
// metadata.yaml with mdatagen; see exporter/jsonexporter.)
var typeStr = component.MustNewType("logfmt")

// NewFactory creates the factory that builder-config.yaml's `import:` names.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(typeStr, createDefaultConfig,
		sink.FactoryOptions(newExporter, component.StabilityLevelDevelopment,
			component.StabilityLevelDevelopment, component.StabilityLevelDevelopment)...)
}

func createDefaultConfig() component.Config {
	client := confighttp.NewDefaultClientConfig()
	client.Timeout = 30 * time.Second
	return &Config{
		File:         sink.NewDefaultConfig(),
		ClientConfig: client,
		QueueConfig:  configoptional.Some(exporterhelper.NewDefaultQueueConfig()),
		RetryConfig:  configretry.NewDefaultBackOffConfig(),
	}
}

// newExporter builds the exporter of one signal: the fields to write, and
// an encoder per batch (sink pools them).
func newExporter(c component.Config, set exporter.Settings, s flatten.Signal) (*sink.Exporter, error) {
	cfg := c.(*Config)
	cols, err := flatten.Select(s, cfg.Include, nil, nil, false)
	if err != nil {
		return nil, err
	}
	return sink.NewExporter(sink.Settings{
		Signal:      s.String(),
		File:        &cfg.File,
		HTTP:        &cfg.ClientConfig,
		ContentType: "text/plain; charset=utf-8",
		Telemetry:   set.TelemetrySettings,
	}, func() sink.Encoder { return &encoder{cols: cols} }), nil
}
