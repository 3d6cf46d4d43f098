package eventrouter

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
)

// OTLP input (not normalized, secrets in place): every name of the issue's
// list in several styles, a password in a database URL and a bearer token
// in an error message reach no output with the default configuration. The
// router normalizes the events itself, so the span attributes it derives
// are scrubbed as well.
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
