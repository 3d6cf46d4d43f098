package taskerevents

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pipeline"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelcol-tasker/otelcol-tasker/receiver/taskerevents/internal/metadata"
)

// TestConsumeContract drives the collector's contract checker over real
// HTTP: a sender that retries what was refused as retryable (429/503) and
// drops what was refused for good (400) must see every event delivered
// exactly once or dropped exactly once.
func TestConsumeContract(t *testing.T) {
	var current atomic.Pointer[eventsReceiver]
	factory := receiver.NewFactory(metadata.Type, createDefaultConfig, receiver.WithLogs(
		func(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
			r, err := newReceiver(cfg.(*Config), set, liftTestID(next))
			current.Store(r)
			return r, err
		}, metadata.LogsStability))

	gen := &contractSender{t: t, receiver: current.Load}
	receivertest.CheckConsumeContract(receivertest.CheckConsumeContractParams{
		T:             t,
		Factory:       factory,
		Signal:        pipeline.SignalLogs,
		Config:        testConfig(),
		Generator:     gen,
		GenerateCount: 300,
	})
}

// liftTestID copies the payload's test_id into the record attribute the
// contract checker reads; the receiver itself only puts normalized keys there.
func liftTestID(next consumer.Logs) consumer.Logs {
	c, _ := consumer.NewLogs(func(ctx context.Context, ld plog.Logs) error {
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			sls := ld.ResourceLogs().At(i).ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				lrs := sls.At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					if v, ok := lrs.At(k).Body().Map().Get(receivertest.UniqueIDAttrName); ok {
						lrs.At(k).Attributes().PutStr(receivertest.UniqueIDAttrName, v.Str())
					}
				}
			}
		}
		return next.ConsumeLogs(ctx, ld)
	}, consumer.WithCapabilities(consumer.Capabilities{MutatesData: true}))
	return c
}

// contractSender posts requests of 1 to 3 events, the way a well-behaved
// client does: retry on 429/503, give up on anything else.
type contractSender struct {
	t        *testing.T
	receiver func() *eventsReceiver
	seq      atomic.Int64
}

func (g *contractSender) Start() {}
func (g *contractSender) Stop()  {}

func (g *contractSender) Generate() []receivertest.UniqueIDAttrVal {
	n := 1 + int(g.seq.Load()%3)
	ids := make([]receivertest.UniqueIDAttrVal, n)
	lines := make([]string, n)
	for i := range ids {
		id := g.seq.Add(1)
		ids[i] = receivertest.UniqueIDAttrVal(fmt.Sprintf("id-%d", id))
		lines[i] = fmt.Sprintf(`{"name":"step.completed","payload":{"task_id":%d,"step_id":1,"test_id":%q}}`, id, ids[i])
	}
	r := g.receiver()
	body := []byte(strings.Join(lines, "\n"))
	for attempt := 0; attempt < 1000; attempt++ {
		resp := post(g.t, r, mediaNDJSON, body)
		switch resp.status {
		case http.StatusOK, http.StatusBadRequest:
			return ids
		case http.StatusServiceUnavailable, http.StatusTooManyRequests:
			if resp.header.Get("Retry-After") == "" {
				g.t.Errorf("status %d without Retry-After", resp.status)
			}
			continue // retry at once: the test consumer's refusals are random, not load
		default:
			g.t.Errorf("unexpected status %d: %s", resp.status, resp.body)
			return ids
		}
	}
	g.t.Errorf("gave up retrying %v", ids)
	return ids
}
