package sink

import (
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// HelperOptions are the exporterhelper options every exporter built on a
// sink uses: its lifecycle, the user's retry and queue settings, and no
// exporterhelper timeout (the HTTP client applies `timeout` to each request;
// file writes cannot be cancelled, so no second timeout is layered on top).
func (e *Exporter) HelperOptions(retry configretry.BackOffConfig, queue configoptional.Optional[exporterhelper.QueueBatchConfig]) []exporterhelper.Option {
	return []exporterhelper.Option{
		exporterhelper.WithStart(e.Start),
		exporterhelper.WithShutdown(e.Shutdown),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{Timeout: 0}),
		exporterhelper.WithRetry(retry),
		exporterhelper.WithQueue(queue),
	}
}
