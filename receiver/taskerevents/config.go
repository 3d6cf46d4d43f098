package taskerevents // import "github.com/otelcol-tasker/otelcol-tasker/receiver/taskerevents"

import (
	"go.opentelemetry.io/collector/confmap"

	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/otelcol-tasker/otelcol-tasker/internal/confstrict"
	"github.com/otelcol-tasker/otelcol-tasker/internal/event"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"

	"github.com/otelcol-tasker/otelcol-tasker/receiver/taskerevents/internal/decode"
)

const (
	defaultEndpoint          = "localhost:8088"
	defaultPath              = "/v1/events"
	defaultHealthPath        = "/health"
	defaultTypePrefix        = "dev.tasker."
	defaultCorrelationHeader = "X-Correlation-ID"
	defaultServiceHeader     = "X-Service-Name"
	defaultServiceName       = "tasker"
	defaultMaxEvents         = 10000
	defaultMaxBodySize       = 8 << 20 // 8 MiB, after decompression
	defaultMaxNestingDepth   = 32

	defaultMaxHeaderValueLength = 256
	defaultReadHeaderTimeout    = 10 * time.Second
	defaultBodyTimeout          = 10 * time.Second
	defaultMinBodyRate          = 4096 // bytes per second
	defaultTLSErrorLogInterval  = time.Minute
)

// Config is the configuration of the taskerevents receiver.
type Config struct {
	// ServerConfig is the collector's HTTP server configuration: endpoint,
	// TLS, auth, CORS, max_request_body_size, compression_algorithms, ...
	// It is a named field, not an embedded one: embedding would promote its
	// Unmarshal method to Config and the receiver's own keys would be lost.
	ServerConfig confighttp.ServerConfig `mapstructure:",squash"`

	// Path is the URL path events are POSTed to.
	Path string `mapstructure:"path"`
	// HealthPath answers GET with a small JSON status while the receiver runs.
	HealthPath string `mapstructure:"health_path"`
	// CloudEvents configures how CloudEvents are read.
	CloudEvents CloudEventsConfig `mapstructure:"cloudevents"`
	// CorrelationHeader names the request header whose value becomes
	// tasker.correlation_id on events that carry none.
	CorrelationHeader string `mapstructure:"correlation_header"`
	// ServiceHeader names the request header whose value becomes the
	// service.name of events that do not name their own (CloudEvents source).
	ServiceHeader string `mapstructure:"service_header"`
	// ServiceName is the service.name of events no header or source names.
	ServiceName string `mapstructure:"service_name"`
	// MaxEventsPerRequest bounds the events of one request (413 beyond).
	MaxEventsPerRequest int `mapstructure:"max_events_per_request"`
	// MaxNestingDepth bounds the nesting of a payload (400 beyond).
	MaxNestingDepth int `mapstructure:"max_nesting_depth"`
	// TraceNamespace separates the trace ids of independent installations;
	// it must be the same on every collector of one installation.
	TraceNamespace string `mapstructure:"trace_namespace"`
	// Redaction replaces the values of sensitive payload keys with
	// [FILTERED] while decoding, so secrets never enter the pipeline.
	Redaction event.RedactionConfig `mapstructure:"redaction"`
	// MaxHeaderValueLength bounds the headers whose values are copied into
	// events (correlation, service, ce-*) and the same CloudEvents
	// attributes in structured mode: 431 (400 in a body) beyond.
	MaxHeaderValueLength int `mapstructure:"max_header_value_length"`
	// MaxValueLength bounds every string value of an event, in its
	// payload and in its normalized attributes; longer ones are cut and
	// end with event.Truncated.
	MaxValueLength int `mapstructure:"max_value_length"`
	// BodyTimeout is how long a request body may take, plus one second for
	// every MinBodyRate bytes it delivered; 0 turns the check off.
	BodyTimeout time.Duration `mapstructure:"body_timeout"`
	// MinBodyRate is the rate (bytes per second) a body must keep up
	// beyond BodyTimeout.
	MinBodyRate int64 `mapstructure:"min_body_rate"`
	// TLSErrorLogInterval: failed TLS handshakes are logged at most once
	// per source address per interval.
	TLSErrorLogInterval time.Duration `mapstructure:"tls_error_log_interval"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// CloudEventsConfig configures how CloudEvents are read.
type CloudEventsConfig struct {
	// TypePrefix is removed from the CloudEvents type to get the event name.
	TypePrefix string `mapstructure:"type_prefix"`

	// prevent unkeyed literal initialization
	_ struct{}
}

var _ component.Config = (*Config)(nil)

func createDefaultConfig() component.Config {
	server := confighttp.NewDefaultServerConfig()
	server.NetAddr.Endpoint = defaultEndpoint
	server.MaxRequestBodySize = defaultMaxBodySize
	server.ReadHeaderTimeout = defaultReadHeaderTimeout
	return &Config{
		ServerConfig:        server,
		Path:                defaultPath,
		HealthPath:          defaultHealthPath,
		CloudEvents:         CloudEventsConfig{TypePrefix: defaultTypePrefix},
		CorrelationHeader:   defaultCorrelationHeader,
		ServiceHeader:       defaultServiceHeader,
		ServiceName:         defaultServiceName,
		MaxEventsPerRequest: defaultMaxEvents,
		MaxNestingDepth:     defaultMaxNestingDepth,
		Redaction:           event.DefaultRedactionConfig(),

		MaxHeaderValueLength: defaultMaxHeaderValueLength,
		MaxValueLength:       event.DefaultMaxValueLength,
		BodyTimeout:          defaultBodyTimeout,
		MinBodyRate:          defaultMinBodyRate,
		TLSErrorLogInterval:  defaultTLSErrorLogInterval,
	}
}

// Validate checks the receiver's own keys; confighttp validates its own.
func (cfg *Config) Validate() error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	checkPath := func(key, p string) {
		switch {
		case p == "":
			fail("%s must not be empty", key)
		case !strings.HasPrefix(p, "/"):
			fail("%s %q must start with '/'", key, p)
		case strings.ContainsAny(p, "?# \t\r\n"):
			fail("%s %q must be a plain URL path (no query, fragment or spaces)", key, p)
		}
	}
	checkPath("path", cfg.Path)
	checkPath("health_path", cfg.HealthPath)
	if cfg.Path != "" && cfg.Path == cfg.HealthPath {
		fail("path and health_path must differ (both are %q)", cfg.Path)
	}
	checkHeader := func(key, h string) {
		if h != "" && !validHeaderName(h) {
			fail("%s %q is not a valid HTTP header name", key, h)
		}
	}
	checkHeader("correlation_header", cfg.CorrelationHeader)
	checkHeader("service_header", cfg.ServiceHeader)
	if strings.TrimSpace(cfg.ServiceName) == "" {
		fail("service_name must not be empty")
	}
	if cfg.MaxEventsPerRequest < 1 {
		fail("max_events_per_request must be at least 1, got %d", cfg.MaxEventsPerRequest)
	}
	if cfg.MaxNestingDepth < 1 || cfg.MaxNestingDepth > decode.MaxDepthLimit {
		fail("max_nesting_depth must be between 1 and %d, got %d", decode.MaxDepthLimit, cfg.MaxNestingDepth)
	}
	if cfg.ServerConfig.MaxRequestBodySize < 0 {
		fail("max_request_body_size must not be negative, got %d", cfg.ServerConfig.MaxRequestBodySize)
	}
	if cfg.MaxHeaderValueLength < 1 || cfg.MaxHeaderValueLength > maxHeaderValueLimit {
		fail("max_header_value_length must be between 1 and %d, got %d", maxHeaderValueLimit, cfg.MaxHeaderValueLength)
	}
	if cfg.MaxValueLength < minValueLength {
		fail("max_value_length must be at least %d, got %d", minValueLength, cfg.MaxValueLength)
	}
	if cfg.BodyTimeout < 0 {
		fail("body_timeout must not be negative, got %v", cfg.BodyTimeout)
	}
	if cfg.MinBodyRate < 0 {
		fail("min_body_rate must not be negative, got %d", cfg.MinBodyRate)
	}
	if cfg.TLSErrorLogInterval < 0 {
		fail("tls_error_log_interval must not be negative, got %v", cfg.TLSErrorLogInterval)
	}
	if err := cfg.Redaction.Validate(); err != nil {
		errs = append(errs, err)
	}
	if cfg.ServerConfig.NetAddr.Endpoint == "" {
		fail("endpoint must not be empty")
	}
	return errors.Join(errs...)
}

// Limits of max_header_value_length and max_value_length.
const (
	maxHeaderValueLimit = 8192
	minValueLength      = 64 // room for the truncation marker and a prefix
)

// validHeaderName reports whether h is an RFC 9110 token.
func validHeaderName(h string) bool {
	for i := 0; i < len(h); i++ {
		c := h[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return http.CanonicalHeaderKey(h) != ""
}

// Unmarshal rejects keys the config does not have (the squashed confighttp
// config would let a misspelled key through silently), then decodes.
func (cfg *Config) Unmarshal(conf *confmap.Conf) error {
	if err := confstrict.Check(conf, cfg); err != nil {
		return err
	}
	return conf.Unmarshal(cfg)
}
