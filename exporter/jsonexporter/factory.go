package jsonexporter // import "github.com/otelcol-tasker/otelcol-tasker/exporter/jsonexporter"

import (
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"

	"github.com/otelcol-tasker/otelcol-tasker/exporter/jsonexporter/internal/metadata"
	"github.com/otelcol-tasker/otelcol-tasker/internal/flatten"
	"github.com/otelcol-tasker/otelcol-tasker/internal/sink"
)

// NewFactory creates a factory for the json exporter.
func NewFactory() exporter.Factory {
	return sink.NewFactory(metadata.Type, createDefaultConfig, sink.Format{
		ContentType: "application/x-ndjson",
		Encoding:    encoding,
	}, metadata.TracesStability, metadata.MetricsStability, metadata.LogsStability)
}

func createDefaultConfig() component.Config {
	cfg := &Config{
		TimeFormat:      flatten.TimeRFC3339,
		AttributePrefix: "attr.",
	}
	cfg.Delivery().SetDefaults()
	return cfg
}

func encoding(c component.Config, set exporter.Settings, s flatten.Signal) (func() sink.Encoder, []byte, error) {
	l, err := newLayout(c.(*Config), s, set.ID.String(), set.BuildInfo.Version)
	if err != nil {
		return nil, nil, err
	}
	return func() sink.Encoder { return newEncoder(l) }, nil, nil
}
