package deploy

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

type pipelineConfig struct {
	Receivers  []string `yaml:"receivers"`
	Processors []string `yaml:"processors"`
	Exporters  []string `yaml:"exporters"`
}

type collectorConfig struct {
	Receivers  map[string]map[string]any `yaml:"receivers"`
	Processors map[string]map[string]any `yaml:"processors"`
	Exporters  map[string]map[string]any `yaml:"exporters"`
	Connectors map[string]map[string]any `yaml:"connectors"`
	Extensions map[string]map[string]any `yaml:"extensions"`
	Service    struct {
		Extensions []string `yaml:"extensions"`
		Telemetry  struct {
			Metrics struct {
				Readers []struct {
					Pull *struct {
						Exporter struct {
							Prometheus *struct {
								Host string `yaml:"host"`
								Port int    `yaml:"port"`
							} `yaml:"prometheus"`
						} `yaml:"exporter"`
					} `yaml:"pull"`
				} `yaml:"readers"`
			} `yaml:"metrics"`
		} `yaml:"telemetry"`
		Pipelines map[string]pipelineConfig `yaml:"pipelines"`
	} `yaml:"service"`
}

func (c *collectorConfig) section(kind string) map[string]map[string]any {
	switch kind {
	case "receivers":
		return c.Receivers
	case "processors":
		return c.Processors
	case "exporters":
		return c.Exporters
	case "connectors":
		return c.Connectors
	case "extensions":
		return c.Extensions
	}
	return nil
}

// componentType is the type part of a component id "type[/name]".
func componentType(id string) string {
	typ, _, _ := strings.Cut(id, "/")
	return typ
}

// pipelineSignal is the signal part of a pipeline id "signal[/name]".
func pipelineSignal(id string) string { return componentType(id) }

// collectorConfigFile returns the config file the compose stack runs: the
// bind mount behind the collector's --config flag.
func (s *stack) collectorConfigFile(t testing.TB) (hostPath, containerPath string) {
	t.Helper()
	svc := s.service(t, collectorService)
	containerPath, ok := flagValue(svc.Command, "--config")
	if !ok {
		t.Fatalf("service %s: command has no --config flag", collectorService)
	}
	containerPath = strings.TrimPrefix(containerPath, "file:")
	m, ok := s.mountOf(t, collectorService, containerPath)
	if !ok || !m.bind || m.target != containerPath {
		t.Fatalf("service %s: --config=%s is not a bind-mounted file", collectorService, containerPath)
	}
	return m.hostPath, containerPath
}

func loadCollectorConfig(t testing.TB, s *stack) *collectorConfig {
	t.Helper()
	path, _ := s.collectorConfigFile(t)
	var c collectorConfig
	readYAML(t, path, &c)
	if len(c.Service.Pipelines) == 0 {
		t.Fatalf("%s: no pipelines", path)
	}
	return &c
}

// Every component the config defines must be of a type the distribution is
// built with, under its current (non-deprecated) name.
func TestCollectorComponentsAreBuilt(t *testing.T) {
	s := loadStack(t)
	cfg := loadCollectorConfig(t, s)
	types := builtTypes(t, loadBuilderConfig(t))
	for _, kind := range componentKinds {
		for id := range cfg.section(kind) {
			if typ := componentType(id); !types[kind][typ] {
				t.Errorf("%s %q: type %q is not built by %s (built %s: %s)",
					kind, id, typ, builderConfigPath, kind, strings.Join(sortedKeys(types[kind]), ", "))
			}
		}
	}
}

// connectorSignals lists, for the connectors the stack may use, which
// pipeline signals they consume (used as exporter) and produce (as receiver).
var connectorSignals = map[string]struct{ from, to []string }{
	"eventrouter":       {from: []string{"logs"}, to: []string{"traces", "metrics", "logs"}},
	"span_metrics":      {from: []string{"traces"}, to: []string{"metrics"}},
	"signal_to_metrics": {from: []string{"traces", "metrics", "logs"}, to: []string{"metrics"}},
	"routing":           {from: []string{"traces", "metrics", "logs"}, to: []string{"traces", "metrics", "logs"}},
}

var signals = []string{"traces", "metrics", "logs", "profiles"}

func TestCollectorPipelines(t *testing.T) {
	s := loadStack(t)
	cfg := loadCollectorConfig(t, s)

	used := map[string]map[string]bool{}
	for _, kind := range componentKinds {
		used[kind] = map[string]bool{}
	}
	connectorAs := map[string]map[string][]string{"exporter": {}, "receiver": {}} // connector -> signals

	ref := func(pipeline, role, id string, kinds ...string) {
		for _, kind := range kinds {
			if _, ok := cfg.section(kind)[id]; ok {
				used[kind][id] = true
				if kind == "connectors" {
					connectorAs[role][id] = append(connectorAs[role][id], pipelineSignal(pipeline))
				}
				return
			}
		}
		t.Errorf("pipeline %s: %s %q is not defined in %s", pipeline, role, id, strings.Join(kinds, " or "))
	}
	for _, name := range sortedKeys(cfg.Service.Pipelines) {
		p := cfg.Service.Pipelines[name]
		if !slices.Contains(signals, pipelineSignal(name)) {
			t.Errorf("pipeline %s: signal %q is not one of %v", name, pipelineSignal(name), signals)
		}
		if len(p.Receivers) == 0 || len(p.Exporters) == 0 {
			t.Errorf("pipeline %s: needs at least one receiver and one exporter", name)
		}
		for _, id := range p.Receivers {
			ref(name, "receiver", id, "receivers", "connectors")
		}
		for _, id := range p.Processors {
			ref(name, "processor", id, "processors")
		}
		for _, id := range p.Exporters {
			ref(name, "exporter", id, "exporters", "connectors")
		}
	}
	for _, id := range cfg.Service.Extensions {
		if _, ok := cfg.Extensions[id]; !ok {
			t.Errorf("service.extensions: %q is not defined", id)
		}
		used["extensions"][id] = true
	}
	// The collector ignores components no pipeline uses: in a shipped config
	// that is always a mistake (a typo in a pipeline, or dead configuration).
	for _, kind := range componentKinds {
		for _, id := range sortedKeys(cfg.section(kind)) {
			if !used[kind][id] {
				t.Errorf("%s %q is defined but not used by any pipeline (or service.extensions)", kind, id)
			}
		}
	}
	for _, id := range sortedKeys(cfg.Connectors) {
		sig, ok := connectorSignals[componentType(id)]
		if !ok {
			t.Errorf("connector %q: add its signals to connectorSignals", id)
			continue
		}
		if len(connectorAs["exporter"][id]) == 0 || len(connectorAs["receiver"][id]) == 0 {
			t.Errorf("connector %q must be an exporter of one pipeline and a receiver of another", id)
		}
		for _, s := range connectorAs["exporter"][id] {
			if !slices.Contains(sig.from, s) {
				t.Errorf("connector %q cannot consume %s (it consumes %v)", id, s, sig.from)
			}
		}
		for _, s := range connectorAs["receiver"][id] {
			if !slices.Contains(sig.to, s) {
				t.Errorf("connector %q cannot produce %s (it produces %v)", id, s, sig.to)
			}
		}
	}
	// Anything naming a storage extension (sending_queue.storage, ...) needs
	// it defined and started.
	for _, kind := range componentKinds {
		for id, c := range cfg.section(kind) {
			walkConfig(c, "", func(path string, v any) {
				if !strings.HasSuffix(path, "storage") {
					return
				}
				if name, ok := v.(string); ok && !slices.Contains(cfg.Service.Extensions, name) {
					t.Errorf("%s %q: %s refers to extension %q, which service.extensions does not start", kind, id, path, name)
				}
			})
		}
	}
}

// The data the dashboard and Jaeger show must actually flow: events from the
// taskerevents receiver reach the eventrouter, whose metrics reach the
// prometheus exporter and whose traces reach the OTLP exporter aimed at Jaeger.
func TestCollectorWiring(t *testing.T) {
	s := loadStack(t)
	cfg := loadCollectorConfig(t, s)
	var routers []string
	for id := range cfg.Connectors {
		if componentType(id) == "eventrouter" {
			routers = append(routers, id)
		}
	}
	if len(routers) != 1 {
		t.Fatalf("want exactly one eventrouter connector, got %v", routers)
	}
	router := routers[0]

	// flows reports whether some pipeline of signal receives from `from` and exports to an exporter of type `to`.
	flows := func(signal, from string, to func(id string) bool) bool {
		for name, p := range cfg.Service.Pipelines {
			if pipelineSignal(name) != signal || !slices.Contains(p.Receivers, from) {
				continue
			}
			if slices.ContainsFunc(p.Exporters, to) {
				return true
			}
		}
		return false
	}
	ofType := func(typ string) func(string) bool {
		return func(id string) bool { return componentType(id) == typ }
	}
	if !flows("logs", "taskerevents", func(id string) bool { return id == router }) {
		t.Errorf("no logs pipeline takes taskerevents into %s", router)
	}
	if !flows("metrics", router, ofType("prometheus")) {
		t.Errorf("no metrics pipeline takes %s into a prometheus exporter", router)
	}
	jaeger := func(id string) bool {
		if componentType(id) != "otlp_grpc" && componentType(id) != "otlp_http" {
			return false
		}
		host, _, err := splitEndpoint(fmt.Sprint(cfg.Exporters[id]["endpoint"]))
		return err == nil && host == jaegerService
	}
	if !flows("traces", router, jaeger) {
		t.Errorf("no traces pipeline takes %s into an OTLP exporter aimed at service %s", router, jaegerService)
	}
	// The event log files on the data volume come from the router's logs.
	if !flows("logs", router, func(id string) bool { return componentType(id) == "json" || componentType(id) == "csv" }) {
		t.Errorf("no logs pipeline takes %s into a json or csv exporter", router)
	}
}

// listener is a server socket the collector opens.
type listener struct {
	name string // component id and config path
	host string
	port int
}

// collectorListeners collects every server endpoint of the config: receivers,
// extensions, the prometheus exporter, and the self-telemetry pull reader.
// A listening component without an explicit endpoint is an error: its
// default is localhost, unreachable from outside the container.
func collectorListeners(t testing.TB, cfg *collectorConfig) []listener {
	t.Helper()
	var out []listener
	add := func(name, endpoint string) {
		host, port, err := splitEndpoint(endpoint)
		if err != nil {
			t.Errorf("%s: endpoint %v", name, err)
			return
		}
		out = append(out, listener{name: name, host: host, port: port})
	}
	for _, id := range sortedKeys(cfg.Receivers) {
		c := cfg.Receivers[id]
		if componentType(id) == "otlp" {
			protocols, _ := c["protocols"].(map[string]any)
			if len(protocols) == 0 {
				t.Errorf("receivers/%s: no protocols", id)
			}
			for _, proto := range sortedKeys(protocols) {
				pc, _ := protocols[proto].(map[string]any)
				ep, ok := pc["endpoint"].(string)
				if !ok {
					t.Errorf("receivers/%s protocols.%s: set endpoint explicitly (the default is localhost)", id, proto)
					continue
				}
				add("receivers/"+id+" protocols."+proto, ep)
			}
			continue
		}
		ep, ok := c["endpoint"].(string)
		if !ok {
			t.Errorf("receivers/%s: set endpoint explicitly (the default is localhost)", id)
			continue
		}
		add("receivers/"+id, ep)
	}
	for _, id := range sortedKeys(cfg.Extensions) {
		switch componentType(id) {
		case "health_check", "pprof", "zpages":
			ep, ok := cfg.Extensions[id]["endpoint"].(string)
			if !ok {
				t.Errorf("extensions/%s: set endpoint explicitly (the default is localhost)", id)
				continue
			}
			add("extensions/"+id, ep)
		}
	}
	for _, id := range sortedKeys(cfg.Exporters) {
		if componentType(id) == "prometheus" {
			add("exporters/"+id, fmt.Sprint(cfg.Exporters[id]["endpoint"]))
		}
	}
	for _, r := range cfg.Service.Telemetry.Metrics.Readers {
		if r.Pull != nil && r.Pull.Exporter.Prometheus != nil {
			p := r.Pull.Exporter.Prometheus
			out = append(out, listener{name: "service.telemetry", host: p.Host, port: p.Port})
		}
	}
	return out
}

// documentedPorts are the collector ports docker/README.md and the image
// document, with the listener that must own each.
var documentedPorts = map[int]string{
	8088:  "receivers/taskerevents",
	4317:  "receivers/otlp protocols.grpc",
	4318:  "receivers/otlp protocols.http",
	8889:  "exporters/prometheus",
	13133: "extensions/health_check",
}

func TestCollectorListenersMatchCompose(t *testing.T) {
	s := loadStack(t)
	cfg := loadCollectorConfig(t, s)
	listeners := collectorListeners(t, cfg)

	byPort := map[int]listener{}
	for _, l := range listeners {
		if other, dup := byPort[l.port]; dup {
			t.Errorf("port %d is used by both %s and %s", l.port, other.name, l.name)
		}
		byPort[l.port] = l
		// Inside a container only all-interfaces listeners are reachable.
		if l.host != "0.0.0.0" && l.host != "" && l.host != "::" {
			t.Errorf("%s listens on %s:%d; in a container it must listen on 0.0.0.0", l.name, l.host, l.port)
		}
	}
	for port, owner := range documentedPorts {
		switch l, ok := byPort[port]; {
		case !ok:
			t.Errorf("documented port %d must be %s; nothing listens on it", port, owner)
		case l.name != owner:
			t.Errorf("documented port %d must be %s, not %s", port, owner, l.name)
		}
	}

	published := s.published(t, collectorService)
	declared := s.containerPorts(t, collectorService)
	for _, l := range listeners {
		if !declared[l.port] {
			t.Errorf("%s listens on %d, which service %s neither publishes nor exposes", l.name, l.port, collectorService)
		}
		// Every data and health endpoint is for the host; only the
		// self-telemetry port may stay internal.
		if l.name != "service.telemetry" && !published[l.port] {
			t.Errorf("%s listens on %d, which service %s does not publish", l.name, l.port, collectorService)
		}
	}
	for _, p := range sortedInts(declared) {
		if _, ok := byPort[p]; !ok {
			t.Errorf("service %s declares port %d but no component of %s listens on it", collectorService, p, filepath.Base(composePath))
		}
	}
}

// Client endpoints of exporters must name a compose service and a port that
// service declares.
func TestCollectorExportersReachServices(t *testing.T) {
	s := loadStack(t)
	cfg := loadCollectorConfig(t, s)
	n := 0
	for _, id := range sortedKeys(cfg.Exporters) {
		if componentType(id) == "prometheus" {
			continue // a server, checked with the listeners
		}
		ep, ok := cfg.Exporters[id]["endpoint"].(string)
		if !ok {
			continue
		}
		n++
		host, port, err := splitEndpoint(ep)
		if err != nil {
			t.Errorf("exporters/%s: %v", id, err)
			continue
		}
		if _, ok := s.compose.Services[host]; !ok {
			t.Errorf("exporters/%s: endpoint host %q is not a service of %s", id, host, composePath)
			continue
		}
		if !s.containerPorts(t, host)[port] {
			t.Errorf("exporters/%s: service %s does not declare port %d (declares %v)", id, host, port, sortedInts(s.containerPorts(t, host)))
		}
	}
	if n == 0 {
		t.Fatal("no exporter with a client endpoint")
	}
	// Jaeger v2 binds its OTLP receivers to localhost unless told otherwise.
	if got := s.service(t, jaegerService).Environment["JAEGER_LISTEN_HOST"]; got != "0.0.0.0" {
		t.Errorf("service %s: JAEGER_LISTEN_HOST=%q; it must be 0.0.0.0 so the collector can reach its OTLP port", jaegerService, got)
	}
}

// Files the collector writes must land on a writable volume of the container.
func TestCollectorFilesOnVolume(t *testing.T) {
	s := loadStack(t)
	cfg := loadCollectorConfig(t, s)
	type file struct{ where, path string }
	var files []file
	for _, kind := range []string{"exporters", "extensions"} {
		for _, id := range sortedKeys(cfg.section(kind)) {
			for _, key := range []string{"path", "directory"} {
				if p, ok := cfg.section(kind)[id][key].(string); ok && p != "stdout" && p != "stderr" {
					files = append(files, file{where: kind + "/" + id + " " + key, path: p})
				}
			}
		}
	}
	if len(files) == 0 {
		t.Fatal("the stack config writes no files; the README promises JSON/CSV files on the data volume")
	}
	for _, f := range files {
		m, ok := s.mountOf(t, collectorService, f.path)
		switch {
		case !ok:
			t.Errorf("%s=%s: not on any volume of service %s; it would be lost with the container", f.where, f.path, collectorService)
		case m.bind:
			t.Errorf("%s=%s: on bind mount %s; use the named data volume (writable by the non-root user)", f.where, f.path, m.source)
		}
	}
}

// walkConfig calls fn for every leaf value of a decoded YAML map, with its dotted path.
func walkConfig(v any, path string, fn func(path string, v any)) {
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			p := k
			if path != "" {
				p = path + "." + k
			}
			walkConfig(child, p, fn)
		}
	case []any:
		for i, child := range x {
			walkConfig(child, fmt.Sprintf("%s[%d]", path, i), fn)
		}
	default:
		fn(path, v)
	}
}

// TestCollectorConfigValidates runs the distribution's own `validate`
// command on the stack's config (every key of every component decoded and
// validated by the component itself), when a built binary is at hand:
// $OTELCOL_TASKER_BIN, else bin/otelcol-tasker from `make build`.
func TestCollectorConfigValidates(t *testing.T) {
	s := loadStack(t)
	bin := os.Getenv("OTELCOL_TASKER_BIN")
	if bin == "" {
		bin = filepath.Join(s.root, "bin", "otelcol-tasker")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("no collector binary (%v): run `make build` or set OTELCOL_TASKER_BIN", err)
	}
	cfg, _ := s.collectorConfigFile(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "validate", "--config="+cfg).CombinedOutput()
	if err != nil {
		t.Fatalf("%s validate --config=%s: %v\n%s", bin, cfg, err, out)
	}
}
