package eventrouter

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

var (
	updateGolden = flag.Bool("update", false, "rewrite the expected outputs of testdata/golden")
	updateInputs = flag.Bool("update-inputs", false, "rewrite the inputs of testdata/golden from the fixture")
)

// goldenCases build each case's input: normalized event records, as the
// taskerevents receiver hands them over. Each case has a folder under
// testdata/golden with input.yaml, an optional config.yaml (the connector's
// configuration over the defaults), and the expected traces.yaml,
// metrics.yaml (the last cumulative snapshot) and logs.yaml.
var goldenCases = map[string]func(t *testing.T) plog.Logs{
	"fixture":             func(t *testing.T) plog.Logs { return buildLogs(t, loadFixture(t)) },
	"failed-task-retries": func(t *testing.T) plog.Logs { return buildLogs(t, taskEvents(t, 2)) },
	"out-of-order": func(t *testing.T) plog.Logs {
		evs := slices.Clone(taskEvents(t, 3))
		slices.Reverse(evs)
		return buildLogs(t, evs)
	},
	"redaction": func(t *testing.T) plog.Logs {
		evs := taskEvents(t, 1)
		ld := buildLogs(t, evs)
		rl := ld.ResourceLogs().At(0)
		rl.Resource().Attributes().PutStr("deploy_token", "s3cr3t-resource")
		lrs := rl.ScopeLogs().At(0).LogRecords()
		for i := 0; i < lrs.Len(); i++ {
			body := lrs.At(i).Body().Map()
			body.PutStr("api_key", "s3cr3t-payload")
			body.PutEmptyMap("context").PutStr("password", "s3cr3t-nested")
			lrs.At(i).Attributes().PutStr("tasker.custom.secret_token", "s3cr3t-attr")
		}
		return ld
	},
	"sampling":    func(t *testing.T) plog.Logs { return buildLogs(t, tasksOf(t, 1, 2, 3, 4, 5, 6)) },
	"user-metric": func(t *testing.T) plog.Logs { return buildLogs(t, tasksOf(t, 2, 3)) },
	"bad-input": func(t *testing.T) plog.Logs {
		ld := plog.NewLogs()
		lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
		lrs.AppendEmpty().Body().SetStr("a plain log line, not an event")
		noTask := lrs.AppendEmpty()
		noTask.Body().SetEmptyMap().PutStr("handler_name", "x")
		event.Normalize(noTask, "handler.registered", "", receivedAt)
		raw := lrs.AppendEmpty() // an event nobody normalized
		raw.SetEventName("task.completed")
		raw.Body().SetEmptyMap().PutInt("task_id", 9)
		odd := lrs.AppendEmpty()
		m := odd.Body().SetEmptyMap()
		m.PutEmptySlice("task_id")
		m.PutBool("started_at", true)
		event.Normalize(odd, "task.completed", "", receivedAt)
		unknown := lrs.AppendEmpty()
		unknown.Body().SetEmptyMap().PutInt("task_id", 10)
		event.Normalize(unknown, "custom.order_shipped", "", receivedAt)
		return ld
	},
}

// The router's behaviour, shown as files: every case's input through the
// three sides gives exactly the expected traces, metrics and logs.
func TestGolden(t *testing.T) {
	for name, build := range goldenCases {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("testdata", "golden", name)
			input := filepath.Join(dir, "input.yaml")
			if *updateInputs {
				require.NoError(t, os.MkdirAll(dir, 0o755))
				require.NoError(t, golden.WriteLogsToFile(input, build(t)))
			}
			in, err := golden.ReadLogs(input)
			require.NoError(t, err)

			cfg := holdAll()
			if _, err := os.Stat(filepath.Join(dir, "config.yaml")); err == nil {
				cm, err := confmaptest.LoadConf(filepath.Join(dir, "config.yaml"))
				require.NoError(t, err)
				require.NoError(t, cm.Unmarshal(cfg))
				require.NoError(t, cfg.Validate())
			}
			h := newHarness(t, NewFactory(), cfg, "golden")
			h.consume(t, in)
			h.shutdown(t)

			traces := ptrace.NewTraces()
			for _, td := range h.traces.AllTraces() {
				td.ResourceSpans().MoveAndAppendTo(traces.ResourceSpans())
			}
			metrics := pmetric.NewMetrics()
			if all := h.metrics.AllMetrics(); len(all) > 0 {
				metrics = all[len(all)-1]
			}
			logs := plog.NewLogs()
			for _, ld := range h.logs.AllLogs() {
				ld.ResourceLogs().MoveAndAppendTo(logs.ResourceLogs())
			}
			if *updateGolden {
				require.NoError(t, golden.WriteTracesToFile(filepath.Join(dir, "traces.yaml"), traces))
				require.NoError(t, golden.WriteMetricsToFile(filepath.Join(dir, "metrics.yaml"), metrics))
				require.NoError(t, golden.WriteLogsToFile(filepath.Join(dir, "logs.yaml"), logs))
			}
			wantTraces, err := golden.ReadTraces(filepath.Join(dir, "traces.yaml"))
			require.NoError(t, err)
			require.NoError(t, ptracetest.CompareTraces(wantTraces, traces,
				ptracetest.IgnoreResourceSpansOrder(), ptracetest.IgnoreScopeSpansOrder(), ptracetest.IgnoreSpansOrder()))
			wantMetrics, err := golden.ReadMetrics(filepath.Join(dir, "metrics.yaml"))
			require.NoError(t, err)
			require.NoError(t, pmetrictest.CompareMetrics(wantMetrics, metrics,
				pmetrictest.IgnoreTimestamp(), pmetrictest.IgnoreStartTimestamp(),
				pmetrictest.IgnoreResourceMetricsOrder(), pmetrictest.IgnoreMetricsOrder(),
				pmetrictest.IgnoreMetricDataPointsOrder()))
			wantLogs, err := golden.ReadLogs(filepath.Join(dir, "logs.yaml"))
			require.NoError(t, err)
			require.NoError(t, plogtest.CompareLogs(wantLogs, logs))
		})
	}
}

// tasksOf returns the fixture's events of the given tasks, in order.
func tasksOf(t *testing.T, ids ...int64) []fixtureEvent {
	var out []fixtureEvent
	for _, ev := range loadFixture(t) {
		if id, ok := taskIDOf(ev); ok && slices.Contains(ids, id) {
			out = append(out, ev)
		}
	}
	require.NotEmpty(t, out)
	return out
}
