package taskerevents

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/otelcol-tasker/otelcol-tasker/receiver/taskerevents/internal/decode"
)

// reportPerEvent adds events/s and allocs/event to a benchmark that handled
// events events per iteration; before is the MemStats taken before the loop.
func reportPerEvent(b *testing.B, events int, before *runtime.MemStats) {
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	total := float64(events * b.N)
	b.ReportMetric(total/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/total, "allocs/event")
}

// BenchmarkDecodeNormalize decodes and normalizes the whole native sample
// (646 events of NDJSON) per iteration: the receiver's work per request
// without the network.
func BenchmarkDecodeNormalize(b *testing.B) {
	body := readFixture(b, "sample-native.ndjson")
	r, err := newReceiver(testConfig(), receiverSettings(), consumertest.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	req := decode.Request{Format: decode.NDJSON, Body: body, Service: defaultServiceName}
	const events = 646
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		_, n, err := r.decode(req, "", headerCopies{})
		if err != nil || n != events {
			b.Fatalf("decoded %d events: %v", n, err)
		}
	}
	reportPerEvent(b, events, &before)
}

// BenchmarkHTTPHandler runs the whole handler (body read, decode, normalize,
// consume, answer) on the native sample, without a network.
func BenchmarkHTTPHandler(b *testing.B) {
	body := readFixture(b, "sample-native.ndjson")
	r, err := newReceiver(testConfig(), receiverSettings(), consumertest.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	const events = 646
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, defaultPath, bytes.NewReader(body))
		req.Header.Set("Content-Type", mediaNDJSON)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	reportPerEvent(b, events, &before)
}
