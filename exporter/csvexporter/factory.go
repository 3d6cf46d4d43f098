package csvexporter // import "github.com/otelcol-tasker/otelcol-tasker/exporter/csvexporter"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/otelcol-tasker/otelcol-tasker/exporter/csvexporter/internal/metadata"
	"github.com/otelcol-tasker/otelcol-tasker/internal/flatten"
	"github.com/otelcol-tasker/otelcol-tasker/internal/sink"
)

const contentType = "text/csv; charset=utf-8; header=present"

// NewFactory creates a factory for the csv exporter.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(
		metadata.Type,
		createDefaultConfig,
		exporter.WithTraces(createTraces, metadata.TracesStability),
		exporter.WithMetrics(createMetrics, metadata.MetricsStability),
		exporter.WithLogs(createLogs, metadata.LogsStability),
	)
}

func createDefaultConfig() component.Config {
	client := confighttp.NewDefaultClientConfig()
	client.Timeout = 30 * time.Second
	return &Config{
		File:                  sink.NewDefaultConfig(),
		ClientConfig:          client,
		QueueConfig:           configoptional.Some(exporterhelper.NewDefaultQueueConfig()),
		RetryConfig:           configretry.NewDefaultBackOffConfig(),
		TimeFormat:            flatten.TimeRFC3339,
		Separator:             ",",
		EscapeFormulas:        true,
		AttributeColumnPrefix: "label_",
	}
}

func newExporter(cfg *Config, set exporter.Settings, s flatten.Signal) (*sink.Exporter, error) {
	l, err := newLayout(cfg, s)
	if err != nil {
		return nil, err
	}
	return sink.NewExporter(sink.Settings{
		Signal:      s.String(),
		File:        &cfg.File,
		HTTP:        &cfg.ClientConfig,
		ContentType: contentType,
		Header:      l.header,
		Telemetry:   set.TelemetrySettings,
	}, func() sink.Encoder { return newEncoder(l) }), nil
}

func createTraces(ctx context.Context, set exporter.Settings, c component.Config) (exporter.Traces, error) {
	cfg := c.(*Config)
	e, err := newExporter(cfg, set, flatten.Traces)
	if err != nil {
		return nil, err
	}
	return exporterhelper.NewTraces(ctx, set, cfg, e.PushTraces, e.HelperOptions(cfg.RetryConfig, cfg.QueueConfig)...)
}

func createMetrics(ctx context.Context, set exporter.Settings, c component.Config) (exporter.Metrics, error) {
	cfg := c.(*Config)
	e, err := newExporter(cfg, set, flatten.Metrics)
	if err != nil {
		return nil, err
	}
	return exporterhelper.NewMetrics(ctx, set, cfg, e.PushMetrics, e.HelperOptions(cfg.RetryConfig, cfg.QueueConfig)...)
}

func createLogs(ctx context.Context, set exporter.Settings, c component.Config) (exporter.Logs, error) {
	cfg := c.(*Config)
	e, err := newExporter(cfg, set, flatten.Logs)
	if err != nil {
		return nil, err
	}
	return exporterhelper.NewLogs(ctx, set, cfg, e.PushLogs, e.HelperOptions(cfg.RetryConfig, cfg.QueueConfig)...)
}
