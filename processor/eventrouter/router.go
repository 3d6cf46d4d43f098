package eventrouter // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter"

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
	"github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/assembly"
	"github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/metadata"
	"github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/metrics"
)

// router is the state one connector configuration shares across its three
// pipelines (logs→traces, logs→metrics, logs→logs). The collector hands every
// log batch to each of the three, so each takes its own signal's part of the
// same routing decision; what they share is compiled once: the routing
// table, the redaction filter and the component's own telemetry.
type router struct {
	id        component.ID
	cfg       *Config
	routes    *routeTable
	filter    *keyFilter
	telemetry *metadata.TelemetryBuilder
	logger    *zap.Logger

	mu      sync.Mutex
	refs    int
	outputs signals // signals with a pipeline
	counter signals // the one signal instance that counts router-wide drops
	warned  bool
	asm     atomic.Pointer[assembly.Assembler]
	agg     atomic.Pointer[metrics.Aggregator] // of the metrics pipeline, once created
	release func()

	// correlation ids of recent tasks, for the logs of their later events
	correlations *event.Correlations

	// the reading of a batch shared by the pipelines (reading.go): how many
	// pipelines take part (0: no sharing), and the latest batch's
	verdictUsers atomic.Int32
	verdicts     atomic.Pointer[verdicts]
}

// Attribute sets of the router's own telemetry, built once.
var (
	attrSignalTraces  = metric.WithAttributeSet(attribute.NewSet(attribute.String("signal", SignalTraces)))
	attrSignalMetrics = metric.WithAttributeSet(attribute.NewSet(attribute.String("signal", SignalMetrics)))
	attrSignalLogs    = metric.WithAttributeSet(attribute.NewSet(attribute.String("signal", SignalLogs)))
)

func signalAttr(s signals) metric.MeasurementOption {
	switch s {
	case toTraces:
		return attrSignalTraces
	case toMetrics:
		return attrSignalMetrics
	}
	return attrSignalLogs
}

func dropAttr(s signals, reason string) metric.MeasurementOption {
	if s == 0 {
		return metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", reason)))
	}
	name := SignalLogs
	switch s {
	case toTraces:
		name = SignalTraces
	case toMetrics:
		name = SignalMetrics
	}
	return metric.WithAttributeSet(attribute.NewSet(attribute.String("signal", name), attribute.String("reason", reason)))
}

// sharedRouters keeps one router per component id.
type sharedRouters struct {
	mu sync.Mutex
	m  map[component.ID]*router
}

func (s *sharedRouters) acquire(set connector.Settings, cfg *Config, sig signals) (*router, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.m[set.ID]
	if r == nil {
		tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
		if err != nil {
			return nil, err
		}
		r = &router{
			id:           set.ID,
			correlations: event.NewCorrelations(),
			cfg:          cfg,
			routes:       newRouteTable(cfg),
			filter:       newKeyFilter(cfg.Redaction),
			telemetry:    tb,
			logger:       set.Logger,
			counter:      sig,
		}
		if err := tb.RegisterEventrouterSpansPendingCallback(func(_ context.Context, o metric.Int64Observer) error {
			if a := r.asm.Load(); a != nil {
				o.Observe(a.Pending())
			}
			return nil
		}); err != nil {
			tb.Shutdown()
			return nil, err
		}
		if err := r.registerMetricsStats(tb); err != nil {
			tb.Shutdown()
			return nil, err
		}
		id := set.ID
		r.release = func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.m[id] == r {
				delete(s.m, id)
			}
		}
		s.m[set.ID] = r
	}
	r.mu.Lock()
	r.refs++
	r.outputs |= sig
	r.verdictUsers.Store(verdictUsers(r.outputs))
	r.mu.Unlock()
	return r, nil
}

// registerMetricsStats reports the metrics aggregator's own counts: label
// values cut, label sets refused by the state's byte cap, the state's size.
func (r *router) registerMetricsStats(tb *metadata.TelemetryBuilder) error {
	observe := func(read func(metrics.Stats) int64) metric.Int64Callback {
		return func(_ context.Context, o metric.Int64Observer) error {
			if a := r.agg.Load(); a != nil {
				o.Observe(read(a.Stats()))
			}
			return nil
		}
	}
	return errors.Join(
		tb.RegisterEventrouterMetricsLabelsTruncatedCallback(observe(func(s metrics.Stats) int64 { return s.LabelsTruncated })),
		tb.RegisterEventrouterMetricsStateOverflowsCallback(observe(func(s metrics.Stats) int64 { return s.StateOverflows })),
		tb.RegisterEventrouterMetricsStateBytesCallback(observe(func(s metrics.Stats) int64 { return s.StateBytes })),
	)
}

// started warns once about routes to signals that have no pipeline: all
// pipelines of the connector exist by the time any of them starts.
func (r *router) started() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.warned {
		return
	}
	r.warned = true
	var wanted signals
	for _, d := range r.routes.routes {
		wanted |= d.to
	}
	for _, s := range r.routes.preset {
		wanted |= s
	}
	wanted |= r.routes.unmatched.to
	for _, s := range []signals{toTraces, toMetrics, toLogs} {
		if wanted.has(s) && !r.outputs.has(s) {
			r.logger.Warn("events are routed to a signal that has no pipeline from this connector; they are not exported there",
				zap.String("signal", signalName(s)))
		}
	}
}

// done drops one reference; the last one shuts the shared state down.
func (r *router) done() {
	r.mu.Lock()
	r.refs--
	last := r.refs == 0
	r.mu.Unlock()
	if last {
		r.telemetry.Shutdown()
		r.release()
	}
}

func signalName(s signals) string {
	switch s {
	case toTraces:
		return SignalTraces
	case toMetrics:
		return SignalMetrics
	}
	return SignalLogs
}
