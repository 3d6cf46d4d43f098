package event

import (
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Filtered replaces the value of a sensitive key.
const Filtered = "[FILTERED]"

// DefaultSensitiveKeys is Tasker's own parameter filter list plus a few that
// web payloads often carry. A key matches when it contains one of these,
// ignoring case.
var DefaultSensitiveKeys = []string{
	"passw", "secret", "token", "_key", "api_key", "crypt", "salt",
	"certificate", "otp", "ssn", "authorization", "cookie",
}

// RedactionConfig says which parameter values are replaced with [FILTERED].
type RedactionConfig struct {
	// Enabled turns filtering on (the default).
	Enabled bool `mapstructure:"enabled"`
	// Keys replaces the default list of key fragments when set.
	Keys []string `mapstructure:"keys"`
	// ExtraKeys adds fragments to the list in use.
	ExtraKeys []string `mapstructure:"extra_keys"`
	// AllowKeys are exact key names (ignoring case) that are never filtered,
	// even when they contain a fragment.
	AllowKeys []string `mapstructure:"allow_keys"`
}

// DefaultRedactionConfig filters the default list.
func DefaultRedactionConfig() RedactionConfig { return RedactionConfig{Enabled: true} }

// Validate rejects empty fragments, which would filter every key.
func (c RedactionConfig) Validate() error {
	for _, list := range [][]string{c.Keys, c.ExtraKeys, c.AllowKeys} {
		for _, k := range list {
			if strings.TrimSpace(k) == "" {
				return fmt.Errorf("redaction: empty key fragment (it would match every key)")
			}
		}
	}
	return nil
}

// Redactor replaces the values of sensitive keys in maps, at any depth.
type Redactor struct {
	fragments []string // lower case
	allow     []string // lower case
}

// NewRedactor compiles a configuration; it returns nil when filtering is off.
func NewRedactor(c RedactionConfig) *Redactor {
	if !c.Enabled {
		return nil
	}
	base := c.Keys
	if len(base) == 0 {
		base = DefaultSensitiveKeys
	}
	r := &Redactor{}
	for _, k := range append(append([]string{}, base...), c.ExtraKeys...) {
		r.fragments = append(r.fragments, strings.ToLower(k))
	}
	for _, k := range c.AllowKeys {
		r.allow = append(r.allow, strings.ToLower(k))
	}
	return r
}

// Sensitive reports whether values under key must be filtered.
func (r *Redactor) Sensitive(key string) bool {
	if r == nil {
		return false
	}
	for _, f := range r.fragments {
		if containsFold(key, f) {
			for _, a := range r.allow {
				if len(a) == len(key) && containsFold(key, a) {
					return false
				}
			}
			return true
		}
	}
	return false
}

// RedactMap filters m in place, descending into nested maps and slices, and
// returns how many values it replaced.
func (r *Redactor) RedactMap(m pcommon.Map) int {
	if r == nil {
		return 0
	}
	n := 0
	m.Range(func(k string, v pcommon.Value) bool {
		if r.Sensitive(k) {
			if !(v.Type() == pcommon.ValueTypeStr && v.Str() == Filtered) {
				v.SetStr(Filtered)
				n++
			}
			return true
		}
		n += r.RedactValue(v)
		return true
	})
	return n
}

// RedactValue filters maps inside v.
func (r *Redactor) RedactValue(v pcommon.Value) int {
	switch v.Type() {
	case pcommon.ValueTypeMap:
		return r.RedactMap(v.Map())
	case pcommon.ValueTypeSlice:
		n := 0
		s := v.Slice()
		for i := 0; i < s.Len(); i++ {
			n += r.RedactValue(s.At(i))
		}
		return n
	}
	return 0
}

// containsFold reports whether s contains the lower-case ASCII fragment sub,
// ignoring the case of s, without allocating.
func containsFold(s, sub string) bool {
	n := len(sub)
	if n == 0 {
		return true
	}
	for i := 0; i+n <= len(s); i++ {
		j := 0
		for ; j < n; j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != sub[j] {
				break
			}
		}
		if j == n {
			return true
		}
	}
	return false
}
