package csvexporter

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/confmap"

	"github.com/otelcol-tasker/otelcol-tasker/internal/flatten"
	"github.com/otelcol-tasker/otelcol-tasker/internal/sink"
	"github.com/otelcol-tasker/otelcol-tasker/internal/sink/sinktest"
)

func TestLoadConfig(t *testing.T) {
	load := func(t *testing.T, name string) *Config {
		return sinktest.LoadConfig(t, NewFactory(), name).(*Config)
	}

	t.Run("defaults", func(t *testing.T) {
		cfg := load(t, "")
		require.NoError(t, confmap.Validate(cfg))
		want := createDefaultConfig().(*Config)
		want.File.Path = "./data/{signal}.csv"
		assert.Equal(t, want, cfg)
		assert.Equal(t, ",", cfg.Separator)
		assert.True(t, cfg.EscapeFormulas)
		assert.Equal(t, "label_", cfg.AttributeColumnPrefix)
		assert.Equal(t, "./data/metrics.csv", cfg.File.PathFor("metrics"))
	})

	t.Run("full", func(t *testing.T) {
		cfg := load(t, "full")
		require.NoError(t, confmap.Validate(cfg))
		assert.Equal(t, "./data/spans.csv", cfg.File.PathFor("traces"))
		assert.Equal(t, "./data/events.csv", cfg.File.PathFor("logs"))
		assert.Equal(t, ";", cfg.Separator)
		assert.False(t, cfg.EscapeFormulas)
		assert.Equal(t, flatten.TimeUnixNano, cfg.TimeFormat)
		assert.Equal(t, SignalConfig{Columns: []string{"trace_id", "span_id", "name", "duration_ms", "attributes"}, AttributeColumns: []string{"tasker.task.id"}}, cfg.Traces)
		assert.Equal(t, []string{"tasker.task.name"}, cfg.Metrics.AttributeColumns)
		assert.Equal(t, sink.RotationConfig{MaxMegabytes: 10, MaxBackups: 3, Compress: true}, cfg.File.Rotation)
		assert.Equal(t, 2*time.Second, cfg.File.FlushInterval)
		assert.Equal(t, 10000, cfg.File.FlushThreshold)

		l, err := newLayout(cfg, flatten.Traces)
		require.NoError(t, err)
		assert.Equal(t, "trace_id;span_id;name;duration_ms;attr_tasker.task.id;attributes\n", string(l.header))
		l, err = newLayout(cfg, flatten.Logs)
		require.NoError(t, err)
		assert.Equal(t, "collected_at;event_name;body;attr_tasker.task.id;attr_tasker.step.name\n", string(l.header))
	})

	t.Run("http", func(t *testing.T) {
		cfg := load(t, "http")
		require.NoError(t, confmap.Validate(cfg))
		assert.Equal(t, configcompression.TypeGzip, cfg.ClientConfig.Compression)
	})

	t.Run("bad", func(t *testing.T) {
		err := confmap.Validate(load(t, "bad"))
		require.Error(t, err)
		for _, m := range []string{
			"endpoint and path are both set",
			`separator "::" is not supported`,
			`traces::columns: "body" is not a traces field`,
			`metrics::columns: two metrics fields would be written as "metric_name"`,
			`logs::attribute_columns: empty attribute key`,
			"rotation::max_backups must not be negative",
		} {
			assert.ErrorContains(t, err, m)
		}
	})
}
