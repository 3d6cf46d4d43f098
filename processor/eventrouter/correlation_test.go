package eventrouter

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

// Once an event of a task carries a correlation id, every span of the task
// carries it, and so does every event log record of the task emitted after
// it.
func TestCorrelationIDTaskWide(t *testing.T) {
	events := taskEvents(t, 3)
	first := -1
	var corr string
	for i, ev := range events {
		if c, ok := ev.Payload["correlation_id"].(string); ok && c != "" {
			first, corr = i, c
			break
		}
	}
	require.GreaterOrEqual(t, first, 0, "the fixture task carries a correlation id")
	h := runFixture(t, createDefaultConfig(), events, 1)
	spans := allSpans(h.traces.AllTraces())
	require.NotEmpty(t, spans)
	for _, s := range spans {
		v, ok := s.Attributes().Get(event.AttrCorrelationID)
		require.True(t, ok, "span %q carries the correlation id", s.Name())
		assert.Equal(t, corr, v.Str(), "span %q", s.Name())
	}
	var records []plog.LogRecord
	for _, ld := range h.logs.AllLogs() {
		rls := ld.ResourceLogs()
		for i := 0; i < rls.Len(); i++ {
			sls := rls.At(i).ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				for k := 0; k < sls.At(j).LogRecords().Len(); k++ {
					records = append(records, sls.At(j).LogRecords().At(k))
				}
			}
		}
	}
	require.Len(t, records, len(events))
	with := 0
	for i, lr := range records {
		v, ok := lr.Attributes().Get(event.AttrCorrelationID)
		if i < first {
			assert.False(t, ok, "record %d comes before the id was seen", i)
			continue
		}
		require.True(t, ok, "record %d (%s) carries the correlation id", i, event.Name(lr))
		assert.Equal(t, corr, v.Str())
		with++
	}
	t.Logf("%d spans and %d of %d event records carry %s", len(spans), with, len(records), corr)
}
