//go:build faults

package faults

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"testing"
	"time"
)

// TestFaults runs the scenarios in order: the first one is also the
// reference run the others are compared with.
func TestFaults(t *testing.T) {
	root := os.Getenv("FAULTS_DIR")
	if root == "" {
		root = t.TempDir()
	}
	var ref *output
	var refSum simSummary

	// The workload sent once without faults is the reference: it must hold
	// exactly what the summary says. Sent a second time (same seed, same
	// times), it must not change the span output at all.
	t.Run("sent_twice", func(t *testing.T) {
		sc := newScenario(t, root, "sent_twice")
		sum := startSim(t, sc.dir, "sim-1", sc.prod).wait(t, 2*time.Minute)
		settle(t, sc.prod, sc.sink, sum.expectedSpans(), sum.Events)
		first := readOutput(t, sc.sink)
		checkAgainstSummary(t, first, sum)
		if t.Failed() {
			return
		}
		ref, refSum = first, sum
		t.Logf("reference: %d events (%d requests, %d retried), %d spans (%d tasks, %d step attempts)",
			sum.Events, sum.Requests, sum.Retried, len(first.spans), sum.Tasks, sum.StepAttempts)

		again := startSim(t, sc.dir, "sim-2", sc.prod).wait(t, 2*time.Minute)
		settle(t, sc.prod, sc.sink, sum.expectedSpans(), 2*sum.Events)
		c := sc.compare(t, ref)
		t.Logf("sent twice (%d + %d events): %s%s", sum.Events, again.Events, c, sc.routerCounts(t))
		c.check(t, 0)
	})
	if ref == nil {
		t.Fatal("no reference run: the other scenarios compare with it")
	}

	// A crash under load, twice: kill -9 when a third of the workload was
	// acknowledged since the (re)start, restart at once.
	t.Run("sigkill", func(t *testing.T) {
		c := restartsUnderLoad(t, root, "sigkill", syscall.SIGKILL, refSum, ref)
		c.check(t, 1)
	})

	// A rolling deploy, twice: SIGTERM, wait for the exit, start again.
	t.Run("sigterm", func(t *testing.T) {
		c := restartsUnderLoad(t, root, "sigterm", syscall.SIGTERM, refSum, ref)
		c.check(t, 0)
	})

	// The backend is down for 30 s while the workload runs: the persistent
	// queues keep everything and drain once it is back.
	t.Run("sink_down", func(t *testing.T) {
		sc := newScenario(t, root, "sink_down")
		s := startSim(t, sc.dir, "sim", sc.prod)
		waitFor(t, time.Minute, "a quarter of the workload to be acknowledged", func() bool {
			return sc.prod.accepted() >= float64(refSum.Events)/4
		})
		sc.sink.stop(t)
		down := time.Now()
		sum := s.wait(t, 2*time.Minute)
		queued := 0.0
		waitFor(t, 30*time.Second, "spans and events waiting in the otlp_http queue", func() bool {
			m, err := scrape(sc.prod.metrics)
			if err == nil {
				queued = m.sum("otelcol_exporter_queue_size", `exporter="otlp_http"`)
			}
			return queued > 0
		})
		// The outage itself lasts 30 s: the fault, not a wait for anything.
		time.Sleep(time.Until(down.Add(30 * time.Second)))
		sc.sink.start(t)
		restored := time.Now()
		settle(t, sc.prod, sc.sink, sum.expectedSpans(), sum.Events)
		c := sc.compare(t, ref)
		t.Logf("sink down 30 s (%d requests queued in otlp_http, drained %.1f s after the sink came back): %s%s",
			int(queued), time.Since(restored).Seconds(), c, sc.routerCounts(t))
		c.check(t, 0)
	})

	// Events of the longest tasks sent again after those tasks were emitted
	// (a sender's retry after a timeout, a queue replaying after a crash).
	t.Run("late_events", func(t *testing.T) {
		sc := newScenario(t, root, "late_events")
		stream := filepath.Join(sc.dir, "stream.ndjson")
		dry := runSim(t, sc.dir, "sim-stream", "--out", stream) // the same events, to a file
		sum := startSim(t, sc.dir, "sim", sc.prod).wait(t, 2*time.Minute)
		dry.wait(t, time.Minute)
		settle(t, sc.prod, sc.sink, sum.expectedSpans(), sum.Events)
		if c := sc.compare(t, ref); c.missing+c.differing+c.extra+c.duplicates > 0 {
			t.Fatalf("before the late events, the output already differs from the reference: %s", c)
		}

		late, tasks := lateEvents(t, stream, 10)
		before := sc.prod.accepted()
		postNDJSON(t, sc.prod, late)
		waitFor(t, 30*time.Second, "the late events to be acknowledged", func() bool {
			return sc.prod.accepted() >= before+float64(bytes.Count(late, []byte{'\n'}))
		})
		n := bytes.Count(late, []byte{'\n'})
		settle(t, sc.prod, sc.sink, sum.expectedSpans(), sum.Events+n)
		c := sc.compare(t, ref)
		t.Logf("late events (%d events of the %d longest tasks %v, sent again after their spans were emitted): %s%s",
			n, len(tasks), tasks, c, sc.routerCounts(t))
		c.check(t, 0)
	})
}

// scenario is a fresh sink and product in their own directory.
type scenario struct {
	dir  string
	sink *sink
	prod *product
}

func newScenario(t testing.TB, root, name string) *scenario {
	t.Helper()
	dir := filepath.Join(root, name)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sc := &scenario{dir: dir}
	sc.sink = startSink(t, dir)
	sc.prod = startProduct(t, dir, sc.sink)
	return sc
}

// compare compares what the sink holds with the reference, and counts
// what the product's own JSON files hold.
func (sc *scenario) compare(t testing.TB, ref *output) comparison {
	t.Helper()
	c := compare(ref, readOutput(t, sc.sink))
	c.files = readProductFiles(t, sc.prod.dir)
	return c
}

// routerCounts is what the router's own telemetry says (this run of the
// product); it fails the test if a stored record could not be restored.
func (sc *scenario) routerCounts(t testing.TB) string {
	t.Helper()
	m, err := scrape(sc.prod.metrics)
	if err != nil {
		t.Errorf("router telemetry: %v", err)
		return ""
	}
	if n := m.sum("otelcol_eventrouter_storage_records_skipped"); n != 0 {
		t.Errorf("the router skipped %.0f stored records (corrupt or incompatible); see %s", n, sc.prod.p.log)
	}
	return fmt.Sprintf("; router (run %d): %.0f spans emitted, %.0f unfinished, %.0f spans and span events dropped as duplicates, %.0f storage writes, %.0f stored records skipped",
		sc.prod.runs, m.sum("otelcol_eventrouter_spans_emitted"), m.sum("otelcol_eventrouter_spans_unfinished"),
		m.sum("otelcol_eventrouter_events_dropped", `signal="traces"`, `reason="duplicate"`),
		m.sum("otelcol_eventrouter_storage_writes"), m.sum("otelcol_eventrouter_storage_records_skipped"))
}

// restartsUnderLoad sends the workload and restarts the product with sig
// twice while it runs: each time a third of the workload (at most half of
// what is left) was acknowledged by the product's current run and that run
// released spans, so that the restart finds tasks pending, spans on their
// way and tombstones.
func restartsUnderLoad(t *testing.T, root, name string, sig syscall.Signal, refSum simSummary, ref *output) comparison {
	sc := newScenario(t, root, name)
	s := startSim(t, sc.dir, "sim", sc.prod)
	var at []string
	left := float64(refSum.Events) // not yet acknowledged by an earlier run
	for range 2 {
		var n, e float64
		want := min(float64(refSum.Events)/3, left/2)
		waitFor(t, time.Minute, "a third of the workload acknowledged and spans released by this run", func() bool {
			n, e = sc.prod.accepted(), sc.prod.emitted()
			return n >= want && e > 0
		})
		left -= n
		at = append(at, fmt.Sprintf("%.0f events in, %.0f spans out", n, e))
		sc.prod.restart(t, sig)
	}
	sum := s.wait(t, 3*time.Minute)
	settle(t, sc.prod, sc.sink, sum.expectedSpans(), sum.Events)
	c := sc.compare(t, ref)
	t.Logf("%v twice (when the run had %v; the simulator retried %d of %d requests): %s%s",
		sig, at, sum.Retried, sum.Requests, c, sc.routerCounts(t))
	return c
}

// lateEvents picks the n tasks of a stream whose events span the longest
// time and returns the second half of each one's events (its end included),
// as NDJSON, with the tasks' ids.
func lateEvents(t testing.TB, stream string, n int) ([]byte, []int64) {
	t.Helper()
	type task struct {
		id          int64
		first, last time.Time
		lines       [][]byte
	}
	tasks := map[int64]*task{}
	eachLine(t, stream, func(line []byte) {
		var ev struct {
			Time    time.Time `json:"timestamp"`
			Payload struct {
				TaskID *int64 `json:"task_id"`
			} `json:"payload"`
		}
		if err := json.Unmarshal(line, &ev); err != nil {
			t.Fatalf("%s: %v", stream, err)
		}
		if ev.Payload.TaskID == nil {
			return // not a task's event
		}
		tk := tasks[*ev.Payload.TaskID]
		if tk == nil {
			tk = &task{id: *ev.Payload.TaskID, first: ev.Time}
			tasks[tk.id] = tk
		}
		tk.last = ev.Time
		tk.lines = append(tk.lines, append([]byte(nil), line...))
	})
	all := make([]*task, 0, len(tasks))
	for _, tk := range tasks {
		all = append(all, tk)
	}
	sort.Slice(all, func(i, j int) bool {
		di, dj := all[i].last.Sub(all[i].first), all[j].last.Sub(all[j].first)
		return di > dj || di == dj && all[i].id < all[j].id
	})
	if len(all) < n {
		t.Fatalf("%s: %d tasks, want at least %d", stream, len(all), n)
	}
	var body []byte
	var ids []int64
	for _, tk := range all[:n] {
		ids = append(ids, tk.id)
		for _, l := range tk.lines[len(tk.lines)/2:] {
			body = append(append(body, l...), '\n')
		}
	}
	return body, ids
}

// postNDJSON sends events to the product in one request and requires a 2xx.
func postNDJSON(t testing.TB, c *product, body []byte) {
	t.Helper()
	resp, err := http.Post("http://"+c.events+"/v1/events", "application/x-ndjson", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("POST late events: %s %s", resp.Status, msg)
	}
}
