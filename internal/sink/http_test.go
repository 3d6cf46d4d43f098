package sink

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/consumer/consumererror"
)

func TestHTTPStatusHandling(t *testing.T) {
	var status int
	var got []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.ReadAll(r.Body)
		assert.Equal(t, "text/csv", r.Header.Get("Content-Type"))
		assert.Equal(t, "/x/metrics", r.URL.Path)
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "7")
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte("reason here"))
	}))
	defer srv.Close()

	hc := confighttp.NewDefaultClientConfig()
	hc.Endpoint = srv.URL + "/x/{signal}"
	d, err := Open(context.Background(), Settings{Signal: "metrics", HTTP: &hc, ContentType: "text/csv", Header: []byte("h\n"),
		Host: componenttest.NewNopHost(), Telemetry: componenttest.NewNopTelemetrySettings()})
	require.NoError(t, err)
	defer d.Close(context.Background())

	for _, tc := range []struct {
		status    int
		ok        bool
		permanent bool
	}{
		{200, true, false}, {204, true, false},
		{400, false, true}, {401, false, true}, {413, false, true}, {500, false, true},
		{408, false, false}, {429, false, false}, {502, false, false}, {503, false, false}, {504, false, false},
	} {
		status = tc.status
		err := d.Write(context.Background(), batchOf("r", 0, 2, 0))
		assert.Equal(t, "h\nr-0-\nr-1-\n", string(got), "header row first")
		if tc.ok {
			assert.NoError(t, err, "status %d", tc.status)
			continue
		}
		require.Error(t, err, "status %d", tc.status)
		assert.Equal(t, tc.permanent, consumererror.IsPermanent(err), "status %d", tc.status)
		assert.ErrorContains(t, err, "reason here")
	}
	got = nil
	require.NoError(t, d.Write(context.Background(), &Batch{}))
	assert.Nil(t, got, "empty batches are not posted")
}

func TestRetryAfter(t *testing.T) {
	d, ok := retryAfter("3")
	assert.True(t, ok)
	assert.Equal(t, 3*time.Second, d)
	d, ok = retryAfter(time.Now().Add(time.Hour).UTC().Format(http.TimeFormat))
	assert.True(t, ok)
	assert.Greater(t, d, 59*time.Minute)
	_, ok = retryAfter("soon")
	assert.False(t, ok)
}
