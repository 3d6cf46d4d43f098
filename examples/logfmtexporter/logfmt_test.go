package logfmtexporter

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

var (
	start   = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	traceID = pcommon.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	spanID  = pcommon.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}
)

// export runs the exporter the way the collector does (factory, Start,
// Consume, Shutdown) with its output in a file, and returns the file.
func export(t *testing.T, include []string, consume func(context.Context, *Config) error) string {
	t.Helper()
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.File.Path = filepath.Join(t.TempDir(), "out.logfmt")
	cfg.Include = include
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := consume(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(cfg.File.Path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestEventsAsLogfmtLines(t *testing.T) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "tasker")
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetEventName("step.failed")
	lr.SetTimestamp(pcommon.NewTimestampFromTime(start.Add(1500 * time.Millisecond)))
	lr.SetTraceID(traceID)
	lr.SetSpanID(spanID)
	lr.SetSeverityText("ERROR")
	lr.Attributes().PutStr("tasker.task.id", "42")
	lr.Attributes().PutStr("tasker.step.name", "charge payment")
	lr.Attributes().PutInt("tasker.step.attempt", 2)
	lr.Body().SetStr(`card declined: "insufficient funds"`)
	second := rl.ScopeLogs().At(0).LogRecords().AppendEmpty() // no trace, no time
	second.SetEventName("handler.registered")

	got := export(t, []string{"timestamp", "event_name", "severity", "trace_id", "span_id", "service_name", "attributes", "body"},
		func(ctx context.Context, cfg *Config) error {
			e, err := NewFactory().CreateLogs(ctx, exportertest.NewNopSettings(typeStr), cfg)
			if err != nil {
				return err
			}
			if err := e.Start(ctx, componenttest.NewNopHost()); err != nil {
				return err
			}
			if err := e.ConsumeLogs(ctx, ld); err != nil {
				return err
			}
			return e.Shutdown(ctx)
		})
	want := `timestamp=2026-11-26T10:00:01.5Z event_name=step.failed severity=ERROR ` +
		`trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7 service_name=tasker ` +
		`attributes.tasker.task.id=42 attributes.tasker.step.name="charge payment" attributes.tasker.step.attempt=2 ` +
		`body="card declined: \"insufficient funds\""` + "\n" +
		`event_name=handler.registered severity="" service_name=tasker body=""` + "\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestSpansAsLogfmtLines(t *testing.T) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "tasker")
	sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetTraceID(traceID)
	sp.SetSpanID(spanID)
	sp.SetName("task order_fulfillment")
	sp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	sp.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(2500 * time.Millisecond)))
	sp.Status().SetCode(ptrace.StatusCodeError)
	sp.Attributes().PutStr("tasker.task.id", "42")

	got := export(t, nil, func(ctx context.Context, cfg *Config) error {
		e, err := NewFactory().CreateTraces(ctx, exportertest.NewNopSettings(typeStr), cfg)
		if err != nil {
			return err
		}
		if err := e.Start(ctx, componenttest.NewNopHost()); err != nil {
			return err
		}
		if err := e.ConsumeTraces(ctx, td); err != nil {
			return err
		}
		return e.Shutdown(ctx)
	})
	// the default trace fields of internal/flatten; an empty parent is left out
	want := `trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7 name="task order_fulfillment" ` +
		`kind=Unspecified start_time=2026-11-26T10:00:00Z end_time=2026-11-26T10:00:02.5Z duration_ms=2500 ` +
		`status_code=Error status_message="" service_name=tasker attributes.tasker.task.id=42` + "\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestConfigErrors(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "no destination") {
		t.Errorf("no destination: %v", err)
	}
	cfg.File.Path = "stdout"
	cfg.Include = []string{"event_name", "evnt_name"}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), `include: unknown field "evnt_name"`) {
		t.Errorf("misspelled field: %v", err)
	}
	cfg.Include = nil
	if err := cfg.Validate(); err != nil {
		t.Errorf("stdout with the default fields: %v", err)
	}
}
