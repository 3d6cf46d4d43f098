// Package sinktest holds test helpers shared by the json and csv exporters:
// an HTTP server on 127.0.0.1 that turns posted records back into pdata, so
// that exportertest.CheckConsumeContract can drive a real exporter against
// a real receiving end.
package sinktest // import "github.com/otelcol-tasker/otelcol-tasker/internal/sink/sinktest"

import (
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver"
)

// ParseFunc returns the attributes of every record in a request body.
type ParseFunc func(body []byte) ([]map[string]string, error)

// ContractServer receives exporter requests and forwards their records to
// whichever contract receiver is currently started.
type ContractServer struct {
	*httptest.Server
	parse ParseFunc

	mu      sync.Mutex
	deliver func(ctx context.Context, recs []map[string]string) error
}

// NewContractServer starts the server; it is closed when the test ends.
func NewContractServer(t *testing.T, parse ParseFunc) *ContractServer {
	s := &ContractServer{parse: parse}
	s.Server = httptest.NewServer(http.HandlerFunc(s.handle))
	t.Cleanup(s.Close)
	return s
}

func (s *ContractServer) handle(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	data, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	recs, err := s.parse(data)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	deliver := s.deliver
	s.mu.Unlock()
	if deliver == nil {
		http.Error(w, "no receiver", http.StatusServiceUnavailable)
		return
	}
	if err := deliver(r.Context(), recs); err != nil {
		if consumererror.IsPermanent(err) {
			http.Error(w, err.Error(), http.StatusBadRequest)
		} else {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		}
		return
	}
	w.WriteHeader(http.StatusOK)
}

type receiverConfig struct{}

// ReceiverFactory returns the factory CheckConsumeContract uses for its
// mock receiver.
func (s *ContractServer) ReceiverFactory() receiver.Factory {
	return receiver.NewFactory(component.MustNewType("contract"),
		func() component.Config { return &receiverConfig{} },
		receiver.WithTraces(func(_ context.Context, _ receiver.Settings, _ component.Config, next consumer.Traces) (receiver.Traces, error) {
			return s.receiver(func(ctx context.Context, recs []map[string]string) error {
				td := ptrace.NewTraces()
				spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
				for _, r := range recs {
					put(spans.AppendEmpty().Attributes().PutStr, r)
				}
				return next.ConsumeTraces(ctx, td)
			}), nil
		}, component.StabilityLevelDevelopment),
		receiver.WithMetrics(func(_ context.Context, _ receiver.Settings, _ component.Config, next consumer.Metrics) (receiver.Metrics, error) {
			return s.receiver(func(ctx context.Context, recs []map[string]string) error {
				md := pmetric.NewMetrics()
				dps := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty().SetEmptyHistogram().DataPoints()
				for _, r := range recs {
					put(dps.AppendEmpty().Attributes().PutStr, r)
				}
				return next.ConsumeMetrics(ctx, md)
			}), nil
		}, component.StabilityLevelDevelopment),
		receiver.WithLogs(func(_ context.Context, _ receiver.Settings, _ component.Config, next consumer.Logs) (receiver.Logs, error) {
			return s.receiver(func(ctx context.Context, recs []map[string]string) error {
				ld := plog.NewLogs()
				lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
				for _, r := range recs {
					put(lrs.AppendEmpty().Attributes().PutStr, r)
				}
				return next.ConsumeLogs(ctx, ld)
			}), nil
		}, component.StabilityLevelDevelopment),
	)
}

func put(putStr func(k, v string), attrs map[string]string) {
	for k, v := range attrs {
		putStr(k, v)
	}
}

type contractReceiver struct {
	s       *ContractServer
	deliver func(ctx context.Context, recs []map[string]string) error
}

func (s *ContractServer) receiver(deliver func(context.Context, []map[string]string) error) *contractReceiver {
	return &contractReceiver{s: s, deliver: deliver}
}

func (r *contractReceiver) Start(context.Context, component.Host) error {
	r.s.mu.Lock()
	r.s.deliver = r.deliver
	r.s.mu.Unlock()
	return nil
}

func (r *contractReceiver) Shutdown(context.Context) error {
	r.s.mu.Lock()
	r.s.deliver = nil
	r.s.mu.Unlock()
	return nil
}
