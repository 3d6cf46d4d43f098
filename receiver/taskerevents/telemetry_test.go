package taskerevents

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

func counterTotal(t *testing.T, tel *componenttest.Telemetry, name string) int64 {
	t.Helper()
	m, err := tel.GetMetric(name)
	require.NoError(t, err, name)
	var total int64
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		total += dp.Value
	}
	return total
}

func TestSelfTelemetry(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := receiverSettings()
	set.TelemetrySettings = tel.NewTelemetrySettings()
	r, err := newReceiver(testConfig(), set, consumertest.NewNop())
	require.NoError(t, err)

	serve := func(contentType, body string) int {
		req := httptest.NewRequest(http.MethodPost, defaultPath, strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		return w.Code
	}
	require.Equal(t, http.StatusOK, serve(mediaNDJSON, string(readFixture(t, "sample-native.ndjson"))))
	require.Equal(t, http.StatusBadRequest, serve(mediaJSON, `{"payload":{}}`))
	assert.Equal(t, int64(readSummary(t).Events), counterTotal(t, tel, "otelcol_receiver_accepted_log_records"))
	assert.Equal(t, int64(1), counterTotal(t, tel, "otelcol_receiver_refused_log_records"))
}

// A panic while decoding (here forced by a missing decoder) is answered 400
// and does not escape the handler.
func TestDecodePanicIsRefusedNotFatal(t *testing.T) {
	r, err := newReceiver(testConfig(), receiverSettings(), consumertest.NewNop())
	require.NoError(t, err)
	r.decoder = nil
	req := httptest.NewRequest(http.MethodPost, defaultPath, strings.NewReader(`{"name":"x","payload":{}}`))
	req.Header.Set("Content-Type", mediaJSON)
	w := httptest.NewRecorder()
	require.NotPanics(t, func() { r.ServeHTTP(w, req) })
	assert.Equal(t, http.StatusBadRequest, w.Code)
	assert.Contains(t, w.Body.String(), "could not be decoded")
}
