// Package logfmtexporter is the worked example of docs/EXTENDING.md: an
// exporter of one's own, written on the packages the json and csv exporters
// share. internal/flatten turns pdata into flat records (one per span, data
// point or event) and names their fields; internal/sink delivers whole
// records to a file (rotated), stdout or an HTTP endpoint, behind the
// collector's queue and retry. This exporter only decides how a record is
// spelled: one logfmt line, `key=value` pairs.
package logfmtexporter // import "github.com/otelcol-tasker/otelcol-tasker/examples/logfmtexporter"

import (
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"

	"github.com/otelcol-tasker/otelcol-tasker/internal/flatten"
	"github.com/otelcol-tasker/otelcol-tasker/internal/sink"
)

// typeStr is the component type, the key under `exporters:` in a config.
// (A component of the distribution generates it, with its stability, from
// metadata.yaml with mdatagen; see exporter/jsonexporter.)
var typeStr = component.MustNewType("logfmt")

// NewFactory creates the factory that builder-config.yaml's `import:` names.
func NewFactory() exporter.Factory {
	return sink.NewFactory(typeStr, createDefaultConfig, sink.Format{
		ContentType: "text/plain; charset=utf-8",
		Encoding:    encoding,
	}, component.StabilityLevelDevelopment, component.StabilityLevelDevelopment, component.StabilityLevelDevelopment)
}

func createDefaultConfig() component.Config {
	cfg := &Config{}
	cfg.Delivery().SetDefaults()
	return cfg
}

// encoding resolves the fields of one signal and returns a constructor of
// encoders (sink pools them); logfmt has no header.
func encoding(c component.Config, _ exporter.Settings, s flatten.Signal) (func() sink.Encoder, []byte, error) {
	cols, err := flatten.Select(s, c.(*Config).Include, nil, nil, false)
	if err != nil {
		return nil, nil, err
	}
	return func() sink.Encoder { return &encoder{cols: cols} }, nil, nil
}
