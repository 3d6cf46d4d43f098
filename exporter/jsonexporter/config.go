package jsonexporter // import "github.com/otelcol-tasker/otelcol-tasker/exporter/jsonexporter"

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

// metaField is the name of the object include_metadata adds.
const metaField = "_meta"

// Config defines the json exporter's configuration.
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
	// Pretty writes indented objects for humans instead of NDJSON.
	Pretty bool `mapstructure:"pretty"`
	// Include lists the fields to write, in order (default: each signal's
	// default fields). Names unknown to a signal are skipped for it.
	Include []string `mapstructure:"include"`
	// Exclude removes fields.
	Exclude []string `mapstructure:"exclude"`
	// FieldMapping renames output fields: {timestamp: collected_at}.
	FieldMapping map[string]string `mapstructure:"field_mapping"`
	// FlattenAttributes writes each attribute as a top-level field named
	// AttributePrefix + key instead of one nested "attributes" object.
	FlattenAttributes bool   `mapstructure:"flatten_attributes"`
	AttributePrefix   string `mapstructure:"attribute_prefix"`
	// IncludeMetadata adds "_meta": {exporter, version, exported_at}.
	IncludeMetadata bool `mapstructure:"include_metadata"`
	// AdditionalFields are static fields added to every record.
	AdditionalFields map[string]string `mapstructure:"additional_fields"`
}

var _ component.Config = (*Config)(nil)

// Validate checks the configuration.
func (c *Config) Validate() error {
	var errs []error
	if err := c.Delivery().Check(); err != nil {
		errs = append(errs, err)
	}
	if c.Pretty && c.ClientConfig.Endpoint != "" {
		errs = append(errs, errors.New("pretty cannot be used with endpoint: HTTP bodies are NDJSON"))
	}
	if err := flatten.ValidateNames("include", c.Include); err != nil {
		errs = append(errs, err)
	}
	if err := flatten.ValidateNames("exclude", c.Exclude); err != nil {
		errs = append(errs, err)
	}
	if err := flatten.ValidateMapping("field_mapping", c.FieldMapping); err != nil {
		errs = append(errs, err)
	}
	if c.FlattenAttributes && c.AttributePrefix == "" {
		errs = append(errs, errors.New("attribute_prefix must not be empty when flatten_attributes is true"))
	}
	for name := range c.AdditionalFields {
		if name == "" {
			errs = append(errs, errors.New("additional_fields: empty field name"))
		}
		if name == metaField && c.IncludeMetadata {
			errs = append(errs, fmt.Errorf("additional_fields: %q is used by include_metadata", name))
		}
	}
	for _, s := range flatten.Signals {
		cols, err := flatten.Select(s, c.Include, c.Exclude, c.FieldMapping, false)
		if err != nil {
			errs = append(errs, fmt.Errorf("field_mapping: %w", err))
			continue
		}
		for name := range c.AdditionalFields {
			for _, col := range cols {
				if col.Out == name {
					errs = append(errs, fmt.Errorf("additional_fields: %q is already a %s field", name, s))
				}
			}
		}
	}
	return errors.Join(errs...)
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
