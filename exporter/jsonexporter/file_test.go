package jsonexporter

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-tasker/otelcol-tasker/exporter/jsonexporter/internal/metadata"
	"github.com/otelcol-tasker/otelcol-tasker/internal/sink"
	"github.com/otelcol-tasker/otelcol-tasker/internal/sink/sinktest"
)

func TestRotationUnderConcurrentExports(t *testing.T) {
	dir := t.TempDir()
	cfg := createDefaultConfig().(*Config) // with the default async queue
	cfg.File.Path = filepath.Join(dir, "events.jsonl")
	cfg.File.FlushThreshold = 100
	cfg.File.FlushInterval = 10 * time.Millisecond
	cfg.File.Rotation = sink.RotationConfig{MaxMegabytes: 0.1, Compress: true}

	e, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, e.Start(context.Background(), componenttest.NewNopHost()))

	const writers, calls, perCall = 6, 30, 20
	sinktest.ConsumeConcurrently(writers, calls, func(w, c int) error {
		ld := plog.NewLogs()
		lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
		for i := range perCall {
			lr := lrs.AppendEmpty()
			lr.SetEventName("step.completed")
			lr.Attributes().PutStr("id", fmt.Sprintf("%d-%d-%d", w, c, i))
			lr.Body().SetStr(strings.Repeat("payload ", 20))
		}
		return e.ConsumeLogs(context.Background(), ld)
	})
	require.NoError(t, e.Shutdown(context.Background()))

	files := sinktest.ReadDirFiles(t, dir)
	require.Greater(t, len(files), 3, "rotated several times")
	seen := map[string]bool{}
	for name, data := range files {
		if !strings.HasSuffix(name, ".gz") {
			assert.Equal(t, "events.jsonl", name, "rotated files are compressed")
		}
		for _, rec := range readNDJSON(t, bytes.NewReader(data)) {
			id := rec["attributes"].(map[string]any)["id"].(string)
			require.False(t, seen[id], "duplicate %s", id)
			seen[id] = true
		}
	}
	assert.Len(t, seen, writers*calls*perCall, "no record lost")
}

func TestShutdownWritesEverything(t *testing.T) {
	path := filepath.Join(t.TempDir(), "traces.jsonl")
	cfg := fileConfig(path)
	cfg.File.FlushInterval = time.Hour
	cfg.File.FlushThreshold = 1 << 30
	e, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, e.Start(context.Background(), componenttest.NewNopHost()))
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for range 5000 {
		lrs.AppendEmpty().Body().SetStr("x")
	}
	require.NoError(t, e.ConsumeLogs(context.Background(), ld))
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Zero(t, info.Size(), "still buffered")
	require.NoError(t, e.Shutdown(context.Background()))
	assert.Len(t, readNDJSONFile(t, path), 5000)
}

func TestSignalsShareOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "all.jsonl")
	cfg := fileConfig(path)
	f := NewFactory()
	set := exportertest.NewNopSettings(metadata.Type)
	ctx := context.Background()
	te, err := f.CreateTraces(ctx, set, cfg)
	require.NoError(t, err)
	le, err := f.CreateLogs(ctx, set, cfg)
	require.NoError(t, err)
	require.NoError(t, te.Start(ctx, componenttest.NewNopHost()))
	require.NoError(t, le.Start(ctx, componenttest.NewNopHost()))
	require.NoError(t, te.Shutdown(ctx))
	require.NoError(t, le.Shutdown(ctx))

	missing := fileConfig("")
	missing.File.TracesPath = filepath.Join(t.TempDir(), "t.jsonl")
	me, err := f.CreateMetrics(ctx, set, missing)
	require.NoError(t, err)
	assert.EqualError(t, me.Start(ctx, componenttest.NewNopHost()), "no path for metrics: set path or metrics_path")
	require.NoError(t, me.Shutdown(ctx))
}
