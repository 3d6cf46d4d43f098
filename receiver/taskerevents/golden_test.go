package taskerevents

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
)

var updateGolden = flag.Bool("update", false, "rewrite the expected outputs of testdata/golden")

// goldenRequest is one HTTP request of a golden case, read from its
// request.yaml. The body is a file of the case's folder, or a stream of
// internal/fixtures.
type goldenRequest struct {
	Method      string            `mapstructure:"method"`
	ContentType string            `mapstructure:"content_type"`
	Headers     map[string]string `mapstructure:"headers"`
	Body        string            `mapstructure:"body"`
	Fixture     string            `mapstructure:"fixture"`
}

// The receiver's behaviour, shown as files: each folder of testdata/golden
// (see its README) sends its requests, in order, to one receiver configured
// by the defaults and the folder's optional config.yaml; what the receiver
// answered must be exactly response.txt and what it delivered exactly
// logs.yaml.
func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "golden", "*", "request.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, dirs)
	for _, spec := range dirs {
		dir := filepath.Dir(spec)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var reqs struct {
				Requests []goldenRequest `mapstructure:"requests"`
			}
			cm, err := confmaptest.LoadConf(spec)
			require.NoError(t, err)
			require.NoError(t, cm.Unmarshal(&reqs))
			require.NotEmpty(t, reqs.Requests)

			cfg := testConfig()
			if _, err := os.Stat(filepath.Join(dir, "config.yaml")); err == nil {
				cm, err := confmaptest.LoadConf(filepath.Join(dir, "config.yaml"))
				require.NoError(t, err)
				require.NoError(t, cm.Unmarshal(cfg))
			}
			sink := new(consumertest.LogsSink)
			r := startReceiver(t, cfg, sink)

			var answers strings.Builder
			for _, req := range reqs.Requests {
				resp := do(t, cmpOr(req.Method, http.MethodPost), r.url(r.cfg.Path), goldenBody(t, dir, req), goldenHeaders(req))
				fmt.Fprintf(&answers, "%d %s\n%s\n", resp.status, http.StatusText(resp.status), strings.TrimRight(string(resp.body), "\n"))
			}
			logs := plog.NewLogs()
			for _, ld := range sink.AllLogs() {
				ld.ResourceLogs().MoveAndAppendTo(logs.ResourceLogs())
			}
			clearReceiveTimes(logs)

			responseFile, logsFile := filepath.Join(dir, "response.txt"), filepath.Join(dir, "logs.yaml")
			if *updateGolden {
				require.NoError(t, os.WriteFile(responseFile, []byte(answers.String()), 0o644))
				require.NoError(t, golden.WriteLogsToFile(logsFile, logs))
			}
			want, err := os.ReadFile(responseFile)
			require.NoError(t, err)
			require.Equal(t, string(want), answers.String())
			wantLogs, err := golden.ReadLogs(logsFile)
			require.NoError(t, err)
			require.NoError(t, plogtest.CompareLogs(wantLogs, logs))
		})
	}
}

func goldenBody(t *testing.T, dir string, req goldenRequest) []byte {
	t.Helper()
	require.True(t, (req.Body == "") != (req.Fixture == ""), "a request names one body file or one fixture")
	if req.Fixture != "" {
		return readFixture(t, req.Fixture)
	}
	b, err := os.ReadFile(filepath.Join(dir, req.Body))
	require.NoError(t, err)
	return b
}

func goldenHeaders(req goldenRequest) map[string]string {
	h := map[string]string{"Content-Type": req.ContentType}
	for k, v := range req.Headers {
		h[k] = v
	}
	return h
}

// clearReceiveTimes zeroes what depends on when the test runs: the observed
// timestamp (the receive time) of every record, and the timestamp of the
// records that carry none of their own and fall back to the receive time.
func clearReceiveTimes(logs plog.Logs) {
	rls := logs.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				if lr.Timestamp() == lr.ObservedTimestamp() {
					lr.SetTimestamp(0)
				}
				lr.SetObservedTimestamp(0)
			}
		}
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
