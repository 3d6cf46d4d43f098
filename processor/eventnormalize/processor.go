package eventnormalize // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventnormalize"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

// normalizer normalizes the events of each batch in place.
type normalizer struct {
	namespace string
	redactor  *event.Redactor // nil: redaction off
	// correlation ids of recent tasks, spread to their events that carry
	// none, as the receiver does
	correlations *event.Correlations
}

func newNormalizer(cfg *Config) *normalizer {
	return &normalizer{namespace: cfg.TraceNamespace, redactor: event.NewRedactor(cfg.Redaction), correlations: event.NewCorrelations()}
}

// processLogs normalizes every event record (EventName or event.name set)
// except those the taskerevents receiver wrote (its scope) and those of a
// task already normalized (tasker.task.id set, as a second pass finds
// them). Records that are not events are left as they are. Normalizing is
// idempotent, so an event of no task normalized twice comes out the same.
func (p *normalizer) processLogs(_ context.Context, ld plog.Logs) (plog.Logs, error) {
	n := event.Normalizer{Namespace: p.namespace, ReceivedAt: pcommon.NewTimestampFromTime(time.Now()), Correlations: p.correlations}
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			sl := sls.At(j)
			if sl.Scope().Name() == event.ScopeName {
				continue // the receiver's own output
			}
			lrs := sl.LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				if name := event.Name(lr); name != "" && !hasTaskID(lr) {
					n.NormalizeRecord(lr, name, p.redactor)
				}
			}
		}
	}
	return ld, nil
}

func hasTaskID(lr plog.LogRecord) bool {
	_, ok := lr.Attributes().Get(event.AttrTaskID)
	return ok
}
