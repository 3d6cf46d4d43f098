package eventrouter

import (
	"bytes"
	"context"
	"encoding/json"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
	"github.com/otelcol-tasker/otelcol-tasker/internal/fixtures"
	"github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/metadata"
)

// fixtureEvent is one line of the native fixture, decoded.
type fixtureEvent = fixtures.Event

// fixtureSummary holds the counts a correct pipeline reproduces.
type fixtureSummary = fixtures.Summary

// loadFixture decodes the native NDJSON fixture (whole numbers as int64, as
// the receiver keeps them).
func loadFixture(testing.TB) []fixtureEvent { return fixtures.NativeEvents() }

func loadSummary(testing.TB) fixtureSummary { return fixtures.NativeSummary() }

var receivedAt = pcommon.NewTimestampFromTime(time.Date(2025, 11, 25, 20, 0, 0, 0, time.UTC))

// buildLogs builds one batch of normalized event records, as the taskerevents
// receiver would (without its redaction, so the router's is what is tested).
func buildLogs(t testing.TB, events []fixtureEvent) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "tasker-app")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	lrs.EnsureCapacity(len(events))
	for _, ev := range events {
		lr := lrs.AppendEmpty()
		require.NoError(t, lr.Body().SetEmptyMap().FromRaw(ev.Payload))
		if ts, ok := event.ParseTime(ev.Timestamp); ok {
			lr.SetTimestamp(ts)
		}
		event.Normalize(lr, ev.Name, "", receivedAt)
	}
	return ld
}

// harness runs the three pipelines of one connector as the collector wires
// them: every batch goes to each, the logs side gets its own copy.
type harness struct {
	traces  *consumertest.TracesSink
	metrics *consumertest.MetricsSink
	logs    *consumertest.LogsSink
	conns   []connector.Logs
	mutates []bool
}

func newHarness(t testing.TB, factory connector.Factory, cfg *Config, name string) *harness {
	return newHarnessWith(t, factory, cfg, connectortest.NewNopSettings(metadata.Type), name)
}

func newHarnessWith(t testing.TB, factory connector.Factory, cfg *Config, set connector.Settings, name string) *harness {
	h := &harness{traces: new(consumertest.TracesSink), metrics: new(consumertest.MetricsSink), logs: new(consumertest.LogsSink)}
	set.ID = component.NewIDWithName(metadata.Type, name)
	ctx := context.Background()
	tc, err := factory.CreateLogsToTraces(ctx, set, cfg, h.traces)
	require.NoError(t, err)
	mc, err := factory.CreateLogsToMetrics(ctx, set, cfg, h.metrics)
	require.NoError(t, err)
	lc, err := factory.CreateLogsToLogs(ctx, set, cfg, h.logs)
	require.NoError(t, err)
	h.conns = []connector.Logs{tc, mc, lc}
	for _, c := range h.conns {
		require.NoError(t, c.Start(ctx, componentNopHost{}))
		h.mutates = append(h.mutates, c.Capabilities().MutatesData)
	}
	return h
}

func (h *harness) consume(t testing.TB, ld plog.Logs) {
	for i, c := range h.conns {
		in := ld
		if h.mutates[i] {
			in = plog.NewLogs()
			ld.CopyTo(in)
		}
		require.NoError(t, c.ConsumeLogs(context.Background(), in))
	}
}

func (h *harness) shutdown(t testing.TB) {
	for _, c := range h.conns {
		require.NoError(t, c.Shutdown(context.Background()))
	}
}

type componentNopHost struct{}

func (componentNopHost) GetExtensions() map[component.ID]component.Component { return nil }

// spanRow is the comparable essence of one span.
type spanRow struct {
	TraceID, SpanID, Parent string
	Name                    string
	Kind                    ptrace.SpanKind
	Start, End              pcommon.Timestamp
	Status                  ptrace.StatusCode
	Message                 string
	Attrs                   string
	Events                  string
}

func allSpans(tds []ptrace.Traces) []ptrace.Span {
	var out []ptrace.Span
	for _, td := range tds {
		rss := td.ResourceSpans()
		for i := 0; i < rss.Len(); i++ {
			sss := rss.At(i).ScopeSpans()
			for j := 0; j < sss.Len(); j++ {
				ss := sss.At(j).Spans()
				for k := 0; k < ss.Len(); k++ {
					out = append(out, ss.At(k))
				}
			}
		}
	}
	return out
}

func rows(tds []ptrace.Traces) []spanRow {
	var out []spanRow
	for _, s := range allSpans(tds) {
		attrs, _ := json.Marshal(s.Attributes().AsRaw())
		var evs []any
		for i := 0; i < s.Events().Len(); i++ {
			e := s.Events().At(i)
			evs = append(evs, []any{e.Name(), uint64(e.Timestamp()), e.Attributes().AsRaw()})
		}
		evJSON, _ := json.Marshal(evs)
		out = append(out, spanRow{
			TraceID: s.TraceID().String(), SpanID: s.SpanID().String(), Parent: s.ParentSpanID().String(),
			Name: s.Name(), Kind: s.Kind(), Start: s.StartTimestamp(), End: s.EndTimestamp(),
			Status: s.Status().Code(), Message: s.Status().Message(),
			Attrs: string(attrs), Events: string(evJSON),
		})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].SpanID != out[j].SpanID {
			return out[i].SpanID < out[j].SpanID
		}
		return out[i].TraceID < out[j].TraceID
	})
	return out
}

// serialize renders every output of a harness as OTLP JSON.
func (h *harness) serialize(t testing.TB) []byte {
	var buf bytes.Buffer
	for _, td := range h.traces.AllTraces() {
		b, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
		require.NoError(t, err)
		buf.Write(b)
	}
	for _, md := range h.metrics.AllMetrics() {
		b, err := (&pmetric.JSONMarshaler{}).MarshalMetrics(md)
		require.NoError(t, err)
		buf.Write(b)
	}
	for _, ld := range h.logs.AllLogs() {
		b, err := (&plog.JSONMarshaler{}).MarshalLogs(ld)
		require.NoError(t, err)
		buf.Write(b)
	}
	return buf.Bytes()
}

// runFixture feeds events in batches of batchSize through a fresh connector.
func runFixture(t testing.TB, cfg *Config, events []fixtureEvent, batchSize int) *harness {
	h := newHarness(t, NewFactory(), cfg, "fixture")
	for i := 0; i < len(events); i += batchSize {
		end := min(i+batchSize, len(events))
		h.consume(t, buildLogs(t, events[i:end]))
	}
	h.shutdown(t)
	return h
}

func taskIDOf(ev fixtureEvent) (int64, bool) {
	v, ok := ev.Payload["task_id"].(int64)
	return v, ok
}
