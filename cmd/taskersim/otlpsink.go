package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
	"github.com/otelcol-tasker/otelcol-tasker/internal/sim"
)

const scopeName = "github.com/otelcol-tasker/otelcol-tasker/cmd/taskersim"

// otlpSink emits every event as an OpenTelemetry log record through the
// logs SDK: EventName is the event name, the body is the payload as a map.
// Records go through syncBatcher, not the SDK's BatchProcessor, because the
// simulator must account for every record: the batch processor drops records
// when its queue is full, this one makes the generator wait instead.
type otlpSink struct {
	ctx      context.Context
	provider *sdklog.LoggerProvider
	logger   log.Logger
	proc     *syncBatcher
	kvs      []attribute.KeyValue
}

func newOTLPSink(ctx context.Context, o *options) (*otlpSink, error) {
	opts := []otlploghttp.Option{
		otlploghttp.WithTimeout(o.timeout),
		otlploghttp.WithRetry(otlploghttp.RetryConfig{
			Enabled:         o.maxRetries > 0,
			InitialInterval: 100 * time.Millisecond,
			MaxInterval:     o.maxRetryWait,
			MaxElapsedTime:  o.maxRetryWait,
		}),
	}
	endpoint, err := otlpURL("--otlp-endpoint", o.otlpEndpoint, "/v1/logs")
	if err != nil {
		return nil, err
	}
	opts = append(opts, otlploghttp.WithEndpointURL(endpoint))
	if o.gzip {
		opts = append(opts, otlploghttp.WithCompression(otlploghttp.GzipCompression))
	}
	if len(o.headers) > 0 {
		h := make(map[string]string, len(o.headers))
		for k, v := range o.headers {
			h[k] = strings.Join(v, ",")
		}
		opts = append(opts, otlploghttp.WithHeaders(h))
	}
	exp, err := otlploghttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("--otlp-endpoint: %w", err)
	}
	res := resource.NewSchemaless(semconv.ServiceName(o.serviceName))
	proc := &syncBatcher{exp: exp, size: o.batch, maxRetries: o.maxRetries, maxWait: o.maxRetryWait}
	provider := sdklog.NewLoggerProvider(
		sdklog.WithResource(res),
		sdklog.WithProcessor(proc),
		sdklog.WithAttributeCountLimit(-1),
		sdklog.WithAttributeValueLengthLimit(-1),
	)
	return &otlpSink{
		ctx:      ctx,
		provider: provider,
		logger:   provider.Logger(scopeName),
		proc:     proc,
	}, nil
}

func (s *otlpSink) Add(ev *sim.Event) error {
	var r log.Record
	r.SetEventName(ev.Name)
	r.SetTimestamp(time.UnixMilli(ev.Time))
	r.SetObservedTimestamp(time.Now())
	sev, text := event.Severity(ev.Name)
	r.SetSeverity(log.Severity(sev)) // pdata and the log API share OTLP's numbers
	r.SetSeverityText(text)
	s.kvs = appendKeyValues(s.kvs[:0], ev.Fields)
	r.SetBody(attribute.MapValue(s.kvs...))
	s.logger.Emit(s.ctx, r)
	return s.proc.failed()
}

func (s *otlpSink) FlushIfOlder(age time.Duration) error { return s.proc.flushIfOlder(s.ctx, age) }

func (s *otlpSink) Close() error {
	err := s.provider.Shutdown(s.ctx)
	if perr := s.proc.failed(); perr != nil {
		return perr
	}
	return err
}

func (s *otlpSink) Sent() int64     { return s.proc.sent.Load() }
func (s *otlpSink) Requests() int64 { return s.proc.exports.Load() }
func (s *otlpSink) Retried() int64  { return s.proc.retried.Load() } // network errors only: the exporter retries 429/5xx itself and does not tell

func appendKeyValues(kvs []attribute.KeyValue, fields []sim.Field) []attribute.KeyValue {
	for i := range fields {
		kvs = append(kvs, attribute.KeyValue{Key: attribute.Key(fields[i].Key), Value: toAttr(fields[i].Val)})
	}
	return kvs
}

// toAttr converts a payload value; times become ISO-8601 strings as in JSON.
func toAttr(v sim.Value) attribute.Value {
	switch v.Kind {
	case sim.KindString:
		return attribute.StringValue(v.Str)
	case sim.KindInt:
		return attribute.Int64Value(v.Num)
	case sim.KindFloat:
		return attribute.Float64Value(v.F)
	case sim.KindBool:
		return attribute.BoolValue(v.Num != 0)
	case sim.KindTime:
		return attribute.StringValue(sim.FormatTime(v.Num))
	case sim.KindList:
		vals := make([]attribute.Value, len(v.Kids))
		for i := range v.Kids {
			vals[i] = toAttr(v.Kids[i].Val)
		}
		return attribute.SliceValue(vals...)
	case sim.KindMap:
		return attribute.MapValue(appendKeyValues(make([]attribute.KeyValue, 0, len(v.Kids)), v.Kids)...)
	}
	return attribute.Value{} // JSON null: an empty value
}

// syncBatcher is a log Processor that exports full batches synchronously on
// the emitting goroutine and remembers the first export error.
type syncBatcher struct {
	exp  sdklog.Exporter
	size int
	// retries of an export that failed on the network (the exporter
	// retries 429/5xx itself, not a refused or reset connection)
	maxRetries int
	maxWait    time.Duration

	mu    sync.Mutex
	recs  []sdklog.Record
	first time.Time
	err   error

	sent, exports, retried atomic.Int64
}

var _ sdklog.Processor = (*syncBatcher)(nil)

func (p *syncBatcher) Enabled(context.Context, sdklog.EnabledParameters) bool { return true }

func (p *syncBatcher) OnEmit(ctx context.Context, r *sdklog.Record) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return p.err
	}
	if len(p.recs) == 0 {
		p.first = time.Now()
	}
	p.recs = append(p.recs, r.Clone())
	if len(p.recs) >= p.size {
		return p.flushLocked(ctx)
	}
	return nil
}

func (p *syncBatcher) flushLocked(ctx context.Context) error {
	if len(p.recs) == 0 || p.err != nil {
		return p.err
	}
	if err := p.export(ctx); err != nil {
		p.err = fmt.Errorf("OTLP export: %w", err)
		return p.err
	}
	p.sent.Add(int64(len(p.recs)))
	clear(p.recs)
	p.recs = p.recs[:0]
	return nil
}

// export sends the batch, again after a network error (a collector that
// restarts resets its idle connections and refuses new ones for a while;
// the request did not reach it), with the HTTP sink's backoff.
func (p *syncBatcher) export(ctx context.Context) error {
	for attempt := 0; ; attempt++ {
		p.exports.Add(1)
		err := p.exp.Export(ctx, p.recs)
		var ue *url.Error
		if err == nil || !errors.As(err, &ue) || attempt >= p.maxRetries {
			return err
		}
		p.retried.Add(1)
		t := time.NewTimer(backoff(attempt, p.maxWait))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		}
	}
}

func (p *syncBatcher) flushIfOlder(ctx context.Context, age time.Duration) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.recs) > 0 && time.Since(p.first) >= age {
		return p.flushLocked(ctx)
	}
	return p.err
}

func (p *syncBatcher) failed() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

func (p *syncBatcher) ForceFlush(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.flushLocked(ctx)
}

func (p *syncBatcher) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	err := p.flushLocked(ctx)
	p.mu.Unlock()
	if serr := p.exp.Shutdown(ctx); err == nil {
		err = serr
	}
	return err
}

// otlpURL turns an OTLP/HTTP destination given as host:port (plain HTTP) or
// as a URL into the URL the exporters take, with path as the signal's path
// when the URL names none.
func otlpURL(flag, v, path string) (string, error) {
	raw := v
	if !strings.Contains(v, "://") {
		raw = "http://" + v
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("%s %q is not host:port or a URL", flag, v)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = path
	}
	return u.String(), nil
}
