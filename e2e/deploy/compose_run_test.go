package deploy

// Run what compose runs: no Docker engine runs here, but the stack's own
// files can. This test starts the built collector with the compose stack's
// collector config and Debian's Prometheus with the compose stack's
// Prometheus config and rules, natively on loopback, and checks that
// Prometheus scrapes both collector jobs, that every rule loads and
// evaluates, and that taskercheck's Prometheus checks pass against them.
//
// What is rewritten, and only that: every compose host:port (0.0.0.0:P or
// localhost:P for the collector's own listeners, service:P for the others)
// becomes a free 127.0.0.1 port; paths under the collector's volumes, and every
// file_storage directory, go to a temporary directory; scrape, rule
// evaluation and the router's metric flush run every second instead of 15 s.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

const (
	sampleEvents  = "internal/fixtures/data/sample-native.ndjson"
	sampleSummary = "internal/fixtures/data/sample-native.summary.json"
)

// composeRewriter maps the compose network onto loopback.
type composeRewriter struct {
	t       *testing.T
	s       *stack
	dir     string            // temporary directory for volumes and state
	addrs   map[string]string // "service:port" → "127.0.0.1:free"
	volumes map[string]string // collector container path → host directory
}

func newComposeRewriter(t *testing.T, s *stack) *composeRewriter {
	rw := &composeRewriter{t: t, s: s, dir: t.TempDir(), addrs: map[string]string{}, volumes: map[string]string{}}
	for _, m := range s.mounts(t, collectorService) {
		if !m.bind { // a named volume: a fresh directory, as a fresh volume is empty
			host := filepath.Join(rw.dir, "volumes", m.source)
			if err := os.MkdirAll(host, 0o755); err != nil {
				t.Fatal(err)
			}
			rw.volumes[m.target] = host
		}
	}
	return rw
}

// addr returns the loopback address standing for service:port.
func (rw *composeRewriter) addr(service string, port string) string {
	key := service + ":" + port
	if a, ok := rw.addrs[key]; ok {
		return a
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		rw.t.Fatal(err)
	}
	a := l.Addr().String()
	l.Close()
	rw.addrs[key] = a
	return a
}

// rewrite returns v with compose addresses and volume paths replaced.
func (rw *composeRewriter) rewrite(v any) any {
	switch x := v.(type) {
	case map[string]any:
		// the collector's telemetry reader: host and port apart
		if h, ok := x["host"].(string); ok && h == "0.0.0.0" {
			if p, ok := x["port"].(int); ok {
				a := rw.addr(collectorService, strconv.Itoa(p))
				_, ps, _ := net.SplitHostPort(a)
				x["host"], x["port"] = "127.0.0.1", mustAtoi(rw.t, ps)
			}
		}
		for k, e := range x {
			x[k] = rw.rewrite(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = rw.rewrite(e)
		}
		return x
	case string:
		return rw.rewriteString(x)
	}
	return v
}

func (rw *composeRewriter) rewriteString(s string) string {
	for target, host := range rw.volumes {
		if s == target || strings.HasPrefix(s, target+"/") {
			return host + strings.TrimPrefix(s, target)
		}
	}
	if u, err := url.Parse(s); err == nil && u.Scheme != "" && u.Host != "" {
		u.Host = rw.rewriteString(u.Host)
		return u.String()
	}
	h, p, err := net.SplitHostPort(s)
	if err != nil {
		return s
	}
	if _, err := strconv.Atoi(p); err != nil {
		return s
	}
	if h == "0.0.0.0" || h == "" || h == "::" || h == "localhost" || h == "127.0.0.1" {
		return rw.addr(collectorService, p)
	}
	if _, ok := rw.s.compose.Services[h]; ok {
		return rw.addr(h, p)
	}
	return s
}

func mustAtoi(t *testing.T, s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func writeYAMLFile(t *testing.T, path string, v any) {
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// collectorConfigOnLoopback writes the compose collector config, rewritten.
func (rw *composeRewriter) collectorConfigOnLoopback() string {
	src, _ := rw.s.collectorConfigFile(rw.t)
	var cfg map[string]any
	readYAML(rw.t, src, &cfg)
	// file_storage keeps its state wherever the config says; here, apart.
	exts, _ := cfg["extensions"].(map[string]any)
	for id, c := range exts {
		if componentType(id) != "file_storage" {
			continue
		}
		ec, _ := c.(map[string]any)
		if ec == nil {
			ec = map[string]any{}
			exts[id] = ec
		}
		ec["directory"] = filepath.Join(rw.dir, "storage", strings.ReplaceAll(id, "/", "_"))
		ec["create_directory"] = true
	}
	rw.rewrite(cfg)
	// the router's metrics every second, not every 15 s
	conns, _ := cfg["connectors"].(map[string]any)
	for id, c := range conns {
		if componentType(id) != "eventrouter" {
			continue
		}
		ec, _ := c.(map[string]any)
		if ec == nil {
			ec = map[string]any{}
			conns[id] = ec
		}
		mc, _ := ec["metrics"].(map[string]any)
		if mc == nil {
			mc = map[string]any{}
			ec["metrics"] = mc
		}
		mc["flush_interval"] = "1s"
	}
	out := filepath.Join(rw.dir, "otelcol-tasker.yaml")
	writeYAMLFile(rw.t, out, cfg)
	return out
}

// prometheusOnLoopback writes the compose Prometheus config, rewritten, and
// returns the command line compose would run, rewritten likewise.
func (rw *composeRewriter) prometheusOnLoopback() (args []string, listen string) {
	t := rw.t
	srcHost := rw.s.prometheusConfigFile(t)
	cmdline := rw.s.service(t, prometheusService).Command
	srcContainer, _ := flagValue(cmdline, "--config.file")
	var cfg map[string]any
	readYAML(t, srcHost, &cfg)
	global, _ := cfg["global"].(map[string]any)
	if global == nil {
		global = map[string]any{}
		cfg["global"] = global
	}
	global["scrape_interval"], global["evaluation_interval"] = "1s", "1s"
	// rule files: resolved as Prometheus does, relative to the config file
	// in the container, then mapped back through the bind mounts
	if rfs, ok := cfg["rule_files"].([]any); ok {
		for i, rf := range rfs {
			p, _ := rf.(string)
			if !path.IsAbs(p) {
				p = path.Join(path.Dir(srcContainer), p)
			}
			host, ok := rw.s.hostPathOf(t, prometheusService, p)
			if !ok {
				t.Fatalf("rule_files %s is not in a bind mount of %s", p, prometheusService)
			}
			rfs[i] = host
		}
	}
	// scrape targets: only addresses the collector config listens on
	scs, _ := cfg["scrape_configs"].([]any)
	for _, sc := range scs {
		scm, _ := sc.(map[string]any)
		stcs, _ := scm["static_configs"].([]any)
		for _, stc := range stcs {
			stm, _ := stc.(map[string]any)
			targets, _ := stm["targets"].([]any)
			for i, tg := range targets {
				s, _ := tg.(string)
				if _, ok := rw.addrs[s]; !ok {
					t.Fatalf("job %v: target %s is not an address the collector config listens on (%v)", scm["job_name"], s, sortedKeys(rw.addrs))
				}
				targets[i] = rw.addrs[s]
			}
		}
	}
	cfgPath := filepath.Join(rw.dir, "prometheus.yml")
	writeYAMLFile(t, cfgPath, cfg)

	_, port, _ := net.SplitHostPort(strings.TrimPrefix(mustFlag(t, cmdline, "--web.listen-address"), "http://"))
	listen = rw.addr(prometheusService, port)
	for _, a := range cmdline {
		name, _, _ := strings.Cut(a, "=")
		switch name {
		case "--config.file":
			a = name + "=" + cfgPath
		case "--storage.tsdb.path":
			a = name + "=" + filepath.Join(rw.dir, "prometheus-data")
		case "--web.listen-address":
			a = name + "=" + listen
		}
		args = append(args, a)
	}
	return args, listen
}

func mustFlag(t *testing.T, args []string, name string) string {
	v, ok := flagValue(args, name)
	if !ok {
		t.Fatalf("service %s: no %s", prometheusService, name)
	}
	return v
}

// lockedBuffer collects a process's output while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startProcess runs a program until the test ends (TERM, then KILL), and
// shows the tail of its output when the test failed.
func startProcess(t *testing.T, name, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			s := out.String()
			t.Logf("%s output (tail):\n%s", name, s[max(0, len(s)-3000):])
		}
	})
}

func waitUntil(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

type promResult struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func promQuery(t *testing.T, base, q string) []promResult {
	var res struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []promResult `json:"result"`
		} `json:"data"`
	}
	resp, err := http.Get(base + "/api/v1/query?" + url.Values{"query": {q}}.Encode())
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || res.Status != "success" {
		t.Errorf("query %s: %v %s", q, err, res.Error)
		return nil
	}
	return res.Data.Result
}

func promValue(r promResult) float64 {
	s, _ := r.Value[1].(string)
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

func TestComposeFilesRunNatively(t *testing.T) {
	s := loadStack(t)
	collectorBin := os.Getenv("OTELCOL_TASKER_BIN")
	if collectorBin == "" {
		collectorBin = filepath.Join(s.root, "bin", "otelcol-tasker")
	}
	if _, err := os.Stat(collectorBin); err != nil {
		t.Fatalf("%s is missing: run `make build` first (make test does)", collectorBin)
	}
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatal("prometheus is not installed: apt-get install prometheus (make test and .ci/run do)")
	}
	var sum struct {
		Tasks  int `json:"tasks"`
		Events int `json:"events"`
	}
	if err := json.Unmarshal(readFile(t, filepath.Join(s.root, sampleSummary)), &sum); err != nil {
		t.Fatal(err)
	}

	rw := newComposeRewriter(t, s)
	collectorCfg := rw.collectorConfigOnLoopback()
	promArgs, promAddr := rw.prometheusOnLoopback()
	prom := "http://" + promAddr

	startProcess(t, "collector", rw.dir, collectorBin, "--config", collectorCfg)
	startProcess(t, "prometheus", rw.dir, append([]string{promBin}, promArgs...)...)

	events := "http://" + rw.addrs[collectorService+":8088"] + "/v1/events"
	waitUntil(t, 60*time.Second, "the collector's health check", func() bool {
		resp, err := http.Get("http://" + rw.addrs[collectorService+":13133"] + "/")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	})
	waitUntil(t, 60*time.Second, "Prometheus to be ready", func() bool {
		resp, err := http.Get(prom + "/-/ready")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	})

	body := readFile(t, filepath.Join(s.root, sampleEvents))
	resp, err := http.Post(events, "application/x-ndjson", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := fmt.Sprintf(`{"accepted":%d}`, sum.Events); resp.StatusCode != http.StatusOK || strings.TrimSpace(string(answer)) != want {
		t.Fatalf("POST %s: %d %s, want 200 %s", events, resp.StatusCode, answer, want)
	}

	// Both scrape jobs up; the workflow metrics under the sending service
	// (honor_labels keeps the exporter's job); the collector's own telemetry.
	waitUntil(t, 30*time.Second, `sum(tasker_tasks_total{job="tasker"}) to reach the sample's task count`, func() bool {
		r := promQuery(t, prom, `sum(tasker_tasks_total{job="tasker"})`)
		return len(r) == 1 && promValue(r[0]) == float64(sum.Tasks)
	})
	// the two jobs are scraped on their own schedules: wait for the second
	// scrape of the collector's telemetry after the sample, bounded
	accepted := `sum({__name__=~"otelcol_receiver_accepted_log_records(_total)?"})`
	waitUntil(t, 30*time.Second, "both scrape targets up and the collector's telemetry counting the sample", func() bool {
		r := promQuery(t, prom, accepted)
		return len(promQuery(t, prom, `up == 1`)) == 2 && len(r) == 1 && promValue(r[0]) == float64(sum.Events)
	})
	for _, r := range promQuery(t, prom, `up`) {
		if promValue(r) != 1 {
			t.Errorf("scrape job %s (%s) is down", r.Metric["job"], r.Metric["instance"])
		}
	}

	// Every shipped rule is loaded, evaluates without error, and the
	// recording rules produce series of the sample's tasks.
	rules, err := loadRules(s.root)
	if err != nil {
		t.Fatal(err)
	}
	type ruleState struct {
		Name, Health, LastError string
		LastEvaluation          time.Time
	}
	var loaded []ruleState
	waitUntil(t, 30*time.Second, "every rule to be evaluated", func() bool {
		var res struct {
			Data struct {
				Groups []struct {
					Rules []struct {
						Name           string    `json:"name"`
						Health         string    `json:"health"`
						LastError      string    `json:"lastError"`
						LastEvaluation time.Time `json:"lastEvaluation"`
					} `json:"rules"`
				} `json:"groups"`
			} `json:"data"`
		}
		resp, err := http.Get(prom + "/api/v1/rules")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		if json.NewDecoder(resp.Body).Decode(&res) != nil {
			return false
		}
		loaded = loaded[:0]
		evaluated := 0
		for _, g := range res.Data.Groups {
			for _, r := range g.Rules {
				loaded = append(loaded, ruleState{r.Name, r.Health, r.LastError, r.LastEvaluation})
				if r.LastEvaluation.Year() > 2000 {
					evaluated++
				}
			}
		}
		return len(loaded) == len(rules) && evaluated == len(rules)
	})
	for _, r := range loaded {
		if r.Health != "ok" || r.LastError != "" {
			t.Errorf("rule %s: health %q %s", r.Name, r.Health, r.LastError)
		}
	}
	waitUntil(t, 30*time.Second, "the recording rules to write series", func() bool {
		return len(promQuery(t, prom, `job_task_name:tasker_tasks:rate5m{job="tasker"}`)) > 0 &&
			len(promQuery(t, prom, `job_task_name:tasker_workflow_duration_seconds:quantile_rate5m{job="tasker",quantile="0.95"}`)) > 0
	})

	// taskercheck's Prometheus checks pass against these configs (no
	// Jaeger here: its three checks are skipped).
	tc := filepath.Join(rw.dir, "taskercheck")
	build := exec.Command("go", "build", "-o", tc, "./cmd/taskercheck")
	build.Dir = s.root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/taskercheck: %v\n%s", err, out)
	}
	out, err := exec.Command(tc, "--prometheus", prom, "--service", "tasker").CombinedOutput()
	if err != nil {
		t.Errorf("taskercheck against the compose configs: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 1 && strings.Contains(line, "  FAIL  ") {
			t.Errorf("taskercheck: %s", line)
		}
	}
	t.Logf("taskercheck:\n%s", out)
}
