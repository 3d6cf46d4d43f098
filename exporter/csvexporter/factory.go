package csvexporter // import "github.com/otelcol-tasker/otelcol-tasker/exporter/csvexporter"

import (
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"

	"github.com/otelcol-tasker/otelcol-tasker/exporter/csvexporter/internal/metadata"
	"github.com/otelcol-tasker/otelcol-tasker/internal/flatten"
	"github.com/otelcol-tasker/otelcol-tasker/internal/sink"
)

// NewFactory creates a factory for the csv exporter.
func NewFactory() exporter.Factory {
	return sink.NewFactory(metadata.Type, createDefaultConfig, sink.Format{
		ContentType: "text/csv; charset=utf-8; header=present",
		Encoding:    encoding,
	}, metadata.TracesStability, metadata.MetricsStability, metadata.LogsStability)
}

func createDefaultConfig() component.Config {
	cfg := &Config{
		TimeFormat:            flatten.TimeRFC3339,
		Separator:             ",",
		EscapeFormulas:        true,
		AttributeColumnPrefix: "label_",
	}
	cfg.Delivery().SetDefaults()
	return cfg
}

// encoding writes the header row at the top of every file and HTTP body.
func encoding(c component.Config, _ exporter.Settings, s flatten.Signal) (func() sink.Encoder, []byte, error) {
	l, err := newLayout(c.(*Config), s)
	if err != nil {
		return nil, nil, err
	}
	return func() sink.Encoder { return newEncoder(l) }, l.header, nil
}
