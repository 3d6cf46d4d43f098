package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// ownModule is the main module; builder-config.yaml imports our components from it.
const ownModule = "github.com/otelcol-tasker/otelcol-tasker"

// componentTypes maps every component import path of builder-config.yaml to
// the type name it registers in collector v0.161.0. These are the current,
// snake_case names: the deprecated aliases (otlp for the OTLP gRPC exporter,
// spanmetrics, loadbalancing, ...) still load but log a warning, so the stack
// must not use them. TestComponentTypesMatchMetadata checks this table against
// each component's metadata.yaml wherever the source is at hand.
var componentTypes = map[string]string{
	// receivers
	"go.opentelemetry.io/collector/receiver/otlpreceiver": "otlp",
	ownModule + "/receiver/taskerevents":                  "taskerevents",
	// processors
	"go.opentelemetry.io/collector/processor/batchprocessor":                                  "batch",
	"go.opentelemetry.io/collector/processor/memorylimiterprocessor":                          "memory_limiter",
	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/redactionprocessor":  "redaction",
	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/attributesprocessor": "attributes",
	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/filterprocessor":     "filter",
	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/transformprocessor":  "transform",
	ownModule + "/processor/eventnormalize":                                                   "eventnormalize",
	// exporters
	"go.opentelemetry.io/collector/exporter/debugexporter":                                             "debug",
	"go.opentelemetry.io/collector/exporter/otlpexporter":                                              "otlp_grpc",
	"go.opentelemetry.io/collector/exporter/otlphttpexporter":                                          "otlp_http",
	"go.opentelemetry.io/collector/exporter/nopexporter":                                               "nop",
	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/prometheusexporter":            "prometheus",
	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/prometheusremotewriteexporter": "prometheus_remote_write",
	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter":                  "file",
	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/loadbalancingexporter":         "load_balancing",
	ownModule + "/exporter/jsonexporter":                                                               "json",
	ownModule + "/exporter/csvexporter":                                                                "csv",
	// connectors
	"github.com/open-telemetry/opentelemetry-collector-contrib/connector/spanmetricsconnector":     "span_metrics",
	"github.com/open-telemetry/opentelemetry-collector-contrib/connector/signaltometricsconnector": "signal_to_metrics",
	"github.com/open-telemetry/opentelemetry-collector-contrib/connector/routingconnector":         "routing",
	ownModule + "/processor/eventrouter":                                                           "eventrouter",
	// extensions
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/healthcheckextension":     "health_check",
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage":      "file_storage",
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/pprofextension":           "pprof",
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/bearertokenauthextension": "bearertokenauth",
	"go.opentelemetry.io/collector/extension/zpagesextension":                                      "zpages",
}

// componentKinds are the builder-config.yaml sections, which are also the
// collector configuration's top-level component sections.
var componentKinds = []string{"receivers", "processors", "exporters", "connectors", "extensions"}

type builderModule struct {
	GoMod  string `yaml:"gomod"`
	Import string `yaml:"import"`
}

func (m builderModule) modulePath() string { return strings.Fields(m.GoMod)[0] }

func (m builderModule) version() string {
	if f := strings.Fields(m.GoMod); len(f) > 1 {
		return f[1]
	}
	return ""
}

func (m builderModule) importPath() string {
	if m.Import != "" {
		return m.Import
	}
	return m.modulePath()
}

type builderConfig struct {
	Dist struct {
		Name       string `yaml:"name"`
		OutputPath string `yaml:"output_path"`
	} `yaml:"dist"`
	Receivers  []builderModule `yaml:"receivers"`
	Processors []builderModule `yaml:"processors"`
	Exporters  []builderModule `yaml:"exporters"`
	Connectors []builderModule `yaml:"connectors"`
	Extensions []builderModule `yaml:"extensions"`
}

func (b *builderConfig) modules(kind string) []builderModule {
	switch kind {
	case "receivers":
		return b.Receivers
	case "processors":
		return b.Processors
	case "exporters":
		return b.Exporters
	case "connectors":
		return b.Connectors
	case "extensions":
		return b.Extensions
	}
	return nil
}

func loadBuilderConfig(t testing.TB) *builderConfig {
	t.Helper()
	var b builderConfig
	readYAML(t, filepath.Join(repoRoot(t), builderConfigPath), &b)
	if b.Dist.Name == "" || b.Dist.OutputPath == "" {
		t.Fatalf("%s: dist.name and dist.output_path are required", builderConfigPath)
	}
	return &b
}

// builtTypes returns, for each kind, the component types the distribution
// contains according to builder-config.yaml.
func builtTypes(t testing.TB, b *builderConfig) map[string]map[string]bool {
	t.Helper()
	out := map[string]map[string]bool{}
	for _, kind := range componentKinds {
		out[kind] = map[string]bool{}
		for _, m := range b.modules(kind) {
			typ, ok := componentTypes[m.importPath()]
			if !ok {
				t.Fatalf("%s: %s %s is not in componentTypes; add its type name to the table in builder_test.go", builderConfigPath, kind, m.importPath())
			}
			out[kind][typ] = true
		}
	}
	return out
}

func TestBuilderComponentsHaveKnownTypes(t *testing.T) {
	b := loadBuilderConfig(t)
	types := builtTypes(t, b)
	for _, kind := range componentKinds {
		if len(types[kind]) == 0 && kind != "connectors" {
			t.Errorf("%s: no %s", builderConfigPath, kind)
		}
	}
}

// TestComponentTypesMatchMetadata reads the metadata.yaml of each component of
// builder-config.yaml (our own from the repository, the others from the Go
// module cache) and checks the type name in componentTypes, so that the table
// cannot drift from the components actually built.
func TestComponentTypesMatchMetadata(t *testing.T) {
	root := repoRoot(t)
	b := loadBuilderConfig(t)
	modCache := goModCache(t)
	checked := 0
	for _, kind := range componentKinds {
		for _, m := range b.modules(kind) {
			want := componentTypes[m.importPath()]
			var path string
			if rel, ok := strings.CutPrefix(m.importPath(), ownModule+"/"); ok {
				path = filepath.Join(root, filepath.FromSlash(rel), "metadata.yaml")
			} else if modCache != "" {
				sub := strings.TrimPrefix(strings.TrimPrefix(m.importPath(), m.modulePath()), "/")
				path = filepath.Join(modCache, escapeModulePath(m.modulePath())+"@"+m.version(), filepath.FromSlash(sub), "metadata.yaml")
			}
			data, err := os.ReadFile(path)
			if path == "" || err != nil {
				t.Logf("%s: metadata.yaml not available (%s), type %q not cross-checked", m.importPath(), path, want)
				continue
			}
			var md struct {
				Type           string `yaml:"type"`
				DeprecatedType string `yaml:"deprecated_type"`
			}
			if err := yaml.Unmarshal(data, &md); err != nil {
				t.Errorf("%s: %v", path, err)
				continue
			}
			if md.Type != want {
				t.Errorf("%s: metadata.yaml says type %q, componentTypes says %q", m.importPath(), md.Type, want)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Skip("no component metadata.yaml available (empty module cache?)")
	}
	t.Logf("checked %d component types against metadata.yaml", checked)
}

func goModCache(t testing.TB) string {
	t.Helper()
	if dir := os.Getenv("GOMODCACHE"); dir != "" {
		return dir
	}
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Logf("go env GOMODCACHE: %v", err)
		return ""
	}
	return strings.TrimSpace(string(out))
}

// escapeModulePath applies the module cache's case encoding ("!x" for "X").
func escapeModulePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if r >= 'A' && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

var builderPinRE = regexp.MustCompile(`(?m)^\s*go\.opentelemetry\.io/collector/cmd/builder\s+(v\S+)`)

// pinnedBuilderVersion is the builder version required by tools/builder/go.mod.
func pinnedBuilderVersion(t testing.TB) string {
	t.Helper()
	m := builderPinRE.FindSubmatch(readFile(t, filepath.Join(repoRoot(t), builderToolsModPath)))
	if m == nil {
		t.Fatalf("%s: no requirement on go.opentelemetry.io/collector/cmd/builder", builderToolsModPath)
	}
	return string(m[1])
}

// The builder generates code against one collector core release: the core
// (v0.x) components of builder-config.yaml must be that same release.
func TestBuilderPinMatchesCoreComponents(t *testing.T) {
	pin := pinnedBuilderVersion(t)
	b := loadBuilderConfig(t)
	n := 0
	for _, kind := range componentKinds {
		for _, m := range b.modules(kind) {
			if !strings.HasPrefix(m.modulePath(), "go.opentelemetry.io/collector/") || !strings.HasPrefix(m.version(), "v0.") {
				continue
			}
			n++
			if m.version() != pin {
				t.Errorf("%s: %s is at %s but the builder pinned in %s is %s", builderConfigPath, m.modulePath(), m.version(), builderToolsModPath, pin)
			}
		}
	}
	if n == 0 {
		t.Fatalf("%s: no core collector component found", builderConfigPath)
	}
}
