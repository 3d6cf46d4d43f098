package deploy

import (
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// The router documents its metrics in one table (the metrics package's
// README); routerMetrics above must say the same, or the dashboard checks
// would pass against a list the router no longer emits.
func TestRouterMetricsMatchTheRouterDocs(t *testing.T) {
	const doc = "../../processor/eventrouter/internal/metrics/README.md"
	b, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	ticked := regexp.MustCompile("`([^`]+)`")
	documented := map[string]routerMetric{}
	for _, line := range strings.Split(string(b), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 7 || !strings.Contains(cells[3], "`tasker_") {
			continue
		}
		// | OTel name | unit | Prometheus name | type | labels | fed by |
		name := ticked.FindStringSubmatch(cells[3])[1]
		kind := counter
		switch typ := strings.TrimSpace(cells[4]); {
		case strings.HasPrefix(typ, "histogram"):
			kind = histogram
		case strings.HasPrefix(typ, "gauge"):
			kind = gauge
		}
		var labels []string
		for _, m := range ticked.FindAllStringSubmatch(cells[5], -1) {
			labels = append(labels, m[1])
		}
		documented[name] = routerMetric{name: name, kind: kind, labels: labels}
	}
	if len(documented) == 0 {
		t.Fatalf("no metric table found in %s", doc)
	}
	if len(documented) != len(routerMetrics) {
		t.Errorf("%s documents %d metrics, routerMetrics lists %d", doc, len(documented), len(routerMetrics))
	}
	for _, m := range routerMetrics {
		d, ok := documented[m.name]
		if !ok {
			t.Errorf("%s is not in %s", m.name, doc)
			continue
		}
		if d.kind != m.kind {
			t.Errorf("%s: documented as %s, listed as %s", m.name, d.kind, m.kind)
		}
		want, got := append([]string(nil), d.labels...), append([]string(nil), m.labels...)
		sort.Strings(want)
		sort.Strings(got)
		if strings.Join(want, ",") != strings.Join(got, ",") {
			t.Errorf("%s: documented labels %v, listed %v", m.name, want, got)
		}
	}
}
