package taskerevents

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configauth"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-tasker/otelcol-tasker/receiver/taskerevents/internal/metadata"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg, confmap.Validate(cfg)
}

func TestDefaultConfig(t *testing.T) {
	cfg, err := loadConfig(t, "")
	require.NoError(t, err)
	assert.Equal(t, "localhost:8088", cfg.ServerConfig.NetAddr.Endpoint)
	assert.Equal(t, "/v1/events", cfg.Path)
	assert.Equal(t, "/health", cfg.HealthPath)
	assert.Equal(t, "dev.tasker.", cfg.CloudEvents.TypePrefix)
	assert.Equal(t, "X-Correlation-ID", cfg.CorrelationHeader)
	assert.Equal(t, "X-Service-Name", cfg.ServiceHeader)
	assert.Equal(t, "tasker", cfg.ServiceName)
	assert.Equal(t, 10000, cfg.MaxEventsPerRequest)
	assert.Equal(t, int64(8<<20), cfg.ServerConfig.MaxRequestBodySize)
	assert.Equal(t, 32, cfg.MaxNestingDepth)
	assert.Empty(t, cfg.TraceNamespace)
	assert.Equal(t, NewFactory().CreateDefaultConfig(), cfg)
}

func TestCustomConfig(t *testing.T) {
	cfg, err := loadConfig(t, "custom")
	require.NoError(t, err)
	want := NewFactory().CreateDefaultConfig().(*Config)
	want.ServerConfig.NetAddr.Endpoint = "0.0.0.0:9411"
	want.Path = "/ingest/tasker"
	want.HealthPath = "/ready"
	want.CloudEvents.TypePrefix = "com.example.workflow."
	want.CorrelationHeader = "X-Request-ID"
	want.ServiceHeader = "X-App"
	want.ServiceName = "billing"
	want.MaxEventsPerRequest = 500
	want.ServerConfig.MaxRequestBodySize = 1 << 20
	want.MaxNestingDepth = 16
	want.TraceNamespace = "prod-eu"
	want.ServerConfig.IncludeMetadata = true
	want.ServerConfig.CompressionAlgorithms = []string{"gzip", "zstd"}
	want.MaxHeaderValueLength = 128
	want.MaxValueLength = 4096
	want.BodyTimeout = 30 * time.Second
	want.MinBodyRate = 1024
	want.TLSErrorLogInterval = 5 * time.Minute
	want.ServerConfig.ReadHeaderTimeout = 5 * time.Second
	want.ServerConfig.Auth = configoptional.Some(confighttp.AuthConfig{Config: configauth.Config{AuthenticatorID: component.MustNewID("bearertokenauth")}})
	assert.Equal(t, want, cfg)
}

func TestInvalidConfigs(t *testing.T) {
	for name, wants := range map[string][]string{
		"same_paths":    {"path and health_path must differ"},
		"relative_path": {`path "events" must start with '/'`},
		"negative_limits": {"max_events_per_request must be at least 1", "max_request_body_size must not be negative", "max_nesting_depth must be between 1 and",
			"max_header_value_length must be between 1 and 8192, got 0", "max_value_length must be at least 64, got 10", "body_timeout must not be negative, got -1s",
			"min_body_rate must not be negative, got -1", "tls_error_log_interval must not be negative, got -1s"},
		"bad_header": {`correlation_header "X Correlation" is not a valid HTTP header name`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := loadConfig(t, name)
			require.Error(t, err)
			for _, w := range wants {
				assert.ErrorContains(t, err, w)
			}
		})
	}
}
