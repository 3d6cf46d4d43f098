package eventrouter

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
	"github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/metadatatest"
)

// OTLP input, normalized by the eventnormalize processor (which does not
// redact) with its secrets in place: every name of the list in
// several styles, a password in a database URL and a bearer token in an
// error message reach no output with the default configuration, spans
// included.
func TestOTLPSecretsReachNoOutput(t *testing.T) {
	const secret = "otlp-s3cr3t"
	keys := []string{
		"apiKey", "api-key", "API_KEY", "accessKey", "privateKey", "X-Api-Key", "pass", "PWD",
		"passphrase", "bearer", "jwt", "Auth", "session_id", "sessionId", "card_number", "CVV",
	}
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "billing")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	for i, name := range []string{"task.start_requested", "step.failed", "task.failed"} {
		lr := lrs.AppendEmpty()
		lr.SetEventName(name)
		p := lr.Body().SetEmptyMap()
		p.PutInt("task_id", 7)
		p.PutStr("task_name", "checkout")
		p.PutStr("started_at", "2026-11-26T10:00:00Z")
		if i == 1 {
			p.PutInt("step_id", 1)
			p.PutStr("step_name", "charge")
		}
		p.PutStr("error_message", fmt.Sprintf("postgres://app:%s@db/orders refused Authorization: Bearer %s", secret, secret))
		h := p.PutEmptyMap("headers")
		for _, k := range keys {
			h.PutStr(k, secret)
		}
		event.Normalize(lr, name, "", receivedAt)
	}
	hr := newHarness(t, NewFactory(), createDefaultConfig(), "otlp_secrets")
	hr.consume(t, ld)
	hr.shutdown(t)
	out := hr.serialize(t)
	require.NotEmpty(t, hr.traces.AllTraces())
	require.Equal(t, 3, hr.logs.LogRecordCount())
	assert.False(t, bytes.Contains(out, []byte(secret)), "a secret leaked")
	assert.True(t, bytes.Contains(out, []byte("postgres://app:[FILTERED]@db/orders refused Authorization: Bearer [FILTERED]")))
	assert.Equal(t, 3*len(keys), strings.Count(string(hr.logsJSON(t)), `"[FILTERED]"`))
}

func (h *harness) logsJSON(t *testing.T) []byte {
	var out []byte
	for _, ld := range h.logs.AllLogs() {
		b, err := (&plog.JSONMarshaler{}).MarshalLogs(ld)
		require.NoError(t, err)
		out = append(out, b...)
	}
	return out
}

// The first reproducer through the connector: 30 task.completed
// events with distinct 1 MiB task names. The connector's telemetry counts
// 30 events with cut labels, and the metrics it sends hold only cut names.
func TestLongTaskNamesAreCutAndCounted(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	h := newHarnessWith(t, NewFactory(), createDefaultConfig(), metadatatest.NewSettings(tel), "long_names")
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "billing")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	for i := 1; i <= 30; i++ {
		lr := lrs.AppendEmpty()
		p := lr.Body().SetEmptyMap()
		p.PutInt("task_id", int64(i))
		p.PutStr("task_name", fmt.Sprint(i)+strings.Repeat("T", 1<<20))
		p.PutStr("started_at", "2026-11-26T10:00:00Z")
		p.PutDouble("total_execution_duration", 1)
		event.Normalize(lr, "task.completed", "", receivedAt)
	}
	h.consume(t, ld)
	metadatatest.AssertEqualEventrouterMetricsLabelsTruncated(t, tel, []metricdata.DataPoint[int64]{{Value: 30}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualEventrouterMetricsStateOverflows(t, tel, []metricdata.DataPoint[int64]{{Value: 0}}, metricdatatest.IgnoreTimestamp())
	h.shutdown(t)
	md := h.metrics.AllMetrics()
	require.NotEmpty(t, md)
	b, err := (&pmetric.JSONMarshaler{}).MarshalMetrics(md[len(md)-1])
	require.NoError(t, err)
	assert.Less(t, len(b), 200<<10, "the snapshot holds 30 cut names, not 30 MiB")
	assert.Equal(t, 2*30, strings.Count(string(b), event.Truncated), "tasker.tasks and tasker.workflow.duration")
}

// Records that arrive normalized but not scrubbed nor bounded (another
// collector with redaction off): the span attributes read from them are
// scrubbed and cut all the same.
func TestSpanValuesFromNormalizedInput(t *testing.T) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "billing")
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	p := lr.Body().SetEmptyMap()
	p.PutInt("task_id", 8)
	p.PutStr("task_name", strings.Repeat("N", 100000))
	p.PutStr("started_at", "2026-11-26T10:00:00Z")
	p.PutStr("error_message", "redis://:hunter2hunter2@cache:6379 down")
	event.Normalize(lr, "task.failed", "", receivedAt) // no redactor, no bound beyond the default
	lr.Attributes().PutStr("error.message", "redis://:hunter2hunter2@cache:6379 down")
	lr.Attributes().PutStr("tasker.task.name", strings.Repeat("N", 100000))

	h := newHarness(t, NewFactory(), createDefaultConfig(), "normalized_input")
	h.consume(t, ld)
	h.shutdown(t)
	spans := allSpans(h.traces.AllTraces())
	require.Len(t, spans, 1)
	name, _ := spans[0].Attributes().Get("tasker.task.name")
	assert.Equal(t, event.DefaultMaxValueLength, len(name.Str()))
	assert.True(t, strings.HasSuffix(name.Str(), event.Truncated))
	assert.False(t, bytes.Contains(h.serialize(t), []byte("hunter2")), "a secret leaked")
}
