package sink

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Encoder appends the flat records of a pdata batch to b, one whole record
// after another (calling b.EndRecord after each).
type Encoder interface {
	Traces(td ptrace.Traces, b *Batch)
	Metrics(md pmetric.Metrics, b *Batch)
	Logs(ld plog.Logs, b *Batch)
}

// Exporter is the part of a json or csv exporter that does not depend on
// the format: it opens the destination at start, encodes each pdata batch
// with a pooled Encoder and hands the records to the destination.
// Its Push methods are what exporterhelper calls.
type Exporter struct {
	settings Settings
	encoders sync.Pool
	dest     Destination
}

// NewExporter prepares an exporter; s.Host and s.Telemetry are filled in by
// Start. newEncoder must return an Encoder for s.Signal.
func NewExporter(s Settings, newEncoder func() Encoder) *Exporter {
	e := &Exporter{settings: s}
	e.encoders.New = func() any { return newEncoder() }
	return e
}

// Start opens the destination.
func (e *Exporter) Start(ctx context.Context, host component.Host) error {
	s := e.settings
	s.Host = host
	dest, err := Open(ctx, s)
	if err != nil {
		return err
	}
	e.dest = dest
	return nil
}

// Shutdown writes everything buffered and releases the destination.
func (e *Exporter) Shutdown(ctx context.Context) error {
	if e.dest == nil {
		return nil
	}
	return e.dest.Close(ctx)
}

func (e *Exporter) push(ctx context.Context, encode func(Encoder, *Batch)) error {
	enc := e.encoders.Get().(Encoder)
	b := GetBatch()
	encode(enc, b)
	e.encoders.Put(enc)
	err := e.dest.Write(ctx, b)
	PutBatch(b)
	return err
}

// PushTraces writes one record per span.
func (e *Exporter) PushTraces(ctx context.Context, td ptrace.Traces) error {
	return e.push(ctx, func(enc Encoder, b *Batch) { enc.Traces(td, b) })
}

// PushMetrics writes one record per data point.
func (e *Exporter) PushMetrics(ctx context.Context, md pmetric.Metrics) error {
	return e.push(ctx, func(enc Encoder, b *Batch) { enc.Metrics(md, b) })
}

// PushLogs writes one record per log record.
func (e *Exporter) PushLogs(ctx context.Context, ld plog.Logs) error {
	return e.push(ctx, func(enc Encoder, b *Batch) { enc.Logs(ld, b) })
}
