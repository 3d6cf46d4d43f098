package deploy

// docs/EXTENDING.md: the guide quotes files that are tested, and its
// YAML-only example runs in the built collector and does what it says.

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	extendingDoc       = "docs/EXTENDING.md"
	customEventsConfig = "examples/custom-events.yaml"
	logfmtExample      = "examples/logfmtexporter"
)

// The guide shows the example config and the builder lines verbatim, and
// the contrib exporter it adds is of the release the distribution builds.
func TestExtendingGuideQuotesTheExamples(t *testing.T) {
	root := repoRoot(t)
	doc := string(readFile(t, filepath.Join(root, extendingDoc)))
	cfg := string(readFile(t, filepath.Join(root, customEventsConfig)))
	if !strings.Contains(doc, "```yaml\n"+cfg+"```") {
		t.Errorf("%s does not quote %s verbatim in a yaml block", extendingDoc, customEventsConfig)
	}
	if _, err := os.Stat(filepath.Join(root, logfmtExample, "factory.go")); err != nil {
		t.Error(err)
	}
	if !strings.Contains(doc, "import: github.com/otelcol-tasker/otelcol-tasker/"+logfmtExample+"\n") {
		t.Errorf("%s does not show the builder lines of %s", extendingDoc, logfmtExample)
	}
	// every contrib module the guide adds has the contrib version of builder-config.yaml
	builder := string(readFile(t, filepath.Join(root, builderConfigPath)))
	version := regexp.MustCompile(`opentelemetry-collector-contrib/\S+ (v\S+)`).FindStringSubmatch(builder)
	if version == nil {
		t.Fatalf("%s names no contrib module", builderConfigPath)
	}
	added := regexp.MustCompile(`gomod: (github.com/open-telemetry/opentelemetry-collector-contrib/exporter/\S+) (v\S+)`).FindAllStringSubmatch(doc, -1)
	if len(added) == 0 {
		t.Fatalf("%s adds no contrib exporter", extendingDoc)
	}
	for _, m := range added {
		if m[2] != version[1] {
			t.Errorf("%s: %s %s, but the distribution builds contrib %s", extendingDoc, m[1], m[2], version[1])
		}
	}
}

func freeLoopback(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// sampleSum adds the samples of metric whose labels include every one of
// labels, from a Prometheus text exposition.
func sampleSum(exposition, metric string, labels ...string) (float64, int) {
	total, n := 0.0, 0
	sc := bufio.NewScanner(strings.NewReader(exposition))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, metric+"{") {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(line, l)
		}
		if !ok {
			continue
		}
		f := strings.Fields(line[strings.LastIndex(line, "}")+1:])
		if v, err := strconv.ParseFloat(f[0], 64); err == nil {
			total += v
			n++
		}
	}
	return total, n
}

// The YAML-only example, run: its route sends custom events to metrics and
// logs, its definitions make metrics of them, its drop list drops.
func TestCustomEventsExampleRuns(t *testing.T) {
	root := repoRoot(t)
	bin := os.Getenv("OTELCOL_TASKER_BIN")
	if bin == "" {
		bin = filepath.Join(root, "bin", "otelcol-tasker")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s is missing: run `make build` first (make test does)", bin)
	}
	dir := t.TempDir()
	events, metrics := freeLoopback(t), freeLoopback(t)
	startProcess(t, "collector", dir, bin, "--config", filepath.Join(root, customEventsConfig),
		"--set=receivers::taskerevents::endpoint="+events,
		"--set=exporters::prometheus::endpoint="+metrics,
		"--set=service::telemetry::metrics::level=none",
		"--set=connectors::eventrouter::metrics::flush_interval=200ms")
	waitUntil(t, 60*time.Second, "the receiver", func() bool {
		c, err := net.Dial("tcp", events)
		if err == nil {
			c.Close()
		}
		return err == nil
	})

	body := strings.Join([]string{
		`{"name":"shop.order_placed","timestamp":"2026-11-26T10:00:00Z","payload":{"order_id":1,"channel":"web","amount":20}}`,
		`{"name":"shop.order_placed","timestamp":"2026-11-26T10:00:01Z","payload":{"order_id":2,"channel":"web","amount":80}}`,
		`{"name":"shop.order_placed","timestamp":"2026-11-26T10:00:02Z","payload":{"order_id":3,"channel":"app","amount":300}}`,
		`{"name":"test.ping","timestamp":"2026-11-26T10:00:03Z","payload":{}}`,
		`{"name":"observability.step.find_viable","timestamp":"2026-11-26T10:00:04Z","payload":{"task_id":7}}`,
	}, "\n")
	resp, err := http.Post("http://"+events+"/v1/events", "application/x-ndjson", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(answer)) != `{"accepted":5}` {
		t.Fatalf("POST: %d %s", resp.StatusCode, answer)
	}

	var exposition string
	waitUntil(t, 30*time.Second, "the example's metrics", func() bool {
		resp, err := http.Get("http://" + metrics + "/metrics")
		if err != nil {
			return false
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		exposition = string(b)
		v, _ := sampleSum(exposition, "tasker_events_total")
		return v == 4
	})
	checks := []struct {
		metric string
		labels []string
		want   float64
	}{
		{"shop_orders_total", []string{`channel="web"`}, 2},
		{"shop_orders_total", []string{`channel="app"`}, 1},
		{"shop_order_amount_sum", []string{`channel="web"`}, 100},
		{"shop_order_amount_count", []string{`channel="web"`}, 2},
		{"shop_order_amount_bucket", []string{`channel="web"`, `le="50"`}, 1},
		{"shop_order_amount_bucket", []string{`channel="app"`, `le="100"`}, 0},
		{"shop_order_amount_bucket", []string{`channel="app"`, `le="500"`}, 1},
		{"tasker_events_total", []string{`event="shop.order_placed"`}, 3},
		{"tasker_events_total", []string{`event="observability.step.find_viable"`}, 1},
		{"tasker_events_total", []string{`event="test.ping"`}, 0}, // dropped: never counted
	}
	for _, c := range checks {
		if got, _ := sampleSum(exposition, c.metric, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.metric, c.labels, got, c.want)
		}
	}

	// the event log: the three orders; the counted-only and dropped events are not in it
	path := filepath.Join(dir, "data", "events.jsonl")
	var lines [][]byte
	waitUntil(t, 30*time.Second, "the event log", func() bool {
		b, _ := os.ReadFile(path)
		lines = bytes.Split(bytes.TrimSpace(b), []byte("\n"))
		return len(b) > 0 && len(lines) >= 3
	})
	if len(lines) != 3 {
		t.Errorf("%s holds %d records, want the 3 orders", path, len(lines))
	}
	for _, l := range lines {
		if !bytes.Contains(l, []byte(`"event_name":"shop.order_placed"`)) {
			t.Errorf("unexpected record in the event log: %s", l)
		}
	}
}
