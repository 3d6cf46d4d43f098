package eventrouter // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"

	"github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/metadata"
	"github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/metrics"
)

// NewFactory returns the factory of the eventrouter connector. Each factory
// keeps its own table of shared routers, one per component id.
func NewFactory() connector.Factory {
	shared := &sharedRouters{m: map[component.ID]*router{}}
	return connector.NewFactory(
		metadata.Type,
		func() component.Config { return createDefaultConfig() },
		connector.WithLogsToTraces(shared.createLogsToTraces, metadata.LogsToTracesStability),
		connector.WithLogsToMetrics(shared.createLogsToMetrics, metadata.LogsToMetricsStability),
		connector.WithLogsToLogs(shared.createLogsToLogs, metadata.LogsToLogsStability),
	)
}

func (s *sharedRouters) createLogsToTraces(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Traces) (connector.Logs, error) {
	r, err := s.acquire(set, cfg.(*Config), toTraces)
	if err != nil {
		return nil, err
	}
	return newTracesConnector(r, next), nil
}

func (s *sharedRouters) createLogsToMetrics(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Metrics) (connector.Logs, error) {
	c := cfg.(*Config)
	agg, err := metrics.New(c.Metrics)
	if err != nil {
		return nil, err
	}
	r, err := s.acquire(set, c, toMetrics)
	if err != nil {
		return nil, err
	}
	return newMetricsConnector(r, agg, next), nil
}

func (s *sharedRouters) createLogsToLogs(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Logs) (connector.Logs, error) {
	r, err := s.acquire(set, cfg.(*Config), toLogs)
	if err != nil {
		return nil, err
	}
	return newLogsConnector(r, next), nil
}
