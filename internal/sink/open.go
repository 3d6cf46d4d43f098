package sink

import (
	"context"
	"fmt"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
)

// Settings describe the destination of one exporter for one signal.
type Settings struct {
	// Signal is "traces", "metrics" or "logs".
	Signal string
	File   *Config
	HTTP   *confighttp.ClientConfig
	// ContentType of HTTP requests.
	ContentType string
	// Header is written at the top of every new file and of every HTTP
	// request body (the CSV header row). Nil for formats without one.
	Header []byte

	Host      component.Host
	Telemetry component.TelemetrySettings
}

// Open returns the destination for s: the HTTP endpoint when one is set,
// otherwise the signal's file or standard output.
func Open(ctx context.Context, s Settings) (Destination, error) {
	if s.HTTP != nil && s.HTTP.Endpoint != "" {
		cfg := *s.HTTP
		cfg.Endpoint = SubstituteSignal(cfg.Endpoint, s.Signal)
		client, err := cfg.ToClient(ctx, s.Host.GetExtensions(), s.Telemetry)
		if err != nil {
			return nil, fmt.Errorf("create HTTP client for %s: %w", cfg.Endpoint, err)
		}
		return &httpDestination{client: client, url: cfg.Endpoint, contentType: s.ContentType, header: s.Header}, nil
	}
	path := s.File.PathFor(s.Signal)
	if path == "" {
		return nil, fmt.Errorf("no path for %s: set path or %s_path", s.Signal, s.Signal)
	}
	b, err := openBuffered(fileOptions{
		path:      path,
		header:    s.Header,
		rotation:  s.File.Rotation,
		interval:  s.File.FlushInterval,
		threshold: s.File.FlushThreshold,
	}, s.Telemetry.Logger)
	if err != nil {
		return nil, err
	}
	return &handle{b: b}, nil
}

// handle is one user's reference to a shared buffered file.
type handle struct {
	b    *buffered
	once sync.Once
}

func (h *handle) Write(ctx context.Context, batch *Batch) error { return h.b.Write(ctx, batch) }

func (h *handle) Close(ctx context.Context) error {
	var err error
	h.once.Do(func() { err = h.b.Close(ctx) })
	return err
}
