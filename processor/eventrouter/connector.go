package eventrouter // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter"

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

// work holds per-call scratch space, pooled so concurrent calls never share.
type work struct {
	e       evt
	scratch plog.LogRecord // a redacted copy of a record, for the metrics
}

var workPool = sync.Pool{New: func() any { return &work{scratch: plog.NewLogRecord()} }}

// release drops what the scratch space still holds of a batch (strings that
// are views into its buffers), so that an idle pool keeps no batch alive.
func (w *work) release() {
	w.e.forget()
	w.scratch = forgetRecord(w.scratch)
	workPool.Put(w)
}

// getWork takes per-call scratch space.
func (r *router) getWork() *work {
	return workPool.Get().(*work)
}

// forgetRecord returns lr, or a new record if lr holds anything.
func forgetRecord(lr plog.LogRecord) plog.LogRecord {
	if lr.Attributes().Len() == 0 && lr.Body().Type() == pcommon.ValueTypeEmpty {
		return lr
	}
	return plog.NewLogRecord()
}

// counts are one batch's telemetry, recorded once per batch.
type counts struct {
	routed, dropped, sampled, noTrace, unrouted, duplicate int64
	notNormalized                                          int64
}

func (r *router) record(ctx context.Context, sig signals, c counts) {
	t := r.telemetry
	if c.routed > 0 {
		t.EventrouterEventsRouted.Add(ctx, c.routed, signalAttr(sig))
	}
	if c.sampled > 0 {
		t.EventrouterEventsDropped.Add(ctx, c.sampled, dropAttr(sig, "sampled"))
	}
	if c.noTrace > 0 {
		t.EventrouterEventsDropped.Add(ctx, c.noTrace, dropAttr(sig, "no_trace"))
	}
	if c.duplicate > 0 {
		t.EventrouterEventsDropped.Add(ctx, c.duplicate, dropAttr(sig, "duplicate"))
	}
	// router-wide counts: every signal instance sees the same events, so
	// only one of them records these
	if sig == r.counter {
		if c.dropped > 0 {
			t.EventrouterEventsDropped.Add(ctx, c.dropped, dropAttr(0, "drop"))
		}
		if c.unrouted > 0 {
			t.EventrouterEventsDropped.Add(ctx, c.unrouted, dropAttr(0, "unrouted"))
		}
		if c.notNormalized > 0 {
			t.EventrouterEventsNotNormalized.Add(ctx, c.notNormalized)
		}
	}
}

// classify routes one record: it returns its event name and the decision.
// The router reads normalized events only (the taskerevents receiver and
// the eventnormalize processor normalize at the edge): records that are not
// events, and event records that are not normalized, get the name "" and are
// handled like unmatched events, for logs only; raw reports the latter, to
// be counted.
func (r *router) classify(lr plog.LogRecord) (name string, d decision, raw bool) {
	name = event.Name(lr)
	if name != "" && event.IsNormalized(lr) {
		return name, r.routes.decide(name), false
	}
	d = r.routes.unmatched
	d.to &= toLogs
	return "", d, name != ""
}

func (d decision) unrouted() bool { return !d.drop && d.to == 0 }
