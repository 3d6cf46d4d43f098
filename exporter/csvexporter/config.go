package csvexporter // import "github.com/otelcol-tasker/otelcol-tasker/exporter/csvexporter"

import (
	"errors"
	"fmt"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/otelcol-tasker/otelcol-tasker/internal/confstrict"
	"github.com/otelcol-tasker/otelcol-tasker/internal/flatten"
	"github.com/otelcol-tasker/otelcol-tasker/internal/sink"
)

// Config defines the csv exporter's configuration.
type Config struct {
	// File destination: path / traces_path / metrics_path / logs_path,
	// rotation, flush_interval, flush_threshold.
	File sink.Config `mapstructure:",squash"`
	// HTTP destination: endpoint, headers, tls, auth, compression, timeout, ...
	ClientConfig confighttp.ClientConfig                                  `mapstructure:",squash"`
	QueueConfig  configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	RetryConfig  configretry.BackOffConfig                                `mapstructure:"retry_on_failure"`

	// TimeFormat is rfc3339 (default) or unix_nano.
	TimeFormat flatten.TimeFormat `mapstructure:"time_format"`
	// Separator between cells: "," (default), ";", "|" or "\t".
	Separator string `mapstructure:"separator"`
	// EscapeFormulas prefixes text cells that a spreadsheet would run as a
	// formula with a single quote (default true).
	EscapeFormulas bool `mapstructure:"escape_formulas"`
	// AttributeColumnPrefix names attribute columns: prefix + key (default "label_").
	AttributeColumnPrefix string `mapstructure:"attribute_column_prefix"`
	// FieldMapping renames header cells of fields: {timestamp: collected_at}.
	FieldMapping map[string]string `mapstructure:"field_mapping"`

	Traces  SignalConfig `mapstructure:"traces"`
	Metrics SignalConfig `mapstructure:"metrics"`
	Logs    SignalConfig `mapstructure:"logs"`
}

// SignalConfig chooses the columns of one signal's files.
type SignalConfig struct {
	// Columns lists fields in order (default: the signal's default fields).
	Columns []string `mapstructure:"columns"`
	// AttributeColumns are attribute keys that get a column of their own;
	// they are left out of the attributes JSON column.
	AttributeColumns []string `mapstructure:"attribute_columns"`
}

var _ component.Config = (*Config)(nil)

var separators = map[string]byte{",": ',', ";": ';', "|": '|', "\t": '\t'}

// Validate checks the configuration.
func (c *Config) Validate() error {
	var errs []error
	if err := c.Delivery().Check(); err != nil {
		errs = append(errs, err)
	}
	if _, ok := separators[c.Separator]; !ok {
		errs = append(errs, fmt.Errorf(`separator %q is not supported: use ",", ";", "|" or "\t"`, c.Separator))
	}
	if err := flatten.ValidateMapping("field_mapping", c.FieldMapping); err != nil {
		errs = append(errs, err)
	}
	for _, s := range flatten.Signals {
		if _, err := newLayout(c, s); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (c *Config) signal(s flatten.Signal) SignalConfig {
	switch s {
	case flatten.Traces:
		return c.Traces
	case flatten.Metrics:
		return c.Metrics
	default:
		return c.Logs
	}
}

// Unmarshal rejects keys the config does not have (the squashed confighttp
// config would let a misspelled key through silently), then decodes.
func (c *Config) Unmarshal(conf *confmap.Conf) error {
	if err := confstrict.Check(conf, c); err != nil {
		return err
	}
	return conf.Unmarshal(c)
}

// Delivery gives the destination, queue and retry settings to the shared
// exporter wiring.
func (c *Config) Delivery() sink.Delivery {
	return sink.Delivery{File: &c.File, HTTP: &c.ClientConfig, Queue: &c.QueueConfig, Retry: &c.RetryConfig}
}
