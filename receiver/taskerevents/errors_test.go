package taskerevents

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/bearertokenauthextension"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configauth"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/pdata/plog"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

func gzipped(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(b)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func zstded(t *testing.T, b []byte) []byte {
	enc, err := zstd.NewWriter(nil)
	require.NoError(t, err)
	defer enc.Close()
	return enc.EncodeAll(b, nil)
}

func TestCompressedBodies(t *testing.T) {
	native := readFixture(t, "sample-native.ndjson")
	for name, body := range map[string][]byte{"gzip": gzipped(t, native), "zstd": zstded(t, native)} {
		t.Run(name, func(t *testing.T) {
			sink := new(consumertest.LogsSink)
			r := startReceiver(t, testConfig(), sink)
			resp := do(t, http.MethodPost, r.url(r.cfg.Path), body, map[string]string{
				"Content-Type": mediaNDJSON, "Content-Encoding": name,
			})
			require.Equal(t, http.StatusOK, resp.status, string(resp.body))
			assert.Equal(t, readSummary(t).Events, resp.accepted(t))
			assert.Equal(t, readSummary(t).Events, sink.LogRecordCount())
		})
	}
}

func TestBodyLimitCountsDecompressedBytes(t *testing.T) {
	native := readFixture(t, "sample-native.ndjson")
	sink := new(consumertest.LogsSink)
	cfg := testConfig()
	cfg.ServerConfig.MaxRequestBodySize = int64(len(native)) / 2
	r := startReceiver(t, cfg, sink)
	for name, body := range map[string][]byte{"gzip": gzipped(t, native), "zstd": zstded(t, native)} {
		require.Less(t, len(body), int(cfg.ServerConfig.MaxRequestBodySize), "the compressed body itself fits")
		resp := do(t, http.MethodPost, r.url(r.cfg.Path), body, map[string]string{
			"Content-Type": mediaNDJSON, "Content-Encoding": name,
		})
		assert.Equal(t, http.StatusRequestEntityTooLarge, resp.status, "%s: %s", name, resp.body)
		assert.Contains(t, resp.errorText(t), "max_request_body_size")
	}
	resp := post(t, r, mediaNDJSON, native)
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.status)
	assert.Zero(t, sink.LogRecordCount())
}

func TestHugeStringIsTooLarge(t *testing.T) {
	sink := new(consumertest.LogsSink)
	r := startReceiver(t, testConfig(), sink)
	body := `{"name":"custom.big","payload":{"s":"` + strings.Repeat("x", 10<<20) + `"}}`
	resp := post(t, r, mediaJSON, []byte(body))
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.status)
	// The same, compressed to a few kilobytes, is refused after decompression.
	resp = do(t, http.MethodPost, r.url(r.cfg.Path), gzipped(t, []byte(body)), map[string]string{
		"Content-Type": mediaJSON, "Content-Encoding": "gzip",
	})
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.status)
	assert.Zero(t, sink.LogRecordCount())
}

func nested(depth int) string {
	return strings.Repeat(`{"a":`, depth) + "1" + strings.Repeat("}", depth)
}

func TestNestingLimit(t *testing.T) {
	sink := new(consumertest.LogsSink)
	r := startReceiver(t, testConfig(), sink)
	// The payload is level 1: 31 more levels fit in the default 32.
	ok := `{"name":"custom.deep","payload":` + nested(32) + `}`
	resp := post(t, r, mediaJSON, []byte(ok))
	require.Equal(t, http.StatusOK, resp.status, string(resp.body))

	tooDeep := `[{"name":"a","payload":{}},{"name":"custom.deep","payload":` + nested(33) + `}]`
	resp = post(t, r, mediaJSON, []byte(tooDeep))
	assert.Equal(t, http.StatusBadRequest, resp.status)
	assert.Contains(t, resp.errorText(t), "event 1: payload nesting deeper than 32 levels (max_nesting_depth)")

	arrays := `{"name":"custom.deep","payload":{"a":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}}`
	resp = post(t, r, mediaJSON, []byte(arrays))
	assert.Equal(t, http.StatusBadRequest, resp.status)

	// A bomb far deeper than the JSON parser's own limit.
	bomb := `{"name":"custom.bomb","payload":{"a":` + strings.Repeat("[", 1<<20) + strings.Repeat("]", 1<<20) + `}}`
	resp = post(t, r, mediaJSON, []byte(bomb))
	assert.Equal(t, http.StatusBadRequest, resp.status)
	assert.Contains(t, resp.errorText(t), "max_nesting_depth")
	assert.Equal(t, 1, sink.LogRecordCount(), "only the first request got through")
}

func TestBadEventRefusesWholeRequest(t *testing.T) {
	good := `{"name":"task.completed","payload":{"task_id":1}}`
	cases := []struct {
		name, contentType, body, want string
	}{
		{"missing name", mediaJSON, "[" + good + `,` + good + `,{"payload":{"task_id":1}},` + good + "]", `event 2: missing event name`},
		{"name not a string", mediaJSON, "[" + good + `,{"name":5}]`, `event 1: event name "name" must be a string`},
		{"payload not an object", mediaJSON, "[" + good + `,{"name":"x","payload":[1]}]`, `event 1: payload must be a JSON object, got array`},
		{"bad timestamp", mediaJSON, "[" + good + `,{"name":"x","timestamp":"yesterday","payload":{}}]`, `event 1: bad timestamp "yesterday"`},
		{"flat bad timestamp", mediaNDJSON, good + "\n" + `{"name":"x","timestamp":17}`, `line 2: bad timestamp`},
		{"invalid JSON in a line", mediaNDJSON, good + "\n\n" + good + "\n" + `{"name":"x",,}` + "\n" + good, `line 4: invalid JSON at column 13`},
		{"invalid JSON in an array", mediaJSON, "[" + good + `,{"name":"x" "payload":{}}]`, `event 1: invalid JSON at byte offset 63`},
		{"not an object", mediaJSON, "[" + good + `,42]`, `event 1: event must be a JSON object, got number`},
		{"NaN", mediaJSON, `{"name":"x","payload":{"v":NaN}}`, `event 0: invalid JSON at byte offset 27: invalid number "NaN"`},
		{"bad number", mediaJSON, `{"name":"x","payload":{"v":1.2.3}}`, `event 0: invalid JSON at byte offset 27: invalid number "1.2.3"`},
		{"trailing data", mediaJSON, "[" + good + "] x", `invalid JSON at byte offset`},
		{"unterminated array", mediaJSON, "[" + good + ",", `unexpected end of JSON array`},
		{"empty body", mediaJSON, "  ", `request body is empty`},
		{"CloudEvent without type", mediaCloudEvent, `{"specversion":"1.0","source":"s","id":"1","data":{}}`, `event 0: missing CloudEvents type`},
		{"CloudEvent old version", mediaCloudEventsBatch, `[{"specversion":"0.3","type":"dev.tasker.x","data":{}}]`, `specversion "0.3" is not supported`},
		{"CloudEvent data not an object", mediaCloudEvent, `{"specversion":"1.0","type":"dev.tasker.x","data":"text"}`, `data must be a JSON object, got string`},
		{"CloudEvent base64 data", mediaCloudEvent, `{"specversion":"1.0","type":"dev.tasker.x","data_base64":"AA=="}`, `data_base64 is not supported`},
		{"CloudEvent bad time", mediaCloudEvent, `{"specversion":"1.0","type":"dev.tasker.x","time":"noon"}`, `bad CloudEvents time "noon"`},
		{"batch that is an object", mediaCloudEventsBatch, `{"specversion":"1.0","type":"dev.tasker.x"}`, `must be a JSON array of CloudEvents`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sink := new(consumertest.LogsSink)
			r := startReceiver(t, testConfig(), sink)
			resp := post(t, r, tc.contentType, []byte(tc.body))
			assert.Equal(t, http.StatusBadRequest, resp.status, string(resp.body))
			assert.Contains(t, resp.errorText(t), tc.want)
			assert.Zero(t, sink.LogRecordCount(), "nothing of a refused request is delivered")
		})
	}
}

func TestEmptyBatchesAreAccepted(t *testing.T) {
	sink := new(consumertest.LogsSink)
	r := startReceiver(t, testConfig(), sink)
	for _, tc := range []struct{ ct, body string }{{mediaJSON, " [ ] "}, {mediaNDJSON, "\n\n"}, {mediaCloudEventsBatch, "[]"}} {
		resp := post(t, r, tc.ct, []byte(tc.body))
		require.Equal(t, http.StatusOK, resp.status, string(resp.body))
		assert.Equal(t, 0, resp.accepted(t))
	}
	assert.Empty(t, sink.AllLogs(), "the pipeline is not called for nothing")
}

func TestTooManyEvents(t *testing.T) {
	sink := new(consumertest.LogsSink)
	cfg := testConfig()
	cfg.MaxEventsPerRequest = 5
	r := startReceiver(t, cfg, sink)
	ev := `{"name":"task.completed","payload":{"task_id":1}}`
	five := strings.Repeat(ev+"\n", 5)
	require.Equal(t, http.StatusOK, post(t, r, mediaNDJSON, []byte(five)).status)
	resp := post(t, r, mediaNDJSON, []byte(five+"\n"+ev))
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.status)
	assert.Contains(t, resp.errorText(t), "more than 5 events (max_events_per_request)")
	resp = post(t, r, mediaJSON, []byte("["+strings.Repeat(ev+",", 5)+ev+"]"))
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.status)
	assert.Equal(t, 5, sink.LogRecordCount())
}

func TestMethodMediaTypeAndPaths(t *testing.T) {
	sink := new(consumertest.LogsSink)
	r := startReceiver(t, testConfig(), sink)
	ev := []byte(`{"name":"task.completed","payload":{"task_id":1}}`)

	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		resp := do(t, m, r.url(r.cfg.Path), nil, nil)
		assert.Equal(t, http.StatusMethodNotAllowed, resp.status, m)
		assert.Equal(t, "POST", resp.header.Get("Allow"))
	}
	for _, ct := range []string{"text/plain", "application/xml", "", "application/json; charset=latin1", "multipart/form-data; boundary=x"} {
		resp := post(t, r, ct, ev)
		assert.Equal(t, http.StatusUnsupportedMediaType, resp.status, ct)
		assert.NotEmpty(t, resp.errorText(t))
	}
	resp := do(t, http.MethodPost, r.url(r.cfg.Path), ev, map[string]string{
		"Content-Type": "text/plain", "ce-specversion": "1.0", "ce-type": "dev.tasker.x",
	})
	assert.Equal(t, http.StatusUnsupportedMediaType, resp.status, "binary mode needs JSON data")

	resp = do(t, http.MethodGet, r.url(r.cfg.HealthPath), nil, nil)
	assert.Equal(t, http.StatusOK, resp.status)
	assert.JSONEq(t, `{"status":"ok"}`, string(resp.body))
	resp = do(t, http.MethodPost, r.url(r.cfg.HealthPath), ev, nil)
	assert.Equal(t, http.StatusMethodNotAllowed, resp.status)

	resp = do(t, http.MethodPost, r.url("/v1/logs"), ev, map[string]string{"Content-Type": mediaJSON})
	assert.Equal(t, http.StatusNotFound, resp.status)

	resp = do(t, http.MethodPost, r.url(r.cfg.Path), ev, map[string]string{"Content-Type": mediaJSON, "Content-Encoding": "br"})
	assert.Equal(t, http.StatusBadRequest, resp.status, "confighttp refuses unknown encodings")
	assert.Contains(t, resp.errorText(t), "Content-Encoding")
	assert.Zero(t, sink.LogRecordCount())
}

// errConsumer fails every call with err.
type errConsumer struct {
	err   error
	calls atomic.Int64
}

func (c *errConsumer) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }
func (c *errConsumer) ConsumeLogs(context.Context, plog.Logs) error {
	c.calls.Add(1)
	return c.err
}

func TestConsumerErrors(t *testing.T) {
	throttled, err := status.New(codes.ResourceExhausted, "slow down").
		WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(3 * time.Second)})
	require.NoError(t, err)
	cases := []struct {
		name       string
		err        error
		status     int
		retryAfter string
	}{
		{"retryable", errors.New("data refused due to high memory usage"), http.StatusServiceUnavailable, "5"},
		{"explicitly retryable", consumererror.NewRetryableError(errors.New("queue full")), http.StatusServiceUnavailable, "5"},
		{"throttled over gRPC", throttled.Err(), http.StatusTooManyRequests, "3"},
		{"throttled over HTTP", consumererror.NewOTLPHTTPError(errors.New("too many"), http.StatusTooManyRequests), http.StatusTooManyRequests, "5"},
		{"permanent", consumererror.NewPermanent(errors.New("no route")), http.StatusBadRequest, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			next := &errConsumer{err: tc.err}
			r := startReceiver(t, testConfig(), next)
			resp := post(t, r, mediaJSON, []byte(`{"name":"task.completed","payload":{"task_id":1}}`))
			assert.Equal(t, tc.status, resp.status, string(resp.body))
			assert.Equal(t, tc.retryAfter, resp.header.Get("Retry-After"))
			assert.Contains(t, resp.errorText(t), tc.err.Error())
			assert.Equal(t, int64(1), next.calls.Load())
		})
	}
}

// authHost is a host with one started bearer-token authenticator.
type authHost struct {
	component.Host
	ext map[component.ID]component.Component
}

func (h authHost) GetExtensions() map[component.ID]component.Component { return h.ext }

func TestBearerTokenAuth(t *testing.T) {
	factory := bearertokenauthextension.NewFactory()
	extCfg := factory.CreateDefaultConfig().(*bearertokenauthextension.Config)
	extCfg.BearerToken = configopaque.String("s3cret")
	id := component.MustNewID("bearertokenauth")
	ext, err := factory.Create(context.Background(), extension.Settings{
		ID: id, TelemetrySettings: componenttest.NewNopTelemetrySettings(), BuildInfo: component.NewDefaultBuildInfo(),
	}, extCfg)
	require.NoError(t, err)
	host := authHost{Host: componenttest.NewNopHost(), ext: map[component.ID]component.Component{id: ext}}
	require.NoError(t, ext.Start(context.Background(), host))
	t.Cleanup(func() { require.NoError(t, ext.Shutdown(context.Background())) })

	cfg := testConfig()
	cfg.ServerConfig.Auth = configoptional.Some(confighttp.AuthConfig{Config: configauth.Config{AuthenticatorID: id}})
	sink := new(consumertest.LogsSink)
	r := startReceiverWithHost(t, cfg, sink, host)
	ev := []byte(`{"name":"task.completed","payload":{"task_id":1}}`)

	resp := post(t, r, mediaJSON, ev)
	assert.Equal(t, http.StatusUnauthorized, resp.status)
	assert.NotEmpty(t, resp.errorText(t))
	resp = do(t, http.MethodPost, r.url(r.cfg.Path), ev, map[string]string{"Content-Type": mediaJSON, "Authorization": "Bearer wrong"})
	assert.Equal(t, http.StatusUnauthorized, resp.status)
	assert.Zero(t, sink.LogRecordCount())
	resp = do(t, http.MethodPost, r.url(r.cfg.Path), ev, map[string]string{"Content-Type": mediaJSON, "Authorization": "Bearer s3cret"})
	assert.Equal(t, http.StatusOK, resp.status, string(resp.body))
	assert.Equal(t, 1, sink.LogRecordCount())
}

func TestStartFailsOnBusyPort(t *testing.T) {
	first := startReceiver(t, testConfig(), consumertest.NewNop())
	cfg := testConfig()
	cfg.ServerConfig.NetAddr.Endpoint = first.addr.String()
	r, err := newReceiver(cfg, receiverSettings(), consumertest.NewNop())
	require.NoError(t, err)
	assert.Error(t, r.Start(context.Background(), componenttest.NewNopHost()))
	assert.NoError(t, r.Shutdown(context.Background()))
}
