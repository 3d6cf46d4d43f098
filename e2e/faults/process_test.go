//go:build faults

package faults

// Processes, ports, the collectors' own metrics and bounded waits.

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const repoRoot = "../.."

// binary is $name (an environment variable) or bin/<file> of the repository.
func binary(t testing.TB, env, file string) string {
	t.Helper()
	if b := os.Getenv(env); b != "" {
		return b
	}
	b, err := filepath.Abs(filepath.Join(repoRoot, "bin", file))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(b); err != nil {
		t.Fatalf("%s is missing: run `make faults` (it builds it) or set %s", b, env)
	}
	return b
}

// freePort returns a loopback address nothing listens on right now, never
// the same one twice in a run: the product restarts on its ports, and two
// listeners of one config must not be given one port.
func freePort(t testing.TB) string {
	t.Helper()
	ports.Lock()
	defer ports.Unlock()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		if !ports.given[addr] {
			ports.given[addr] = true
			return addr
		}
	}
	t.Fatal("no free loopback port found that this run has not used yet")
	return ""
}

var ports = struct {
	sync.Mutex
	given map[string]bool
}{given: map[string]bool{}}

func portOf(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// proc is one run of a program whose output goes to a log file.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error // the exit status, once done is closed
}

// startProc starts args[0] with args[1:], env added to the environment.
// The test's cleanup stops it if it still runs.
func startProc(t testing.TB, name, logPath string, env []string, args ...string) *proc {
	t.Helper()
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), env...)
	// If the test binary dies (Ctrl-C, a -timeout panic) without running
	// its cleanups, the kernel stops what it started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	t.Cleanup(func() { p.stop(t, syscall.SIGTERM) })
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends sig and waits for the exit: 30 s, then SIGKILL.
func (p *proc) stop(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
		return
	case <-time.After(30 * time.Second):
		t.Errorf("%s (pid %d) did not exit within 30 s of %v: killed", p.name, p.cmd.Process.Pid, sig)
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// logTail is the end of the process's log, for failure messages.
func (p *proc) logTail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// waitFor polls ok every 100 ms until it holds; it fails the test after d.
func waitFor(t testing.TB, d time.Duration, what string, ok func() bool) {
	t.Helper()
	if !poll(d, ok) {
		t.Fatalf("timed out after %v waiting for %s", d, what)
	}
}

// poll reports whether ok held within d.
func poll(d time.Duration, ok func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if ok() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var client = &http.Client{Timeout: 2 * time.Second}

// healthy reports whether a health_check endpoint answers 200.
func healthy(addr string) bool {
	resp, err := client.Get("http://" + addr + "/")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// metrics is one scrape of a collector's own telemetry (Prometheus text):
// series ("name{labels}") → value.
type metrics map[string]float64

func scrape(addr string) (metrics, error) {
	resp, err := client.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s/metrics: %s", addr, resp.Status)
	}
	return parseMetrics(resp.Body)
}

func parseMetrics(r io.Reader) (metrics, error) {
	m := metrics{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			return nil, fmt.Errorf("metrics line %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return nil, fmt.Errorf("metrics line %q: %w", line, err)
		}
		m[line[:i]] = v
	}
	return m, sc.Err()
}

// sum adds the series of metric name whose labels contain every one of
// labels (each `key="value"`).
func (m metrics) sum(name string, labels ...string) float64 {
	var s float64
	for series, v := range m {
		n, rest, _ := strings.Cut(series, "{")
		if n != name {
			continue
		}
		match := true
		for _, l := range labels {
			if !strings.Contains(rest, l) {
				match = false
			}
		}
		if match {
			s += v
		}
	}
	return s
}

// has reports whether the scrape holds a series of metric name.
func (m metrics) has(name string) bool {
	for series := range m {
		if n, _, _ := strings.Cut(series, "{"); n == name {
			return true
		}
	}
	return false
}
