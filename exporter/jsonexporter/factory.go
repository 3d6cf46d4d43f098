package jsonexporter // import "github.com/otelcol-tasker/otelcol-tasker/exporter/jsonexporter"

import (
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/otelcol-tasker/otelcol-tasker/exporter/jsonexporter/internal/metadata"
	"github.com/otelcol-tasker/otelcol-tasker/internal/flatten"
	"github.com/otelcol-tasker/otelcol-tasker/internal/sink"
)

const contentType = "application/x-ndjson"

// NewFactory creates a factory for the json exporter.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(
		metadata.Type,
		createDefaultConfig,
		sink.FactoryOptions(newExporter, metadata.TracesStability, metadata.MetricsStability, metadata.LogsStability)...,
	)
}

func createDefaultConfig() component.Config {
	client := confighttp.NewDefaultClientConfig()
	client.Timeout = 30 * time.Second
	return &Config{
		File:            sink.NewDefaultConfig(),
		ClientConfig:    client,
		QueueConfig:     configoptional.Some(exporterhelper.NewDefaultQueueConfig()),
		RetryConfig:     configretry.NewDefaultBackOffConfig(),
		TimeFormat:      flatten.TimeRFC3339,
		AttributePrefix: "attr.",
	}
}

func newExporter(c component.Config, set exporter.Settings, s flatten.Signal) (*sink.Exporter, error) {
	cfg := c.(*Config)
	l, err := newLayout(cfg, s, set.ID.String(), set.BuildInfo.Version)
	if err != nil {
		return nil, err
	}
	return sink.NewExporter(sink.Settings{
		Signal:      s.String(),
		File:        &cfg.File,
		HTTP:        &cfg.ClientConfig,
		ContentType: contentType,
		Telemetry:   set.TelemetrySettings,
	}, func() sink.Encoder { return newEncoder(l) }), nil
}
