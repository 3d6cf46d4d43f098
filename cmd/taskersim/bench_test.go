package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/otelcol-tasker/otelcol-tasker/internal/sim"
)

// BenchmarkSendHTTP measures generate + encode + POST to a local server that
// only reads the body: the most the simulator can offer a collector.
func BenchmarkSendHTTP(b *testing.B) {
	for _, format := range []sim.Format{sim.FormatNDJSON, sim.FormatCloudEvents} {
		for _, gz := range []bool{false, true} {
			name := string(format)
			if gz {
				name += "/gzip"
			}
			b.Run(name, func(b *testing.B) {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					_, _ = io.Copy(io.Discard, r.Body)
				}))
				defer srv.Close()
				o, err := parseOptions([]string{"--endpoint", srv.URL, "--format", string(format), "--batch", "500", "--senders", "2"}, io.Discard)
				if err != nil {
					b.Fatal(err)
				}
				o.gzip = gz
				cfg := sim.DefaultConfig()
				cfg.Tasks = 0
				gen, err := sim.New(cfg)
				if err != nil {
					b.Fatal(err)
				}
				snk := newHTTPSink(context.Background(), o, io.Discard)
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					ev, _ := gen.Next()
					if err := snk.Add(ev); err != nil {
						b.Fatal(err)
					}
				}
				if err := snk.Close(); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(snk.Sent())/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
}
