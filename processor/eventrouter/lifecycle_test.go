package eventrouter

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/metadata"
	"github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/metrics"
)

// A metric label taken from a payload path sees the redacted payload.
func TestMetricsSeeRedactedEvents(t *testing.T) {
	events := loadFixture(t)
	secrets := map[string]bool{}
	for _, ev := range events {
		secretValues(ev.Payload, secrets)
	}
	cfg := createDefaultConfig()
	cfg.Metrics.Definitions = []metrics.Definition{{
		Name: "tasker.leak_probe", Type: metrics.TypeCounter, Unit: "{event}",
		Events: []string{"task.start_requested"},
		Labels: map[string]string{"pw": "payload.task_context.password", "token": "payload.task_context.api_token"},
	}}
	h := runFixture(t, cfg, events, 50)
	out := h.serialize(t)
	require.True(t, bytes.Contains(out, []byte("tasker.leak_probe")), "probe metric exported")
	for s := range secrets {
		assert.False(t, bytes.Contains(out, []byte(s)), "secret %q leaked", s)
	}

	cfg.Redaction.Enabled = false
	leaky := runFixture(t, cfg, events, 50)
	var metricsJSON []byte
	for _, md := range leaky.metrics.AllMetrics() {
		b, err := (&pmetric.JSONMarshaler{}).MarshalMetrics(md)
		require.NoError(t, err)
		metricsJSON = append(metricsJSON, b...)
	}
	found := 0
	for s := range secrets {
		if bytes.Contains(metricsJSON, []byte(s)) {
			found++
		}
	}
	assert.Positive(t, found, "the probe does expose secrets when redaction is off")
}

func TestDownstreamErrorsAreReturned(t *testing.T) {
	boom := errors.New("downstream refused")
	f := NewFactory()
	set := connectortest.NewNopSettings(metadata.Type)
	cfg := createDefaultConfig()
	ctx := context.Background()
	ld := buildLogs(t, taskEvents(t, 3))

	lc, err := f.CreateLogsToLogs(ctx, set, cfg, consumertest.NewErr(boom))
	require.NoError(t, err)
	require.NoError(t, lc.Start(ctx, componentNopHost{}))
	assert.ErrorIs(t, lc.ConsumeLogs(ctx, ld), boom)
	require.NoError(t, lc.Shutdown(ctx))

	cfg.Traces.MaxPending = 1 // every event evicts: spans go out during ConsumeLogs
	tc, err := f.CreateLogsToTraces(ctx, set, cfg, consumertest.NewErr(boom))
	require.NoError(t, err)
	require.NoError(t, tc.Start(ctx, componentNopHost{}))
	assert.ErrorIs(t, tc.ConsumeLogs(ctx, ld), boom)
	assert.ErrorIs(t, tc.Shutdown(ctx), boom, "the final flush reports its failure")
}

func TestWarnsAboutSignalsWithoutPipeline(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	set := connectortest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	cfg := createDefaultConfig() // the preset routes to all three signals
	c, err := NewFactory().CreateLogsToLogs(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, c.Start(context.Background(), componentNopHost{}))
	require.NoError(t, c.Shutdown(context.Background()))
	var signals []string
	for _, e := range logs.All() {
		signals = append(signals, e.ContextMap()["signal"].(string))
	}
	assert.ElementsMatch(t, []string{SignalTraces, SignalMetrics}, signals)
}

// The three pipelines of one connector id share one router; another id or
// another factory gets its own.
func TestSharedRouterPerID(t *testing.T) {
	f := NewFactory()
	cfg := createDefaultConfig()
	ctx := context.Background()
	set := connectortest.NewNopSettings(metadata.Type)
	tc, err := f.CreateLogsToTraces(ctx, set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	lc, err := f.CreateLogsToLogs(ctx, set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	assert.Same(t, tc.(*tracesConnector).r, lc.(*logsConnector).r)
	require.NoError(t, tc.Shutdown(ctx))
	// the router lives on while one pipeline still uses it
	assert.Same(t, lc.(*logsConnector).r, lc.(*logsConnector).r)
	mc, err := f.CreateLogsToMetrics(ctx, set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	assert.Same(t, lc.(*logsConnector).r, mc.(*metricsConnector).r)
	require.NoError(t, lc.Shutdown(ctx))
	require.NoError(t, mc.Shutdown(ctx))

	again, err := f.CreateLogsToLogs(ctx, set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	assert.NotSame(t, lc.(*logsConnector).r, again.(*logsConnector).r, "a shut down router is not reused")
	require.NoError(t, again.Shutdown(ctx))
}
