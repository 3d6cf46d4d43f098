package sink

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// httpDestination POSTs each batch as one request, synchronously, so that
// exporterhelper's retry and queue see the outcome of every request.
type httpDestination struct {
	client      *http.Client
	url         string
	contentType string
	header      []byte
}

const maxErrorBody = 512

func (h *httpDestination) Write(ctx context.Context, b *Batch) error {
	if b.Records() == 0 {
		return nil
	}
	size := int64(len(h.header) + len(b.Data))
	newBody := func() io.Reader {
		if len(h.header) == 0 {
			return bytes.NewReader(b.Data)
		}
		return io.MultiReader(bytes.NewReader(h.header), bytes.NewReader(b.Data))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, newBody())
	if err != nil {
		return consumererror.NewPermanent(fmt.Errorf("build request for %s: %w", h.url, err))
	}
	req.ContentLength = size
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(newBody()), nil }
	req.Header.Set("Content-Type", h.contentType)

	resp, err := h.client.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", h.url, err)
	}
	defer func() {
		// Drain so the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
	}()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	err = fmt.Errorf("POST %s: HTTP %d: %s", h.url, resp.StatusCode, bytes.TrimSpace(msg))
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		if d, ok := retryAfter(resp.Header.Get("Retry-After")); ok {
			return exporterhelper.NewThrottleRetry(err, d)
		}
		return err
	case http.StatusRequestTimeout, http.StatusBadGateway, http.StatusGatewayTimeout:
		return err
	default:
		// Anything else will not get better by sending the same body again.
		return consumererror.NewPermanent(err)
	}
}

// retryAfter parses a Retry-After header: delay seconds or an HTTP date.
func retryAfter(v string) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0), true
	}
	return 0, false
}

func (h *httpDestination) Close(context.Context) error {
	h.client.CloseIdleConnections()
	return nil
}
