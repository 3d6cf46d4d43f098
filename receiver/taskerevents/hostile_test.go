package taskerevents

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

// tinyEvents is n small native events in one NDJSON body.
func tinyEvents(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, `{"name":"step.completed","payload":{"task_id":%d,"step_id":1}}`+"\n", i)
	}
	return b.Bytes()
}

// The second reproducer: one request of 1,000 tiny events with a
// 64 KiB correlation header is refused with 431 and a message, and
// nothing of it is delivered. A header at the limit is accepted.
func TestLongCorrelationHeaderIsRefused(t *testing.T) {
	sink := new(consumertest.LogsSink)
	r := startReceiver(t, testConfig(), sink)
	body := tinyEvents(1000)
	resp := do(t, http.MethodPost, r.url(r.cfg.Path), body, map[string]string{
		"Content-Type": mediaNDJSON, "X-Correlation-ID": strings.Repeat("c", 64<<10),
	})
	require.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.status)
	assert.Equal(t, "header X-Correlation-ID is 65536 bytes, longer than the 256 allowed (max_header_value_length): its value is copied into every event of the request",
		resp.errorText(t))
	assert.Zero(t, sink.LogRecordCount())

	resp = do(t, http.MethodPost, r.url(r.cfg.Path), body, map[string]string{
		"Content-Type": mediaNDJSON, "X-Correlation-ID": strings.Repeat("c", 257),
	})
	require.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.status)

	// within max_header_value_length, but longer than the average event
	// (63,890 bytes / 1,000): its copies would outweigh the body
	resp = do(t, http.MethodPost, r.url(r.cfg.Path), body, map[string]string{
		"Content-Type": mediaNDJSON, "X-Correlation-ID": strings.Repeat("c", 256), "X-Service-Name": "billing",
	})
	require.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.status)
	assert.Equal(t, "X-Correlation-ID and X-Service-Name (263 bytes) would be copied into each of 1000 events of a 63890-byte body: header values copied into events may be no longer than the average event (63 bytes here)",
		resp.errorText(t))
	assert.Zero(t, sink.LogRecordCount())

	id := strings.Repeat("c", 63) // 63 bytes per event: fits
	resp = do(t, http.MethodPost, r.url(r.cfg.Path), body, map[string]string{
		"Content-Type": mediaNDJSON, "X-Correlation-ID": id,
	})
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	assert.Equal(t, 1000, resp.accepted(t))
	recs := sinkRecords(sink)
	require.Len(t, recs, 1000)
	v, _ := recs[999].lr.Attributes().Get(event.AttrCorrelationID)
	assert.Equal(t, id, v.Str())
}

// The job label of the first reproducer: a 64 KiB X-Service-Name.
func TestLongServiceHeaderIsRefused(t *testing.T) {
	sink := new(consumertest.LogsSink)
	r := startReceiver(t, testConfig(), sink)
	resp := do(t, http.MethodPost, r.url(r.cfg.Path), tinyEvents(1), map[string]string{
		"Content-Type": mediaNDJSON, "X-Service-Name": strings.Repeat("s", 64<<10),
	})
	require.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.status)
	assert.Contains(t, resp.errorText(t), "header X-Service-Name is 65536 bytes, longer than the 256 allowed")
	assert.Zero(t, sink.LogRecordCount())
}

func binaryHeaders(extra map[string]string) map[string]string {
	h := map[string]string{
		"Content-Type": mediaJSON, "Ce-Specversion": "1.0", "Ce-Type": "dev.tasker.task.completed",
		"Ce-Source": "/tasker", "Ce-Id": "1",
	}
	for k, v := range extra {
		if v == "<delete>" {
			delete(h, k)
		} else {
			h[k] = v
		}
	}
	return h
}

// Binary-mode CloudEvents: the required attributes, and the policy on
// every ce-* header (extensions included).
func TestBinaryCloudEventHeaders(t *testing.T) {
	sink := new(consumertest.LogsSink)
	r := startReceiver(t, testConfig(), sink)
	body := []byte(`{"task_id":1}`)
	for _, tt := range []struct {
		name   string
		extra  map[string]string
		status int
		msg    string
	}{
		{"no id", map[string]string{"Ce-Id": "<delete>"}, 400, "binary-mode CloudEvent without ce-id: CloudEvents 1.0 requires the ce-specversion, ce-id, ce-source and ce-type headers, non-empty"},
		{"empty id", map[string]string{"Ce-Id": " "}, 400, "binary-mode CloudEvent without ce-id"},
		{"no source", map[string]string{"Ce-Source": "<delete>"}, 400, "binary-mode CloudEvent without ce-source"},
		{"empty specversion", map[string]string{"Ce-Specversion": ""}, 400, "binary-mode CloudEvent without ce-specversion"},
		{"no type", map[string]string{"Ce-Type": "<delete>"}, 400, "event 0: missing CloudEvents type"},
		{"long extension", map[string]string{"Ce-Traceparent": strings.Repeat("t", 300)}, 431, "header Ce-Traceparent is 300 bytes, longer than the 256 allowed"},
		{"long source", map[string]string{"Ce-Source": strings.Repeat("s", 257)}, 431, "header Ce-Source is 257 bytes"},
		{"control character", map[string]string{"Ce-Subject": "a%00b"}, 400, "header Ce-Subject has a control character (0x00) at byte 1"},
		{"bad UTF-8", map[string]string{"Ce-Subject": "a%ffb"}, 400, "header Ce-Subject is not valid UTF-8"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(t, http.MethodPost, r.url(r.cfg.Path), body, binaryHeaders(tt.extra))
			require.Equal(t, tt.status, resp.status, string(resp.body))
			assert.Contains(t, resp.errorText(t), tt.msg)
		})
	}
	assert.Zero(t, sink.LogRecordCount())
	resp := do(t, http.MethodPost, r.url(r.cfg.Path), body, binaryHeaders(map[string]string{"Ce-Subject": "caf%C3%A9"}))
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
}

// Structured mode: the same attributes are bounded in the body.
func TestStructuredCloudEventAttributeBound(t *testing.T) {
	sink := new(consumertest.LogsSink)
	r := startReceiver(t, testConfig(), sink)
	ce := fmt.Sprintf(`{"specversion":"1.0","type":"dev.tasker.task.completed","source":"/s","id":%q,"data":{"task_id":1}}`, strings.Repeat("i", 300))
	resp := post(t, r, mediaCloudEvent, []byte(ce))
	require.Equal(t, http.StatusBadRequest, resp.status)
	assert.Equal(t, `event 0: CloudEvents attribute "id" is 300 bytes, longer than the 256 allowed (max_header_value_length)`, resp.errorText(t))
}

// RFC 9110: content codings are case-insensitive.
func TestContentEncodingIgnoresCase(t *testing.T) {
	sink := new(consumertest.LogsSink)
	r := startReceiver(t, testConfig(), sink)
	for _, enc := range []string{"GZIP", "Gzip", " gzip "} {
		resp := do(t, http.MethodPost, r.url(r.cfg.Path), gzipped(t, tinyEvents(3)), map[string]string{
			"Content-Type": mediaNDJSON, "Content-Encoding": enc,
		})
		require.Equal(t, http.StatusOK, resp.status, "%q: %s", enc, resp.body)
		assert.Equal(t, 3, resp.accepted(t))
	}
	resp := do(t, http.MethodPost, r.url(r.cfg.Path), tinyEvents(1), map[string]string{
		"Content-Type": mediaNDJSON, "Content-Encoding": "BROTLI",
	})
	require.Equal(t, http.StatusBadRequest, resp.status)
	assert.Equal(t, "unsupported Content-Encoding: brotli", resp.errorText(t))
}

// rawRequest opens a connection and writes a chunked request's head.
func rawRequest(t *testing.T, r *eventsReceiver) (net.Conn, *bufio.Reader) {
	conn, err := net.Dial("tcp", r.addr.String())
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	_, err = fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n", r.cfg.Path)
	require.NoError(t, err)
	return conn, bufio.NewReader(conn)
}

// The third reproducer, scaled down: a body that trickles is cut
// (408) once it falls behind body_timeout + bytes/min_body_rate, and its
// connection is closed; a slow but steady one is not.
func TestSlowBodyIsCut(t *testing.T) {
	cfg := testConfig()
	cfg.BodyTimeout = 300 * time.Millisecond
	cfg.MinBodyRate = 1024
	sink := new(consumertest.LogsSink)
	r := startReceiver(t, cfg, sink)

	conn, br := rawRequest(t, r)
	start := time.Now()
	done := make(chan *http.Response, 1)
	go func() {
		resp, err := http.ReadResponse(br, nil)
		if err == nil {
			done <- resp
		}
		close(done)
	}()
	body := tinyEvents(1)
	var resp *http.Response
	for i := 0; resp == nil && i < len(body); i++ { // a byte every 50 ms, bounded by the body
		if _, err := fmt.Fprintf(conn, "1\r\n%c\r\n", body[i]); err != nil {
			break
		}
		select {
		case resp = <-done:
		case <-time.After(50 * time.Millisecond):
		}
	}
	if resp == nil {
		resp = <-done
	}
	require.NotNil(t, resp, "the receiver answered")
	elapsed := time.Since(start)
	b, _ := io.ReadAll(resp.Body)
	assert.Equal(t, http.StatusRequestTimeout, resp.StatusCode, string(b))
	assert.Contains(t, string(b), "request body too slow")
	assert.True(t, resp.Close, "the connection is closed")
	assert.GreaterOrEqual(t, elapsed, 300*time.Millisecond)
	assert.Zero(t, sink.LogRecordCount())

	// steady: 8 KiB in 512-byte chunks every 100 ms (5 KiB/s) for 1.6 s,
	// well past body_timeout
	conn, br = rawRequest(t, r)
	events := tinyEvents(200)[:8192]
	events = events[:bytes.LastIndexByte(events, '\n')+1]
	for off := 0; off < len(events); off += 512 {
		chunk := events[off:min(off+512, len(events))]
		_, err := fmt.Fprintf(conn, "%x\r\n%s\r\n", len(chunk), chunk)
		require.NoError(t, err)
		time.Sleep(100 * time.Millisecond)
	}
	_, err := io.WriteString(conn, "0\r\n\r\n")
	require.NoError(t, err)
	ok, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	b, _ = io.ReadAll(ok.Body)
	require.Equal(t, http.StatusOK, ok.StatusCode, string(b))
	assert.Equal(t, bytes.Count(events, []byte("\n")), sink.LogRecordCount())
}

// The defaults the issue asks for.
func TestDefaultTimeouts(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	assert.Equal(t, 10*time.Second, cfg.ServerConfig.ReadHeaderTimeout)
	assert.Equal(t, 10*time.Second, cfg.BodyTimeout)
	assert.Equal(t, int64(4096), cfg.MinBodyRate)
	assert.Equal(t, 256, cfg.MaxHeaderValueLength)
	assert.Equal(t, 65536, cfg.MaxValueLength)
	assert.Equal(t, time.Minute, cfg.TLSErrorLogInterval)
	cfg.ServerConfig.NetAddr.Endpoint = "127.0.0.1:0"
	r := startReceiver(t, cfg, new(consumertest.LogsSink))
	assert.Equal(t, 10*time.Second, r.server.ReadHeaderTimeout)
	assert.Equal(t, time.Minute, r.server.IdleTimeout)
	assert.Equal(t, 30*time.Second, r.server.WriteTimeout)
}

// Failed TLS handshakes: once per source per interval, at WARN, no stack.
func TestServerErrorLogSamplesTLSErrors(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	l := newServerErrorLog(zap.New(core, zap.AddStacktrace(zapcore.ErrorLevel)), time.Minute)
	now := time.Unix(1000, 0)
	l.now = func() time.Time { return now }
	write := func(s string) { _, _ = l.Write([]byte(s + "\n")) }
	for i := range 5 {
		write(fmt.Sprintf("http: TLS handshake error from 10.0.0.1:%d: tls: first record does not look like a TLS handshake", 5000+i))
	}
	write("http: TLS handshake error from 10.0.0.2:5000: EOF")
	require.Equal(t, 2, logs.Len())
	now = now.Add(time.Minute)
	write("http: TLS handshake error from 10.0.0.1:6000: EOF")
	write("http: superfluous response.WriteHeader call")
	all := logs.All()
	require.Len(t, all, 4)
	for _, e := range all {
		assert.Equal(t, zapcore.WarnLevel, e.Level)
		assert.Empty(t, e.Stack)
	}
	assert.Equal(t, "10.0.0.1", all[0].ContextMap()["source"])
	assert.Equal(t, "tls: first record does not look like a TLS handshake", all[0].ContextMap()["error"])
	assert.Equal(t, "10.0.0.2", all[1].ContextMap()["source"])
	assert.EqualValues(t, 4, all[2].ContextMap()["suppressed_since_last"])
	assert.Equal(t, "HTTP server error", all[3].Message)
}

// Every name of the list, in several styles, a password in a URL
// and Authorization values, in the payload and in the correlation header:
// none reaches the pipeline.
func TestSecretsNeverEnterThePipeline(t *testing.T) {
	sink := new(consumertest.LogsSink)
	r := startReceiver(t, testConfig(), sink)
	const secret = "s3cr3t-VALUE"
	var fields []string
	for _, k := range []string{
		"apiKey", "api-key", "API_KEY", "accessKey", "ACCESS-KEY", "privateKey", "private_key", "X-Api-Key",
		"pass", "PASS", "pwd", "Pwd", "passphrase", "passPhrase", "bearer", "Bearer", "jwt", "JWT", "auth", "Auth",
		"session_id", "sessionId", "SESSION-ID", "card_number", "cardNumber", "cvv", "CVV",
	} {
		fields = append(fields, fmt.Sprintf("%q:%q", k, secret))
	}
	payload := fmt.Sprintf(`{"task_id":1,"headers":{%s},"database_url":"postgres://user:%s@host/db","error_message":"got 401 for Authorization: Bearer %s"}`,
		strings.Join(fields, ","), secret, secret)
	resp := do(t, http.MethodPost, r.url(r.cfg.Path), []byte(`{"name":"task.failed","payload":`+payload+`}`), map[string]string{
		"Content-Type": mediaJSON, "X-Correlation-ID": "Bearer " + secret,
	})
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	recs := sinkRecords(sink)
	require.Len(t, recs, 1)
	out, err := (&plog.JSONMarshaler{}).MarshalLogs(sink.AllLogs()[0])
	require.NoError(t, err)
	assert.NotContains(t, string(out), "s3cr3t")
	assert.Equal(t, 27, strings.Count(string(out), `"[FILTERED]"`))
	assert.Contains(t, string(out), "postgres://user:[FILTERED]@host/db")
	msg, _ := recs[0].lr.Attributes().Get(event.AttrErrorMessage)
	assert.Equal(t, "got 401 for Authorization: Bearer [FILTERED]", msg.Str())
	c, _ := recs[0].lr.Attributes().Get(event.AttrCorrelationID)
	assert.Equal(t, "Bearer [FILTERED]", c.Str())
}

// A payload string past max_value_length is cut, with the marker, in the
// body and in the attributes derived from it: every output copies at most
// that much of it.
func TestLongValuesAreCut(t *testing.T) {
	cfg := testConfig()
	cfg.MaxValueLength = 100
	sink := new(consumertest.LogsSink)
	r := startReceiver(t, cfg, sink)
	body := fmt.Sprintf(`{"name":"task.completed","payload":{"task_id":1,"task_name":"%s","nested":{"list":["%s"]}}}`,
		strings.Repeat("T", 1<<20), strings.Repeat("é", 1000))
	resp := post(t, r, mediaJSON, []byte(body))
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	recs := sinkRecords(sink)
	require.Len(t, recs, 1)
	want := strings.Repeat("T", 86) + event.Truncated
	got := recs[0].lr.Body().Map().AsRaw()
	assert.Equal(t, want, got["task_name"])
	assert.Equal(t, strings.Repeat("é", 43)+event.Truncated, got["nested"].(map[string]any)["list"].([]any)[0])
	name, _ := recs[0].lr.Attributes().Get(event.AttrTaskName)
	assert.Equal(t, want, name.Str())
}

// One event is never refused for its header copies: a binary-mode
// CloudEvent with no data and a correlation id is fine.
func TestOneEventHeaderCopies(t *testing.T) {
	sink := new(consumertest.LogsSink)
	r := startReceiver(t, testConfig(), sink)
	resp := do(t, http.MethodPost, r.url(r.cfg.Path), nil, binaryHeaders(map[string]string{"X-Correlation-ID": strings.Repeat("c", 256)}))
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))
	assert.Equal(t, 1, sink.LogRecordCount())
}
