package eventnormalize // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventnormalize"

import (
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/component"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

// maxNamespaceLen bounds trace_namespace: it is hashed into every trace id
// and has no use beyond naming an installation.
const maxNamespaceLen = 256

// Config is the configuration of the eventnormalize processor. Its keys are
// the taskerevents receiver's normalization keys: give both the same values
// so that events of one installation get the same ids whichever way they
// come in.
type Config struct {
	// TraceNamespace separates the trace ids of independent installations;
	// it must be the same on every collector that sees events of one
	// installation (the receiver's trace_namespace).
	TraceNamespace string `mapstructure:"trace_namespace"`
	// Redaction replaces the values of sensitive payload and attribute keys
	// with [FILTERED] before the record is normalized, as the receiver
	// does while decoding.
	Redaction event.RedactionConfig `mapstructure:"redaction"`

	// prevent unkeyed literal initialization
	_ struct{}
}

var _ component.Config = (*Config)(nil)

func createDefaultConfig() component.Config {
	return &Config{Redaction: event.DefaultRedactionConfig()}
}

// Validate returns every problem of the configuration, each naming its key.
func (cfg *Config) Validate() error {
	var errs []error
	if len(cfg.TraceNamespace) > maxNamespaceLen {
		errs = append(errs, fmt.Errorf("trace_namespace: %d bytes, at most %d", len(cfg.TraceNamespace), maxNamespaceLen))
	}
	if strings.TrimSpace(cfg.TraceNamespace) != cfg.TraceNamespace {
		errs = append(errs, fmt.Errorf("trace_namespace: %q has leading or trailing spaces", cfg.TraceNamespace))
	}
	if err := cfg.Redaction.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
