package logfmtexporter // import "github.com/otelcol-tasker/otelcol-tasker/examples/logfmtexporter"

import (
	"errors"

	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/otelcol-tasker/otelcol-tasker/internal/flatten"
	"github.com/otelcol-tasker/otelcol-tasker/internal/sink"
)

// Config is the logfmt exporter's configuration. The destination keys
// (path, traces_path, ..., rotation, flush_*, or endpoint with every
// confighttp client key) and the delivery keys come from the shared
// packages, so they behave as in the json and csv exporters.
type Config struct {
	File         sink.Config                                              `mapstructure:",squash"`
	ClientConfig confighttp.ClientConfig                                  `mapstructure:",squash"`
	QueueConfig  configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	RetryConfig  configretry.BackOffConfig                                `mapstructure:"retry_on_failure"`

	// Include lists the fields to write, in order (default: each signal's
	// default fields, internal/flatten).
	Include []string `mapstructure:"include"`
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	return errors.Join(
		c.Delivery().Check(),
		flatten.ValidateNames("include", c.Include),
	)
}

// Delivery gives the destination, queue and retry settings to the shared
// wiring of sink.NewFactory.
func (c *Config) Delivery() sink.Delivery {
	return sink.Delivery{File: &c.File, HTTP: &c.ClientConfig, Queue: &c.QueueConfig, Retry: &c.RetryConfig}
}
