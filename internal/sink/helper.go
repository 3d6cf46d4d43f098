package sink

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/otelcol-tasker/otelcol-tasker/internal/flatten"
)

// Delivery is implemented by the configs of exporters built on a sink: the
// user's retry and queue settings.
type Delivery interface {
	Delivery() (configretry.BackOffConfig, configoptional.Optional[exporterhelper.QueueBatchConfig])
}

// BuildFunc makes the sink exporter of one signal for a config that
// implements Delivery.
type BuildFunc func(cfg component.Config, set exporter.Settings, s flatten.Signal) (*Exporter, error)

// FactoryOptions registers the traces, metrics and logs exporters of a
// component built on a sink, all wired to exporterhelper the same way.
func FactoryOptions(build BuildFunc, traces, metrics, logs component.StabilityLevel) []exporter.FactoryOption {
	return []exporter.FactoryOption{
		exporter.WithTraces(func(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Traces, error) {
			e, err := build(cfg, set, flatten.Traces)
			if err != nil {
				return nil, err
			}
			return exporterhelper.NewTraces(ctx, set, cfg, e.PushTraces, helperOptions(e, cfg)...)
		}, traces),
		exporter.WithMetrics(func(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Metrics, error) {
			e, err := build(cfg, set, flatten.Metrics)
			if err != nil {
				return nil, err
			}
			return exporterhelper.NewMetrics(ctx, set, cfg, e.PushMetrics, helperOptions(e, cfg)...)
		}, metrics),
		exporter.WithLogs(func(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
			e, err := build(cfg, set, flatten.Logs)
			if err != nil {
				return nil, err
			}
			return exporterhelper.NewLogs(ctx, set, cfg, e.PushLogs, helperOptions(e, cfg)...)
		}, logs),
	}
}

// helperOptions are the exporterhelper options: the sink's lifecycle, the
// user's retry and queue settings, and no exporterhelper timeout (the HTTP
// client applies `timeout` to each request; file writes cannot be
// cancelled, so no second timeout is layered on top).
func helperOptions(e *Exporter, cfg component.Config) []exporterhelper.Option {
	retry, queue := cfg.(Delivery).Delivery()
	return []exporterhelper.Option{
		exporterhelper.WithStart(e.Start),
		exporterhelper.WithShutdown(e.Shutdown),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{Timeout: 0}),
		exporterhelper.WithRetry(retry),
		exporterhelper.WithQueue(queue),
	}
}
