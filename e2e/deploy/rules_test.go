package deploy

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
)

// ruleFile is a Prometheus rules file (the fields these tests read).
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []rule `yaml:"rules"`
	} `yaml:"groups"`
}

type rule struct {
	Record      string            `yaml:"record"`
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
	file        string
}

// ruleFiles lists the rules files shipped in docker/prometheus/rules.
func ruleFiles(root string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(root, prometheusRulesDir, "*.yml"))
	if err == nil && len(files) == 0 {
		err = fmt.Errorf("%s holds no rules file", prometheusRulesDir)
	}
	return files, err
}

// loadRules reads every shipped rule, recording and alerting.
func loadRules(root string) ([]rule, error) {
	files, err := ruleFiles(root)
	if err != nil {
		return nil, err
	}
	var out []rule
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var rf ruleFile
		if err := yaml.Unmarshal(b, &rf); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for _, g := range rf.Groups {
			for _, r := range g.Rules {
				r.file = filepath.Base(f)
				out = append(out, r)
			}
		}
	}
	return out, nil
}

var (
	recordedOnce sync.Once
	recorded     map[string]series
)

// recordedSeries maps each recording rule's name to the series it writes:
// a gauge (the rule already took the rate) with the labels it keeps, made
// of the router metrics its expression reads. Errors leave it empty; the
// rules tests below report them.
func recordedSeries() map[string]series {
	recordedOnce.Do(func() {
		recorded = map[string]series{}
		root, err := filepath.Abs(filepath.Join("..", ".."))
		if err != nil {
			return
		}
		rules, err := loadRules(root)
		if err != nil {
			return
		}
		for _, r := range rules {
			if r.Record == "" {
				continue
			}
			ast, err := promqlParser.ParseExpr(r.Expr)
			if err != nil {
				continue
			}
			s := recorded[r.Record]
			s.metric.name, s.metric.kind = r.Record, gauge
			for _, l := range outputLabels(ast) {
				if !slices.Contains(s.metric.labels, l) {
					s.metric.labels = append(s.metric.labels, l)
				}
			}
			for l := range r.Labels {
				if !slices.Contains(s.metric.labels, l) {
					s.metric.labels = append(s.metric.labels, l)
				}
			}
			for _, name := range selectorNames(ast) {
				if src, ok := lookupRouterSeries(name); ok && !slices.Contains(s.sources, src.metric.name) {
					s.sources = append(s.sources, src.metric.name)
				}
			}
			recorded[r.Record] = s
		}
	})
	return recorded
}

// outputLabels returns the labels an expression's result keeps, for the
// shapes the recording rules use: an aggregation by labels, a binary
// operation (the left side's labels), histogram_quantile (its argument's,
// less le) and parentheses.
func outputLabels(e parser.Expr) []string {
	switch x := e.(type) {
	case *parser.AggregateExpr:
		if x.Without {
			return nil
		}
		return x.Grouping
	case *parser.BinaryExpr:
		return outputLabels(x.LHS)
	case *parser.ParenExpr:
		return outputLabels(x.Expr)
	case *parser.Call:
		if x.Func.Name == "histogram_quantile" && len(x.Args) == 2 {
			var out []string
			for _, l := range outputLabels(x.Args[1]) {
				if l != "le" {
					out = append(out, l)
				}
			}
			return out
		}
	}
	return nil
}

// selectorNames returns the metric names an expression selects.
func selectorNames(e parser.Expr) []string {
	var out []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			out = append(out, vs.Name)
		}
		return nil
	})
	return out
}

// selectsCollectorTelemetry: a selector of the collector's own metrics by a
// name pattern (otelcol_..., with or without the _total suffix).
func selectsCollectorTelemetry(vs *parser.VectorSelector) bool {
	for _, m := range vs.LabelMatchers {
		if m.Name == model.MetricNameLabel && m.Type == labels.MatchRegexp && strings.HasPrefix(m.Value, "otelcol_") {
			return true
		}
	}
	return false
}

// Prometheus loads every shipped rules file: the compose Prometheus config's
// rule_files, resolved the way Prometheus does (relative to the config
// file, in the container) and mapped back through the bind mounts.
func TestPrometheusLoadsTheRules(t *testing.T) {
	s := loadStack(t)
	cfgHost := s.prometheusConfigFile(t)
	cfgContainer, _ := flagValue(s.service(t, prometheusService).Command, "--config.file")
	var pc struct {
		RuleFiles []string `yaml:"rule_files"`
	}
	readYAML(t, cfgHost, &pc)
	if len(pc.RuleFiles) == 0 {
		t.Fatalf("%s: no rule_files", prometheusConfigPath)
	}
	loaded := map[string]bool{}
	for _, pattern := range pc.RuleFiles {
		if !path.IsAbs(pattern) {
			pattern = path.Join(path.Dir(cfgContainer), pattern)
		}
		host, ok := s.hostPathOf(t, prometheusService, pattern)
		if !ok {
			t.Errorf("rule_files %s: not inside a bind mount of service %s", pattern, prometheusService)
			continue
		}
		matches, err := filepath.Glob(host)
		if err != nil || len(matches) == 0 {
			t.Errorf("rule_files %s (%s): matches no file", pattern, host)
		}
		for _, m := range matches {
			loaded[m] = true
		}
	}
	shipped, err := ruleFiles(s.root)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range shipped {
		if !loaded[f] {
			t.Errorf("%s is not loaded by %s", f, prometheusConfigPath)
		}
	}
}

var (
	recordNameRE = regexp.MustCompile(`^([a-z][a-z0-9_]*)?:([a-z][a-z0-9_]*):([a-z][a-z0-9_]*)$`)
	severities   = []string{"critical", "warning", "info"}
	// what a description may name: the service and the task, step, table
	// or collector component at fault
	namedLabels = []string{"task_name", "step_name", "table", "receiver", "exporter", "job"}
)

// Recording rules are named level:metric:operations, where the level is
// exactly the labels the result keeps, and read only router metrics (or
// other recording rules) with labels those have.
func TestRecordingRuleConventions(t *testing.T) {
	rules, err := loadRules(repoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range rules {
		if r.Record == "" {
			continue
		}
		n++
		where := r.file + ": " + r.Record
		m := recordNameRE.FindStringSubmatch(r.Record)
		if m == nil {
			t.Errorf("%s: not named level:metric:operations", where)
			continue
		}
		ast, err := promqlParser.ParseExpr(r.Expr)
		if err != nil {
			t.Errorf("%s: %v", where, err)
			continue
		}
		if level := strings.Join(outputLabels(ast), "_"); level != m[1] {
			t.Errorf("%s: the level %q does not say which labels the result keeps (%q)", where, m[1], level)
		}
		if !strings.HasPrefix(m[2], "tasker_") {
			t.Errorf("%s: metric part %q does not name a tasker_ metric", where, m[2])
		}
		checkPromQL(t, where, r.Expr, false)
	}
	if n == 0 {
		t.Fatal("no recording rule found")
	}
}

// Every alert has a severity, a summary, a description naming what is at
// fault, a runbook section in docs/ALERTS.md and a production `for:`.
func TestAlertingRuleConventions(t *testing.T) {
	root := repoRoot(t)
	rules, err := loadRules(root)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(readFile(t, filepath.Join(root, alertsDocPath)))
	n := 0
	for _, r := range rules {
		if r.Alert == "" {
			continue
		}
		n++
		where := r.file + ": " + r.Alert
		if !slices.Contains(severities, r.Labels["severity"]) {
			t.Errorf("%s: severity %q, want one of %v", where, r.Labels["severity"], severities)
		}
		if r.Annotations["summary"] == "" {
			t.Errorf("%s: no summary", where)
		}
		desc := r.Annotations["description"]
		if !slices.ContainsFunc(namedLabels, func(l string) bool { return strings.Contains(desc, "$labels."+l) }) {
			t.Errorf("%s: the description names none of %v", where, namedLabels)
		}
		anchor := strings.ToLower(r.Alert)
		if want := alertsDocPath + "#" + anchor; r.Annotations["runbook_url"] != want {
			t.Errorf("%s: runbook_url %q, want %q", where, r.Annotations["runbook_url"], want)
		}
		if !strings.Contains(doc, "\n## "+r.Alert+"\n") {
			t.Errorf("%s: %s has no section \"## %s\"", where, alertsDocPath, r.Alert)
		}
		d, err := model.ParseDuration(r.For)
		if err != nil || time.Duration(d) < 5*time.Minute {
			t.Errorf("%s: for %q; a production alert waits at least 5m before it fires", where, r.For)
		}
		checkPromQL(t, where, r.Expr, false)
	}
	if n == 0 {
		t.Fatal("no alerting rule found")
	}
}

// unitTestFile is a promtool test file (the fields these tests read).
type unitTestFile struct {
	RuleFiles []string `yaml:"rule_files"`
	Tests     []struct {
		Name          string `yaml:"name"`
		AlertRuleTest []struct {
			Alertname string           `yaml:"alertname"`
			ExpAlerts []map[string]any `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
		PromQLExprTest []struct {
			Expr string `yaml:"expr"`
		} `yaml:"promql_expr_test"`
	} `yaml:"tests"`
}

// Every alert has a promtool case where it fires and one where it must not;
// every recording rule's series is checked by a promql_expr_test; every
// shipped rules file is under test. (`make test` runs promtool on them.)
func TestEveryRuleIsUnitTested(t *testing.T) {
	root := repoRoot(t)
	rules, err := loadRules(root)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(root, prometheusTestsDir, "*.test.yml"))
	if len(files) == 0 {
		t.Fatalf("%s holds no promtool test file", prometheusTestsDir)
	}
	fires, silent, evaluated, tested := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, f := range files {
		var tf unitTestFile
		readYAML(t, f, &tf)
		for _, rf := range tf.RuleFiles {
			tested[filepath.Clean(filepath.Join(filepath.Dir(f), rf))] = true
		}
		for _, tc := range tf.Tests {
			for _, a := range tc.AlertRuleTest {
				if len(a.ExpAlerts) > 0 {
					fires[a.Alertname] = true
				} else {
					silent[a.Alertname] = true
				}
			}
			for _, e := range tc.PromQLExprTest {
				evaluated[strings.TrimSpace(e.Expr)] = true
			}
		}
	}
	shipped, _ := ruleFiles(root)
	for _, f := range shipped {
		if !tested[f] {
			t.Errorf("%s: no promtool test file loads it", f)
		}
	}
	for _, r := range rules {
		switch {
		case r.Alert != "" && !fires[r.Alert]:
			t.Errorf("alert %s: no promtool case where it fires", r.Alert)
		case r.Alert != "" && !silent[r.Alert]:
			t.Errorf("alert %s: no promtool case where it must not fire", r.Alert)
		case r.Record != "" && !evaluated[r.Record]:
			t.Errorf("recording rule %s: no promql_expr_test checks its series", r.Record)
		}
	}
}
