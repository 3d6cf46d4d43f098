//go:build scale

package scale

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// repoRoot is the repository root: this package lives in e2e/scale.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "builder-config.yaml")); err != nil {
		t.Fatalf("repository root not found from e2e/scale: %v", err)
	}
	return root
}

// binary is a built binary of bin/ (make scale builds them), or $env.
func binary(t testing.TB, env, name string) string {
	t.Helper()
	p := os.Getenv(env)
	if p == "" {
		p = filepath.Join(repoRoot(t), "bin", name)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s: %v (run `make scale`, which builds it, or set %s)", name, err, env)
	}
	return p
}

// portPool hands out loopback addresses nobody listens on: it holds a
// listener on each until release, so that no two are the same port.
type portPool struct{ held []net.Listener }

func (p *portPool) addr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.held = append(p.held, ln)
	return ln.Addr().String()
}

// release frees the ports for the processes about to listen on them.
func (p *portPool) release() {
	for _, ln := range p.held {
		ln.Close()
	}
	p.held = nil
}

// proc is one collector process.
type proc struct {
	name   string
	dir    string
	config string
	env    []string
	health string // host:port of its health_check
	cmd    *exec.Cmd
	log    string
	exited chan struct{}
}

// start runs the collector in its own directory (its relative file paths
// land there) and waits until its health_check answers.
func (p *proc) start(t testing.TB, bin string) {
	t.Helper()
	logf, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(bin, "--config="+p.config)
	p.cmd.Dir = p.dir
	p.cmd.Env = append(os.Environ(), p.env...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.exited = make(chan struct{})
	go func() {
		_ = p.cmd.Wait()
		logf.Close()
		close(p.exited)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-p.exited:
			t.Fatalf("%s exited while starting:\n%s", p.name, tail(p.log, 30))
		default:
		}
		if resp, err := http.Get("http://" + p.health + "/"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not healthy within 30s:\n%s", p.name, tail(p.log, 30))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends SIGTERM and waits for the process to flush and exit.
func (p *proc) stop(t testing.TB) time.Duration {
	t.Helper()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	select {
	case <-p.exited:
		return 0
	default:
	}
	begin := time.Now()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		t.Errorf("%s did not stop within 30s of SIGTERM; killed", p.name)
	}
	return time.Since(begin)
}

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// yamlConfig is a collector config as a tree, to rewrite.
type yamlConfig map[string]any

func loadConfig(t testing.TB, path string) yamlConfig {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any // not yamlConfig: nested maps would take that type
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return yamlConfig(c)
}

// set puts v at a path of keys and list indexes ("a.b.0.c"); every step
// but the last must exist, so a rewrite cannot miss a renamed key.
func (c yamlConfig) set(t testing.TB, path string, v any) {
	t.Helper()
	var cur any = map[string]any(c)
	keys := strings.Split(path, ".")
	for i, k := range keys {
		last := i == len(keys)-1
		switch x := cur.(type) {
		case map[string]any:
			if last {
				if _, ok := x[k]; !ok {
					t.Fatalf("config has no %s", path)
				}
				x[k] = v
				return
			}
			next, ok := x[k]
			if !ok || next == nil {
				t.Fatalf("config has no %s", strings.Join(keys[:i+1], "."))
			}
			cur = next
		case []any:
			n, err := strconv.Atoi(k)
			if err != nil || n >= len(x) {
				t.Fatalf("config has no %s", strings.Join(keys[:i+1], "."))
			}
			if last {
				x[n] = v
				return
			}
			cur = x[n]
		default:
			t.Fatalf("config: %s is not a map or list", strings.Join(keys[:i], "."))
		}
	}
}

// get returns the map at a path of keys.
func (c yamlConfig) get(t testing.TB, path string) map[string]any {
	t.Helper()
	var cur any = map[string]any(c)
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			t.Fatalf("config: %s is not a map", path)
		}
		cur = m[k]
	}
	m, ok := cur.(map[string]any)
	if !ok {
		t.Fatalf("config has no map at %s", path)
	}
	return m
}

func (c yamlConfig) write(t testing.TB, path string) {
	t.Helper()
	b, err := yaml.Marshal(map[string]any(c))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// scrape reads a Prometheus text endpoint into samples.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

func scrape(url string) ([]sample, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Header.Set("Accept", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", url, resp.Status)
	}
	return parseText(resp.Body)
}

// parseText reads the Prometheus text format (no escapes in label values
// are needed here).
func parseText(r io.Reader) ([]sample, error) {
	var out []sample
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		s := sample{labels: map[string]string{}}
		rest := line
		if i := strings.IndexByte(line, '{'); i >= 0 {
			s.name = line[:i]
			j := strings.LastIndexByte(line, '}')
			if j < i {
				return nil, fmt.Errorf("bad line %q", line)
			}
			for _, kv := range splitLabels(line[i+1 : j]) {
				k, v, _ := strings.Cut(kv, "=")
				s.labels[k] = strings.Trim(v, `"`)
			}
			rest = strings.TrimSpace(line[j+1:])
		} else {
			f := strings.Fields(line)
			s.name, rest = f[0], strings.Join(f[1:], " ")
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return nil, fmt.Errorf("bad line %q", line)
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return nil, fmt.Errorf("bad value in %q", line)
		}
		s.value = v
		out = append(out, s)
	}
	return out, sc.Err()
}

func splitLabels(s string) []string {
	var out []string
	var b bytes.Buffer
	inQuote := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' && (i == 0 || s[i-1] != '\\'):
			inQuote = !inQuote
		case c == ',' && !inQuote:
			out = append(out, b.String())
			b.Reset()
			continue
		}
		b.WriteByte(c)
	}
	if b.Len() > 0 {
		out = append(out, b.String())
	}
	return out
}

// sum adds the samples of a metric (name or name_total) whose labels
// include match.
func sum(ss []sample, name string, match map[string]string) float64 {
	var n float64
	for _, s := range ss {
		if s.name != name && s.name != name+"_total" {
			continue
		}
		ok := true
		for k, v := range match {
			ok = ok && s.labels[k] == v
		}
		if ok {
			n += s.value
		}
	}
	return n
}

// waitFor polls cond every 100ms until it holds or the deadline passes;
// it returns the last reason cond gave.
func waitFor(timeout time.Duration, cond func() (bool, string)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, why := cond()
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New(why)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func splitHostPort(t testing.TB, addr string) (string, int) {
	t.Helper()
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return host, port
}
