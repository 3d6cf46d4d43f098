//go:build scale

package scale

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// topology is the two-tier deployment under test, every listener on a free
// loopback port.
type topology struct {
	ports    portPool
	bin      string
	dir      string
	sink     *proc
	sinkOTLP string // the sink's OTLP gRPC address, where routers send traces
	spans    string // the sink's span file
	routers  []*router
	sidecars []*sidecar

	spanTimeout     string
	noEdgeNormalize bool
	noStorage       bool
	defaultGrace    bool
}

type router struct {
	*proc
	otlp      string // OTLP gRPC, what the sidecars' ring names
	metrics   string // the prometheus exporter (tasker_* series)
	telemetry string // the collector's own metrics (otelcol_*)
}

type sidecar struct {
	*proc
	events    string // taskerevents
	otlpGRPC  string
	otlpHTTP  string
	telemetry string
}

const (
	numRouters  = 3
	numSidecars = 2
)

// topoOptions change the shipped configs for a scenario.
type topoOptions struct {
	spanTimeout string // the routers' traces.span_timeout, when set
	ring        []int  // the routers the sidecars' ring names (nil: all)
	// noEdgeNormalize leaves eventnormalize out of the sidecars' pipeline
	noEdgeNormalize bool
	// noStorage runs the routers without their storage extension
	noStorage bool
	// defaultGrace keeps the routers' task_end_grace (5 s) rather than 1 s
	defaultGrace bool
}

// startTopology starts the sink, the routers, then the sidecars, each once
// healthy.
func startTopology(t *testing.T, opts topoOptions) *topology {
	t.Helper()
	root := repoRoot(t)
	top := &topology{bin: binary(t, "OTELCOL_TASKER_BIN", "otelcol-tasker"), dir: t.TempDir(), spanTimeout: opts.spanTimeout,
		noEdgeNormalize: opts.noEdgeNormalize, noStorage: opts.noStorage, defaultGrace: opts.defaultGrace}
	ring := opts.ring
	t.Cleanup(func() {
		for _, s := range top.sidecars {
			s.stop(t)
		}
		for _, r := range top.routers {
			r.stop(t)
		}
		top.sink.stop(t)
		if t.Failed() {
			for _, p := range top.procs() {
				t.Logf("--- %s log (last lines) ---\n%s", p.name, tail(p.log, 20))
			}
		}
	})
	top.newSink(t)
	for i := range numRouters {
		top.routers = append(top.routers, top.newRouter(t, root, i))
	}
	if ring == nil {
		ring = []int{0, 1, 2}
	}
	for i := range numSidecars {
		s := top.newSidecar(t, i)
		top.writeSidecarConfig(t, s, ring)
		top.sidecars = append(top.sidecars, s)
	}
	top.ports.release()
	top.sink.start(t, top.bin)
	for _, r := range top.routers {
		r.start(t, top.bin)
	}
	for _, s := range top.sidecars {
		s.start(t, top.bin)
	}
	return top
}

func (top *topology) procs() []*proc {
	ps := []*proc{top.sink}
	for _, r := range top.routers {
		ps = append(ps, r.proc)
	}
	for _, s := range top.sidecars {
		ps = append(ps, s.proc)
	}
	return ps
}

// newProc makes the working directory of one process.
func (top *topology) newProc(t *testing.T, name string) *proc {
	t.Helper()
	dir := filepath.Join(top.dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &proc{name: name, dir: dir, config: filepath.Join(dir, "config.yaml"), log: filepath.Join(dir, "collector.log"), health: top.ports.addr(t)}
}

// newSink makes the backend the routers send traces to: the same
// binary with an OTLP receiver writing every span to one JSON file.
func (top *topology) newSink(t *testing.T) {
	t.Helper()
	p := top.newProc(t, "sink")
	top.sinkOTLP = top.ports.addr(t)
	top.spans = filepath.Join(p.dir, "spans.jsonl")
	cfg := fmt.Sprintf(`extensions:
  health_check:
    endpoint: %s
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: %s
exporters:
  json:
    traces_path: %s
    flush_threshold: 1
    time_format: unix_nano
service:
  extensions: [health_check]
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [json]
`, p.health, top.sinkOTLP, top.spans)
	if err := os.WriteFile(p.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	top.sink = p
}

// newRouter writes config/two-tier/router.yaml with its listeners on free
// loopback ports, traces to the sink, and the router's timers shortened so
// that results appear within a second or two (task_end_grace 1s unless the
// scenario keeps the default, metrics flushed every second; span_timeout
// when the scenario sets it). Its
// storage directory is relative: each router's own, kept across restarts.
func (top *topology) newRouter(t *testing.T, root string, i int) *router {
	t.Helper()
	name := fmt.Sprintf("router-%d", i)
	r := &router{proc: top.newProc(t, name), otlp: top.ports.addr(t), metrics: top.ports.addr(t), telemetry: top.ports.addr(t)}
	r.env = []string{"TASKER_ROUTER_INSTANCE=" + name}
	c := loadConfig(t, filepath.Join(root, "config", "two-tier", "router.yaml"))
	c.set(t, "extensions.health_check.endpoint", r.health)
	c.set(t, "receivers.otlp.protocols.grpc.endpoint", r.otlp)
	c.set(t, "exporters.otlp_grpc/traces.endpoint", top.sinkOTLP)
	c.set(t, "exporters.prometheus.endpoint", r.metrics)
	setTelemetry(t, c, r.telemetry)
	er := c.get(t, "connectors.eventrouter")
	traces := map[string]any{}
	if !top.defaultGrace {
		traces["task_end_grace"] = "1s"
	}
	if top.spanTimeout != "" {
		traces["span_timeout"] = top.spanTimeout
	}
	er["traces"] = traces
	er["metrics"] = map[string]any{"flush_interval": "1s"}
	if top.noStorage {
		delete(er, "storage")
		c.set(t, "service.extensions", []any{"health_check"})
	}
	c.write(t, r.config)
	return r
}

// newSidecar picks a sidecar's ports.
func (top *topology) newSidecar(t *testing.T, i int) *sidecar {
	t.Helper()
	return &sidecar{proc: top.newProc(t, fmt.Sprintf("sidecar-%d", i)), events: top.ports.addr(t), otlpGRPC: top.ports.addr(t), otlpHTTP: top.ports.addr(t), telemetry: top.ports.addr(t)}
}

// writeSidecarConfig writes config/two-tier/sidecar.yaml with the sidecar's
// listeners on its loopback ports and the static ring naming the routers
// of the given indexes.
func (top *topology) writeSidecarConfig(t *testing.T, s *sidecar, ring []int) {
	t.Helper()
	c := loadConfig(t, filepath.Join(repoRoot(t), "config", "two-tier", "sidecar.yaml"))
	c.set(t, "extensions.health_check.endpoint", s.health)
	c.set(t, "receivers.taskerevents.endpoint", s.events)
	c.set(t, "receivers.otlp.protocols.grpc.endpoint", s.otlpGRPC)
	c.set(t, "receivers.otlp.protocols.http.endpoint", s.otlpHTTP)
	hosts := make([]any, len(ring))
	for j, i := range ring {
		hosts[j] = top.routers[i].otlp
	}
	c.set(t, "exporters.load_balancing.resolver.static.hostnames", hosts)
	if top.noEdgeNormalize {
		c.set(t, "service.pipelines.logs.processors", []any{"memory_limiter"})
	}
	setTelemetry(t, c, s.telemetry)
	c.write(t, s.config)
}

func setTelemetry(t *testing.T, c yamlConfig, addr string) {
	t.Helper()
	host, port := splitHostPort(t, addr)
	c.set(t, "service.telemetry.metrics.readers.0.pull.exporter.prometheus.host", host)
	c.set(t, "service.telemetry.metrics.readers.0.pull.exporter.prometheus.port", port)
}
