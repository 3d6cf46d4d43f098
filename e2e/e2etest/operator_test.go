//go:build e2e

package e2etest

// The operator's kit against the real stack (docs/ALERTS.md,
// cmd/taskercheck): scripts/e2e.sh runs these after the other tests and
// after a second, failure-heavy workload sent as another service
// (E2E_FAILING_SERVICE), so the healthy service's exact counts are checked
// first and the alerts then see one healthy and one failing service.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	healthyService = "tasker"
	failureAlert   = "TaskerTaskFailureRatioHigh"
)

type promAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"`
}

func activeAlerts(prom string) ([]promAlert, error) {
	var res struct {
		Status string `json:"status"`
		Data   struct {
			Alerts []promAlert `json:"alerts"`
		} `json:"data"`
	}
	if err := getJSON(prom+"/api/v1/alerts", &res); err != nil {
		return nil, err
	}
	if res.Status != "success" {
		return nil, fmt.Errorf("/api/v1/alerts: status %q", res.Status)
	}
	return res.Data.Alerts, nil
}

// TestAlertsFailureHeavyWorkload: with the shipped rules (production `for:`),
// the real Prometheus has the task failure alert pending or firing for the
// failure-heavy service, and no Tasker alert at all for the healthy one.
func TestAlertsFailureHeavyWorkload(t *testing.T) {
	prom := env(t, "E2E_PROMETHEUS")
	failing := env(t, "E2E_FAILING_SERVICE")

	var fs simSummary
	b, err := os.ReadFile(env(t, "E2E_FAILING_SUMMARY"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &fs); err != nil {
		t.Fatal(err)
	}
	if fs.Tasks == 0 || float64(fs.TasksFailed)/float64(fs.Tasks) < 0.5 || fs.EventsSent != fs.Events {
		t.Fatalf("the failure-heavy workload is not: %d of %d tasks failed, %d of %d events accepted", fs.TasksFailed, fs.Tasks, fs.EventsSent, fs.Events)
	}

	// Every rule file was loaded: the shipped alert names are all there.
	var rules struct {
		Data struct {
			Groups []struct {
				Rules []struct {
					Name   string `json:"name"`
					Health string `json:"health"`
					Error  string `json:"lastError"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	if err := getJSON(prom+"/api/v1/rules", &rules); err != nil {
		t.Fatal(err)
	}
	loaded := 0
	for _, g := range rules.Data.Groups {
		for _, r := range g.Rules {
			loaded++
			if r.Health != "ok" {
				t.Errorf("rule %s: health %q %s", r.Name, r.Health, r.Error)
			}
		}
	}
	if loaded == 0 {
		t.Fatal("Prometheus loaded no rule from docker/prometheus/rules")
	}

	var alerts []promAlert
	state := ""
	eventually(func() bool {
		alerts, err = activeAlerts(prom)
		for _, a := range alerts {
			if a.Labels["alertname"] == failureAlert && a.Labels["job"] == failing {
				state = a.State
			}
		}
		return err == nil && (state == "pending" || state == "firing")
	})
	if err != nil {
		t.Fatal(err)
	}
	if state != "pending" && state != "firing" {
		t.Errorf("%s{job=%q} is %q, want pending or firing (%d of %d tasks failed)", failureAlert, failing, state, fs.TasksFailed, fs.Tasks)
	}
	// The annotations render in the real Prometheus and name the task.
	for _, a := range alerts {
		if a.Labels["alertname"] != failureAlert || a.Labels["job"] != failing {
			continue
		}
		desc, task := a.Annotations["description"], a.Labels["task_name"]
		if task == "" || !strings.Contains(desc, " of the "+task+" tasks of service "+failing+" finished failed") ||
			a.Annotations["summary"] != "Tasks "+task+" are failing" || a.Annotations["runbook_url"] != "docs/ALERTS.md#taskertaskfailureratiohigh" {
			t.Errorf("%s for task %q: annotations %v", failureAlert, task, a.Annotations)
		}
	}
	var summary []string
	for _, a := range alerts {
		summary = append(summary, fmt.Sprintf("%s{job=%q,task_name=%q,step_name=%q} %s",
			a.Labels["alertname"], a.Labels["job"], a.Labels["task_name"], a.Labels["step_name"], a.State))
		if a.Labels["job"] == healthyService {
			t.Errorf("the healthy workload has an active alert: %s is %s (%v)", a.Labels["alertname"], a.State, a.Labels)
		}
	}
	sort.Strings(summary)
	t.Logf("active alerts:\n\t%s", strings.Join(summary, "\n\t"))
}

// taskercheckReport is taskercheck's --json output.
type taskercheckReport struct {
	OK     bool `json:"ok"`
	Checks []struct {
		Name     string   `json:"name"`
		Status   string   `json:"status"`
		Detail   string   `json:"detail"`
		Problems []string `json:"problems"`
	} `json:"checks"`
}

// taskercheck runs the built command and returns its report and exit code.
func taskercheck(t *testing.T, args ...string) (taskercheckReport, int, string) {
	t.Helper()
	bin := env(t, "E2E_TASKERCHECK")
	run := func(extra ...string) ([]byte, int) {
		cmd := exec.Command(bin, append(args, extra...)...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		code := 0
		var exit *exec.ExitError
		switch {
		case errors.As(err, &exit):
			code = exit.ExitCode()
		case err != nil:
			t.Fatalf("taskercheck: %v", err)
		}
		return append(out.Bytes(), errOut.Bytes()...), code
	}
	table, code := run()
	js, jsCode := run("--json")
	if jsCode != code {
		t.Errorf("taskercheck exits %d, with --json %d", code, jsCode)
	}
	var rep taskercheckReport
	if err := json.Unmarshal(js, &rep); err != nil {
		t.Fatalf("taskercheck --json: %v\n%s", err, js)
	}
	return rep, code, string(table)
}

// TestTaskercheckE2EStack: every check passes against the e2e stack.
func TestTaskercheckE2EStack(t *testing.T) {
	rep, code, table := taskercheck(t, "--prometheus", env(t, "E2E_PROMETHEUS"), "--jaeger", env(t, "E2E_JAEGER"),
		"--service", healthyService, "--since", "15m")
	t.Logf("taskercheck:\n%s", table)
	if code != 0 || !rep.OK {
		t.Errorf("taskercheck exited %d (ok %v), want 0 against the e2e stack", code, rep.OK)
	}
	if len(rep.Checks) != 10 {
		t.Errorf("%d checks reported, want 10", len(rep.Checks))
	}
	for _, c := range rep.Checks {
		if c.Status != "ok" {
			t.Errorf("check %q: %s: %s %v", c.Name, c.Status, c.Detail, c.Problems)
		}
	}
}

// TestTaskercheckEmptyPrometheus: against a real Prometheus that scrapes
// nothing, taskercheck fails and says the collector's metrics are missing.
func TestTaskercheckEmptyPrometheus(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("global:\n  scrape_interval: 1s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cmd := exec.Command("prometheus", "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr)
	log, err := os.Create(filepath.Join(env(t, "E2E_DIR"), "prometheus-empty.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopProcess(cmd) })
	url := "http://" + addr
	eventually(func() bool { _, err := get(url + "/-/ready"); return err == nil })
	if _, err := get(url + "/-/ready"); err != nil {
		t.Fatalf("the empty Prometheus did not become ready: %v", err)
	}

	rep, code, table := taskercheck(t, "--prometheus", url, "--jaeger", env(t, "E2E_JAEGER"))
	t.Logf("taskercheck against an empty Prometheus:\n%s", table)
	if code != 1 || rep.OK {
		t.Errorf("taskercheck exited %d (ok %v), want 1", code, rep.OK)
	}
	want := map[string]string{
		"prometheus reachable": "ok",
		"tasks counted":        "fail",
		"no refused events":    "fail",
		"jaeger service":       "ok",
	}
	for _, c := range rep.Checks {
		if w, ok := want[c.Name]; ok && c.Status != w {
			t.Errorf("check %q: %s (%s), want %s", c.Name, c.Status, c.Detail, w)
		}
	}
	if msg := `no tasker_tasks_total series of service "tasker"`; !strings.Contains(table, msg) {
		t.Errorf("the report does not say %q", msg)
	}
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// stopProcess stops a process this test started: TERM, then KILL after 15 s.
func stopProcess(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}
