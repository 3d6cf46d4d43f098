package eventrouter

import (
	"context"
	"encoding/binary"
	"hash/crc32"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/assembly"
	"github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/metadata"
	"github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/metadatatest"
)

// holdAll: nothing is released by the clock while a test runs.
func holdAll() *Config {
	cfg := createDefaultConfig()
	cfg.Traces.TaskEndGrace = time.Hour
	cfg.Traces.SpanTimeout = 2 * time.Hour
	return cfg
}

// flushRows releases everything c holds and returns the spans.
func flushRows(t *testing.T, c *tracesConnector, sink *consumertest.TracesSink) []spanRow {
	require.NoError(t, c.emit(context.Background(), c.asm.Flush, time.Now()))
	return rows(sink.AllTraces())
}

func traceOf(t *testing.T, ev fixtureEvent) pcommon.TraceID {
	return buildLogs(t, []fixtureEvent{ev}).ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).TraceID()
}

// A task snapshotted at any point of its event stream and restored into
// another assembler ends with the same spans as one that never stopped,
// also after a second round trip.
func TestSnapshotRestoreAtEveryPoint(t *testing.T) {
	tasks := map[int64][]fixtureEvent{}
	var order []int64
	for _, ev := range loadFixture(t) {
		if id, ok := taskIDOf(ev); ok {
			if tasks[id] == nil {
				order = append(order, id)
			}
			tasks[id] = append(tasks[id], ev)
		}
	}
	require.NotEmpty(t, order)
	checked := 0
	for _, id := range order {
		events := tasks[id]
		trace := traceOf(t, events[0])
		want := func() []spanRow {
			sink := new(consumertest.TracesSink)
			c := newTracesOnly(t, holdAll(), sink)
			defer func() { require.NoError(t, c.Shutdown(context.Background())) }()
			for _, ev := range events {
				require.NoError(t, c.ConsumeLogs(context.Background(), buildLogs(t, []fixtureEvent{ev})))
			}
			return flushRows(t, c, sink)
		}()
		for k := 1; k <= len(events); k++ {
			src := newTracesOnly(t, holdAll(), consumertest.NewNop())
			for _, ev := range events[:k] {
				require.NoError(t, src.ConsumeLogs(context.Background(), buildLogs(t, []fixtureEvent{ev})))
			}
			rec, ok := src.asm.Snapshot(nil, trace)
			require.True(t, ok)
			pending := src.asm.Pending()
			require.NoError(t, src.Shutdown(context.Background()))

			mid := newTracesOnly(t, holdAll(), consumertest.NewNop())
			require.NoError(t, mid.asm.Restore(rec), "task %d after %d events", id, k)
			require.Equal(t, pending, mid.asm.Pending(), "the pending count is restored")
			rec2, ok := mid.asm.Snapshot(nil, trace)
			require.True(t, ok)
			require.NoError(t, mid.Shutdown(context.Background()))

			sink := new(consumertest.TracesSink)
			dst := newTracesOnly(t, holdAll(), sink)
			require.NoError(t, dst.asm.Restore(rec2))
			for _, ev := range events[k:] {
				require.NoError(t, dst.ConsumeLogs(context.Background(), buildLogs(t, []fixtureEvent{ev})))
			}
			require.Equal(t, want, flushRows(t, dst, sink), "task %d restored after %d of %d events", id, k, len(events))
			require.NoError(t, dst.Shutdown(context.Background()))
			checked++
		}
	}
	t.Logf("%d tasks, %d snapshot points checked", len(order), checked)
}

func TestRestoreRefusesDamagedRecords(t *testing.T) {
	events := taskEvents(t, 3)
	src := newTracesOnly(t, holdAll(), consumertest.NewNop())
	require.NoError(t, src.ConsumeLogs(context.Background(), buildLogs(t, events[:len(events)/2])))
	rec, ok := src.asm.Snapshot(nil, traceOf(t, events[0]))
	require.True(t, ok)
	require.NoError(t, src.Shutdown(context.Background()))

	restore := func(b []byte) error {
		c := newTracesOnly(t, holdAll(), consumertest.NewNop())
		defer func() { require.NoError(t, c.Shutdown(context.Background())) }()
		err := c.asm.Restore(b)
		if err == nil { // a restored task must be releasable
			require.NoError(t, c.emit(context.Background(), c.asm.Flush, time.Now()))
		}
		return err
	}
	require.NoError(t, restore(rec))
	for n := 0; n < len(rec); n++ {
		assert.ErrorIs(t, restore(rec[:n]), assembly.ErrCorrupt, "truncated to %d bytes", n)
	}
	for i := 0; i < len(rec); i++ {
		b := append([]byte(nil), rec...)
		b[i] ^= 0x5a
		assert.Error(t, restore(b), "byte %d changed", i)
	}
	other := append([]byte(nil), rec...)
	other[1] = 99
	assert.ErrorIs(t, restore(other), assembly.ErrIncompatible)

	// damage that passes the checksum must never make the assembler misread:
	// an error, or a task that releases cleanly
	rng := rand.New(rand.NewPCG(1, 2))
	refused := 0
	for i := 0; i < 3000; i++ {
		b := append([]byte(nil), rec[:len(rec)-4]...)
		for k := 0; k < 1+rng.IntN(3); k++ {
			b[2+rng.IntN(len(b)-2)] = byte(rng.Uint32())
		}
		b = binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
		if restore(b) != nil {
			refused++
		}
	}
	t.Logf("%d of 3000 damaged records with a valid checksum refused, the rest restored safely", refused)
}

// fileStorage starts a real file_storage extension in dir.
func fileStorage(t *testing.T, dir string) (component.ID, extension.Extension) {
	f := filestorage.NewFactory()
	cfg := f.CreateDefaultConfig().(*filestorage.Config)
	cfg.Directory = dir
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	return component.NewID(f.Type()), ext
}

type storageHost map[component.ID]component.Component

func (h storageHost) GetExtensions() map[component.ID]component.Component { return h }

// durable is one life of a traces connector on the storage in dir.
type durable struct {
	c    *tracesConnector
	ext  extension.Extension
	sink *consumertest.TracesSink
}

func startDurable(t *testing.T, cfg *Config, dir string) *durable {
	id, ext := fileStorage(t, dir)
	cfg.Storage = &id
	sink := new(consumertest.TracesSink)
	set := metadatatest.NewSettings(componenttest.NewTelemetry())
	c, err := NewFactory().CreateLogsToTraces(context.Background(), set, cfg, sink)
	require.NoError(t, err)
	require.NoError(t, c.Start(context.Background(), storageHost{id: ext}))
	return &durable{c: c.(*tracesConnector), ext: ext, sink: sink}
}

func (d *durable) stop(t *testing.T) {
	require.NoError(t, d.c.Shutdown(context.Background()))
	require.NoError(t, d.ext.Shutdown(context.Background()))
}

func (d *durable) feed(t *testing.T, events []fixtureEvent, batch int) {
	for i := 0; i < len(events); i += batch {
		require.NoError(t, d.c.ConsumeLogs(context.Background(), buildLogs(t, events[i:min(i+batch, len(events))])))
	}
}

// Stopping the router with storage persists its pending tasks instead of
// emitting them unfinished; the next start carries on with them and ends
// with exactly the spans of a run that never stopped.
func TestStorageRestartContinues(t *testing.T) {
	events := loadFixture(t)
	want := rows(runFixture(t, holdAll(), events, 50).traces.AllTraces())
	for _, stops := range []int{1, 3} {
		dir := t.TempDir() // a flushed run leaves tombstones: a new storage each
		var got []spanRow
		per := len(events) / (stops + 1)
		for life := 0; life <= stops; life++ {
			d := startDurable(t, holdAll(), dir)
			part := events[life*per:]
			if life < stops {
				part = part[:per]
			}
			d.feed(t, part, 50)
			if life == stops {
				require.NoError(t, d.c.emit(context.Background(), d.c.asm.Flush, time.Now()))
			}
			got = append(got, rows(d.sink.AllTraces())...)
			d.stop(t)
			if life < stops {
				assert.Empty(t, d.sink.AllTraces(), "nothing is emitted unfinished at a stop")
			}
		}
		assert.Equal(t, want, sortRows(got), "%d stops", stops)
	}
}

// The same input delivered twice, in another batching, and again after a
// restart, gives each span once.
func TestStorageRedeliveryEmitsNothingTwice(t *testing.T) {
	events := loadFixture(t)
	cfg := holdAll()
	cfg.Traces.TaskEndGrace = 0
	want := rows(runFixture(t, holdAll(), events, 50).traces.AllTraces())
	dir := t.TempDir()
	d := startDurable(t, cfg, dir)
	d.feed(t, events, 50)
	require.NoError(t, d.c.emit(context.Background(), d.c.asm.Advance, time.Now().Add(time.Second)))
	first := rows(d.sink.AllTraces())
	d.feed(t, events, 7) // a replay, batched differently
	require.NoError(t, d.c.emit(context.Background(), d.c.asm.Advance, time.Now().Add(2*time.Second)))
	assert.Equal(t, len(first), len(rows(d.sink.AllTraces())), "the replay emits nothing")
	d.stop(t)

	d = startDurable(t, cfg, dir) // tombstones come back from storage
	d.feed(t, events, 100)
	require.NoError(t, d.c.emit(context.Background(), d.c.asm.Advance, time.Now().Add(time.Second)))
	assert.Empty(t, d.sink.AllTraces(), "a replay after a restart emits nothing")
	require.Zero(t, d.c.asm.Pending())
	d.stop(t)

	// what was emitted first is every task's complete, ended spans, except
	// the tasks still running at the end of the fixture: compare with the
	// uninterrupted run span by span where both have the span complete
	byID := map[string]spanRow{}
	for _, r := range want {
		byID[r.SpanID] = r
	}
	for _, r := range first {
		w, ok := byID[r.SpanID]
		require.True(t, ok, "span %s %q is in the reference run", r.SpanID, r.Name)
		assert.Equal(t, w.Parent, r.Parent, "span %q", r.Name)
	}
	seen := map[string]bool{}
	for _, r := range first {
		assert.False(t, seen[r.SpanID], "span %s emitted twice", r.SpanID)
		seen[r.SpanID] = true
	}
}

// sortRows orders rows as rows does.
func sortRows(r []spanRow) []spanRow {
	sort.Slice(r, func(i, j int) bool {
		if r[i].SpanID != r[j].SpanID {
			return r[i].SpanID < r[j].SpanID
		}
		return r[i].TraceID < r[j].TraceID
	})
	return r
}

// A task released by the timeout with a step still open: when the step's
// end arrives, that step's span is emitted alone, complete, under the
// parent it had; events already emitted change nothing.
func TestLateEventsCompleteOnlyWhatWasOpen(t *testing.T) {
	events := taskEvents(t, 3)
	var held, late []fixtureEvent
	lateStep := ""
	for _, ev := range events {
		if ev.Name == "step.completed" && lateStep == "" {
			lateStep = payloadID(ev, "step_id")
			late = append(late, ev)
			continue
		}
		if ev.Name == "task.completed" {
			late = append(late, ev)
			continue
		}
		held = append(held, ev)
	}
	require.NotEmpty(t, lateStep)
	cfg := createDefaultConfig()
	cfg.Traces.SpanTimeout = time.Hour
	cfg.Traces.TaskEndGrace = 0
	sink := new(consumertest.TracesSink)
	c := newTracesOnly(t, cfg, sink)
	defer func() { require.NoError(t, c.Shutdown(context.Background())) }()
	ctx := context.Background()

	require.NoError(t, c.ConsumeLogs(ctx, buildLogs(t, held)))
	require.NoError(t, c.emit(ctx, c.asm.Advance, time.Now().Add(time.Hour+time.Second)))
	first := rows(sink.AllTraces())
	open := map[string]spanRow{}
	for _, r := range first {
		if assertUnfinished(r) {
			open[r.SpanID] = r
		}
	}
	require.Len(t, open, 3, "the task span, the step attempt and its handler are emitted unfinished")
	sink.Reset()

	require.NoError(t, c.ConsumeLogs(ctx, buildLogs(t, late)))
	require.NoError(t, c.ConsumeLogs(ctx, buildLogs(t, held))) // and everything again
	require.NoError(t, c.emit(ctx, c.asm.Advance, time.Now().Add(time.Hour+2*time.Second)))
	second := rows(sink.AllTraces())
	require.Len(t, second, 3, "only the spans that were open come again")
	for _, r := range second {
		was, ok := open[r.SpanID]
		require.True(t, ok, "span %q was open", r.Name)
		assert.False(t, assertUnfinished(r), "span %q is complete now", r.Name)
		assert.Equal(t, was.Parent, r.Parent, "span %q keeps its parent", r.Name)
	}
	want := map[string]spanRow{}
	for _, r := range rows(runFixture(t, holdAll(), events, 100).traces.AllTraces()) {
		want[r.SpanID] = r
	}
	for _, r := range second {
		assert.Equal(t, want[r.SpanID].Start, r.Start, "span %q", r.Name)
		assert.Equal(t, want[r.SpanID].End, r.End, "span %q", r.Name)
	}
}

func assertUnfinished(r spanRow) bool {
	return strings.Contains(r.Attrs, assembly.AttrUnfinished)
}

// Terminal events delivered again do not count again: task and step counts
// and the duration histograms (fed by terminal events) equal one delivery's.
func TestRedeliveredTerminalEventsCountOnce(t *testing.T) {
	events := loadFixture(t)
	once := metricValues(t, runFixture(t, createDefaultConfig(), events, 50).metrics.AllMetrics())
	h := newHarness(t, NewFactory(), createDefaultConfig(), "twice")
	for _, batch := range []int{50, 13} {
		for i := 0; i < len(events); i += batch {
			h.consume(t, buildLogs(t, events[i:min(i+batch, len(events))]))
		}
	}
	h.shutdown(t)
	twice := metricValues(t, h.metrics.AllMetrics())
	compared := 0
	for k, v := range once {
		for _, name := range []string{"tasker.tasks{", "tasker.steps{", "tasker.workflow.duration{", "tasker.step.duration{"} {
			if strings.HasPrefix(k, name) {
				assert.Equal(t, v, twice[k], "%s", k)
				compared++
			}
		}
	}
	require.Positive(t, compared)
	t.Logf("%d data points compared", compared)
}

// The end of an orchestration pass delivered again alone, after its task
// was emitted, is not a new pass: nothing is emitted.
func TestLateHalfPassEmitsNothing(t *testing.T) {
	events := taskEvents(t, 3)
	var end []fixtureEvent
	for _, ev := range events {
		if ev.Name == "workflow.task_finalization_completed" {
			end = append(end, ev)
		}
	}
	require.NotEmpty(t, end)
	cfg := holdAll()
	cfg.Traces.TaskEndGrace = 0
	sink := new(consumertest.TracesSink)
	c := newTracesOnly(t, cfg, sink)
	defer func() { require.NoError(t, c.Shutdown(context.Background())) }()
	ctx := context.Background()
	require.NoError(t, c.ConsumeLogs(ctx, buildLogs(t, events)))
	require.NoError(t, c.emit(ctx, c.asm.Advance, time.Now().Add(time.Second)))
	first := len(rows(sink.AllTraces()))
	require.Positive(t, first)
	require.NoError(t, c.ConsumeLogs(ctx, buildLogs(t, end)))
	require.NoError(t, c.emit(ctx, c.asm.Advance, time.Now().Add(2*time.Second)))
	assert.Len(t, rows(sink.AllTraces()), first, "the lone end of a pass adds no span")
}

// storedKeys lists the keys of the connector's records in the storage of
// dir, by kind ("t" tasks, "x" tombstones), with their values.
func storedKeys(t *testing.T, dir string) map[string][]byte {
	id, ext := fileStorage(t, dir)
	defer func() { require.NoError(t, ext.Shutdown(context.Background())) }()
	st, err := openStore(context.Background(), storageHost{id: ext}, id, component.NewID(metadata.Type))
	require.NoError(t, err)
	defer func() { require.NoError(t, st.close(context.Background())) }()
	out := map[string][]byte{}
	require.NoError(t, st.client.(storage.Walker).Walk(context.Background(), func(k string, v []byte) ([]*storage.Operation, error) {
		out[k] = slices.Clone(v)
		return nil, nil
	}))
	return out
}

// Tombstones are keyed by the time they expire, so that the storage's tree
// grows at one end and shrinks at the other. Those an earlier version keyed
// by trace id alone are restored, moved under their new keys, and deleted
// when they expire like the others: no record is left behind.
func TestTombstonesKeyedByExpiry(t *testing.T) {
	events := loadFixture(t)
	cfg := holdAll()
	cfg.Traces.TaskEndGrace = 0
	dir := t.TempDir()
	d := startDurable(t, cfg, dir)
	d.feed(t, events, 50)
	require.NoError(t, d.c.emit(context.Background(), d.c.asm.Advance, time.Now().Add(time.Second)))
	emitted := len(rows(d.sink.AllTraces()))
	require.Positive(t, emitted)
	d.stop(t)

	tombs := map[string][]byte{}
	for k, v := range storedKeys(t, dir) {
		if strings.HasPrefix(k, assembly.TombKeyPrefix) {
			require.Len(t, k, 1+16+32, "x + expiry + trace id")
			until := binary.BigEndian.Uint64(mustHex(t, k[1:17]))
			assert.Greater(t, int64(until), time.Now().UnixNano(), "keyed by a time to come: %s", k)
			tombs[k] = v
		}
	}
	require.NotEmpty(t, tombs)

	// store them as an earlier version did, under "x" + trace id
	id, ext := fileStorage(t, dir)
	st, err := openStore(context.Background(), storageHost{id: ext}, id, component.NewID(metadata.Type))
	require.NoError(t, err)
	var ops []*storage.Operation
	for k, v := range tombs {
		ops = append(ops, storage.DeleteOperation(k), storage.SetOperation(assembly.TombKeyPrefix+k[17:], v))
	}
	require.NoError(t, st.client.Batch(context.Background(), ops...))
	require.NoError(t, st.close(context.Background()))
	require.NoError(t, ext.Shutdown(context.Background()))

	d = startDurable(t, cfg, dir)
	d.feed(t, events, 100)
	require.NoError(t, d.c.emit(context.Background(), d.c.asm.Advance, time.Now().Add(time.Second)))
	assert.Empty(t, d.sink.AllTraces(), "the legacy tombstones came back: a replay emits nothing")
	d.stop(t)
	traces := func(keys map[string][]byte) []string {
		var out []string
		for k := range keys {
			if strings.HasPrefix(k, assembly.TombKeyPrefix) {
				require.Len(t, k, 1+16+32, "no tombstone is left under its legacy key")
				out = append(out, k[17:])
			}
		}
		sort.Strings(out)
		return out
	}
	// the replay made each task late and released it again: its tombstone
	// lives on under a later time, in one record
	assert.Equal(t, traces(tombs), traces(storedKeys(t, dir)))

	// past the span timeout, every tombstone expires and its record goes
	d = startDurable(t, cfg, dir)
	require.NoError(t, d.c.emit(context.Background(), d.c.asm.Advance, time.Now().Add(cfg.Traces.SpanTimeout+time.Minute)))
	d.feed(t, events[:1], 1) // a batch writes what the expiry changed
	d.stop(t)
	for k := range storedKeys(t, dir) {
		assert.False(t, strings.HasPrefix(k, assembly.TombKeyPrefix), "expired tombstone %s still stored", k)
	}
}

// A store with two tombstone records of one trace (written by a rollback to
// an earlier version and forward again) keeps one: the later expiry is held
// and the earlier record is deleted at start, where before it stayed for
// ever (expiry deletes the key of the tombstone it holds).
func TestSecondTombstoneRecordDeleted(t *testing.T) {
	events := loadFixture(t)
	cfg := holdAll()
	cfg.Traces.TaskEndGrace = 0
	dir := t.TempDir()
	tombKeys := func() map[string][]byte {
		out := map[string][]byte{}
		for k, v := range storedKeys(t, dir) {
			if strings.HasPrefix(k, assembly.TombKeyPrefix) {
				out[k] = v
			}
		}
		return out
	}
	release := func(d *durable, after time.Duration) {
		d.feed(t, events, 50)
		require.NoError(t, d.c.emit(context.Background(), d.c.asm.Advance, time.Now().Add(after)))
		d.stop(t)
	}
	release(startDurable(t, cfg, dir), time.Second)
	first := tombKeys()
	require.NotEmpty(t, first)

	// a replay makes every task late and releases it again: each tombstone
	// moves to a later expiry, one record per trace
	release(startDurable(t, cfg, dir), 2*time.Second)
	second := tombKeys()
	require.Len(t, second, len(first))
	later := map[string]string{}
	for k := range second {
		later[assembly.KeyTrace(k)] = k
	}
	for k := range first {
		_, kept := second[k]
		require.False(t, kept, "%s re-keyed", k)
		require.Greater(t, later[assembly.KeyTrace(k)], k, "re-keyed under a later expiry")
	}

	// put the first records back beside the second
	id, ext := fileStorage(t, dir)
	st, err := openStore(context.Background(), storageHost{id: ext}, id, component.NewID(metadata.Type))
	require.NoError(t, err)
	var ops []*storage.Operation
	for k, v := range first {
		ops = append(ops, storage.SetOperation(k, v))
	}
	require.NoError(t, st.client.Batch(context.Background(), ops...))
	require.NoError(t, st.close(context.Background()))
	require.NoError(t, ext.Shutdown(context.Background()))
	require.Len(t, tombKeys(), 2*len(first))

	d := startDurable(t, cfg, dir)
	d.feed(t, events, 100)
	require.NoError(t, d.c.emit(context.Background(), d.c.asm.Advance, time.Now().Add(time.Second)))
	assert.Empty(t, d.sink.AllTraces(), "a replay emits nothing")
	d.stop(t)
	got := map[string]bool{}
	for k := range tombKeys() {
		got[assembly.KeyTrace(k)] = true
		_, stale := first[k]
		assert.False(t, stale, "the earlier record %s of its trace is deleted", k)
	}
	assert.Len(t, got, len(first), "one record per trace")
}
