package taskerevents

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

// FuzzHeaders sends any values in the headers the receiver copies into
// events (correlation, service, every ce-* attribute and an extension)
// through the events handler. Whatever they hold: the answer is 200 or a
// 4xx with a JSON message, a refused request delivers nothing, and an
// accepted one carries header values within max_header_value_length,
// printable, valid UTF-8 and free of credentials event.Scrub would find.
func FuzzHeaders(f *testing.F) {
	f.Add("c-1", "billing", "1.0", "id-1", "/tasker", "dev.tasker.task.completed", "sub", "ext", []byte(`{"task_id":1}`))
	f.Add("Bearer abcdefghijkl", "svc", "1.0", "postgres%3A%2F%2Fu%3Ap%40h", "https://u:p@h/x", "dev.tasker.step.failed", "caf%C3%A9", "", []byte(``))
	f.Add(strings.Repeat("c", 300), "", "", "", "", "", "", strings.Repeat("e", 257), []byte(`{}`))
	f.Add("", "s", " 1.0", "%00", "%ff", "t", "a%zz", "x", []byte(`[`))

	const maxHeader = 64
	cfg := testConfig()
	cfg.MaxHeaderValueLength = maxHeader
	sink := new(consumertest.LogsSink)
	r, err := newReceiver(cfg, receiverSettings(), sink)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, corr, svc, specversion, id, source, typ, subject, ext string, body []byte) {
		sink.Reset()
		req := httptest.NewRequest(http.MethodPost, cfg.Path, bytes.NewReader(body))
		req.Header.Set("Content-Type", mediaJSON)
		set := func(k, v string) {
			if v != "" {
				req.Header[k] = []string{v} // as sent: no canonical checks
			}
		}
		set(cfg.CorrelationHeader, corr)
		set(cfg.ServiceHeader, svc)
		if specversion != "" || id != "" || source != "" {
			req.Header["Ce-Specversion"] = []string{specversion}
			set("Ce-Id", id)
			set("Ce-Source", source)
			set("Ce-Type", typ)
			set("Ce-Subject", subject)
			set("Ce-Myextension", ext)
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)

		switch code := w.Code; {
		case code == http.StatusOK:
		case code >= 400 && code < 500:
			var e struct{ Error string }
			if json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Error == "" || !utf8.ValidString(e.Error) {
				t.Fatalf("%d without a JSON message: %q", code, w.Body.Bytes())
			}
			if n := sink.LogRecordCount(); n != 0 {
				t.Fatalf("a refused request (%d) delivered %d records", code, n)
			}
			return
		default:
			t.Fatalf("status %d: %s", code, w.Body.Bytes())
		}
		for _, ld := range sink.AllLogs() {
			for i := 0; i < ld.ResourceLogs().Len(); i++ {
				rl := ld.ResourceLogs().At(i)
				v, _ := rl.Resource().Attributes().Get("service.name")
				checkHeaderValue(t, "service.name", v, maxHeader)
				lrs := rl.ScopeLogs().At(0).LogRecords()
				for j := 0; j < lrs.Len(); j++ {
					for _, k := range []string{event.AttrCorrelationID, "cloudevents.event_id", "cloudevents.event_subject"} {
						if v, ok := lrs.At(j).Attributes().Get(k); ok {
							checkHeaderValue(t, k, v, maxHeader)
						}
					}
				}
			}
		}
	})
}

func checkHeaderValue(t *testing.T, name string, v pcommon.Value, max int) {
	s := v.Str()
	if len(s) > max {
		t.Fatalf("%s is %d bytes, beyond %d", name, len(s), max)
	}
	if !utf8.ValidString(s) {
		t.Fatalf("%s is not UTF-8: %q", name, s)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			t.Fatalf("%s has a control character: %q", name, s)
		}
	}
	if _, found := event.Scrub(s); found {
		t.Fatalf("%s holds a credential: %q", name, s)
	}
}
