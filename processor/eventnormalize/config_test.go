package eventnormalize

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
	"github.com/otelcol-tasker/otelcol-tasker/processor/eventnormalize/internal/metadata"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	if err := sub.Unmarshal(cfg); err != nil {
		return nil, err
	}
	return cfg, cfg.Validate()
}

func TestConfigDefault(t *testing.T) {
	cfg, err := loadConfig(t, "")
	require.NoError(t, err)
	assert.Equal(t, &Config{Redaction: event.RedactionConfig{Enabled: true}}, cfg)
}

func TestConfigKeys(t *testing.T) {
	cfg, err := loadConfig(t, "namespaced")
	require.NoError(t, err)
	assert.Equal(t, &Config{
		TraceNamespace: "shop-eu",
		Redaction:      event.RedactionConfig{Enabled: true, ExtraKeys: []string{"iban"}, AllowKeys: []string{"token_count"}},
	}, cfg)

	cfg, err = loadConfig(t, "unredacted")
	require.NoError(t, err)
	assert.False(t, cfg.Redaction.Enabled)
}

func TestConfigEveryProblemNamed(t *testing.T) {
	_, err := loadConfig(t, "bad")
	require.Error(t, err)
	msg := err.Error()
	assert.Contains(t, msg, `trace_namespace: " shop " has leading or trailing spaces`)
	assert.Contains(t, msg, "redaction: empty key fragment")
}

func TestConfigNamespaceTooLong(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.TraceNamespace = strings.Repeat("n", maxNamespaceLen+1)
	assert.EqualError(t, cfg.Validate(), "trace_namespace: 257 bytes, at most 256")
	cfg.TraceNamespace = strings.Repeat("n", maxNamespaceLen)
	assert.NoError(t, cfg.Validate())
}

func TestConfigMisspelledKeyIsRefused(t *testing.T) {
	conf := confmap.NewFromStringMap(map[string]any{"trace_namespce": "x"})
	err := conf.Unmarshal(createDefaultConfig())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "trace_namespce")
}
