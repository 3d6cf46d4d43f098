package jsonexporter

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/config/configopaque"
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
		want.File.Path = "./data/all.jsonl"
		assert.Equal(t, want, cfg)
		assert.Equal(t, time.Second, cfg.File.FlushInterval)
		assert.Equal(t, 1000, cfg.File.FlushThreshold)
		assert.Equal(t, 100.0, cfg.File.Rotation.MaxMegabytes)
		assert.Equal(t, flatten.TimeRFC3339, cfg.TimeFormat)
		assert.True(t, cfg.QueueConfig.HasValue())
		assert.True(t, cfg.RetryConfig.Enabled)
	})

	t.Run("full", func(t *testing.T) {
		cfg := load(t, "full")
		require.NoError(t, confmap.Validate(cfg))
		assert.Equal(t, "./data/traces.jsonl", cfg.File.PathFor("traces"))
		assert.Equal(t, "./data/events.jsonl", cfg.File.PathFor("logs"))
		assert.Equal(t, sink.RotationConfig{MaxMegabytes: 50, MaxAge: 24 * time.Hour, MaxBackups: 7, Compress: true}, cfg.File.Rotation)
		assert.Equal(t, 5*time.Second, cfg.File.FlushInterval)
		assert.Equal(t, 500, cfg.File.FlushThreshold)
		assert.Equal(t, flatten.TimeUnixNano, cfg.TimeFormat)
		assert.True(t, cfg.Pretty)
		assert.Equal(t, []string{"resource_attributes"}, cfg.Exclude)
		assert.Equal(t, map[string]string{"timestamp": "collected_at"}, cfg.FieldMapping)
		assert.True(t, cfg.FlattenAttributes)
		assert.Equal(t, "a_", cfg.AttributePrefix)
		assert.True(t, cfg.IncludeMetadata)
		assert.Equal(t, map[string]string{"environment": "production", "cluster": "eu-1"}, cfg.AdditionalFields)
		require.True(t, cfg.QueueConfig.HasValue())
		assert.Equal(t, "file_storage", cfg.QueueConfig.Get().StorageID.String())
		assert.Equal(t, 10*time.Minute, cfg.RetryConfig.MaxElapsedTime)
	})

	t.Run("http", func(t *testing.T) {
		cfg := load(t, "http")
		require.NoError(t, confmap.Validate(cfg))
		assert.Equal(t, "https://ingest.example.com/v1/{signal}", cfg.ClientConfig.Endpoint)
		v, ok := cfg.ClientConfig.Headers.Get("Authorization")
		require.True(t, ok)
		assert.Equal(t, configopaque.String("Bearer secret"), v)
		assert.Equal(t, configcompression.TypeGzip, cfg.ClientConfig.Compression)
		assert.Equal(t, 10*time.Second, cfg.ClientConfig.Timeout)
	})

	for name, msgs := range map[string][]string{
		"both": {"endpoint and path are both set: configure exactly one destination"},
		"none": {"no destination: set path"},
		"collide": {
			`additional_fields: "name" is already a traces field`,
			`additional_fields: "_meta" is used by include_metadata`,
		},
		"bad": {
			"pretty cannot be used with endpoint",
			`include: unknown field "nope"`,
			`two traces fields would be written as "name"`,
			`additional_fields: empty field name`,
			"flush_threshold must not be negative",
			"rotation::max_megabytes must not be negative",
		},
	} {
		t.Run(name, func(t *testing.T) {
			err := confmap.Validate(load(t, name))
			require.Error(t, err)
			for _, m := range msgs {
				assert.ErrorContains(t, err, m)
			}
		})
	}
}

func TestUnknownTimeFormat(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	err := confmap.NewFromStringMap(map[string]any{"path": "x", "time_format": "unix_ms"}).Unmarshal(cfg)
	assert.ErrorContains(t, err, `unknown time format "unix_ms"`)
}
