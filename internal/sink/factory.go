package sink

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/otelcol-tasker/otelcol-tasker/internal/flatten"
)

// Delivery points at the settings every exporter built on a sink has in its
// config: where records go (a file or an HTTP endpoint) and how exports are
// queued and retried. The fields stay declared in each exporter's Config (so
// that their keys and validation paths are the component's own); the config
// hands them over through its Delivery method.
type Delivery struct {
	File  *Config
	HTTP  *confighttp.ClientConfig
	Queue *configoptional.Optional[exporterhelper.QueueBatchConfig]
	Retry *configretry.BackOffConfig
}

// Deliverer is implemented by the configs of exporters built on a sink.
type Deliverer interface {
	Delivery() Delivery
}

// DefaultHTTPTimeout bounds each HTTP request.
const DefaultHTTPTimeout = 30 * time.Second

// SetDefaults fills d with the defaults both exporters share: the file
// defaults of NewDefaultConfig, an HTTP client with a 30 s timeout, the
// default sending queue and retry.
func (d Delivery) SetDefaults() {
	*d.File = NewDefaultConfig()
	*d.HTTP = confighttp.NewDefaultClientConfig()
	d.HTTP.Timeout = DefaultHTTPTimeout
	*d.Queue = configoptional.Some(exporterhelper.NewDefaultQueueConfig())
	*d.Retry = configretry.NewDefaultBackOffConfig()
}

// Check validates the destination: exactly one of path (or the per-signal
// paths) and endpoint, and file settings that make sense.
func (d Delivery) Check() error {
	return errors.Join(d.File.ValidateDestination(d.HTTP.Endpoint), d.File.Check())
}

// Format is what an exporter adds to the sink: how one signal's records are
// encoded.
type Format struct {
	// ContentType of HTTP request bodies.
	ContentType string
	// Encoding resolves the encoding of signal s for cfg: a constructor of
	// encoders (they are pooled) and the header written at the top of every
	// new file and HTTP body (nil for none).
	Encoding func(cfg component.Config, set exporter.Settings, s flatten.Signal) (newEncoder func() Encoder, header []byte, err error)
}

// NewFactory is the factory of an exporter built on a sink: its traces,
// metrics and logs exporters are wired to exporterhelper the same way.
// createDefaultConfig must return a config that implements Deliverer.
func NewFactory(typ component.Type, createDefaultConfig component.CreateDefaultConfigFunc, f Format, traces, metrics, logs component.StabilityLevel) exporter.Factory {
	return exporter.NewFactory(typ, createDefaultConfig,
		exporter.WithTraces(func(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Traces, error) {
			e, err := f.newExporter(cfg, set, flatten.Traces)
			if err != nil {
				return nil, err
			}
			return exporterhelper.NewTraces(ctx, set, cfg, e.PushTraces, helperOptions(e, cfg)...)
		}, traces),
		exporter.WithMetrics(func(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Metrics, error) {
			e, err := f.newExporter(cfg, set, flatten.Metrics)
			if err != nil {
				return nil, err
			}
			return exporterhelper.NewMetrics(ctx, set, cfg, e.PushMetrics, helperOptions(e, cfg)...)
		}, metrics),
		exporter.WithLogs(func(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
			e, err := f.newExporter(cfg, set, flatten.Logs)
			if err != nil {
				return nil, err
			}
			return exporterhelper.NewLogs(ctx, set, cfg, e.PushLogs, helperOptions(e, cfg)...)
		}, logs),
	)
}

func (f Format) newExporter(cfg component.Config, set exporter.Settings, s flatten.Signal) (*Exporter, error) {
	newEncoder, header, err := f.Encoding(cfg, set, s)
	if err != nil {
		return nil, err
	}
	d := cfg.(Deliverer).Delivery()
	return NewExporter(Settings{
		Signal:      s.String(),
		File:        d.File,
		HTTP:        d.HTTP,
		ContentType: f.ContentType,
		Header:      header,
		Telemetry:   set.TelemetrySettings,
	}, newEncoder), nil
}

// helperOptions are the exporterhelper options: the sink's lifecycle, the
// user's retry and queue settings, and no exporterhelper timeout (the HTTP
// client applies `timeout` to each request; file writes cannot be
// cancelled, so no second timeout is layered on top).
func helperOptions(e *Exporter, cfg component.Config) []exporterhelper.Option {
	d := cfg.(Deliverer).Delivery()
	return []exporterhelper.Option{
		exporterhelper.WithStart(e.Start),
		exporterhelper.WithShutdown(e.Shutdown),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{Timeout: 0}),
		exporterhelper.WithRetry(*d.Retry),
		exporterhelper.WithQueue(*d.Queue),
	}
}
