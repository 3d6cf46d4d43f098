package eventrouter

import (
	"bytes"
	"context"
	"regexp"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

// outputTimes are the metric timestamps, which differ from run to run.
var outputTimes = regexp.MustCompile(`"(startTimeUnixNano|timeUnixNano)":"[0-9]+"`)

// comparable renders every output of a harness, without metric timestamps.
func (h *harness) comparable(t testing.TB) []byte {
	return outputTimes.ReplaceAll(h.serialize(t), nil)
}

func fixtureBatches(t testing.TB, size int) []plog.Logs {
	events := loadFixture(t)
	var out []plog.Logs
	for i := 0; i < len(events); i += size {
		out = append(out, buildLogs(t, events[i:min(i+size, len(events))]))
	}
	return out
}

func requireNoSecrets(t *testing.T, out []byte) {
	t.Helper()
	secrets := map[string]bool{}
	for _, ev := range loadFixture(t) {
		secretValues(ev.Payload, secrets)
	}
	require.NotEmpty(t, secrets)
	for s := range secrets {
		require.False(t, bytes.Contains(out, []byte(s)), "secret %q leaked", s)
	}
}

// The pipelines share redaction verdicts per batch: whichever of them sees a
// record first decides for all. The outputs must not depend on which one that
// is, on the order the collector calls them in, or on running concurrently.
func TestSharedVerdictsAnyOrder(t *testing.T) {
	// the same batches for every run: the pipelines never change them, and
	// their bodies keep one key order
	batches := fixtureBatches(t, 50)
	ref := newHarness(t, NewFactory(), createDefaultConfig(), "ref")
	for _, ld := range batches {
		ref.consume(t, ld)
	}
	ref.shutdown(t)
	want := ref.comparable(t)
	requireNoSecrets(t, want)

	for _, order := range [][]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}} {
		h := newHarness(t, NewFactory(), createDefaultConfig(), "order")
		r := h.conns[0].(*tracesConnector).r
		for _, ld := range batches {
			for _, i := range order {
				require.NoError(t, h.conns[i].ConsumeLogs(context.Background(), ld))
			}
			assert.Nil(t, r.verdicts.Load(), "a batch's verdicts are dropped once every pipeline is done with it")
		}
		h.shutdown(t)
		assert.Equal(t, string(want), string(h.comparable(t)), "order %v", order)
	}

	t.Run("concurrently", func(t *testing.T) {
		h := newHarness(t, NewFactory(), createDefaultConfig(), "concurrent")
		for _, ld := range batches {
			var wg sync.WaitGroup
			for _, c := range h.conns {
				wg.Add(1)
				go func() {
					defer wg.Done()
					assert.NoError(t, c.ConsumeLogs(context.Background(), ld))
				}()
			}
			wg.Wait()
		}
		h.shutdown(t)
		assert.Equal(t, string(want), string(h.comparable(t)))
	})
}

// Pipelines working on different batches at once: a verdict is only ever
// used for the batch it was found in, even when another batch of the same
// size comes while it is held.
func TestSharedVerdictsInterleavedBatches(t *testing.T) {
	batches := fixtureBatches(t, 100)
	require.GreaterOrEqual(t, len(batches), 4)
	// every other batch is clean (redacted beforehand), the next one is not:
	// its verdicts taken for the next batch's would leak secrets
	r := event.NewRedactor(event.DefaultRedactionConfig())
	for i := 0; i < len(batches); i += 2 {
		lrs := batches[i].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		for k := 0; k < lrs.Len(); k++ {
			r.RedactMap(lrs.At(k).Body().Map())
		}
	}
	ref := newHarness(t, NewFactory(), createDefaultConfig(), "ref")
	for _, ld := range batches {
		ref.consume(t, ld)
	}
	ref.shutdown(t)

	h := newHarness(t, NewFactory(), createDefaultConfig(), "interleaved")
	tc, mc, lc := h.conns[0], h.conns[1], h.conns[2]
	ctx := context.Background()
	for i := 0; i+1 < len(batches); i += 2 {
		a, b := batches[i], batches[i+1]
		require.Equal(t, a.LogRecordCount(), b.LogRecordCount())
		// each pipeline sees a, then b; the entry of a is still held when
		// b comes, and later the entry changes batch several times
		for _, step := range []struct {
			c interface {
				ConsumeLogs(context.Context, plog.Logs) error
			}
			ld plog.Logs
		}{{mc, a}, {lc, a}, {lc, b}, {tc, a}, {mc, b}, {tc, b}} {
			require.NoError(t, step.c.ConsumeLogs(ctx, step.ld))
		}
	}
	if len(batches)%2 == 1 {
		h.consume(t, batches[len(batches)-1])
	}
	h.shutdown(t)
	got := h.comparable(t)
	requireNoSecrets(t, got)
	assert.Equal(t, string(ref.comparable(t)), string(got))
}

func TestVerdictUsers(t *testing.T) {
	all := toTraces | toMetrics | toLogs
	assert.Equal(t, int32(3), verdictUsers(all))
	assert.Equal(t, int32(2), verdictUsers(toMetrics|toLogs))
	assert.Equal(t, int32(2), verdictUsers(toTraces|toLogs), "traces finds verdicts for logs")
	assert.Equal(t, int32(2), verdictUsers(toTraces|toMetrics), "the classification is shared")
	assert.Zero(t, verdictUsers(toLogs), "nobody to share with")
	assert.Zero(t, verdictUsers(toTraces))
}

// Each record of a batch is classified once, whichever pipeline gets there
// first, and every pipeline reads the same classification.
func TestBatchClassifiedOnce(t *testing.T) {
	h := newHarness(t, NewFactory(), createDefaultConfig(), "once")
	defer h.shutdown(t)
	ld := buildLogs(t, loadFixture(t))
	r := h.conns[0].(*tracesConnector).r
	v := r.verdictsFor(ld)
	require.NotNil(t, v)
	for i, c := range h.conns {
		require.NoError(t, c.ConsumeLogs(context.Background(), ld), "pipeline %d", i)
		require.Len(t, v.names, ld.LogRecordCount(), "classified by the first pipeline, kept for the others")
	}
	r.doneWith(v)
	i := 0
	rls := ld.ResourceLogs()
	for j := 0; j < rls.Len(); j++ {
		lrs := rls.At(j).ScopeLogs().At(0).LogRecords()
		for k := 0; k < lrs.Len(); k, i = k+1, i+1 {
			name, d, raw := r.classify(lrs.At(k))
			require.Equal(t, name, v.names[i])
			require.Equal(t, d, v.decs[i])
			require.Equal(t, raw, v.raw[i])
		}
	}
}
