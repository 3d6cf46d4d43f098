//go:generate mdatagen metadata.yaml

// Package jsonexporter writes flat json records (one per span, metric data
// point and log record) to a file, standard output or an HTTP endpoint.
package jsonexporter // import "github.com/otelcol-tasker/otelcol-tasker/exporter/jsonexporter"
