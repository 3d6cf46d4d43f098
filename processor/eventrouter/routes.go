package eventrouter // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter"

import (
	"encoding/binary"
	"math"
	"path"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// signals is a set of output signals.
type signals uint8

const (
	toTraces signals = 1 << iota
	toMetrics
	toLogs
)

func (s signals) has(o signals) bool { return s&o != 0 }

func parseSignals(list []string) signals {
	var s signals
	for _, n := range list {
		switch n {
		case SignalTraces:
			s |= toTraces
		case SignalMetrics:
			s |= toMetrics
		case SignalLogs:
			s |= toLogs
		}
	}
	return s
}

// sampler keeps a share of tasks, decided from the trace id alone, so every
// instance and every signal decides the same way for the same task. A task
// kept at rate r is also kept at any higher rate.
type sampler struct {
	all       bool   // rate 1: keep everything
	threshold uint64 // keep when the trace id's low 8 bytes are below this
}

func newSampler(rate *float64) sampler {
	if rate == nil || *rate >= 1 {
		return sampler{all: true}
	}
	if *rate <= 0 {
		return sampler{}
	}
	return sampler{threshold: uint64(*rate * math.Exp2(64))}
}

// keep reports whether events of the trace are kept. Events without a trace
// id belong to no task and are always kept.
func (s sampler) keep(tid pcommon.TraceID) bool {
	if s.all || tid.IsEmpty() {
		return true
	}
	return binary.BigEndian.Uint64(tid[8:]) < s.threshold
}

// decision is what the routing table says about one event name.
type decision struct {
	to      signals
	sampler sampler
	drop    bool // named by `drop`
	matched bool // named by a route or the preset
}

// routeTable resolves event names to decisions: `drop` first, then the user
// routes in order, then the preset, then `unmatched`.
type routeTable struct {
	drop      patternSet
	routes    []decision
	user      patternSet // indexes into routes
	preset    map[string]signals
	unmatched decision
	// known holds the final decision of every exact name any rule mentions,
	// so the common case is a single map lookup.
	known map[string]decision
}

func newRouteTable(cfg *Config) *routeTable {
	t := &routeTable{
		unmatched: decision{to: parseSignals(cfg.Unmatched), sampler: sampler{all: true}},
		known:     map[string]decision{},
	}
	for i, p := range cfg.Drop {
		t.drop.add(p, i)
	}
	for i, r := range cfg.Routes {
		t.routes = append(t.routes, decision{to: parseSignals(r.To), sampler: newSampler(r.SamplingRate), matched: true})
		for _, p := range r.Events {
			t.user.add(p, i)
		}
	}
	if cfg.Preset == PresetTasker {
		t.preset = taskerPreset()
	}
	names := make([]string, 0, len(t.preset)+len(t.user.exact)+len(t.drop.exact))
	for n := range t.preset {
		names = append(names, n)
	}
	for n := range t.user.exact {
		names = append(names, n)
	}
	for n := range t.drop.exact {
		names = append(names, n)
	}
	for _, n := range names {
		t.known[n] = t.resolve(n)
	}
	return t
}

func (t *routeTable) decide(name string) decision {
	if d, ok := t.known[name]; ok {
		return d
	}
	return t.resolve(name)
}

func (t *routeTable) resolve(name string) decision {
	if t.drop.first(name) >= 0 {
		return decision{drop: true}
	}
	if i := t.user.first(name); i >= 0 {
		return t.routes[i]
	}
	if s, ok := t.preset[name]; ok {
		return decision{to: s, sampler: sampler{all: true}, matched: true}
	}
	return t.unmatched
}

// patternSet matches names against exact names and globs, returning the
// smallest index of a matching entry.
type patternSet struct {
	exact map[string]int
	globs []glob // in index order
}

type glob struct {
	pattern string
	index   int
}

func (p *patternSet) add(pattern string, index int) {
	if strings.ContainsAny(pattern, `*?[\`) {
		p.globs = append(p.globs, glob{pattern: pattern, index: index})
		return
	}
	if p.exact == nil {
		p.exact = map[string]int{}
	}
	if _, ok := p.exact[pattern]; !ok {
		p.exact[pattern] = index
	}
}

func (p *patternSet) first(name string) int {
	best := -1
	if i, ok := p.exact[name]; ok {
		best = i
	}
	for _, g := range p.globs {
		if best >= 0 && g.index >= best {
			break
		}
		if ok, _ := path.Match(g.pattern, name); ok {
			return g.index
		}
	}
	return best
}

// Groups of the Tasker event catalog (shared/fixtures/tasker-events.md).
var (
	taskerTaskEvents = []string{
		"task.initialize_requested", "task.start_requested", "task.completed",
		"task.failed", "task.retry_requested", "task.cancelled",
		"task.resolved_manually", "task.before_transition",
	}
	taskerStepEvents = []string{
		"step.initialize_requested", "step.execution_requested", "step.before_handle",
		"step.handle", "step.completed", "step.failed", "step.retry_requested",
		"step.cancelled", "step.resolved_manually", "step.before_transition",
	}
	taskerWorkflowEvents = []string{
		"workflow.task_started", "workflow.task_completed", "workflow.task_failed",
		"workflow.step_completed", "workflow.step_failed",
		"workflow.viable_steps_discovered", "workflow.no_viable_steps",
		"workflow.orchestration_requested", "workflow.task_finalization_started",
		"workflow.task_finalization_completed", "workflow.task_reenqueue_started",
		"workflow.task_reenqueue_requested", "workflow.task_reenqueue_failed",
		"workflow.task_reenqueue_delayed", "workflow.task_state_unclear",
		"workflow.step_execution_failed", "workflow.viable_steps_batch_ready",
		"workflow.steps_execution_started", "workflow.steps_execution_completed",
	}
	taskerObservabilityEvents = []string{
		"observability.task.handle", "observability.task.enqueue",
		"observability.task.finalize", "observability.step.handle",
		"observability.step.find_viable", "observability.step.backoff",
		"observability.step.skip", "observability.step.max_retries_reached",
	}
	taskerPlannedEvents = []string{
		"database.query_executed", "dependency.resolved", "batch.step_execution",
		"memory.spike_detected", "performance.slow_operation",
	}
	taskerRegistryEvents = []string{
		"handler.registered", "handler.unregistered", "handler.validation_failed",
		"plugin.registered", "plugin.unregistered", "plugin.validation_failed",
		"subscriber.registered", "subscriber.unregistered", "subscriber.validation_failed",
		"registry.sync_requested", "registry.health_check", "registry.stats_collected",
		"registry.cross_discovery", "registry.coordination_complete",
	}
	taskerTelemetryEvents = []string{
		"tasker.telemetry.cache_synced", "tasker.telemetry.export_requested",
		"tasker.telemetry.export_completed", "tasker.telemetry.export_failed",
		"tasker.telemetry.plugin_registered", "tasker.telemetry.plugin_unregistered",
	}
)

// taskerPreset maps every name of the Tasker catalog: events about a task go
// to all three signals, registry and telemetry-export events (which belong
// to no task) to metrics and logs.
func taskerPreset() map[string]signals {
	m := map[string]signals{}
	for _, group := range [][]string{taskerTaskEvents, taskerStepEvents, taskerWorkflowEvents, taskerObservabilityEvents, taskerPlannedEvents} {
		for _, n := range group {
			m[n] = toTraces | toMetrics | toLogs
		}
	}
	for _, group := range [][]string{taskerRegistryEvents, taskerTelemetryEvents} {
		for _, n := range group {
			m[n] = toMetrics | toLogs
		}
	}
	return m
}
