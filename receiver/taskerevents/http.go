package taskerevents // import "github.com/otelcol-tasker/otelcol-tasker/receiver/taskerevents"

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/otelcol-tasker/otelcol-tasker/receiver/taskerevents/internal/decode"
)

// Media types the events endpoint accepts.
const (
	mediaJSON             = "application/json"
	mediaNDJSON           = "application/x-ndjson"
	mediaCloudEvent       = "application/cloudevents+json"
	mediaCloudEventsBatch = "application/cloudevents-batch+json"
)

// defaultRetryAfter is sent with 429/503 when the pipeline gave no delay.
const defaultRetryAfter = 5 * time.Second

var unsupportedMediaMsg = fmt.Sprintf("unsupported media type: use %s, %s, %s, %s, or a binary-mode CloudEvent (ce-* headers) with a JSON body",
	mediaJSON, mediaNDJSON, mediaCloudEvent, mediaCloudEventsBatch)

// requestFormat picks the body format from the ce-specversion header and the
// Content-Type. A non-zero status refuses the request.
func requestFormat(req *http.Request) (decode.Format, int, string) {
	ct := req.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		if ct == "" {
			return 0, http.StatusUnsupportedMediaType, "missing Content-Type: " + unsupportedMediaMsg
		}
		return 0, http.StatusUnsupportedMediaType, fmt.Sprintf("bad Content-Type %q: %s", ct, unsupportedMediaMsg)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "us-ascii") {
		return 0, http.StatusUnsupportedMediaType, fmt.Sprintf("unsupported charset %q: bodies must be UTF-8", cs)
	}
	if _, binary := req.Header["Ce-Specversion"]; binary {
		// Binary mode: the Content-Type is the data's, which must be JSON.
		if !decode.IsJSONMediaType(ct) {
			return 0, http.StatusUnsupportedMediaType, fmt.Sprintf("binary-mode CloudEvent with Content-Type %q: its data must be JSON", mt)
		}
		return decode.BinaryCloudEvent, 0, ""
	}
	switch mt {
	case mediaJSON, "text/json":
		return decode.JSON, 0, ""
	case mediaNDJSON, "application/ndjson", "application/jsonl":
		return decode.NDJSON, 0, ""
	case mediaCloudEvent:
		return decode.CloudEvent, 0, ""
	case mediaCloudEventsBatch:
		return decode.CloudEventBatch, 0, ""
	}
	return 0, http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %q: %s", mt, unsupportedMediaMsg)
}

// binaryAttributes reads the context attributes of a binary-mode CloudEvent.
// The HTTP binding percent-encodes some characters in these headers.
func binaryAttributes(h http.Header) decode.Binary {
	get := func(k string) string {
		v := h.Get(k)
		if strings.IndexByte(v, '%') >= 0 {
			if u, err := url.PathUnescape(v); err == nil {
				return u
			}
		}
		return v
	}
	return decode.Binary{
		SpecVersion: get("Ce-Specversion"),
		Type:        get("Ce-Type"),
		Source:      get("Ce-Source"),
		ID:          get("Ce-Id"),
		Time:        get("Ce-Time"),
		Subject:     get("Ce-Subject"),
	}
}

var bufferPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func putBuffer(b *bytes.Buffer) {
	if b.Cap() <= 1<<20 { // keep small buffers only: a pool of 8 MiB buffers would pin memory
		b.Reset()
		bufferPool.Put(b)
	}
}

// readBody reads the whole (already decompressed) body. confighttp bounds
// both the raw and the decompressed body by max_request_body_size; the bound
// is checked here again so that it holds whatever wraps the handler.
func (r *eventsReceiver) readBody(w http.ResponseWriter, req *http.Request) (*bytes.Buffer, int, string) {
	limit := r.cfg.ServerConfig.MaxRequestBodySize
	tooLarge := fmt.Sprintf("request body larger than %d bytes (max_request_body_size, counted after decompression)", limit)
	if limit > 0 && req.ContentLength > limit {
		return nil, http.StatusRequestEntityTooLarge, tooLarge
	}
	buf := bufferPool.Get().(*bytes.Buffer)
	if req.ContentLength > 0 {
		buf.Grow(int(req.ContentLength))
	}
	var body io.Reader = req.Body
	if limit > 0 {
		body = io.LimitReader(req.Body, limit+1)
	}
	body = r.newBodyDeadline(w, body)
	_, err := buf.ReadFrom(body)
	_ = req.Body.Close()
	var maxErr *http.MaxBytesError
	if d, ok := body.(*bodyDeadline); ok {
		d.done()
		if d.expired {
			putBuffer(buf)
			w.Header().Set("Connection", "close")
			return nil, http.StatusRequestTimeout, fmt.Sprintf("request body too slow: %d bytes in %v; a body may take body_timeout (%v) plus one second per min_body_rate (%d) bytes",
				d.n, time.Since(d.start).Round(time.Millisecond), r.cfg.BodyTimeout, r.cfg.MinBodyRate)
		}
	}
	switch {
	case errors.As(err, &maxErr), err == nil && limit > 0 && int64(buf.Len()) > limit:
		putBuffer(buf)
		return nil, http.StatusRequestEntityTooLarge, tooLarge
	case err != nil:
		putBuffer(buf)
		return nil, http.StatusBadRequest, "could not read the request body: " + err.Error()
	}
	return buf, 0, ""
}

// decodeErrorStatus maps a decoding error to the status for the sender.
func decodeErrorStatus(err error) (int, string) {
	var tooMany *decode.TooManyEventsError
	if errors.As(err, &tooMany) {
		return http.StatusRequestEntityTooLarge, err.Error()
	}
	var copies *headerCopiesError
	if errors.As(err, &copies) {
		return http.StatusRequestHeaderFieldsTooLarge, err.Error()
	}
	return http.StatusBadRequest, err.Error()
}

// consumerErrorStatus maps an error of the next consumer to the status for
// the sender, after OTLP/HTTP: a permanent error is not retryable (400: the
// data will never be accepted, so the sender must not send it again);
// anything else is retryable: 429 when the pipeline says it is throttling
// (gRPC ResourceExhausted or an HTTP 429 it got), 503 otherwise, both with
// Retry-After (the delay the pipeline asked for, else defaultRetryAfter).
func consumerErrorStatus(err error) (code int, retryAfter string) {
	if consumererror.IsPermanent(err) {
		return http.StatusBadRequest, ""
	}
	code = http.StatusServiceUnavailable
	delay := defaultRetryAfter
	if st, ok := status.FromError(err); ok {
		if st.Code() == codes.ResourceExhausted {
			code = http.StatusTooManyRequests
		}
		for _, d := range st.Details() {
			if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay() != nil {
				if rd := ri.GetRetryDelay().AsDuration(); rd > 0 {
					delay = rd
				}
			}
		}
	}
	if consumererror.ToHTTPStatus(err) == http.StatusTooManyRequests {
		code = http.StatusTooManyRequests
	}
	secs := int64((delay + time.Second - 1) / time.Second) // round up: never ask for 0
	return code, strconv.FormatInt(secs, 10)
}

func consumerErrorMessage(code int, err error) string {
	if code == http.StatusBadRequest {
		return "the pipeline refused the events permanently, do not retry: " + err.Error()
	}
	return "the pipeline cannot take the events now, retry later: " + err.Error()
}

func formatName(f decode.Format) string {
	switch f {
	case decode.JSON:
		return "json"
	case decode.NDJSON:
		return "ndjson"
	case decode.CloudEvent, decode.CloudEventBatch, decode.BinaryCloudEvent:
		return "cloudevents"
	}
	return "unknown"
}

// errorHandler writes errors found by confighttp (auth, decompression) the
// same way the receiver writes its own.
func errorHandler(w http.ResponseWriter, _ *http.Request, msg string, statusCode int) {
	writeError(w, statusCode, msg)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	body, err := json.Marshal(struct {
		Error string `json:"error"`
	}{msg})
	if err != nil {
		body = []byte(`{"error":"unprintable error"}`)
	}
	writeJSON(w, code, body)
}

func writeAccepted(w http.ResponseWriter, n int) {
	var b [32]byte
	body := append(b[:0], `{"accepted":`...)
	body = strconv.AppendInt(body, int64(n), 10)
	body = append(body, '}')
	writeJSON(w, http.StatusOK, body)
}

func writeJSON(w http.ResponseWriter, code int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}
