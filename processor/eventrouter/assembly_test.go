package eventrouter

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
	"github.com/otelcol-tasker/otelcol-tasker/processor/eventnormalize"
	"github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/assembly"
	"github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/metadatatest"
	"github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/metrics"
)

func taskEvents(t testing.TB, task int64) []fixtureEvent {
	var out []fixtureEvent
	for _, ev := range loadFixture(t) {
		if id, ok := taskIDOf(ev); ok && id == task {
			out = append(out, ev)
		}
	}
	require.NotEmpty(t, out)
	return out
}

// OTLP log records in the shapes SDKs send, normalized at the edge by the
// eventnormalize processor (otlp → eventnormalize → eventrouter), get the
// same ids, and so the same spans and metrics, as events the taskerevents
// receiver normalized.
func TestOTLPInputNormalizedAtTheEdgeMatchesReceiverInput(t *testing.T) {
	events := taskEvents(t, 3)
	secrets := map[string]bool{}
	for _, ev := range events {
		secretValues(ev.Payload, secrets)
	}
	require.NotEmpty(t, secrets)
	// a metric whose labels come from the payload, secrets included
	cfg := createDefaultConfig()
	cfg.Metrics.Definitions = []metrics.Definition{{
		Name: "tasker.leak_probe", Type: metrics.TypeCounter, Unit: "{event}",
		Events: []string{"task.initialize_requested", "task.start_requested"},
		Labels: map[string]string{"pw": "payload.task_context.password", "task": "payload.task_id"},
	}}
	ref := runFixture(t, cfg, events, 50)
	want := rows(ref.traces.AllTraces())
	require.NotEmpty(t, want)
	wantMetrics := metricValues(t, ref.metrics.AllMetrics())
	require.Equal(t, "2 0", wantMetrics[`tasker.leak_probe{"pw":"[FILTERED]","task":"3"}`])

	shapes := map[string]func(lr plog.LogRecord, ev fixtureEvent){
		"event name, map body": func(lr plog.LogRecord, ev fixtureEvent) {
			lr.SetEventName(ev.Name)
			require.NoError(t, lr.Body().SetEmptyMap().FromRaw(ev.Payload))
		},
		"event.name attribute, map body": func(lr plog.LogRecord, ev fixtureEvent) {
			lr.Attributes().PutStr(event.AttrEventName, ev.Name)
			require.NoError(t, lr.Body().SetEmptyMap().FromRaw(ev.Payload))
		},
		"event name, payload as attributes": func(lr plog.LogRecord, ev fixtureEvent) {
			lr.SetEventName(ev.Name)
			require.NoError(t, lr.Attributes().FromRaw(ev.Payload))
		},
		"event.name attribute, payload as attributes, string body": func(lr plog.LogRecord, ev fixtureEvent) {
			require.NoError(t, lr.Attributes().FromRaw(ev.Payload))
			lr.Attributes().PutStr(event.AttrEventName, ev.Name)
			lr.Body().SetStr(ev.Name + " happened")
		},
	}
	for name, shape := range shapes {
		t.Run(name, func(t *testing.T) {
			ld := plog.NewLogs()
			rl := ld.ResourceLogs().AppendEmpty()
			rl.Resource().Attributes().PutStr("service.name", "tasker-app")
			lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
			for _, ev := range events {
				lr := lrs.AppendEmpty()
				ts, _ := event.ParseTime(ev.Timestamp)
				lr.SetTimestamp(ts)
				shape(lr, ev)
			}
			ld = normalizeAtTheEdge(t, ld)
			in := plog.NewLogs()
			ld.CopyTo(in)
			h := newHarness(t, NewFactory(), cfg, "otlp")
			h.consume(t, ld)
			h.shutdown(t)
			assert.Equal(t, want, rows(h.traces.AllTraces()))
			assert.Equal(t, wantMetrics, metricValues(t, h.metrics.AllMetrics()))
			assert.Equal(t, in, ld, "read-only pipelines leave the input untouched")
			out := h.serialize(t)
			for s := range secrets {
				assert.NotContains(t, string(out), s)
			}

			// the logs pipeline gets normalized events with the same ids
			require.Equal(t, len(events), h.logs.LogRecordCount())
			logs := h.logs.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
			for i := 0; i < logs.Len(); i++ {
				lr := logs.At(i)
				assert.Equal(t, event.TraceID("", "3"), lr.TraceID())
				assert.Equal(t, events[i].Name, lr.EventName())
				assert.Equal(t, pcommon.ValueTypeMap, lr.Body().Type())
				tc, ok := lr.Body().Map().Get("task_context")
				if ok {
					pw, _ := tc.Map().Get("password")
					assert.Equal(t, event.Filtered, pw.Str())
				}
			}
		})
	}
}

// metricValues returns the data points of the last metrics exported, by
// metric name and attributes, without their times and exemplars.
func metricValues(t testing.TB, all []pmetric.Metrics) map[string]string {
	require.NotEmpty(t, all)
	out := map[string]string{}
	rms := all[len(all)-1].ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		sms := rms.At(i).ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				point := func(attrs pcommon.Map, v string) {
					key, err := json.Marshal(attrs.AsRaw())
					require.NoError(t, err)
					out[m.Name()+string(key)] = v
				}
				switch m.Type() {
				case pmetric.MetricTypeSum:
					for d := 0; d < m.Sum().DataPoints().Len(); d++ {
						dp := m.Sum().DataPoints().At(d)
						point(dp.Attributes(), fmt.Sprint(dp.IntValue(), dp.DoubleValue()))
					}
				case pmetric.MetricTypeGauge:
					for d := 0; d < m.Gauge().DataPoints().Len(); d++ {
						dp := m.Gauge().DataPoints().At(d)
						point(dp.Attributes(), fmt.Sprint(dp.IntValue(), dp.DoubleValue()))
					}
				case pmetric.MetricTypeHistogram:
					for d := 0; d < m.Histogram().DataPoints().Len(); d++ {
						dp := m.Histogram().DataPoints().At(d)
						point(dp.Attributes(), fmt.Sprint(dp.Count(), dp.Sum(), dp.BucketCounts().AsRaw()))
					}
				default:
					t.Fatalf("unexpected metric type %s of %s", m.Type(), m.Name())
				}
			}
		}
	}
	return out
}

// normalizeAtTheEdge runs ld through the eventnormalize processor with its
// default configuration, as the default config's OTLP pipeline does.
func normalizeAtTheEdge(t testing.TB, ld plog.Logs) plog.Logs {
	t.Helper()
	sink := new(consumertest.LogsSink)
	f := eventnormalize.NewFactory()
	p, err := f.CreateLogs(context.Background(), processortest.NewNopSettings(f.Type()), f.CreateDefaultConfig(), sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componentNopHost{}))
	require.NoError(t, p.ConsumeLogs(context.Background(), ld))
	require.NoError(t, p.Shutdown(context.Background()))
	require.Len(t, sink.AllLogs(), 1)
	return sink.AllLogs()[0]
}

// An event record that reaches the router without normalization (OTLP
// input that skipped the eventnormalize processor) is handled as a record
// that is not an event: no span, no metric, forwarded to logs as unmatched
// input (redacted, not normalized), and counted.
func TestEventsNotNormalizedAreNotEvents(t *testing.T) {
	raw := func() plog.Logs {
		ld := plog.NewLogs()
		lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
		lr := lrs.AppendEmpty()
		lr.SetEventName("task.completed")
		require.NoError(t, lr.Body().SetEmptyMap().FromRaw(map[string]any{
			"task_id": 9, "task_name": "t", "api_token": "secret-1",
			"started_at": "2025-11-25T19:46:40.100Z", "completed_at": "2025-11-25T19:46:41.100Z",
		}))
		named := lrs.AppendEmpty() // a name only as an attribute
		named.Attributes().PutStr(event.AttrEventName, "handler.registered")
		return ld
	}
	for _, unmatched := range [][]string{{SignalLogs}, nil} {
		t.Run(fmt.Sprintf("unmatched=%v", unmatched), func(t *testing.T) {
			tel := componenttest.NewTelemetry()
			defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
			cfg := createDefaultConfig()
			cfg.Unmatched = unmatched
			h := newHarnessWith(t, NewFactory(), cfg, metadatatest.NewSettings(tel), "raw")
			h.consume(t, raw())
			h.shutdown(t)
			assert.Empty(t, allSpans(h.traces.AllTraces()))
			for _, md := range h.metrics.AllMetrics() {
				assert.Zero(t, md.DataPointCount(), "no metric from a record that is not an event")
			}
			metadatatest.AssertEqualEventrouterEventsNotNormalized(t, tel, []metricdata.DataPoint[int64]{{Value: 2}}, metricdatatest.IgnoreTimestamp())
			if unmatched == nil {
				assert.Zero(t, h.logs.LogRecordCount())
				return
			}
			require.Equal(t, 2, h.logs.LogRecordCount(), "forwarded as unmatched input")
			out := h.logs.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
			assert.True(t, out.TraceID().IsEmpty(), "not normalized by the router")
			_, hasTask := out.Attributes().Get(event.AttrTaskID)
			assert.False(t, hasTask)
			tok, _ := out.Body().Map().Get("api_token")
			assert.Equal(t, event.Filtered, tok.Str(), "redacted all the same")
		})
	}
}

// countingTraces counts spans and keeps nothing.
type countingTraces struct {
	spans, unfinished atomic.Int64
}

func (c *countingTraces) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (c *countingTraces) ConsumeTraces(_ context.Context, td ptrace.Traces) error {
	for _, s := range allSpans([]ptrace.Traces{td}) {
		c.spans.Add(1)
		if v, ok := s.Attributes().Get(assembly.AttrUnfinished); ok && v.Bool() {
			c.unfinished.Add(1)
		}
	}
	return nil
}

func startEvents(from, n int) plog.Logs {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	lrs.EnsureCapacity(n)
	base := time.Date(2025, 11, 25, 19, 0, 0, 0, time.UTC)
	for i := from; i < from+n; i++ {
		lr := lrs.AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(base.Add(time.Duration(i) * time.Millisecond)))
		m := lr.Body().SetEmptyMap()
		m.PutInt("task_id", int64(i))
		m.PutStr("task_name", "load")
		event.Normalize(lr, "task.start_requested", "", receivedAt)
	}
	return ld
}

func newTracesOnly(t testing.TB, cfg *Config, next consumer.Traces) *tracesConnector {
	set := metadatatest.NewSettings(componenttest.NewTelemetry())
	c, err := NewFactory().CreateLogsToTraces(context.Background(), set, cfg, next)
	require.NoError(t, err)
	require.NoError(t, c.Start(context.Background(), componentNopHost{}))
	return c.(*tracesConnector)
}

func TestPendingIsBounded(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.Traces.MaxPending = 1000
	sink := &countingTraces{}
	c := newTracesOnly(t, cfg, sink)

	const total, batch = 50000, 1000
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < total; i += batch {
		require.NoError(t, c.ConsumeLogs(context.Background(), startEvents(i, batch)))
		require.LessOrEqual(t, c.asm.Pending(), int64(cfg.Traces.MaxPending))
	}
	assert.Equal(t, int64(cfg.Traces.MaxPending), c.asm.Pending(), "pending stays at the bound")
	assert.Equal(t, int64(total-cfg.Traces.MaxPending), sink.spans.Load(), "evicted spans are emitted")
	assert.Equal(t, sink.spans.Load(), sink.unfinished.Load(), "evicted open spans are marked unfinished")
	runtime.GC()
	runtime.ReadMemStats(&after)
	growth := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	assert.Less(t, growth, int64(64<<20), "heap grew by %d bytes", growth)

	require.NoError(t, c.Shutdown(context.Background()))
	assert.Equal(t, int64(total), sink.spans.Load(), "shutdown flushes everything pending")
	assert.Equal(t, int64(total), sink.unfinished.Load())
	assert.Zero(t, c.asm.Pending())
}

func TestSpanTimeoutEmitsUnfinished(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.Traces.SpanTimeout = time.Hour // the ticker never fires; ticks are driven by hand
	sink := &countingTraces{}
	c := newTracesOnly(t, cfg, sink)
	defer func() { require.NoError(t, c.Shutdown(context.Background())) }()

	require.NoError(t, c.ConsumeLogs(context.Background(), startEvents(0, 10)))
	require.NoError(t, c.emit(context.Background(), c.asm.Advance, time.Now().Add(30*time.Minute)))
	assert.Zero(t, sink.spans.Load())
	require.NoError(t, c.emit(context.Background(), c.asm.Advance, time.Now().Add(time.Hour+time.Second)))
	assert.Equal(t, int64(10), sink.spans.Load())
	assert.Equal(t, int64(10), sink.unfinished.Load())
	assert.Zero(t, c.asm.Pending())
}

// An end that arrives before its start waits for it; the task is emitted
// after its terminal event plus the grace period, by the timer goroutine.
func TestEndBeforeStartAndGraceRelease(t *testing.T) {
	events := taskEvents(t, 3)
	reversed := make([]fixtureEvent, len(events))
	for i, ev := range events {
		reversed[len(events)-1-i] = ev
	}
	cfg := createDefaultConfig()
	cfg.Traces.TaskEndGrace = 50 * time.Millisecond
	sink := new(consumertestTraces)
	sink.init()
	c := newTracesOnly(t, cfg, sink)
	defer func() { require.NoError(t, c.Shutdown(context.Background())) }()
	for _, ev := range reversed {
		require.NoError(t, c.ConsumeLogs(context.Background(), buildLogs(t, []fixtureEvent{ev})))
	}
	require.Eventually(t, func() bool { return sink.count() > 0 }, 5*time.Second, 10*time.Millisecond)
	assert.Zero(t, c.asm.Pending())
	want := rows(runFixture(t, createDefaultConfig(), events, 50).traces.AllTraces())
	assert.Equal(t, want, rows(sink.all()))

	// a late event of the task, after it was emitted, is counted, not lost silently
	late := buildLogs(t, []fixtureEvent{events[len(events)-2]})
	require.NoError(t, c.ConsumeLogs(context.Background(), late))
	require.Eventually(t, func() bool { return c.asm.Pending() == 0 }, 5*time.Second, 10*time.Millisecond)
}

// consumertestTraces is a concurrency-safe sink that can be polled.
type consumertestTraces struct {
	mu  chanMutex
	tds []ptrace.Traces
}

type chanMutex struct{ ch chan struct{} }

func (m *chanMutex) lock() {
	if m.ch == nil {
		panic("uninitialized")
	}
	m.ch <- struct{}{}
}
func (m *chanMutex) unlock() { <-m.ch }

func (c *consumertestTraces) init() {
	if c.mu.ch == nil {
		c.mu.ch = make(chan struct{}, 1)
	}
}

func (c *consumertestTraces) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }
func (c *consumertestTraces) ConsumeTraces(_ context.Context, td ptrace.Traces) error {
	c.mu.lock()
	defer c.mu.unlock()
	c.tds = append(c.tds, td)
	return nil
}
func (c *consumertestTraces) count() int {
	c.mu.lock()
	defer c.mu.unlock()
	return len(c.tds)
}
func (c *consumertestTraces) all() []ptrace.Traces {
	c.mu.lock()
	defer c.mu.unlock()
	return append([]ptrace.Traces(nil), c.tds...)
}

func TestTelemetry(t *testing.T) {
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	events := loadFixture(t)
	sum := loadSummary(t)
	cfg := createDefaultConfig()
	cfg.Drop = []string{"handler.registered"}
	cfg.Traces.MaxPending = 100 // forces evictions
	h := newHarnessWith(t, NewFactory(), cfg, metadatatest.NewSettings(tel), "telemetry")
	h.consume(t, buildLogs(t, events))

	dropped := int64(sum.ByName["handler.registered"])
	metadatatest.AssertEqualEventrouterEventsRouted(t, tel, []metricdata.DataPoint[int64]{
		{Value: int64(sum.Events) - dropped, Attributes: attribute.NewSet(attribute.String("signal", SignalTraces))},
		{Value: int64(sum.Events) - dropped, Attributes: attribute.NewSet(attribute.String("signal", SignalMetrics))},
		{Value: int64(sum.Events) - dropped, Attributes: attribute.NewSet(attribute.String("signal", SignalLogs))},
	}, metricdatatest.IgnoreTimestamp())
	dm, err := tel.GetMetric("otelcol_eventrouter_events_dropped")
	require.NoError(t, err)
	byReason := map[string]int64{}
	for _, dp := range dm.Data.(metricdata.Sum[int64]).DataPoints {
		r, _ := dp.Attributes.Value("reason")
		byReason[r.AsString()] += dp.Value
	}
	assert.Equal(t, dropped, byReason["drop"], "dropped by rule, counted once for all signals")
	assert.Zero(t, byReason["sampled"])
	pending := h.conns[0].(*tracesConnector).asm.Pending()
	assert.LessOrEqual(t, pending, int64(100))
	metadatatest.AssertEqualEventrouterSpansPending(t, tel, []metricdata.DataPoint[int64]{{Value: pending}}, metricdatatest.IgnoreTimestamp())

	h.shutdown(t)
	emitted := int64(len(allSpans(h.traces.AllTraces())))
	metadatatest.AssertEqualEventrouterSpansEmitted(t, tel, []metricdata.DataPoint[int64]{{Value: emitted}}, metricdatatest.IgnoreTimestamp())
	unfinished := int64(0)
	for _, s := range allSpans(h.traces.AllTraces()) {
		if _, ok := s.Attributes().Get(assembly.AttrUnfinished); ok {
			unfinished++
		}
	}
	require.Positive(t, unfinished, "evicting whole tasks mid-stream leaves open spans")
	m, err := tel.GetMetric("otelcol_eventrouter_spans_unfinished")
	require.NoError(t, err)
	var total int64
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		total += dp.Value
	}
	assert.Equal(t, unfinished, total)
}
