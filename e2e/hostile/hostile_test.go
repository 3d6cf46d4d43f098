//go:build faults

// Package hostile runs the built collector with the default configuration
// (config/otelcol-tasker.yaml) and plays the hostile clients of issue 16
// against it: label values of a megabyte, a correlation header copied into
// a thousand events, a body sent a byte a second, secrets under every name
// a service may give them. Each check asserts the limit that now holds.
// Every collector listens on free loopback ports, so the suite can run
// next to others.
package hostile

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	repoRoot      = "../.."
	defaultConfig = repoRoot + "/config/otelcol-tasker.yaml"
)

func binary(t *testing.T) string {
	if b := os.Getenv("OTELCOL_TASKER_BIN"); b != "" {
		return b
	}
	b, err := filepath.Abs(repoRoot + "/bin/otelcol-tasker")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(b); err != nil {
		t.Fatalf("%s is missing: run `make build` first (make faults-hostile does)", b)
	}
	return b
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// collector is one running collector with the default configuration.
type collector struct {
	events, metrics, telemetry, health string
	dir                                string // its working directory: data/ lands there
	pid                                int
	out                                *syncBuffer
}

// telemetryOverlay turns the collector's own metrics on, on a free port:
// the eventrouter's counters are read there.
const telemetryOverlay = `service:
  telemetry:
    metrics:
      level: detailed
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: %s
`

func startCollector(t *testing.T) *collector {
	t.Helper()
	cfg, err := filepath.Abs(defaultConfig)
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{events: freePort(t), metrics: freePort(t), telemetry: freePort(t), health: freePort(t),
		dir: t.TempDir(), out: &syncBuffer{}}
	_, port, _ := net.SplitHostPort(c.telemetry)
	overlay := filepath.Join(c.dir, "telemetry.yaml")
	if err := os.WriteFile(overlay, fmt.Appendf(nil, telemetryOverlay, port), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{
		"--config", cfg, "--config", overlay,
		"--set=receivers::taskerevents::endpoint=" + c.events,
		"--set=receivers::otlp::protocols::grpc::endpoint=" + freePort(t),
		"--set=receivers::otlp::protocols::http::endpoint=" + freePort(t),
		"--set=exporters::prometheus::endpoint=" + c.metrics,
		"--set=extensions::health_check::endpoint=" + c.health,
		"--set=extensions::pprof::endpoint=" + freePort(t),
		"--set=extensions::zpages::endpoint=" + freePort(t),
		// quicker than the defaults, so the test need not wait 15 s
		"--set=connectors::eventrouter::metrics::flush_interval=500ms",
		"--set=connectors::eventrouter::traces::task_end_grace=500ms",
	}
	cmd := exec.Command(binary(t), args...)
	cmd.Dir = c.dir
	cmd.Stdout, cmd.Stderr = c.out, c.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c.pid = cmd.Process.Pid
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("collector output (tail):\n%s", tail(c.out.String(), 4000))
		}
	})
	waitFor(t, 60*time.Second, "the health check", func() bool {
		resp, err := http.Get("http://" + c.health + "/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return c
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// waitFor polls ok until it holds, for at most d.
func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if ok() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", d, what)
}

func get(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// post sends one request to the events endpoint.
func (c *collector) post(t *testing.T, contentType string, body []byte, headers map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+c.events+"/v1/events", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// counter reads a counter of the collector's own telemetry (summed over
// its series); -1 when it is not there yet.
func (c *collector) counter(t *testing.T, name string) float64 {
	re := regexp.MustCompile(`(?m)^` + name + `(\{[^}]*\})? ([0-9.e+]+)$`)
	sum, found := 0.0, false
	for _, m := range re.FindAllSubmatch(get(t, "http://"+c.telemetry+"/metrics"), -1) {
		v, err := strconv.ParseFloat(string(m[2]), 64)
		if err != nil {
			t.Fatal(err)
		}
		sum, found = sum+v, true
	}
	if !found {
		return -1
	}
	return sum
}

// rss is the collector's resident set size in bytes.
func (c *collector) rss(t *testing.T) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.pid))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^VmRSS:\s+(\d+) kB$`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no VmRSS in /proc/%d/status", c.pid)
	}
	kb, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return kb << 10
}

// outputBytes is the size of everything the collector wrote under data/,
// in all and per file.
func (c *collector) outputBytes(t *testing.T) (int64, map[string]int64) {
	var n int64
	files := map[string]int64{}
	err := filepath.Walk(filepath.Join(c.dir, "data"), func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			n += info.Size()
			files[info.Name()] = info.Size()
		}
		return err
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return n, files
}

// The first reproducer, exactly: 30 task.completed events with
// distinct 1 MiB task names. /metrics stays under 2 MB, the collector's
// RSS grows by less than 100 MB, and the truncation counter says 30.
func TestBigLabels(t *testing.T) {
	c := startCollector(t)
	// one ordinary event first, so the pipelines and /metrics are warm
	// before the baseline is taken
	if code, body := c.post(t, "application/json", []byte(`{"name":"task.completed","payload":{"task_id":0,"task_name":"warm","started_at":"2026-11-26T10:00:00Z","total_execution_duration":1}}`), nil); code != http.StatusOK {
		t.Fatalf("warm-up: %d %s", code, body)
	}
	waitFor(t, 30*time.Second, "the warm-up event in /metrics", func() bool {
		return bytes.Contains(get(t, "http://"+c.metrics+"/metrics"), []byte(`task_name="warm"`))
	})
	before := c.rss(t)

	big := fmt.Sprintf(`{"name":"task.completed","payload":{"task_id":1,"task_name":"%s","started_at":"2026-11-26T10:00:00Z","total_execution_duration":1}}`,
		strings.Repeat("T", 1<<20))
	for i := 1; i <= 30; i++ {
		body := strings.Replace(big, `"task_id":1`, `"task_id":`+strconv.Itoa(i), 1)
		body = strings.Replace(body, "TT", strconv.Itoa(i), 1) // as the sed does
		if code, resp := c.post(t, "application/json", []byte(body), nil); code != http.StatusOK {
			t.Fatalf("event %d: %d %s", i, code, resp)
		}
	}
	waitFor(t, 30*time.Second, "the truncation counter", func() bool {
		return c.counter(t, "otelcol_eventrouter_metrics_labels_truncated") == 30
	})
	var page []byte
	waitFor(t, 30*time.Second, "31 task series in /metrics", func() bool {
		page = get(t, "http://"+c.metrics+"/metrics")
		return bytes.Count(page, []byte("tasker_tasks_total{")) == 31
	})
	growth := c.rss(t) - before
	t.Logf("/metrics: %d bytes; RSS %d → %d MB (+%d MB)", len(page), before>>20, (before+growth)>>20, growth>>20)
	if len(page) >= 2_000_000 {
		t.Errorf("/metrics is %d bytes, want under 2 MB", len(page))
	}
	if growth >= 100<<20 {
		t.Errorf("RSS grew by %d MB, want under 100 MB", growth>>20)
	}
	if got := c.counter(t, "otelcol_eventrouter_metrics_labels_truncated"); got != 30 {
		t.Errorf("truncation counter %v, want 30", got)
	}
	if got := c.counter(t, "otelcol_eventrouter_metrics_state_overflows"); got != 0 {
		t.Errorf("state overflows %v, want 0", got)
	}
	// every long name is cut to 256 bytes, ending with the marker
	names := regexp.MustCompile(`tasker_tasks_total\{[^}]*task_name="([^"]*)"`).FindAllSubmatch(page, -1)
	cut := 0
	for _, m := range names {
		if strings.HasSuffix(string(m[1]), "...[TRUNCATED]") {
			cut++
			if len(m[1]) != 256 {
				t.Errorf("a cut name is %d bytes, want 256", len(m[1]))
			}
		}
	}
	if cut != 30 {
		t.Errorf("%d cut task names in /metrics, want 30", cut)
	}
}

// tinyEvents is n small native events, one per line.
func tinyEvents(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, `{"name":"task.completed","payload":{"task_id":%d,"task_name":"t","total_execution_duration":1}}`+"\n", i)
	}
	return b.Bytes()
}

// The second reproducer: one request of 1,000 events with a 64 KiB
// correlation header is refused with 431 and a message; nothing of it
// reaches an output. The bound that holds instead (receiver README,
// "Bounds"): everything the default pipeline writes for a request stays
// within outputFactor x its body plus outputPerEvent bytes per event,
// whatever headers it carries (worstFactor for bodies of invalid UTF-8,
// each byte of which is written as a 3-byte U+FFFD); for Tasker's own
// events that is under 10x.
func TestCorrelationHeaderAmplification(t *testing.T) {
	const outputFactor, worstFactor, outputPerEvent = 8, 24, 1536
	c := startCollector(t)
	body := tinyEvents(1000)
	code, resp := c.post(t, "application/x-ndjson", body, map[string]string{"X-Correlation-ID": strings.Repeat("c", 64<<10)})
	if code != http.StatusRequestHeaderFieldsTooLarge || !strings.Contains(resp, "header X-Correlation-ID is 65536 bytes, longer than the 256 allowed (max_header_value_length)") {
		t.Fatalf("64 KiB correlation header: %d %s", code, resp)
	}

	// the longest header the average event allows, on the smallest events
	// that make spans: the worst case of the bound
	header := strings.Repeat("c", len(body)/1000)
	if code, resp := c.post(t, "application/x-ndjson", body, map[string]string{"X-Correlation-ID": header}); code != http.StatusOK {
		t.Fatalf("a %d-byte header: %d %s", len(header), code, resp)
	}
	out := c.waitOutputs(t, 1000, 1000)
	t.Logf("1,000 tiny events: body %d bytes + a %d-byte header → %d bytes under data/ (%.1fx the body)", len(body), len(header), out, float64(out)/float64(len(body)))
	if limit := int64(outputFactor*len(body) + outputPerEvent*1000); out > limit {
		t.Errorf("outputs %d bytes, beyond %d x body + %d per event = %d", out, outputFactor, outputPerEvent, limit)
	}

	// the worst bytes: invalid UTF-8, 1 byte in, U+FFFD (3 bytes) out, in
	// a task name every output copies twice
	var bad bytes.Buffer
	for i := range 200 {
		fmt.Fprintf(&bad, `{"name":"task.completed","payload":{"task_id":%d,"task_name":"%s","total_execution_duration":1}}`+"\n",
			100000+i, bytes.Repeat([]byte{0xff}, 200))
	}
	c3 := startCollector(t)
	if code, resp := c3.post(t, "application/x-ndjson", bad.Bytes(), nil); code != http.StatusOK {
		t.Fatalf("invalid UTF-8: %d %s", code, resp)
	}
	out = c3.waitOutputs(t, 200, 200)
	t.Logf("200 events with 200 invalid UTF-8 bytes each: %d bytes → %d bytes under data/ (%.1fx)", bad.Len(), out, float64(out)/float64(bad.Len()))
	if limit := int64(worstFactor*bad.Len() + outputPerEvent*200); out > limit {
		t.Errorf("outputs %d bytes, beyond %d x body + %d per event = %d", out, worstFactor, outputPerEvent, limit)
	}

	// Tasker's sample (646 events, 20 tasks) with a UUID correlation id
	sample, err := os.ReadFile(repoRoot + "/internal/fixtures/data/sample-native.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	c2 := startCollector(t)
	uuid := "0b6f3f52-8d3c-4f7e-9a57-2f1d6c1e9b4a"
	if code, resp := c2.post(t, "application/x-ndjson", sample, map[string]string{"X-Correlation-ID": uuid}); code != http.StatusOK {
		t.Fatalf("sample: %d %s", code, resp)
	}
	events := bytes.Count(sample, []byte("\n"))
	out = c2.waitOutputs(t, events, 0)
	ratio := float64(out) / float64(len(sample)+len(uuid))
	t.Logf("the sample: %d bytes → %d bytes under data/ (%.2fx)", len(sample), out, ratio)
	if ratio >= 10 {
		t.Errorf("the sample's outputs are %.2fx its input, want under 10x", ratio)
	}
	if limit := int64(outputFactor*len(sample) + outputPerEvent*events); out > limit {
		t.Errorf("outputs %d bytes, beyond %d", out, limit)
	}
}

// waitOutputs waits until the logs CSV holds records lines and the traces
// CSV at least spans lines (besides their headers), then for the logs and
// traces files to stop growing, and returns their total size. The metrics
// files are left out: they get a snapshot of the whole state every flush,
// bounded by the state (max_label_length, max_state_bytes), not by input.
func (c *collector) waitOutputs(t *testing.T, records, spans int) int64 {
	t.Helper()
	waitFor(t, 30*time.Second, "the logs and traces outputs", func() bool {
		return lines(t, filepath.Join(c.dir, "data", "events.csv")) == records+1 &&
			lines(t, filepath.Join(c.dir, "data", "traces.csv")) >= spans+1
	})
	last := int64(-1)
	waitFor(t, 30*time.Second, "the outputs to settle", func() bool {
		_, files := c.outputBytes(t)
		n := int64(0)
		for name, size := range files {
			if !strings.HasPrefix(name, "metrics.") { // snapshots written every flush, whatever came in
				n += size
			}
		}
		settled := n == last
		last = n
		if !settled {
			time.Sleep(time.Second) // more than a metrics flush and a batch timeout
		}
		return settled
	})
	return last
}

// lines counts the lines of a file (0 when it does not exist yet).
func lines(t *testing.T, path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return bytes.Count(b, []byte("\n"))
}

// The third reproducer: a chunked body sent a byte a second is cut
// by the default body deadline (body_timeout 10s + bytes/min_body_rate),
// answered 408, and its connection closed.
func TestSlowSenderIsCutByDefault(t *testing.T) {
	c := startCollector(t)
	conn, err := net.Dial("tcp", c.events)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n")
	start := time.Now()
	answered := make(chan *http.Response, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err == nil {
			answered <- resp
		}
		close(answered)
	}()
	body := tinyEvents(1)
	var resp *http.Response
	for i := 0; resp == nil && i < 30; i++ { // at most 30 bytes, 30 s
		if _, err := fmt.Fprintf(conn, "1\r\n%c\r\n", body[i]); err != nil {
			break // cut
		}
		select {
		case resp = <-answered:
		case <-time.After(time.Second):
		}
	}
	if resp == nil {
		select {
		case resp = <-answered:
		case <-time.After(5 * time.Second):
		}
	}
	elapsed := time.Since(start)
	if resp == nil {
		t.Fatalf("the slow body was not cut after %s", elapsed)
	}
	b, _ := io.ReadAll(resp.Body)
	t.Logf("cut after %s: %d %s", elapsed.Round(time.Millisecond), resp.StatusCode, b)
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(b), "request body too slow") {
		t.Errorf("answer %d %s, want 408", resp.StatusCode, b)
	}
	if elapsed < 10*time.Second || elapsed > 15*time.Second {
		t.Errorf("cut after %s, want about 10 s (body_timeout)", elapsed)
	}
	if _, err := conn.Read(make([]byte, 1)); err == nil {
		t.Error("the connection is still open")
	}
}

// Every name of the list, in several case and separator styles, a
// password in a database URL and a bearer token in free text reach no
// output of the default configuration: not the files, not /metrics, not
// the debug exporter's console.
func TestSecretsReachNoOutput(t *testing.T) {
	c := startCollector(t)
	const secret = "hostile-s3cr3t"
	var fields []string
	for _, k := range []string{
		"apiKey", "api-key", "API_KEY", "accessKey", "access_key", "privateKey", "PRIVATE-KEY", "X-Api-Key",
		"pass", "Pass", "pwd", "PWD", "passphrase", "pass_phrase", "bearer", "Bearer", "jwt", "Jwt",
		"auth", "AUTH", "session_id", "sessionId", "Session-Id", "card_number", "cardNumber", "CARD-NUMBER", "cvv", "Cvv",
	} {
		fields = append(fields, fmt.Sprintf("%q:%q", k, secret))
	}
	payload := fmt.Sprintf(`{"task_id":9,"task_name":"t","step_id":1,"step_name":"s","started_at":"2026-11-26T10:00:00Z","headers":{%s},"database_url":"postgres://user:%s@host/db","error_message":"Authorization: Bearer %s refused"}`,
		strings.Join(fields, ","), secret, secret)
	body := `{"name":"step.failed","payload":` + payload + `}` + "\n" +
		`{"name":"task.failed","payload":{"task_id":9,"task_name":"t","started_at":"2026-11-26T10:00:00Z","error_message":"mysql://root:` + secret + `@db/x"}}` + "\n"
	if code, resp := c.post(t, "application/x-ndjson", []byte(body), map[string]string{"X-Correlation-ID": "Bearer " + secret}); code != http.StatusOK {
		t.Fatalf("%d %s", code, resp)
	}
	waitFor(t, 30*time.Second, "the logs and traces outputs", func() bool {
		return lines(t, filepath.Join(c.dir, "data", "events.jsonl")) == 2 &&
			lines(t, filepath.Join(c.dir, "data", "traces.jsonl")) >= 1
	})
	waitFor(t, 30*time.Second, "the metrics", func() bool {
		return bytes.Contains(get(t, "http://"+c.metrics+"/metrics"), []byte(`tasker_tasks_total{`))
	})
	outputs := map[string][]byte{"/metrics": get(t, "http://"+c.metrics+"/metrics"), "console": []byte(c.out.String())}
	entries, err := os.ReadDir(filepath.Join(c.dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(c.dir, "data", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		outputs[e.Name()] = b
	}
	for name, b := range outputs {
		if bytes.Contains(b, []byte("s3cr3t")) {
			t.Errorf("a secret reached %s", name)
		}
	}
	events := outputs["events.jsonl"]
	for _, want := range []string{"postgres://user:[FILTERED]@host/db", "Authorization: Bearer [FILTERED] refused", "mysql://root:[FILTERED]@db/x"} {
		if !bytes.Contains(events, []byte(want)) {
			t.Errorf("events.jsonl lacks %q", want)
		}
	}
}
