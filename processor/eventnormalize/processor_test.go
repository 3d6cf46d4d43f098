package eventnormalize

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
	"github.com/otelcol-tasker/otelcol-tasker/internal/sim"
	"github.com/otelcol-tasker/otelcol-tasker/processor/eventnormalize/internal/metadata"
	"github.com/otelcol-tasker/otelcol-tasker/receiver/taskerevents"
)

// process runs ld through a processor made from cfg and returns what it
// passed on.
func process(t *testing.T, cfg *Config, ld plog.Logs) plog.Logs {
	t.Helper()
	sink := new(consumertest.LogsSink)
	p, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, p.Shutdown(context.Background())) }()
	require.NoError(t, p.ConsumeLogs(context.Background(), ld))
	require.Len(t, sink.AllLogs(), 1)
	return sink.AllLogs()[0]
}

// simEvents is a simulated workload with failures, retries, database
// queries and task contexts holding secrets.
func simEvents(t testing.TB, tasks int) []sim.Event {
	t.Helper()
	cfg := sim.DefaultConfig()
	cfg.Tasks = tasks
	gen, err := sim.New(cfg)
	require.NoError(t, err)
	var evs []sim.Event
	for {
		ev, ok := gen.Next()
		if !ok {
			break
		}
		c := *ev
		c.Fields = append([]sim.Field(nil), ev.Fields...)
		evs = append(evs, c)
	}
	require.Positive(t, gen.Stats().SecretsPlanted, "the workload must carry secrets")
	return evs
}

// viaReceiver posts evs as NDJSON to a real taskerevents receiver with
// trace_namespace ns and returns its records in order.
func viaReceiver(t *testing.T, evs []sim.Event, ns string) []plog.LogRecord {
	t.Helper()
	f := taskerevents.NewFactory()
	cfg := f.CreateDefaultConfig().(*taskerevents.Config)
	cfg.ServerConfig.NetAddr.Endpoint = freeAddr(t)
	cfg.TraceNamespace = ns
	sink := new(consumertest.LogsSink)
	r, err := f.CreateLogs(context.Background(), receivertest.NewNopSettings(f.Type()), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()

	enc := sim.Encoder{Format: sim.FormatNDJSON}
	var body []byte
	for i := range evs {
		body = append(enc.Append(body, &evs[i]), '\n')
	}
	resp, err := http.Post("http://"+cfg.ServerConfig.NetAddr.Endpoint+"/v1/events", sim.FormatNDJSON.ContentType(), bytes.NewReader(body))
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)
	return records(sink.AllLogs()...)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// asOTLP writes evs as an OTLP sender does (taskersim --otlp-endpoint):
// EventName, timestamp, the payload as a map body.
func asOTLP(evs []sim.Event) plog.Logs {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for i := range evs {
		sim.AppendLogRecord(lrs, &evs[i])
	}
	return ld
}

func records(lds ...plog.Logs) []plog.LogRecord {
	var out []plog.LogRecord
	for _, ld := range lds {
		rls := ld.ResourceLogs()
		for i := 0; i < rls.Len(); i++ {
			sls := rls.At(i).ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				lrs := sls.At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					out = append(out, lrs.At(k))
				}
			}
		}
	}
	return out
}

// sameRecord fails unless got is want in every field normalization sets
// (the observed timestamp is when each was received, so it differs).
func sameRecord(t *testing.T, i int, want, got plog.LogRecord) {
	t.Helper()
	where := fmt.Sprintf("record %d (%s)", i, want.EventName())
	assert.Equal(t, want.EventName(), got.EventName(), where)
	assert.Equal(t, want.Timestamp(), got.Timestamp(), where)
	assert.Equal(t, want.TraceID(), got.TraceID(), where)
	assert.Equal(t, want.SpanID(), got.SpanID(), where)
	assert.Equal(t, want.SeverityNumber(), got.SeverityNumber(), where)
	assert.Equal(t, want.SeverityText(), got.SeverityText(), where)
	assert.Equal(t, want.Attributes().AsRaw(), got.Attributes().AsRaw(), where)
	assert.Equal(t, want.Body().AsRaw(), got.Body().AsRaw(), where)
	assert.NotZero(t, got.ObservedTimestamp(), where)
}

// TestSameAsReceiver: OTLP records of a simulated workload come out of the
// processor exactly as the taskerevents receiver writes the same events
// sent as NDJSON, secrets filtered, in the default and a named namespace.
func TestSameAsReceiver(t *testing.T) {
	evs := simEvents(t, 20)
	for _, ns := range []string{"", "shop-eu"} {
		t.Run("namespace="+ns, func(t *testing.T) {
			want := viaReceiver(t, evs, ns)
			cfg := createDefaultConfig().(*Config)
			cfg.TraceNamespace = ns
			got := records(process(t, cfg, asOTLP(evs)))
			require.Len(t, got, len(evs))
			require.Len(t, want, len(evs))
			filtered := 0
			for i := range evs {
				sameRecord(t, i, want[i], got[i])
				filtered += countFiltered(got[i].Body())
			}
			assert.Positive(t, filtered, "no secret was filtered")
		})
	}
}

func countFiltered(v pcommon.Value) int {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		if v.Str() == event.Filtered {
			return 1
		}
	case pcommon.ValueTypeMap:
		n := 0
		v.Map().Range(func(_ string, x pcommon.Value) bool { n += countFiltered(x); return true })
		return n
	case pcommon.ValueTypeSlice:
		n := 0
		for i := 0; i < v.Slice().Len(); i++ {
			n += countFiltered(v.Slice().At(i))
		}
		return n
	}
	return 0
}

// TestIdempotent: a second pass changes nothing (records it normalized
// count as normalized), and receiver output passes through untouched.
func TestIdempotent(t *testing.T) {
	evs := simEvents(t, 5)
	cfg := createDefaultConfig().(*Config)
	once := process(t, cfg, asOTLP(evs))
	before := plog.NewLogs()
	once.CopyTo(before)
	twice := process(t, cfg, once)
	assert.Equal(t, before, twice)

	fromReceiver := plog.NewLogs()
	lrs := fromReceiver.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for _, lr := range viaReceiver(t, evs, "") {
		lr.CopyTo(lrs.AppendEmpty())
	}
	want := plog.NewLogs()
	fromReceiver.CopyTo(want)
	assert.Equal(t, want, process(t, cfg, fromReceiver))
}

// TestNonEventsUntouched: records with no event name pass as they are,
// secrets and all (they are not events; the router's redaction handles
// what it exports).
func TestNonEventsUntouched(t *testing.T) {
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.Body().SetStr("GET /health 200")
	lr.Attributes().PutStr("api_key", "k-123")
	lr.Attributes().PutStr("task_id", "7")
	want := plog.NewLogs()
	ld.CopyTo(want)
	assert.Equal(t, want, process(t, createDefaultConfig().(*Config), ld))
}

// TestPayloadInAttributes: a sender that puts the payload in attributes
// and the name in event.name gets the receiver's record for the same
// payload, with its string body kept under "message".
func TestPayloadInAttributes(t *testing.T) {
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.Body().SetStr("step done")
	a := lr.Attributes()
	a.PutStr(event.AttrEventName, "step.completed")
	a.PutInt("task_id", 42)
	a.PutStr("step_id", "7")
	a.PutInt("attempt_number", 2)
	a.PutStr("step_name", "charge")
	a.PutStr("password", "hunter2")
	a.PutStr("timestamp", "2026-01-02T03:04:05.5Z")

	out := records(process(t, createDefaultConfig().(*Config), ld))[0]
	assert.Equal(t, "step.completed", out.EventName())
	assert.Equal(t, event.TraceID("", "42"), out.TraceID())
	assert.Equal(t, event.StepSpanID("42", "7", 2), out.SpanID())
	wantTS, _ := event.ParseTime("2026-01-02T03:04:05.5Z")
	assert.Equal(t, wantTS, out.Timestamp())
	assert.Equal(t, map[string]any{
		"task_id": int64(42), "step_id": "7", "attempt_number": int64(2), "step_name": "charge",
		"password": event.Filtered, "timestamp": "2026-01-02T03:04:05.5Z", "message": "step done",
	}, out.Body().AsRaw())
	attrs := out.Attributes().AsRaw()
	assert.Equal(t, event.Filtered, attrs["password"])
	assert.Equal(t, "42", attrs[event.AttrTaskID])
	assert.Equal(t, "7", attrs[event.AttrStepID])
	assert.Equal(t, int64(2), attrs[event.AttrStepAttempt])
	assert.Equal(t, "charge", attrs[event.AttrStepName])
}

// TestRedactionOff keeps the payload as sent.
func TestRedactionOff(t *testing.T) {
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetEventName("task.completed")
	lr.Body().SetEmptyMap().PutStr("task_id", "9")
	lr.Body().Map().PutStr("api_token", "t-1")
	cfg := createDefaultConfig().(*Config)
	cfg.Redaction.Enabled = false
	out := records(process(t, cfg, ld))[0]
	v, _ := out.Body().Map().Get("api_token")
	assert.Equal(t, "t-1", v.Str())
	assert.Equal(t, event.TraceID("", "9"), out.TraceID())
	assert.Equal(t, event.TaskSpanID("9"), out.SpanID())
}

// TestTimestampFromArrival: an event with no time of its own gets the
// time it was processed, as the receiver gives it.
func TestTimestampFromArrival(t *testing.T) {
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetEventName("handler.registered")
	lr.Attributes().PutStr(event.AttrEventName, "handler.registered")
	before := pcommon.NewTimestampFromTime(time.Now())
	out := records(process(t, createDefaultConfig().(*Config), ld))[0]
	assert.GreaterOrEqual(t, out.Timestamp(), before)
	assert.Equal(t, out.Timestamp(), out.ObservedTimestamp())
	assert.True(t, out.TraceID().IsEmpty(), "an event of no task has no trace")
}

// TestReceiverScopeUntouched: records in the taskerevents receiver's scope
// are its output, normalized already, and are never read again.
func TestReceiverScopeUntouched(t *testing.T) {
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	sl.Scope().SetName(event.ScopeName)
	lr := sl.LogRecords().AppendEmpty()
	lr.SetEventName("handler.registered")
	lr.Body().SetEmptyMap().PutStr("secret", "s")
	want := plog.NewLogs()
	ld.CopyTo(want)
	assert.Equal(t, want, process(t, createDefaultConfig().(*Config), ld))
}
