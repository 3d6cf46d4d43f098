package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
	"github.com/otelcol-tasker/otelcol-tasker/internal/sim"
	"github.com/otelcol-tasker/otelcol-tasker/pkg/taskerid"
)

// appSpans plays the step handlers' own OpenTelemetry instrumentation: for
// every attempt that ends (step.completed or step.failed) it sends the span
// the handler would have made, through the OpenTelemetry SDK, with the
// attempt's span as its remote parent (pkg/taskerid.StepParent). In the
// backend the span appears inside the task's trace, under that attempt.
type appSpans struct {
	ctx       context.Context
	namespace string
	provider  *sdktrace.TracerProvider
	tracer    trace.Tracer
	exp       *countingExporter
}

func newAppSpans(ctx context.Context, o *options) (*appSpans, error) {
	opts := []otlptracehttp.Option{
		otlptracehttp.WithTimeout(o.timeout),
		otlptracehttp.WithRetry(otlptracehttp.RetryConfig{
			Enabled:         o.maxRetries > 0,
			InitialInterval: 100 * time.Millisecond,
			MaxInterval:     o.maxRetryWait,
			MaxElapsedTime:  o.maxRetryWait,
		}),
	}
	endpoint, err := otlpURL("--app-spans-endpoint", o.appSpansEndpoint, "/v1/traces")
	if err != nil {
		return nil, err
	}
	opts = append(opts, otlptracehttp.WithEndpointURL(endpoint))
	if o.gzip {
		opts = append(opts, otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("--app-spans-endpoint: %w", err)
	}
	counted := &countingExporter{SpanExporter: exp}
	provider := sdktrace.NewTracerProvider(
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName(o.appServiceName))),
		// Blocking: a full queue makes the generator wait rather than drop
		// spans, so that the summary's count is exact.
		sdktrace.WithBatcher(counted, sdktrace.WithBlocking(),
			sdktrace.WithMaxExportBatchSize(o.batch), sdktrace.WithBatchTimeout(o.flushInterval)),
	)
	return &appSpans{
		ctx:       ctx,
		namespace: o.traceNamespace,
		provider:  provider,
		tracer:    provider.Tracer(scopeName),
		exp:       counted,
	}, nil
}

// observe sends the handler span of an attempt that ends with ev.
func (a *appSpans) observe(ev *sim.Event) {
	failed := ev.Name == sim.EventStepFailed
	if !failed && ev.Name != sim.EventStepCompleted {
		return
	}
	var taskID, stepID, stepName, errMsg, errClass string
	var attempt, startedAt int64 = 1, ev.Time
	for i := range ev.Fields {
		f := &ev.Fields[i]
		switch f.Key {
		case "task_id":
			taskID = idText(f.Val)
		case "step_id":
			stepID = idText(f.Val)
		case "step_name":
			stepName = f.Val.Str
		case "attempt_number":
			attempt = f.Val.Num
		case "started_at":
			if f.Val.Kind == sim.KindTime {
				startedAt = f.Val.Num
			}
		case "error_message":
			errMsg = f.Val.Str
		case "exception_class":
			errClass = f.Val.Str
		}
	}
	// What a handler does: its step attempt, from the ids it knows, is the
	// parent of its spans.
	ctx := taskerid.ContextWithStepParent(a.ctx, a.namespace, taskID, stepID, attempt)
	_, span := a.tracer.Start(ctx, "process "+stepName,
		trace.WithTimestamp(time.UnixMilli(startedAt)),
		trace.WithAttributes(
			attribute.String(event.AttrTaskID, taskID),
			attribute.String(event.AttrStepID, stepID),
			attribute.String(event.AttrStepName, stepName),
			attribute.Int64(event.AttrStepAttempt, attempt),
		))
	if failed {
		span.SetStatus(codes.Error, errMsg)
		span.AddEvent("exception", trace.WithTimestamp(time.UnixMilli(ev.Time)), trace.WithAttributes(
			attribute.String("exception.type", errClass), attribute.String("exception.message", errMsg)))
	}
	span.End(trace.WithTimestamp(time.UnixMilli(ev.Time)))
}

// idText is an id's text as the collector renders it (docs/IDS.md): the
// simulator's ids are integers.
func idText(v sim.Value) string {
	if v.Kind == sim.KindInt {
		return strconv.FormatInt(v.Num, 10)
	}
	return strings.TrimSpace(v.Str)
}

// close sends what is left and reports the first export error.
func (a *appSpans) close() error {
	err := a.provider.Shutdown(a.ctx)
	if xerr := a.exp.failed(); xerr != nil {
		return xerr
	}
	return err
}

func (a *appSpans) sent() int64 { return a.exp.sent.Load() }

// countingExporter counts the spans the endpoint accepted and keeps the
// first export error (the batch processor would only log it).
type countingExporter struct {
	sdktrace.SpanExporter
	sent atomic.Int64
	mu   sync.Mutex
	err  error
}

func (e *countingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.SpanExporter.ExportSpans(ctx, spans)
	if err != nil {
		e.mu.Lock()
		if e.err == nil {
			e.err = fmt.Errorf("OTLP export of application spans: %w", err)
		}
		e.mu.Unlock()
		return err
	}
	e.sent.Add(int64(len(spans)))
	return nil
}

func (e *countingExporter) failed() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

// withAppSpans is a sink that also sends the application spans of the
// events it delivers.
type withAppSpans struct {
	sink
	app *appSpans
}

func (s *withAppSpans) Add(ev *sim.Event) error {
	if err := s.sink.Add(ev); err != nil {
		return err
	}
	s.app.observe(ev)
	return s.app.exp.failed()
}

func (s *withAppSpans) Close() error {
	return errors.Join(s.sink.Close(), s.app.close())
}
