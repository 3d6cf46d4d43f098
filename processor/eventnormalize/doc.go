//go:generate mdatagen metadata.yaml

// Package eventnormalize implements the eventnormalize processor: it turns
// workflow lifecycle events sent as OTLP log records into the normalized
// records the taskerevents receiver writes for its own input, with the same
// code (internal/event), so that every event carries its task's trace id
// from the edge of the pipeline on.
package eventnormalize // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventnormalize"
