//go:generate mdatagen metadata.yaml

// Package eventrouter implements the eventrouter connector: it reads
// normalized workflow lifecycle events (log records) and turns them into one
// trace per task, metrics and redacted event logs, as its configuration maps.
package eventrouter // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter"
