package confstrict

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/confmap"
)

type rotation struct {
	MaxMegabytes int  `mapstructure:"max_megabytes"`
	Compress     bool `mapstructure:"compress"`
}

type testConfig struct {
	Server   confighttp.ServerConfig `mapstructure:",squash"`
	Interval time.Duration           `mapstructure:"flush_interval"`
	Rotation rotation                `mapstructure:"rotation"`
	Labels   map[string]string       `mapstructure:"labels"`
}

func TestCheck(t *testing.T) {
	good := confmap.NewFromStringMap(map[string]any{
		"endpoint": "localhost:1", "max_request_body_size": 10, "flush_interval": "1s",
		"rotation": map[string]any{"max_megabytes": 1},
		"labels":   map[string]any{"anything": "goes"},
		"tls":      map[string]any{"cert_file": "x"},
		"cors":     map[string]any{"allowed_origins": []any{"*"}},
	})
	require.NoError(t, Check(good, &testConfig{}))

	bad := confmap.NewFromStringMap(map[string]any{
		"endpoint": "localhost:1", "flush_intervall": "1s",
		"rotation": map[string]any{"max_megabyts": 1},
	})
	err := Check(bad, &testConfig{})
	require.Error(t, err)
	assert.Equal(t, "unknown configuration key(s): flush_intervall, rotation::max_megabyts", err.Error())
}
