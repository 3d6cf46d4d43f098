package taskerevents

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
)

func TestMisspelledKeyIsRefused(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	conf := confmap.NewFromStringMap(map[string]any{"flush_intervall": "2s"})
	require.EqualError(t, cfg.Unmarshal(conf), "unknown configuration key(s): flush_intervall")
}
