//go:generate mdatagen metadata.yaml

// Package taskerevents receives workflow lifecycle events over HTTP
// (Tasker native or flat JSON, JSON arrays, NDJSON, CloudEvents 1.0 in
// structured, batched and binary mode) and turns every event into one
// normalized log record (see internal/event).
package taskerevents // import "github.com/otelcol-tasker/otelcol-tasker/receiver/taskerevents"
