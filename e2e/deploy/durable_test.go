package deploy

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// durableConfigPath is the default config's durable variant.
const durableConfigPath = "config/otelcol-tasker-durable.yaml"

// durableConfigs are the shipped configs that promise that a 2xx means the
// events are safe: the durable variant and the compose stack's.
func durableConfigs(t *testing.T) map[string]*collectorConfig {
	t.Helper()
	s := loadStack(t)
	stackPath, _ := s.collectorConfigFile(t)
	rel, err := filepath.Rel(s.root, stackPath)
	if err != nil {
		t.Fatal(err)
	}
	var durable collectorConfig
	readYAML(t, filepath.Join(s.root, durableConfigPath), &durable)
	return map[string]*collectorConfig{durableConfigPath: &durable, filepath.ToSlash(rel): loadCollectorConfig(t, s)}
}

// TestShippedConfigsAreDurable: everything between the receivers' answer
// and the outputs keeps what it accepted on file_storage. The router keeps
// its pending tasks on a file_storage extension the service starts, and so
// does every exporter it feeds (but the prometheus exporter, a scrape
// endpoint without a queue) with its sending queue, and retries; no batch
// processor holds data in memory around the router; files are written on
// every export call.
func TestShippedConfigsAreDurable(t *testing.T) {
	for path, cfg := range durableConfigs(t) {
		t.Run(path, func(t *testing.T) {
			router := ""
			for id := range cfg.Connectors {
				if componentType(id) == "eventrouter" {
					router = id
				}
			}
			if router == "" {
				t.Fatal("no eventrouter connector")
			}
			fileStorage := func(what string, v any) {
				id, _ := v.(string)
				if _, ok := cfg.Extensions[id]; !ok || componentType(id) != "file_storage" || !slices.Contains(cfg.Service.Extensions, id) {
					t.Errorf("%s: storage %q is not a file_storage extension the service starts", what, id)
				}
			}
			fileStorage("connectors/"+router, cfg.Connectors[router]["storage"])
			fed := map[string]bool{} // exporters the router feeds
			for _, name := range sortedKeys(cfg.Service.Pipelines) {
				p := cfg.Service.Pipelines[name]
				if !slices.Contains(p.Receivers, router) && !slices.Contains(p.Exporters, router) {
					continue
				}
				for _, id := range p.Processors {
					if componentType(id) == "batch" {
						t.Errorf("pipeline %s: processor %s acknowledges data before it is exported; batch in the exporters' sending_queue instead", name, id)
					}
				}
				if slices.Contains(p.Receivers, router) {
					for _, id := range p.Exporters {
						fed[id] = true
					}
				}
			}
			for _, id := range sortedKeys(fed) {
				if componentType(id) == "prometheus" {
					continue
				}
				c := cfg.Exporters[id]
				q, _ := c["sending_queue"].(map[string]any)
				if q["enabled"] != true {
					t.Errorf("exporters/%s: sending_queue.enabled must be true", id)
				}
				fileStorage("exporters/"+id+" sending_queue", q["storage"])
				if r, _ := c["retry_on_failure"].(map[string]any); r["enabled"] != true {
					t.Errorf("exporters/%s: retry_on_failure.enabled must be true", id)
				}
				switch componentType(id) {
				case "json", "csv":
					if n, ok := c["flush_threshold"].(int); !ok || n > 1 {
						t.Errorf("exporters/%s: flush_threshold %v; set 1 so an export call is written before it returns", id, c["flush_threshold"])
					}
				}
			}
		})
	}
}

// TestDurableConfigValidates runs the distribution's `validate` command on
// the durable config (its backend set, as it requires), when a built binary
// is at hand: $OTELCOL_TASKER_BIN, else bin/otelcol-tasker.
func TestDurableConfigValidates(t *testing.T) {
	root := repoRoot(t)
	bin := os.Getenv("OTELCOL_TASKER_BIN")
	if bin == "" {
		bin = filepath.Join(root, "bin", "otelcol-tasker")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("no collector binary (%v): run `make build` or set OTELCOL_TASKER_BIN", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "validate", "--config="+filepath.Join(root, durableConfigPath))
	cmd.Env = append(os.Environ(), "OTELCOL_TASKER_OTLP_ENDPOINT=https://gateway.example:4318")
	cmd.Dir = t.TempDir() // its relative directories are not created by validate, but stay out of the tree
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s validate --config=%s: %v\n%s", bin, durableConfigPath, err, out)
	}
}
