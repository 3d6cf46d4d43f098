package eventrouter

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

var updateReadme = flag.Bool("update-readme", false, "rewrite the README's preset table from the event catalog")

const (
	presetTableBegin = "<!-- preset table: generated from internal/event/catalog.go by TestPresetTableMatchesCatalog (go test -run PresetTable -update-readme) -->"
	presetTableEnd   = "<!-- end of preset table -->"
)

// presetTable renders the event catalog as the README's table.
func presetTable() string {
	spanText := map[event.Span]string{
		event.SpanEvent:        "span event on the step attempt (when the event names a step), else the task span",
		event.SpanTaskInit:     "task span start (the earliest)",
		event.SpanTaskStart:    "task span start",
		event.SpanTaskEnd:      "task span end (and start, from `started_at` or the duration)",
		event.SpanStepStart:    "step attempt span start",
		event.SpanBeforeHandle: "handler span start",
		event.SpanStepEnd:      "step attempt span, complete",
		event.SpanBatch:        "step batch span (`step_ids`)",
		event.SpanPassStart:    "orchestration span `%s`: start",
		event.SpanPassEnd:      "orchestration span `%s`: end",
		event.SpanEnqueue:      "enqueue span (Producer)",
		event.SpanQuery:        "database span (Client)",
		event.SpanDependency:   "dependency span when it carries `started_at` or `duration`, else a span event",
	}
	metricText := map[event.Metric]string{
		event.MetricNone:          "–",
		event.MetricTaskStart:     "`tasker.tasks.active` +1, `tasker.task.queue.duration`",
		event.MetricTaskOutcome:   "`tasker.tasks`, `tasker.workflow.duration`",
		event.MetricTaskEnded:     "`tasker.tasks.active` −1",
		event.MetricTaskRetry:     "– (the task may start again)",
		event.MetricStepStart:     "`tasker.steps.active` +1, `tasker.step.wait.duration`",
		event.MetricStepOutcome:   "`tasker.steps`, `tasker.step.duration`",
		event.MetricStepRetry:     "`tasker.step.retries`",
		event.MetricBackoff:       "`tasker.step.backoff`",
		event.MetricEnqueue:       "`tasker.tasks.enqueued`, `tasker.task.queue.duration`",
		event.MetricQuery:         "`tasker.db.query.duration`, `tasker.slow_operations`",
		event.MetricSlowOperation: "`tasker.slow_operations`",
		event.MetricStepsViable:   "`tasker.step.wait.duration`",
	}
	var b strings.Builder
	b.WriteString("| event | signals | severity | in the trace | metrics it feeds (besides `tasker.events`) |\n| --- | --- | --- | --- | --- |\n")
	for _, in := range event.Catalog() {
		var sig []string
		for _, s := range []struct {
			bit  event.Signals
			name string
		}{{event.Traces, "traces"}, {event.Metrics, "metrics"}, {event.Logs, "logs"}} {
			if in.Signals&s.bit != 0 {
				sig = append(sig, s.name)
			}
		}
		trace := "–"
		if in.Signals&event.Traces != 0 {
			trace = spanText[in.Span]
			if in.Span == event.SpanPassStart || in.Span == event.SpanPassEnd {
				trace = fmt.Sprintf(trace, event.PassNames[in.Pass])
			}
			if in.Outcome != "" {
				trace += fmt.Sprintf("; outcome `%s`", in.Outcome)
			}
			if in.Failed {
				trace += "; status Error"
				if in.Span == event.SpanStepEnd {
					trace += " and an `exception` event"
				}
			}
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", in.Name, strings.Join(sig, ", "), in.Severity, trace, metricText[in.Metric])
	}
	return b.String()
}

// The README's preset table is the event catalog, rendered.
func TestPresetTableMatchesCatalog(t *testing.T) {
	raw, err := os.ReadFile("README.md")
	require.NoError(t, err)
	readme := string(raw)
	i, j := strings.Index(readme, presetTableBegin), strings.Index(readme, presetTableEnd)
	require.True(t, i >= 0 && j > i, "the README marks its preset table")
	want := readme[:i] + presetTableBegin + "\n\n" + presetTable() + "\n" + readme[j:]
	if *updateReadme {
		require.NoError(t, os.WriteFile("README.md", []byte(want), 0o600))
		return
	}
	require.Equal(t, want, readme, "regenerate with: go test ./processor/eventrouter -run PresetTable -update-readme")
}
