package eventrouter

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
	"github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/metadata"
	"github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/metrics"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	rate := 0.1
	custom := createDefaultConfig()
	custom.Preset = PresetNone
	custom.Routes = []RouteConfig{
		{Events: []string{"observability.task.enqueue"}, To: []string{SignalMetrics}},
		{Events: []string{"database.*", "dependency.resolved"}, To: []string{SignalTraces, SignalMetrics}, SamplingRate: &rate},
	}
	custom.Unmatched = []string{SignalLogs, SignalMetrics}
	custom.Drop = []string{"test.*"}
	custom.Redaction = event.RedactionConfig{Enabled: true, ExtraKeys: []string{"iban"}, AllowKeys: []string{"token_count"}}
	storageID := component.MustNewIDWithName("file_storage", "router")
	custom.Storage = &storageID
	custom.Traces = TracesConfig{SpanTimeout: 30 * time.Minute, MaxPending: 5000, TaskEndGrace: 2 * time.Second, MaxTombstoneSpans: 1000}
	custom.Metrics = metrics.DefaultConfig()
	custom.Metrics.FlushInterval = 30 * time.Second

	tests := []struct {
		id      component.ID
		want    *Config
		wantErr string
	}{
		{id: component.NewID(metadata.Type), want: createDefaultConfig()},
		{id: component.NewIDWithName(metadata.Type, "custom"), want: custom},
		{id: component.NewIDWithName(metadata.Type, "bad_signal"), wantErr: `routes[0].to: "spans" is not one of traces, metrics, logs`},
		{id: component.NewIDWithName(metadata.Type, "bad_rate"), wantErr: "routes[0].sampling_rate: 1.5 is not between 0 and 1"},
		{id: component.NewIDWithName(metadata.Type, "bad_glob"), wantErr: `drop: bad glob "step.["`},
		{id: component.NewIDWithName(metadata.Type, "bad_preset"), wantErr: `preset: "sidekiq" is not one of`},
		{id: component.NewIDWithName(metadata.Type, "bad_traces"), wantErr: "traces.span_timeout: must be positive"},
		{id: component.NewIDWithName(metadata.Type, "bad_traces"), wantErr: "traces.max_pending: must be positive"},
		{id: component.NewIDWithName(metadata.Type, "bad_traces"), wantErr: "traces.max_tombstone_spans: must be positive"},
		{id: component.NewIDWithName(metadata.Type, "empty_events"), wantErr: "routes[0].events: must name at least one event"},
		{id: component.NewIDWithName(metadata.Type, "bad_redaction"), wantErr: "redaction: empty key fragment"},
	}
	for _, tt := range tests {
		t.Run(tt.id.String()+tt.wantErr, func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			err = confmap.Validate(cfg)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg)
		})
	}
}

func TestDefaultConfig(t *testing.T) {
	cfg := createDefaultConfig()
	assert.Equal(t, PresetTasker, cfg.Preset)
	assert.Equal(t, []string{SignalLogs}, cfg.Unmatched)
	assert.True(t, cfg.Redaction.Enabled)
	assert.Equal(t, 10*time.Minute, cfg.Traces.SpanTimeout)
	assert.Equal(t, 200000, cfg.Traces.MaxPending)
	assert.Equal(t, 5*time.Second, cfg.Traces.TaskEndGrace)
	assert.Equal(t, 500000, cfg.Traces.MaxTombstoneSpans)
	assert.Nil(t, cfg.Storage)
	assert.Equal(t, 15*time.Second, cfg.Metrics.FlushInterval)
	require.NoError(t, confmap.Validate(cfg))
}

func TestTraceNamespaceMovedToTheEdge(t *testing.T) {
	cfg := createDefaultConfig()
	err := confmap.NewFromStringMap(map[string]any{"trace_namespace": "eu"}).Unmarshal(cfg)
	require.ErrorIs(t, err, errTraceNamespaceMoved)
}
