//go:generate mdatagen metadata.yaml

// Package csvexporter writes flat csv records (one per span, metric data
// point and log record) to a file, standard output or an HTTP endpoint.
package csvexporter // import "github.com/otelcol-tasker/otelcol-tasker/exporter/csvexporter"
