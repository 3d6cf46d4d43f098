package metrics

import (
	"math"
	"path"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

// userMetric is a compiled Definition.
type userMetric struct {
	table    *table
	exact    map[string]struct{}
	globs    []string
	value    valuePath
	hasValue bool
	labels   []valuePath // in table.labels order (sorted label names)
}

func (u *userMetric) matches(name string) bool {
	if _, ok := u.exact[name]; ok {
		return true
	}
	for _, g := range u.globs {
		if ok, _ := path.Match(g, name); ok {
			return true
		}
	}
	return false
}

// compileDefinitions turns validated definitions into userMetrics.
func compileDefinitions(defs []Definition, defaultBounds []float64, maxSeries int, b *budget) []*userMetric {
	out := make([]*userMetric, 0, len(defs))
	for i := range defs {
		d := &defs[i]
		names := sortedKeys(d.Labels)
		u := &userMetric{exact: map[string]struct{}{}, labels: make([]valuePath, len(names))}
		for j, n := range names {
			u.labels[j], _ = compilePath(d.Labels[n]) // validated by Config.Validate
		}
		if d.Value != "" {
			u.value, _ = compilePath(d.Value)
			u.hasValue = true
		}
		for _, e := range d.Events {
			if strings.ContainsAny(e, `*?[\`) {
				u.globs = append(u.globs, e)
			} else {
				u.exact[e] = struct{}{}
			}
		}
		dd := desc{name: d.Name, unit: d.Unit, description: d.Description, labels: names}
		switch d.Type {
		case TypeCounter:
			dd.kind = kindCounter
			dd.ints = !u.hasValue
		case TypeGauge:
			dd.kind = kindGauge
		case TypeHistogram:
			dd.kind = kindHistogram
			dd.bounds = defaultBounds
			if len(d.Buckets) > 0 {
				dd.bounds = append([]float64(nil), d.Buckets...)
			}
		}
		u.table = newTable(dd, maxSeries, b)
		out = append(out, u)
	}
	return out
}

// maxMatchCache bounds the event name → matching definitions cache; custom
// event names are unbounded input.
const maxMatchCache = 4096

// matching returns the user metrics fed by events called name.
func (a *Aggregator) matching(name string) []*userMetric {
	if m, ok := a.matchCache[name]; ok {
		return m
	}
	var m []*userMetric
	for _, u := range a.user {
		if u.matches(name) {
			m = append(m, u)
		}
	}
	if len(a.matchCache) < maxMatchCache && len(name) <= a.maxLabel {
		a.matchCache[strings.Clone(name)] = m
	}
	return m
}

// observeUser records one event into a user metric. Events whose value is
// missing or not a number are skipped; counters also skip negative values.
func (a *Aggregator) observeUser(u *userMetric, name string, lr plog.LogRecord, body pcommon.Value, res pcommon.Resource, svc int32, ex *exemplar) {
	v := 1.0
	if u.hasValue {
		val, ok := u.value.lookup(lr, body, res)
		if !ok {
			return
		}
		if v, ok = event.FloatValue(val); !ok || math.IsNaN(v) || math.IsInf(v, 0) {
			return
		}
		if u.table.kind == kindCounter && v < 0 {
			return
		}
	}
	a.beginKey(svc)
	for i := range u.labels {
		p := &u.labels[i]
		if p.src == srcEventName {
			if len(name) > a.maxLabel {
				a.addLabel(a.label(name))
			} else {
				a.addLabel(name)
			}
			continue
		}
		val, ok := p.lookup(lr, body, res)
		if !ok {
			a.addLabel(unknown)
			continue
		}
		a.addValueLabel(val)
	}
	s := u.table.find(a.key, a.ends, svc, a.nowFn)
	switch u.table.kind {
	case kindCounter:
		s.add(v, ex)
	case kindGauge:
		s.value = v
	case kindHistogram:
		s.observe(v, u.table.bounds, ex)
	}
}

// addValueLabel appends a label taken from any attribute or payload value,
// formatting numbers and booleans straight into the key buffer.
func (a *Aggregator) addValueLabel(v pcommon.Value) {
	start := len(a.key)
	switch v.Type() {
	case pcommon.ValueTypeStr:
		a.key = append(a.key, v.Str()...)
	case pcommon.ValueTypeInt:
		a.key = strconv.AppendInt(a.key, v.Int(), 10)
	case pcommon.ValueTypeDouble:
		a.key = strconv.AppendFloat(a.key, v.Double(), 'g', -1, 64)
	case pcommon.ValueTypeBool:
		a.key = strconv.AppendBool(a.key, v.Bool())
	case pcommon.ValueTypeEmpty:
		a.key = append(a.key, unknown...)
	default: // maps, slices, bytes: rare as labels
		a.key = append(a.key, v.AsString()...)
	}
	if len(a.key)-start > a.maxLabel {
		a.cutLabel(start)
	}
	a.endLabel()
}
