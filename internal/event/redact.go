package event

import (
	"bytes"
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-tasker/otelcol-tasker/internal/bounded"
)

// Filtered replaces the value of a sensitive key, or the secret part of a
// value that looks like a credential.
const Filtered = "[FILTERED]"

// DefaultSensitiveKeys is the default list of key fragments. A sidecar sees
// events from any service, not only Tasker, so the list is Tasker's (Rails')
// parameter filter plus the names other stacks give credentials. Keys and
// fragments are compared in a normal form that ignores case and separator
// style: words are split at '_', '-', '.', spaces and camelCase humps, and
// joined with '_' (apiKey, api-key, API_KEY and Api.Key are all api_key).
// A fragment matches anywhere in the key's normal form, which starts and
// ends with '_': so "_pass_" matches only the whole word pass (pass,
// db_pass, PASS) and not passenger, while "passw" matches inside any word.
var DefaultSensitiveKeys = []string{
	// Tasker's own filter list
	"passw", "secret", "token", "_key_", "api_key", "crypt", "salt",
	"certificate", "otp", "ssn", "authorization", "cookie",
	// the same secrets under the names other services use
	"_keys_", "apikey", "accesskey", "privatekey", "_pass_", "_pwd_",
	"passphrase", "credential", "bearer", "jwt", "_auth_",
	"session_id", "sessionid", "card_number", "cardnumber", "cvv",
}

// RedactionConfig says which parameter values are replaced with [FILTERED].
type RedactionConfig struct {
	// Enabled turns filtering on (the default).
	Enabled bool `mapstructure:"enabled"`
	// Keys replaces the default list of key fragments when set.
	Keys []string `mapstructure:"keys"`
	// ExtraKeys adds fragments to the list in use.
	ExtraKeys []string `mapstructure:"extra_keys"`
	// AllowKeys are key names that are never filtered, even when they
	// contain a fragment; compared in the same normal form.
	AllowKeys []string `mapstructure:"allow_keys"`
}

// DefaultRedactionConfig filters the default list.
func DefaultRedactionConfig() RedactionConfig { return RedactionConfig{Enabled: true} }

// Validate rejects empty fragments, which would filter every key.
func (c RedactionConfig) Validate() error {
	for _, list := range [][]string{c.Keys, c.ExtraKeys, c.AllowKeys} {
		for _, k := range list {
			if strings.Trim(normalKey(k, false), "_") == "" {
				return fmt.Errorf("redaction: empty key fragment %q (no letter or digit: it would match every key)", k)
			}
		}
	}
	return nil
}

// Redactor replaces the values of sensitive keys in maps, at any depth, and
// the secret part of values that look like credentials (see Scrub).
type Redactor struct {
	fragments [][]byte // normal form
	allow     []string // normal form, with its framing '_'

	// verdicts of keys met before: matching a key against every fragment
	// costs far more than a map lookup, and the same few dozen keys come
	// back in every event
	known *bounded.Cache[bool]
}

// maxKnownKeys bounds the verdicts a Redactor remembers.
const maxKnownKeys = 4096

// NewRedactor compiles a configuration; it returns nil when filtering is off.
func NewRedactor(c RedactionConfig) *Redactor {
	if !c.Enabled {
		return nil
	}
	base := c.Keys
	if len(base) == 0 {
		base = DefaultSensitiveKeys
	}
	r := &Redactor{known: bounded.NewCache[bool](maxKnownKeys)}
	for _, k := range append(append([]string{}, base...), c.ExtraKeys...) {
		r.fragments = append(r.fragments, []byte(normalKey(k, false)))
	}
	for _, k := range c.AllowKeys {
		r.allow = append(r.allow, normalKey(k, true))
	}
	return r
}

// Sensitive reports whether values under key must be filtered. Callers
// remember the verdict per key: it is computed once per distinct key.
func (r *Redactor) Sensitive(key string) bool {
	if r == nil {
		return false
	}
	if v, ok := r.known.Get(key); ok {
		return v
	}
	v := r.match(key)
	r.known.Put(key, v)
	return v
}

// match compares key, in normal form, with the fragments.
func (r *Redactor) match(key string) bool {
	var buf [96]byte
	k := appendNormalKey(buf[:0], key, true)
	for _, f := range r.fragments {
		if bytes.Contains(k, f) {
			for _, a := range r.allow {
				if string(k) == a {
					return false
				}
			}
			return true
		}
	}
	return false
}

// Scrub returns v with the secret parts of credential-looking values
// replaced (see Scrub), and whether it changed anything; v as it is when
// filtering is off.
func (r *Redactor) Scrub(v string) (string, bool) {
	if r == nil {
		return v, false
	}
	return Scrub(v)
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

// RedactValue filters maps inside v, and credentials inside its strings.
func (r *Redactor) RedactValue(v pcommon.Value) int {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		if s, ok := Scrub(v.Str()); ok {
			v.SetStr(s)
			return 1
		}
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

// normalKey returns the normal form of a key or fragment (appendNormalKey).
func normalKey(k string, frame bool) string {
	return string(appendNormalKey(nil, k, frame))
}

// appendNormalKey appends the normal form of k: its words in lower case
// joined by single '_'. Words end at any ASCII character that is not a
// letter or digit, and at camelCase humps (apiKey → api_key, APIKey →
// api_key). With frame, the form starts and ends with '_', so that a
// fragment can ask for a word boundary; without, a separator at either end
// of k is kept as one '_'.
func appendNormalKey(dst []byte, k string, frame bool) []byte {
	start := len(dst)
	sep := func() {
		if len(dst) > start && dst[len(dst)-1] != '_' {
			dst = append(dst, '_')
		}
	}
	if frame {
		dst = append(dst, '_')
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case 'A' <= c && c <= 'Z':
			if i > 0 {
				p := k[i-1]
				nextLower := i+1 < len(k) && 'a' <= k[i+1] && k[i+1] <= 'z'
				if 'a' <= p && p <= 'z' || '0' <= p && p <= '9' || 'A' <= p && p <= 'Z' && nextLower {
					sep()
				}
			}
			dst = append(dst, c+'a'-'A')
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c >= 0x80:
			dst = append(dst, c)
		default:
			if len(dst) == start { // a leading separator
				dst = append(dst, '_')
				continue
			}
			sep()
		}
	}
	if frame {
		sep()
	}
	return dst
}
