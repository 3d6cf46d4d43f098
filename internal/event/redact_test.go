package event

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// styles writes a name of words in every case and separator style.
func styles(words ...string) []string {
	lower := make([]string, len(words))
	title := make([]string, len(words))
	upper := make([]string, len(words))
	for i, w := range words {
		lower[i] = w
		title[i] = strings.ToUpper(w[:1]) + w[1:]
		upper[i] = strings.ToUpper(w)
	}
	camel := lower[0] + strings.Join(title[1:], "")
	return []string{
		strings.Join(lower, "_"), strings.Join(lower, "-"), strings.Join(lower, "."),
		strings.Join(upper, "_"), strings.Join(upper, "-"), strings.Join(title, "-"),
		camel, strings.Join(title, ""), strings.Join(lower, ""), strings.Join(upper, ""),
		"x_" + strings.Join(lower, "_"), "X-" + strings.Join(title, "-"), "my" + strings.Join(title, ""),
	}
}

// Every name the issue lists, in every case and separator style, is
// sensitive with the default list.
func TestDefaultListCoversEveryStyle(t *testing.T) {
	r := NewRedactor(DefaultRedactionConfig())
	for _, words := range [][]string{
		{"api", "key"}, {"access", "key"}, {"private", "key"}, {"pass"}, {"pwd"},
		{"passphrase"}, {"bearer"}, {"jwt"}, {"auth"}, {"session", "id"}, {"card", "number"},
		{"cvv"}, {"password"}, {"secret"}, {"api", "token"}, {"authorization"}, {"cookie"},
		{"client", "secret"}, {"credentials"}, {"ssn"}, {"otp"}, {"salt"}, {"certificate"},
	} {
		for _, k := range styles(words...) {
			assert.True(t, r.Sensitive(k), "%q", k)
		}
	}
	assert.True(t, r.Sensitive("X-Api-Key"))
	assert.True(t, r.Sensitive("APIKey"))
	assert.True(t, r.Sensitive("Pass Phrase"))
	for _, k := range []string{
		"task_id", "task_name", "step_name", "passenger", "bypass_cache", "author", "keyboard_layout",
		"class_name", "className", "monkey", "compass", "sessions_count", "card", "number",
		"step_results", "correlation_id", "error_message",
	} {
		assert.False(t, r.Sensitive(k), "%q", k)
	}
}

func TestNormalKey(t *testing.T) {
	for in, want := range map[string]string{
		"apiKey": "_api_key_", "API_KEY": "_api_key_", "api-key": "_api_key_", "APIKey": "_api_key_",
		"X-Api-Key": "_x_api_key_", "__a__b__": "_a_b_", "sessionID": "_session_id_", "v2Token": "_v2_token_",
		"": "_", "-": "_", "naïveKey": "_naïve_key_",
	} {
		assert.Equal(t, want, normalKey(in, true), in)
	}
	assert.Equal(t, "_key_", normalKey("_key_", false))
	assert.Equal(t, "api_key", normalKey("apiKey", false))
}

func TestAllowAndExtraKeys(t *testing.T) {
	allow := NewRedactor(RedactionConfig{Enabled: true, ExtraKeys: []string{"customerId"}, AllowKeys: []string{"IDEMPOTENCY_KEY", "tokenCount"}})
	assert.True(t, allow.Sensitive("customer_id"))
	assert.True(t, allow.Sensitive("CUSTOMER-ID"))
	assert.False(t, allow.Sensitive("idempotency_key"))
	assert.False(t, allow.Sensitive("idempotencyKey"))
	assert.False(t, allow.Sensitive("token_count"))
	assert.True(t, allow.Sensitive("token_counts"), "allow_keys are whole names")
	assert.True(t, allow.Sensitive("api_key"))

	require.ErrorContains(t, RedactionConfig{Enabled: true, ExtraKeys: []string{"--"}}.Validate(), `redaction: empty key fragment "--"`)
}

func TestScrub(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://user:secret@db.internal:5432/app":      "postgres://user:[FILTERED]@db.internal:5432/app",
		"could not connect to mysql://root:hunter2@db/app": "could not connect to mysql://root:[FILTERED]@db/app",
		"a://b:c@d": "a://b:[FILTERED]@d",
		"redis://:p4ss@cache:6379 and amqp://u:v@mq/":        "redis://:[FILTERED]@cache:6379 and amqp://u:[FILTERED]@mq/",
		"Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig": "Authorization: Bearer [FILTERED]",
		"bearer abcdefgh":                     "bearer [FILTERED]",
		"BEARER  abcdefgh==, next":            "BEARER  [FILTERED], next",
		"Basic dXNlcjpwYXNz":                  "Basic [FILTERED]",
		"header=basic dXNlcjpwYXNz;":          "header=basic [FILTERED];",
		`{"h":"Bearer abcdefghij"}`:           `{"h":"Bearer [FILTERED]"}`,
		"https://user:pass@x Bearer 12345678": "https://user:[FILTERED]@x Bearer [FILTERED]",
	} {
		got, ok := Scrub(in)
		assert.True(t, ok, in)
		assert.Equal(t, want, got, in)
		again, changed := Scrub(got)
		assert.False(t, changed, "scrubbing is idempotent: %q", again)
	}
	for _, in := range []string{
		"https://example.com/path?q=1", "ssh://git@github.com/x.git", "user:pass@host", "http://a/b@c:d",
		"missing Bearer token", "basic validation failed", "Basic workflow", "a bearer of news", "subbearer abcdefghij",
		"short", "", "mailto:someone@example.com",
	} {
		got, ok := Scrub(in)
		assert.False(t, ok, in)
		assert.Equal(t, in, got)
	}
}

// RedactMap filters values under sensitive keys and scrubs credentials in
// other strings, at any depth.
func TestRedactMapScrubsValues(t *testing.T) {
	m := pcommon.NewMap()
	require.NoError(t, m.FromRaw(map[string]any{
		"apiKey": "k", "database_url": "postgres://user:secret@host/db",
		"headers": map[string]any{"X-Api-Key": "k2", "Via": "Bearer abcdefghijk"},
		"list":    []any{"Basic dXNlcjpwYXNz", "fine"},
	}))
	r := NewRedactor(DefaultRedactionConfig())
	assert.Equal(t, 5, r.RedactMap(m))
	assert.Equal(t, map[string]any{
		"apiKey": Filtered, "database_url": "postgres://user:[FILTERED]@host/db",
		"headers": map[string]any{"X-Api-Key": Filtered, "Via": "Bearer [FILTERED]"},
		"list":    []any{"Basic [FILTERED]", "fine"},
	}, m.AsRaw())
	assert.Equal(t, 0, r.RedactMap(m))
}

func TestTruncate(t *testing.T) {
	s, cut := Truncate("abcdef", 6)
	assert.False(t, cut)
	assert.Equal(t, "abcdef", s)
	s, cut = Truncate(strings.Repeat("a", 100), 20)
	assert.True(t, cut)
	assert.Equal(t, "aaaaaa"+Truncated, s)
	s, _ = Truncate(strings.Repeat("€", 10), 19) // 3 bytes each: the 5 bytes left would split one
	assert.Equal(t, "€"+Truncated, s)
	s, _ = Truncate("abcdef", 4)
	assert.Equal(t, "...[", s)
}

// Normalized attributes are bounded and, with a redactor, scrubbed.
func TestNormalizerBoundsAttributes(t *testing.T) {
	lr := plog.NewLogRecord()
	p := lr.Body().SetEmptyMap()
	p.PutInt(FieldTaskID, 1)
	p.PutStr(FieldTaskName, strings.Repeat("T", 1<<20))
	p.PutStr(FieldErrorMessage, "connect postgres://u:pw@h/db failed")
	n := Normalizer{Redactor: NewRedactor(DefaultRedactionConfig())}
	n.Normalize(lr, "task.failed")
	name, _ := lr.Attributes().Get(AttrTaskName)
	assert.Len(t, name.Str(), DefaultMaxValueLength)
	assert.True(t, strings.HasSuffix(name.Str(), Truncated))
	msg, _ := lr.Attributes().Get(AttrErrorMessage)
	assert.Equal(t, "connect postgres://u:[FILTERED]@h/db failed", msg.Str())
	assert.Equal(t, 1<<20, len(lr.Body().Map().AsRaw()[FieldTaskName].(string)), "the payload is left alone")

	n = Normalizer{MaxValueLength: 64, CorrelationID: strings.Repeat("c", 100)}
	lr2 := plog.NewLogRecord()
	lr2.Body().SetEmptyMap().PutInt(FieldTaskID, 2)
	n.Normalize(lr2, "task.completed")
	c, _ := lr2.Attributes().Get(AttrCorrelationID)
	assert.Len(t, c.Str(), 64)
}

func TestScrubSchemesInAnyCase(t *testing.T) {
	for in, want := range map[string]string{
		"auth: BeArEr abcdefghijkl":          "auth: BeArEr " + Filtered,
		"BASIC dXNlcjpwYXNz and more":        "BASIC " + Filtered + " and more",
		"rubber abcdefghijkl, cubic dXNlcjp": "rubber abcdefghijkl, cubic dXNlcjp",
		"xbearer abcdefghijkl":               "xbearer abcdefghijkl",
	} {
		if got, _ := Scrub(in); got != want {
			t.Errorf("Scrub(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestAtOrSpace checks the word-at-a-time search against IndexByte: one '@'
// or space at every place of values of every length from 8 to 40 bytes,
// among bytes that differ from them in one bit or by one (where a borrow
// or a case bit could fool it), and random bytes.
func TestAtOrSpace(t *testing.T) {
	fill := []byte{'!', '?', 'A', '`', 0xa0, 0xc0, 0x21, 0x1f, 0x41, 0x3f, 0x00, 0xff}
	rng := rand.New(rand.NewPCG(1, 2))
	check := func(v string) {
		t.Helper()
		at, space := atOrSpace(v)
		if at != (strings.IndexByte(v, '@') >= 0) || space != (strings.IndexByte(v, ' ') >= 0) {
			t.Fatalf("atOrSpace(%q) = %v, %v", v, at, space)
		}
	}
	for n := 8; n <= 40; n++ {
		b := make([]byte, n)
		for f := range fill {
			for i := range b {
				b[i] = fill[(f+i)%len(fill)]
			}
			check(string(b))
			for _, c := range []byte{'@', ' '} {
				for p := range b {
					old := b[p]
					b[p] = c
					check(string(b))
					b[p] = old
				}
			}
		}
		for range 200 {
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			check(string(b))
		}
	}
}
