// Package sink delivers encoded records to their destination: a file (with
// buffering and rotation), standard output, or an HTTP endpoint. Both the
// json and csv exporters use it, so the three destinations behave the same
// whatever the format.
package sink // import "github.com/otelcol-tasker/otelcol-tasker/internal/sink"

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Stdout is the path value that selects standard output.
const Stdout = "stdout"

// SignalPlaceholder in a path or endpoint is replaced by the signal name
// (traces, metrics or logs).
const SignalPlaceholder = "{signal}"

// Config is the file part of an exporter's configuration. The HTTP part is a
// confighttp.ClientConfig owned by the exporter.
type Config struct {
	// Path is the file written for every signal, or "stdout".
	Path string `mapstructure:"path"`
	// TracesPath, MetricsPath and LogsPath override Path for one signal.
	TracesPath  string `mapstructure:"traces_path"`
	MetricsPath string `mapstructure:"metrics_path"`
	LogsPath    string `mapstructure:"logs_path"`

	Rotation RotationConfig `mapstructure:"rotation"`

	// FlushInterval writes buffered records at least this often (0: no timer).
	FlushInterval time.Duration `mapstructure:"flush_interval"`
	// FlushThreshold writes as soon as this many records are buffered
	// (0 or 1: every export call is written at once).
	FlushThreshold int `mapstructure:"flush_threshold"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// RotationConfig controls when a file is moved aside and a new one started.
type RotationConfig struct {
	// MaxMegabytes rotates a file before it grows past this size (0: never).
	MaxMegabytes float64 `mapstructure:"max_megabytes"`
	// MaxAge rotates a file that has been written for longer than this (0: never).
	MaxAge time.Duration `mapstructure:"max_age"`
	// MaxBackups keeps at most this many rotated files, deleting the oldest (0: keep all).
	MaxBackups int `mapstructure:"max_backups"`
	// Compress gzips rotated files.
	Compress bool `mapstructure:"compress"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// Defaults used by both exporters.
const (
	DefaultFlushInterval  = time.Second
	DefaultFlushThreshold = 1000
	DefaultMaxMegabytes   = 100
)

// NewDefaultConfig returns the defaults: 1s / 1000 records flushing and
// 100 MB files, all rotated files kept, uncompressed.
func NewDefaultConfig() Config {
	return Config{
		FlushInterval:  DefaultFlushInterval,
		FlushThreshold: DefaultFlushThreshold,
		Rotation:       RotationConfig{MaxMegabytes: DefaultMaxMegabytes},
	}
}

// Check validates values that make no sense on their own. It is not named
// Validate so that the exporter's Validate reports these errors without the
// collector prefixing them with the embedded struct's name.
func (c *Config) Check() error {
	var errs []error
	if c.FlushInterval < 0 {
		errs = append(errs, errors.New("flush_interval must not be negative"))
	}
	if c.FlushThreshold < 0 {
		errs = append(errs, errors.New("flush_threshold must not be negative"))
	}
	if c.Rotation.MaxMegabytes < 0 {
		errs = append(errs, errors.New("rotation::max_megabytes must not be negative"))
	}
	if c.Rotation.MaxAge < 0 {
		errs = append(errs, errors.New("rotation::max_age must not be negative"))
	}
	if c.Rotation.MaxBackups < 0 {
		errs = append(errs, errors.New("rotation::max_backups must not be negative"))
	}
	return errors.Join(errs...)
}

// HasPath reports whether any file destination is configured.
func (c *Config) HasPath() bool {
	return c.Path != "" || c.TracesPath != "" || c.MetricsPath != "" || c.LogsPath != ""
}

// ValidateDestination checks that exactly one destination is configured:
// a path (file or stdout) or an HTTP endpoint.
func (c *Config) ValidateDestination(endpoint string) error {
	switch {
	case endpoint != "" && c.HasPath():
		return fmt.Errorf("endpoint and %s are both set: configure exactly one destination", c.pathKeys())
	case endpoint == "" && !c.HasPath():
		return errors.New("no destination: set path (a file or \"stdout\"), traces_path/metrics_path/logs_path, or endpoint")
	}
	return nil
}

func (c *Config) pathKeys() string {
	var keys []string
	for _, kv := range []struct{ key, val string }{
		{"path", c.Path}, {"traces_path", c.TracesPath}, {"metrics_path", c.MetricsPath}, {"logs_path", c.LogsPath},
	} {
		if kv.val != "" {
			keys = append(keys, kv.key)
		}
	}
	return strings.Join(keys, ", ")
}

// PathFor returns the file path for signal ("traces", "metrics", "logs"),
// with {signal} substituted, or "" when none is configured.
func (c *Config) PathFor(signal string) string {
	p := c.Path
	switch signal {
	case "traces":
		if c.TracesPath != "" {
			p = c.TracesPath
		}
	case "metrics":
		if c.MetricsPath != "" {
			p = c.MetricsPath
		}
	case "logs":
		if c.LogsPath != "" {
			p = c.LogsPath
		}
	}
	return SubstituteSignal(p, signal)
}

// SubstituteSignal replaces {signal} in s.
func SubstituteSignal(s, signal string) string {
	return strings.ReplaceAll(s, SignalPlaceholder, signal)
}
