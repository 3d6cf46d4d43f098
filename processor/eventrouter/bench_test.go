package eventrouter

import (
	"context"
	"runtime"
	"testing"
	"time"

	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
	"github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/metadata"
)

// benchRouter feeds the fixture (646 events, 20 tasks) per iteration to the
// pipelines the collector would call, flushing the assembled traces each
// time as if the tasks had ended.
func benchRouter(b *testing.B, signals []string, receiverRedacted bool) {
	events := loadFixture(b)
	input := buildLogs(b, events)
	if receiverRedacted {
		// what the taskerevents receiver hands over: bodies already
		// filtered, and one string per member name for every event
		r := event.NewRedactor(event.DefaultRedactionConfig())
		names := map[string]string{}
		lrs := input.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		for i := 0; i < lrs.Len(); i++ {
			body := lrs.At(i).Body()
			r.RedactMap(body.Map())
			interned := pcommon.NewMap()
			for k, v := range body.Map().All() {
				if _, ok := names[k]; !ok {
					names[k] = k
				}
				v.CopyTo(interned.PutEmpty(names[k]))
			}
			interned.MoveTo(body.Map())
		}
	}
	cfg := createDefaultConfig()
	cfg.Metrics.FlushInterval = time.Hour
	f := NewFactory()
	set := connectortest.NewNopSettings(metadata.Type)
	ctx := context.Background()
	var tc *tracesConnector
	var readOnly, mutating []interface {
		ConsumeLogs(context.Context, plog.Logs) error
		Shutdown(context.Context) error
	}
	for _, s := range signals {
		switch s {
		case SignalTraces:
			c, err := f.CreateLogsToTraces(ctx, set, cfg, consumertest.NewNop())
			if err != nil {
				b.Fatal(err)
			}
			tc = c.(*tracesConnector)
			readOnly = append(readOnly, c)
		case SignalMetrics:
			c, err := f.CreateLogsToMetrics(ctx, set, cfg, consumertest.NewNop())
			if err != nil {
				b.Fatal(err)
			}
			readOnly = append(readOnly, c)
		case SignalLogs:
			c, err := f.CreateLogsToLogs(ctx, set, cfg, consumertest.NewNop())
			if err != nil {
				b.Fatal(err)
			}
			if c.Capabilities().MutatesData {
				mutating = append(mutating, c)
			} else {
				readOnly = append(readOnly, c)
			}
		}
	}
	copies := make([]plog.Logs, 0, 64)
	n := input.LogRecordCount()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, c := range readOnly {
			if err := c.ConsumeLogs(ctx, input); err != nil {
				b.Fatal(err)
			}
		}
		for _, c := range mutating {
			// the collector's fanout hands a mutating consumer its own copy
			cp := plog.NewLogs()
			input.CopyTo(cp)
			if err := c.ConsumeLogs(ctx, cp); err != nil {
				b.Fatal(err)
			}
			copies = append(copies[:0], cp)
		}
		if tc != nil {
			if err := tc.emit(ctx, tc.asm.Flush, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(b.N*n), "allocs/event")
	for _, c := range append(readOnly, mutating...) {
		_ = c.Shutdown(ctx)
	}
}

var allSignals = []string{SignalTraces, SignalMetrics, SignalLogs}

// The main number: receiver output routed to all three signals.
func BenchmarkRouterAllSignals(b *testing.B) { benchRouter(b, allSignals, true) }

// Input with secrets still in it: the router must copy and redact.
func BenchmarkRouterAllSignalsUnredactedInput(b *testing.B) { benchRouter(b, allSignals, false) }

func BenchmarkRouterTraces(b *testing.B)  { benchRouter(b, []string{SignalTraces}, true) }
func BenchmarkRouterMetrics(b *testing.B) { benchRouter(b, []string{SignalMetrics}, true) }
func BenchmarkRouterLogs(b *testing.B)    { benchRouter(b, []string{SignalLogs}, true) }
