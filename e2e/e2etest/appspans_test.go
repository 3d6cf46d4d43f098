//go:build e2e

package e2etest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// appSpansService is taskersim's --app-service-name default.
const appSpansService = "tasker-handlers"

// appSpansSummary is the summary of scripts/e2e.sh's second simulator run,
// the one with --app-spans.
type appSpansSummary struct {
	Tasks               int     `json:"tasks"`
	TasksCompleted      int     `json:"tasks_completed"`
	TasksFailed         int     `json:"tasks_failed"`
	StepAttempts        int     `json:"step_attempts"`
	StepsFailedAttempts int     `json:"steps_failed_attempts"`
	TaskIDs             []int64 `json:"task_ids"`
	Events              int     `json:"events"`
	EventsSent          int     `json:"events_sent"`
	AppSpansSent        int     `json:"app_spans_sent"`
	Error               string  `json:"error"`
}

// IDs as docs/IDS.md defines them, computed here from the document (no
// namespace: config/e2e.yaml sets none), independently of pkg/taskerid.
func docTraceID(task string) string {
	sum := sha256.Sum256([]byte("tasker/trace/" + task))
	return hex.EncodeToString(sum[:16])
}

func docStepSpanID(task, step, attempt string) string {
	sum := sha256.Sum256([]byte("step/" + task + "/" + step + "/" + attempt))
	return hex.EncodeToString(sum[:8])
}

// appSpansTally is what the traces of the run hold.
type appSpansTally struct {
	appSpans, attempts, failedApp int
	problems                      []string
}

// TestAppSpansInJaeger: the handler spans taskersim --app-spans sent to
// Jaeger on their own (OTLP/HTTP, service tasker-handlers) sit in the trace
// of their task, each under the collector's span of the step attempt that
// ran it: one per attempt, none elsewhere, ids as docs/IDS.md computes them.
// scripts/e2e.sh runs it after the other tests, on a second simulator run.
func TestAppSpansInJaeger(t *testing.T) {
	path := os.Getenv("E2E_APP_SPANS_SUMMARY")
	if path == "" {
		t.Skip("E2E_APP_SPANS_SUMMARY is not set: scripts/e2e.sh sets it for its --app-spans run")
	}
	jaeger := env(t, "E2E_JAEGER")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s appSpansSummary
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	switch {
	case s.Error != "":
		t.Fatalf("the simulator reported an error: %s", s.Error)
	case s.Tasks == 0 || len(s.TaskIDs) != s.Tasks || s.EventsSent != s.Events:
		t.Fatalf("the run is incomplete: %d tasks, %d ids, %d of %d events sent", s.Tasks, len(s.TaskIDs), s.EventsSent, s.Events)
	case s.TasksCompleted+s.TasksFailed != s.Tasks:
		t.Fatalf("%d tasks started, %d completed and %d failed", s.Tasks, s.TasksCompleted, s.TasksFailed)
	case s.AppSpansSent != s.StepAttempts:
		t.Fatalf("the simulator sent %d application spans for %d step attempts", s.AppSpansSent, s.StepAttempts)
	case s.StepsFailedAttempts == 0:
		t.Fatal("no attempt failed: the error checks would prove little")
	}

	var tally appSpansTally
	eventually(func() bool {
		tally = tallyAppSpans(jaeger, s.TaskIDs)
		return len(tally.problems) == 0 && tally.appSpans == s.AppSpansSent && tally.attempts == s.StepAttempts
	})
	for i, p := range tally.problems {
		if i == 20 {
			t.Errorf("... %d problems in all", len(tally.problems))
			break
		}
		t.Error(p)
	}
	if tally.appSpans != s.AppSpansSent {
		t.Errorf("Jaeger holds %d application spans under the tasks' attempts, the simulator sent %d", tally.appSpans, s.AppSpansSent)
	}
	if tally.attempts != s.StepAttempts {
		t.Errorf("Jaeger holds %d step attempt spans, the simulator ran %d attempts", tally.attempts, s.StepAttempts)
	}
	if tally.failedApp != s.StepsFailedAttempts {
		t.Errorf("%d application spans are errors, the simulator failed %d attempts", tally.failedApp, s.StepsFailedAttempts)
	}
	t.Logf("%d tasks, %d application spans under %d step attempts, %d of them failed", s.Tasks, tally.appSpans, tally.attempts, tally.failedApp)
}

// tallyAppSpans fetches the trace of every task by the id docs/IDS.md gives
// it and checks where its application spans hang.
func tallyAppSpans(jaeger string, taskIDs []int64) appSpansTally {
	var (
		mu  sync.Mutex
		all appSpansTally
		wg  sync.WaitGroup
		sem = make(chan struct{}, 8)
	)
	for _, n := range taskIDs {
		task := strconv.FormatInt(n, 10)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			one := checkAppSpans(jaeger, task)
			mu.Lock()
			defer mu.Unlock()
			all.appSpans += one.appSpans
			all.attempts += one.attempts
			all.failedApp += one.failedApp
			all.problems = append(all.problems, one.problems...)
		}()
	}
	wg.Wait()
	sort.Strings(all.problems)
	return all
}

func checkAppSpans(jaeger, task string) appSpansTally {
	var out appSpansTally
	bad := func(format string, args ...any) {
		out.problems = append(out.problems, "task "+task+": "+fmt.Sprintf(format, args...))
	}
	tr, err := traceByID(jaeger, docTraceID(task))
	if err != nil {
		bad("%v", err)
		return out
	}
	service := func(sp jaegerSpan) string { return tr.Processes[sp.ProcessID].ServiceName }
	byID := map[string]jaegerSpan{}
	for _, sp := range tr.Spans {
		byID[sp.SpanID] = sp
	}
	children := map[string]int{} // application spans per attempt span
	for _, sp := range tr.Spans {
		isAttempt := service(sp) == "tasker" && strings.HasPrefix(sp.OperationName, "step ") && sp.OperationName != "step batch"
		switch {
		case isAttempt:
			out.attempts++
			if sp.tagStr("tasker.task.id") != task {
				bad("attempt span %s carries task id %q", sp.SpanID, sp.tagStr("tasker.task.id"))
			}
			if want := docStepSpanID(task, sp.tagStr("tasker.step.id"), sp.tagStr("tasker.step.attempt")); sp.SpanID != want {
				bad("attempt span %s of step %s attempt %s: docs/IDS.md gives it id %s",
					sp.SpanID, sp.tagStr("tasker.step.id"), sp.tagStr("tasker.step.attempt"), want)
			}
		case service(sp) == appSpansService:
			out.appSpans++
			if sp.isError() {
				out.failedApp++
			}
			p, ok := byID[sp.parent()]
			step, attempt := sp.tagStr("tasker.step.id"), sp.tagStr("tasker.step.attempt")
			switch {
			case !ok:
				bad("application span %s: its parent %q is not in the trace", sp.OperationName, sp.parent())
			case service(p) != "tasker" || !strings.HasPrefix(p.OperationName, "step ") || p.OperationName == "step batch":
				bad("application span %s is under %s of %s, not under a step attempt", sp.OperationName, p.OperationName, service(p))
			case p.tagStr("tasker.step.id") != step || p.tagStr("tasker.step.attempt") != attempt:
				bad("application span of step %s attempt %s is under the span of step %s attempt %s",
					step, attempt, p.tagStr("tasker.step.id"), p.tagStr("tasker.step.attempt"))
			case sp.tagStr("tasker.task.id") != task:
				bad("application span of task %q is in this task's trace", sp.tagStr("tasker.task.id"))
			case sp.OperationName != "process "+strings.TrimPrefix(p.OperationName, "step "):
				bad("application span %q is under %q", sp.OperationName, p.OperationName)
			case sp.isError() != p.isError():
				bad("application span %s error=%v under attempt error=%v", sp.OperationName, sp.isError(), p.isError())
			default:
				children[p.SpanID]++
			}
		}
	}
	for _, sp := range tr.Spans {
		if service(sp) == "tasker" && strings.HasPrefix(sp.OperationName, "step ") && sp.OperationName != "step batch" && children[sp.SpanID] != 1 {
			bad("attempt %s of step %s has %d application spans, want 1", sp.tagStr("tasker.step.attempt"), sp.tagStr("tasker.step.id"), children[sp.SpanID])
		}
	}
	return out
}
