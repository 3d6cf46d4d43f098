package sinktest

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Request is one request a Recorder received.
type Request struct {
	Path   string
	Header http.Header
	Body   []byte
}

// Recorder is an HTTP server on 127.0.0.1 that answers with Statuses in
// turn (then 200) and keeps every request. A 503 carries "Retry-After: 0"
// when RetryAfterOn503 is set.
type Recorder struct {
	*httptest.Server

	mu              sync.Mutex
	statuses        []int
	retryAfterOn503 bool
	requests        []Request
}

// NewRecorder starts a Recorder; it is closed when the test ends.
func NewRecorder(t testing.TB, retryAfterOn503 bool, statuses ...int) *Recorder {
	rc := &Recorder{statuses: statuses, retryAfterOn503: retryAfterOn503}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *Recorder) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.requests = append(rc.requests, Request{Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
	status := http.StatusOK
	if len(rc.statuses) > 0 {
		status, rc.statuses = rc.statuses[0], rc.statuses[1:]
	}
	rc.mu.Unlock()
	if status == http.StatusServiceUnavailable && rc.retryAfterOn503 {
		w.Header().Set("Retry-After", "0")
	}
	w.WriteHeader(status)
}

// Requests returns the requests received so far.
func (rc *Recorder) Requests() []Request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]Request(nil), rc.requests...)
}

// ConsumeConcurrently calls consume(w, c) from writers goroutines, calls
// times each, retrying a call the exporter refuses (its queue is full) the
// way a receiver would, and returns when all were accepted.
func ConsumeConcurrently(writers, calls int, consume func(w, c int) error) {
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for c := range calls {
				for consume(w, c) != nil {
					time.Sleep(time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
}

// ReadDirFiles returns the content of every file in dir by name, gunzipped
// when its name ends in .gz (rotated, compressed files).
func ReadDirFiles(t testing.TB, dir string) map[string][]byte {
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	out := make(map[string][]byte, len(entries))
	for _, ent := range entries {
		f, err := os.Open(filepath.Join(dir, ent.Name()))
		require.NoError(t, err)
		var r io.Reader = f
		if strings.HasSuffix(ent.Name(), ".gz") {
			zr, err := gzip.NewReader(f)
			require.NoError(t, err)
			r = zr
		}
		data, err := io.ReadAll(r)
		require.NoError(t, err)
		require.NoError(t, f.Close())
		out[ent.Name()] = data
	}
	return out
}
