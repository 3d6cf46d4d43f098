package deploy

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

const dashboardPath = "docker/grafana/dashboards/tasker-workflows.json"

type dashboard struct {
	UID        string      `json:"uid"`
	Title      string      `json:"title"`
	Panels     []dashPanel `json:"panels"`
	Templating struct {
		List []templateVar `json:"list"`
	} `json:"templating"`
}

type dashPanel struct {
	ID          int            `json:"id"`
	Type        string         `json:"type"`
	Title       string         `json:"title"`
	Datasource  *datasourceRef `json:"datasource"`
	Targets     []dashTarget   `json:"targets"`
	Panels      []dashPanel    `json:"panels"` // a collapsed row's panels
	Options     panelOptions   `json:"options"`
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
}

// panelOptions are the options of an alert list panel (the fields read).
type panelOptions struct {
	AlertName   string `json:"alertName"`
	Datasource  string `json:"datasource"` // an alert list names its source by name
	StateFilter struct {
		Firing  bool `json:"firing"`
		Pending bool `json:"pending"`
	} `json:"stateFilter"`
}

type dashTarget struct {
	RefID      string         `json:"refId"`
	Datasource *datasourceRef `json:"datasource"`
	Expr       string         `json:"expr"`
	Exemplar   bool           `json:"exemplar"`
}

type templateVar struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Datasource *datasourceRef  `json:"datasource"`
	Query      json.RawMessage `json:"query"`
}

// datasourceRef is {"type": ..., "uid": ...}; Grafana also accepts a bare
// datasource name, which provisioning cannot guarantee, so it is kept apart.
type datasourceRef struct {
	Type, UID string
	Name      string // legacy string form
}

func (d *datasourceRef) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &d.Name)
	}
	var v struct{ Type, UID string }
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	d.Type, d.UID = v.Type, v.UID
	return nil
}

// queryText returns a template variable's query, stored as a string or as {"query": ...}.
func (v templateVar) queryText() string {
	var s string
	if json.Unmarshal(v.Query, &s) == nil {
		return s
	}
	var o struct{ Query string }
	_ = json.Unmarshal(v.Query, &o)
	return o.Query
}

func loadDashboard(t testing.TB) (*dashboard, []dashPanel) {
	t.Helper()
	var d dashboard
	if err := json.Unmarshal(readFile(t, filepath.Join(repoRoot(t), dashboardPath)), &d); err != nil {
		t.Fatalf("%s: %v", dashboardPath, err)
	}
	var flat []dashPanel
	var walk func([]dashPanel)
	walk = func(ps []dashPanel) {
		for _, p := range ps {
			flat = append(flat, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return &d, flat
}

func TestDashboardStructure(t *testing.T) {
	d, panels := loadDashboard(t)
	if d.UID == "" || d.Title == "" {
		t.Error("dashboard needs a uid (stable links) and a title")
	}
	ids := map[int]string{}
	queries := 0
	for _, p := range panels {
		if prev, dup := ids[p.ID]; dup {
			t.Errorf("panel id %d used by %q and %q", p.ID, prev, p.Title)
		}
		ids[p.ID] = p.Title
		if p.Type != "row" && p.Title == "" {
			t.Errorf("panel %d has no title", p.ID)
		}
		if p.Type != "row" && p.Type != "text" && p.Type != "alertlist" && len(p.Targets) == 0 {
			t.Errorf("panel %q has no queries", p.Title)
		}
		queries += len(p.Targets)
	}
	if queries == 0 {
		t.Fatal("the dashboard has no queries")
	}
}

// Every datasource a panel, query or variable names is a provisioned one.
func TestDashboardDatasources(t *testing.T) {
	dss := loadDatasources(t, loadStack(t))
	d, panels := loadDashboard(t)
	check := func(where string, ref *datasourceRef) {
		switch {
		case ref.Name != "":
			t.Errorf("%s: datasource by name %q; refer to it by uid", where, ref.Name)
		case ref.UID == "":
			t.Errorf("%s: datasource without uid", where)
		default:
			ds, ok := dss[ref.UID]
			if !ok {
				t.Errorf("%s: datasource uid %q is not provisioned (have %s)", where, ref.UID, strings.Join(sortedKeys(dss), ", "))
			} else if ref.Type != "" && ref.Type != ds.Type {
				t.Errorf("%s: datasource %q has type %s, panel says %s", where, ref.UID, ds.Type, ref.Type)
			}
		}
	}
	for _, p := range panels {
		if p.Datasource != nil {
			check(fmt.Sprintf("panel %q", p.Title), p.Datasource)
		}
		for _, tg := range p.Targets {
			where := fmt.Sprintf("panel %q query %s", p.Title, tg.RefID)
			switch {
			case tg.Datasource != nil:
				check(where, tg.Datasource)
			case p.Datasource == nil:
				t.Errorf("%s: no datasource on the query or its panel", where)
			}
		}
	}
	for _, v := range d.Templating.List {
		if v.Datasource != nil {
			check("variable "+v.Name, v.Datasource)
		} else if v.Type == "query" {
			t.Errorf("variable %s: query variable without datasource", v.Name)
		}
	}
}

// grafanaDurations replace Grafana's built-in interval variables.
var grafanaDurations = map[string]string{
	"__rate_interval": "5m", "__interval": "1m", "__range": "1h",
	"__range_s": "3600", "__interval_ms": "60000",
}

var grafanaVarRE = regexp.MustCompile(`\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]`)

// expandGrafanaVars turns a Grafana query into plain PromQL: built-in
// intervals become durations, dashboard variables (used as label values)
// become a regex. Unknown variables are reported.
func expandGrafanaVars(expr string, defined map[string]bool) (string, []string) {
	var unknown []string
	out := grafanaVarRE.ReplaceAllStringFunc(expr, func(m string) string {
		sub := grafanaVarRE.FindStringSubmatch(m)
		name := sub[1] + sub[2] + sub[3]
		if d, ok := grafanaDurations[name]; ok {
			return d
		}
		if !defined[name] {
			unknown = append(unknown, name)
		}
		return ".*"
	})
	return out, unknown
}

var promqlParser = parser.NewParser(parser.Options{})

// checkPromQL parses expr and checks every series it selects is one the
// router emits, with labels that series has. It returns the series used.
// A bare selector (a variable's label_values source) need not be rated.
func checkPromQL(t *testing.T, where, expr string, bareSelector bool) []series {
	t.Helper()
	ast, err := promqlParser.ParseExpr(expr)
	if err != nil {
		t.Errorf("%s: PromQL does not parse: %v\n\t%s", where, err, expr)
		return nil
	}
	var used []series
	selectors := map[*parser.VectorSelector]series{}
	parser.Inspect(ast, func(node parser.Node, path []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		for _, m := range vs.LabelMatchers {
			if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual {
				name = m.Value
			}
		}
		if name == "" && selectsCollectorTelemetry(vs) {
			return nil // the collector's own metrics, not the router's
		}
		s, ok := lookupSeries(name)
		if !ok {
			t.Errorf("%s: series %q is not one the eventrouter emits nor a recording rule of %s (%s; histograms via _bucket/_sum/_count)",
				where, name, prometheusRulesDir, routerMetricNames())
			return nil
		}
		used = append(used, s)
		selectors[vs] = s
		allowed := s.labels()
		for _, m := range vs.LabelMatchers {
			if m.Name != model.MetricNameLabel && !allowed[m.Name] {
				t.Errorf("%s: %s has no label %q (labels: %v)", where, name, m.Name, s.metric.labels)
			}
		}
		// Counters and histogram series are cumulative: a panel needs their
		// rate or increase, so they must sit under a range selector.
		if s.metric.kind != gauge && !bareSelector {
			inRange := len(path) > 0
			if inRange {
				_, inRange = path[len(path)-1].(*parser.MatrixSelector)
			}
			if !inRange {
				t.Errorf("%s: %s is cumulative; query it through rate()/increase()", where, name)
			}
		}
		return nil
	})
	// Aggregations may only group by labels every series under them has.
	parser.Inspect(ast, func(node parser.Node, _ []parser.Node) error {
		agg, ok := node.(*parser.AggregateExpr)
		if !ok || agg.Without {
			return nil
		}
		parser.Inspect(agg.Expr, func(inner parser.Node, _ []parser.Node) error {
			vs, ok := inner.(*parser.VectorSelector)
			if !ok {
				return nil
			}
			s, ok := selectors[vs]
			if !ok {
				return nil
			}
			allowed := s.labels()
			for _, l := range agg.Grouping {
				if !allowed[l] {
					t.Errorf("%s: %s by (%s): %s has no label %q", where, agg.Op, strings.Join(agg.Grouping, ", "), s.metric.name+s.suffix, l)
				}
			}
			return nil
		})
		return nil
	})
	return used
}

var labelValuesRE = regexp.MustCompile(`^\s*label_values\(\s*(.+?)\s*,\s*(\w+)\s*\)\s*$`)

// TestDashboardPromQL parses every query with Prometheus's own parser and
// checks it against the metrics the router emits.
func TestDashboardPromQL(t *testing.T) {
	d, panels := loadDashboard(t)
	defined := map[string]bool{}
	for _, v := range d.Templating.List {
		defined[v.Name] = true
	}

	usedMetrics := map[string]bool{}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		q := v.queryText()
		where := "variable " + v.Name
		if m := labelValuesRE.FindStringSubmatch(q); m != nil {
			for _, s := range checkPromQL(t, where, m[1], true) {
				if !slices.Contains(s.metric.labels, m[2]) {
					t.Errorf("%s: %s has no label %q", where, s.metric.name, m[2])
				}
			}
			continue
		}
		if strings.HasPrefix(strings.TrimSpace(q), "label_values(") {
			continue // label_values(label): any series
		}
		checkPromQL(t, where, q, false)
	}

	for _, p := range panels {
		for _, tg := range p.Targets {
			where := fmt.Sprintf("panel %q query %s", p.Title, tg.RefID)
			if strings.TrimSpace(tg.Expr) == "" {
				t.Errorf("%s: empty expr", where)
				continue
			}
			expr, unknown := expandGrafanaVars(tg.Expr, defined)
			for _, u := range unknown {
				t.Errorf("%s: variable $%s is not defined by the dashboard", where, u)
			}
			used := checkPromQL(t, where, expr, false)
			bucket := false
			for _, s := range used {
				usedMetrics[s.metric.name] = true
				for _, src := range s.sources {
					usedMetrics[src] = true
				}
				bucket = bucket || s.suffix == "_bucket"
			}
			// Duration quantiles show exemplars, linking to the trace.
			if bucket && strings.Contains(expr, "histogram_quantile") && !tg.Exemplar {
				t.Errorf("%s: histogram quantile without exemplars; set \"exemplar\": true", where)
			}
		}
	}
	// The dashboard covers everything the router emits.
	for _, m := range routerMetrics {
		if !usedMetrics[m.name] {
			t.Errorf("no panel shows %s (%s)", m.name, m.kind)
		}
	}
}

// The dashboard lists the shipped alerts: an alert list panel reading the
// provisioned Prometheus (whose rules docker/prometheus/rules are), showing
// pending and firing alerts, filtered to names the rules define.
func TestDashboardAlertList(t *testing.T) {
	dss := loadDatasources(t, loadStack(t))
	_, panels := loadDashboard(t)
	rules, err := loadRules(repoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range panels {
		if p.Type != "alertlist" {
			continue
		}
		n++
		o := p.Options
		found := false
		for _, ds := range dss {
			if ds.Name == o.Datasource && ds.Type == "prometheus" {
				found = true
				if m := ds.JSONData.ManageAlerts; m != nil && !*m {
					t.Errorf("data source %s: manageAlerts is false: Grafana would not list its rules", ds.UID)
				}
			}
		}
		if !found {
			t.Errorf("panel %q: alert source %q is not a provisioned Prometheus data source (by name)", p.Title, o.Datasource)
		}
		if !o.StateFilter.Firing || !o.StateFilter.Pending {
			t.Errorf("panel %q: shows firing %v, pending %v; want both", p.Title, o.StateFilter.Firing, o.StateFilter.Pending)
		}
		matched := 0
		for _, r := range rules {
			if r.Alert != "" && strings.Contains(r.Alert, o.AlertName) {
				matched++
			}
		}
		if matched == 0 {
			t.Errorf("panel %q: the name filter %q matches no shipped alert", p.Title, o.AlertName)
		}
	}
	if n == 0 {
		t.Error("the dashboard has no alert list panel")
	}
}
