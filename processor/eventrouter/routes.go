package eventrouter // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter"

import (
	"encoding/binary"
	"math"
	"path"
	"strings"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
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

// taskerPreset maps every name of the event catalog to its signals: events
// about a task go to all three, registry and telemetry-export events (which
// belong to no task) to metrics and logs.
func taskerPreset() map[string]signals {
	cat := event.Catalog()
	m := make(map[string]signals, len(cat))
	for _, in := range cat {
		var s signals
		if in.Signals&event.Traces != 0 {
			s |= toTraces
		}
		if in.Signals&event.Metrics != 0 {
			s |= toMetrics
		}
		if in.Signals&event.Logs != 0 {
			s |= toLogs
		}
		m[in.Name] = s
	}
	return m
}
