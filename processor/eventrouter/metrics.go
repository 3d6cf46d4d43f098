// The metrics side: the aggregator and its periodic snapshots.

package eventrouter // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/zap"

	"github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/metrics"
)

// metricsConnector feeds every event routed to metrics, sampled or not, to
// the aggregator and sends cumulative snapshots.
type metricsConnector struct {
	r    *router
	agg  *metrics.Aggregator
	next consumer.Metrics

	timer periodic
}

func newMetricsConnector(r *router, agg *metrics.Aggregator, next consumer.Metrics) *metricsConnector {
	r.agg.Store(agg)
	return &metricsConnector{r: r, agg: agg, next: next}
}

func (c *metricsConnector) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

func (c *metricsConnector) Start(context.Context, component.Host) error {
	c.r.started()
	c.timer.start(c.r.cfg.Metrics.FlushInterval, func(time.Time) {
		if err := c.flush(context.Background()); err != nil {
			c.r.logger.Warn("sending metrics failed", zap.Error(err))
		}
	})
	return nil
}

func (c *metricsConnector) flush(ctx context.Context) error {
	md := pmetric.NewMetrics()
	c.agg.AppendTo(md, pcommon.NewTimestampFromTime(time.Now()))
	if md.DataPointCount() == 0 {
		return nil
	}
	return c.next.ConsumeMetrics(ctx, md)
}

func (c *metricsConnector) Shutdown(ctx context.Context) error {
	var err error
	c.timer.halt(func() {
		err = c.flush(ctx)
		c.r.done()
	})
	return err
}

func (c *metricsConnector) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	w := c.r.getWork()
	defer w.release()
	f := c.r.filter
	v := c.r.verdictsFor(ld)
	defer c.r.doneWith(v)
	var n counts
	idx := 0 // of the record in the batch
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		res := rl.Resource()
		if f.needsRedaction(res.Attributes(), nil) {
			// the aggregator keeps a service's resource for its output and
			// may read labels from it: it gets a redacted copy
			red := pcommon.NewResource()
			res.CopyTo(red)
			f.redactMap(red.Attributes())
			res = red
		}
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k, idx = k+1, idx+1 {
				lr := lrs.At(k)
				_, _, ok := v.routedTo(c.r, toMetrics, idx, lr, &n)
				if !ok {
					continue
				}
				// the aggregator only ever sees redacted events; the input is
				// shared with other pipelines, so changes are made on a copy
				rec := lr
				if v.needsRedaction(idx, lr, f, w.e.memo()) {
					lr.CopyTo(w.scratch)
					rec = w.scratch
					f.redactRecord(rec)
				}
				payload := rec.Body()
				if !c.agg.ObserveWith(rec, payload, res) {
					n.duplicate++ // a terminal event delivered again: counted once
					continue
				}
				n.routed++
			}
		}
	}
	c.r.record(ctx, toMetrics, n)
	return nil
}
