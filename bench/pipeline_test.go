package bench

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"go.opentelemetry.io/collector/extension/extensiontest"

	"github.com/otelcol-tasker/otelcol-tasker/bench/internal/workload"
	"github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter"
	"github.com/otelcol-tasker/otelcol-tasker/receiver/taskerevents"
)

// BenchmarkPipelineA is pipeline A without the network and the collector's
// service around it: the load generator's NDJSON requests (1,000 Tasker
// events each, fresh task ids every period) go through the taskerevents
// receiver's handler, whose batch the eventrouter connector's traces,
// metrics and logs sides each consume in turn, as the collector's fanout
// does, into sinks that drop everything. It is the in-process measure of
// the product's cost per event, steadier than a saturation run on a shared
// machine (and runnable under cachegrind to count instructions).
func BenchmarkPipelineA(b *testing.B) { benchmarkPipelineA(b, storageNone) }

// BenchmarkPipelineADurable is A with the router's storage on a real
// file_storage (in a temporary directory): every request writes its
// changed tasks before it is answered; with fsync, each write is flushed
// to the disk.
func BenchmarkPipelineADurable(b *testing.B) {
	b.Run("nofsync", func(b *testing.B) { benchmarkPipelineA(b, storageNoFsync) })
	b.Run("fsync", func(b *testing.B) { benchmarkPipelineA(b, storageFsync) })
}

type storageMode int

const (
	storageNone storageMode = iota
	storageNoFsync
	storageFsync
)

// storageHost is a host with one file_storage extension.
type storageHost map[component.ID]component.Component

func (h storageHost) GetExtensions() map[component.ID]component.Component { return h }

func benchmarkPipelineA(b *testing.B, mode storageMode) {
	set, err := workload.Build(workload.NDJSON, 1000)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	host := componenttest.NewNopHost()

	rf := eventrouter.NewFactory()
	rset := connectortest.NewNopSettings(rf.Type())
	rcfg := rf.CreateDefaultConfig()
	if mode != storageNone {
		ff := filestorage.NewFactory()
		fcfg := ff.CreateDefaultConfig().(*filestorage.Config)
		fcfg.Directory = b.TempDir()
		fcfg.FSync = mode == storageFsync
		ext, err := ff.Create(ctx, extensiontest.NewNopSettings(ff.Type()), fcfg)
		if err != nil {
			b.Fatal(err)
		}
		if err := ext.Start(ctx, host); err != nil {
			b.Fatal(err)
		}
		id := component.NewID(ff.Type())
		rcfg.(*eventrouter.Config).Storage = &id
		host = storageHost{id: ext}
		b.Cleanup(func() { _ = ext.Shutdown(ctx) })
	}
	traces, err := rf.CreateLogsToTraces(ctx, rset, rcfg, consumertest.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	metrics, err := rf.CreateLogsToMetrics(ctx, rset, rcfg, consumertest.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	logs, err := rf.CreateLogsToLogs(ctx, rset, rcfg, consumertest.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	sides := []consumer.Logs{traces, metrics, logs}
	for _, c := range []component.Component{traces, metrics, logs} {
		if err := c.Start(ctx, host); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = c.Shutdown(ctx) })
	}
	fanout, err := consumer.NewLogs(func(ctx context.Context, ld plog.Logs) error {
		ld.MarkReadOnly() // as the fanout does for consumers that share a batch
		for _, c := range sides {
			if err := c.ConsumeLogs(ctx, ld); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}

	tf := taskerevents.NewFactory()
	tcfg := tf.CreateDefaultConfig()
	rcv, err := tf.CreateLogs(ctx, receivertest.NewNopSettings(tf.Type()), tcfg, fanout)
	if err != nil {
		b.Fatal(err)
	}
	handler, ok := rcv.(http.Handler)
	if !ok {
		b.Fatal("the taskerevents receiver is not an http.Handler")
	}

	var body []byte
	events := 0
	b.ReportAllocs()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	gcBefore := gcCPU()
	for i := uint64(0); b.Loop(); i++ {
		var n int
		body, n = set.Patch(body, i, 0)
		req := httptest.NewRequest(http.MethodPost, "/v1/events", bytes.NewReader(body))
		req.Header.Set("Content-Type", set.Format.ContentType())
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, req)
		if w.Code != http.StatusOK && w.Code != http.StatusAccepted {
			b.Fatalf("request %d: status %d: %s", i, w.Code, w.Body.String())
		}
		events += n
	}
	gcAfter := gcCPU()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if total := gcAfter.total - gcBefore.total; total > 0 {
		b.ReportMetric(100*(gcAfter.gc-gcBefore.gc)/total, "gc-cpu-%")
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(events), "ns/event")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(events), "allocs/event")
}

// cpuClasses is the process's CPU time so far, and the part of it the
// garbage collector took (runtime/metrics estimates).
type cpuClasses struct{ gc, total float64 }

func gcCPU() cpuClasses {
	s := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}, {Name: "/cpu/classes/total:cpu-seconds"}}
	metrics.Read(s)
	return cpuClasses{gc: s[0].Value.Float64(), total: s[1].Value.Float64()}
}
