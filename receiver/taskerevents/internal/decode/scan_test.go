package decode

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

// Every refusal of bad JSON says what is wrong and where: the byte offset
// of the bad byte in the body (a JSON array here), or its column in an
// NDJSON line.
func TestStrictJSON(t *testing.T) {
	const prefix = `[{"name":"x","payload":{}},{"name":"x","payload":`
	for _, tc := range []struct {
		payload string
		at      int // of the bad byte in the payload
		want    string
	}{
		{`{"a":1,}`, 7, `expected a member name (a string) after ',', found '}'`},
		{`{"a":1 "b":2}`, 7, `expected ',' or '}' after an object member, found '"'`},
		{`{"a" 1}`, 5, `expected ':' after a member name, found '1'`},
		{`{a:1}`, 1, `expected a member name (a string), found 'a'`},
		{`{'a':1}`, 1, `expected a member name (a string), found '\''`},
		{`{"a":[1,2,]}`, 10, `expected a value, found ']'`},
		{`{"a":[1 2]}`, 8, `expected ',' or ']' after an array element, found '2'`},
		{"{\"a\":\"x\ty\"}", 7, `control character 0x09 in a string (escape it)`},
		{`{"a":"\x"}`, 6, `invalid escape "\\x" in a string`},
		{`{"a":"\u12"}`, 6, `invalid escape "\\u12" in a string`},
		{`{"a":01}`, 5, `invalid number "01"`},
		{`{"a":-}`, 5, `invalid number "-"`},
		{`{"a":1.}`, 5, `invalid number "1."`},
		{`{"a":.5}`, 5, `invalid number ".5"`},
		{`{"a":+1}`, 5, `invalid number "+1"`},
		{`{"a":1e+}`, 5, `invalid number "1e+"`},
		{`{"a":NaN}`, 5, `invalid number "NaN"`},
		{`{"a":-Infinity}`, 5, `invalid number "-Infinity"`},
		{`{"a":0x1F}`, 5, `invalid number "0x1F"`},
		{`{"a":tru}`, 5, `invalid literal "tru"`},
		{`{"a":True}`, 5, `invalid literal "True"`},
		{`{"a":nulls}`, 5, `invalid literal "nulls"`},
		{`{"a":}`, 5, `expected a value, found '}'`},
	} {
		_, _, err := decodeOne(t, JSON, prefix+tc.payload+`}]`)
		require.Error(t, err, tc.payload)
		assert.EqualError(t, err, fmt.Sprintf("event 1: invalid JSON at byte offset %d: %s", len(prefix)+tc.at, tc.want), tc.payload)
	}

	_, _, err := decodeOne(t, NDJSON, "{\"name\":\"x\"}\n  {\"name\":\"x\",\"payload\":{\"a\":[1,]}}")
	assert.EqualError(t, err, `line 2: invalid JSON at column 33: expected a value, found ']'`)
	_, _, err = decodeOne(t, JSON, `{"name":"x","payload":{"a":"abc}}`)
	assert.EqualError(t, err, `event 0: invalid JSON at byte offset 27: unterminated string`)
	_, _, err = decodeOne(t, JSON, `{"name":"x","payload":{}} x`)
	assert.EqualError(t, err, `event 0: invalid JSON at byte offset 26: unexpected 'x' after the JSON value`)
	_, _, err = decodeOne(t, JSON, "{\"name\":\"x\",\"payload\":{}}\u00a0")
	assert.EqualError(t, err, `event 0: invalid JSON at byte offset 25: unexpected byte 0xc2 after the JSON value`)
	_, _, err = decodeOne(t, JSON, `{"name":"x","payload":{}`)
	assert.EqualError(t, err, `event 0: invalid JSON at byte offset 24: expected ',' or '}' after an object member, found end of input`)
}

// redacting is a decoder that filters sensitive values.
func redacting() *Decoder {
	return New(Options{Redactor: event.NewRedactor(event.DefaultRedactionConfig())})
}

// Members the decoder does not convert are validated all the same.
func TestIgnoredMembersAreValidated(t *testing.T) {
	for _, body := range []string{
		`{"name":"x","payload":{},"extra":01}`,
		`{"name":"x","payload":{},"extra":{"a":1,}}`,
		"{\"name\":\"x\",\"payload\":{\"password\":\"p\x01\"}}",
		`{"name":"x","payload":{"password":[1,]}}`,
		`{"specversion":"1.0","type":"t","payload":[1,]}`,
	} {
		_, _, err := redacting().Decode(Request{Format: JSON, Body: []byte(body)})
		assert.ErrorContains(t, err, "invalid JSON at byte offset", body)
	}
}

func TestStringEscapes(t *testing.T) {
	logs, _, err := decodeOne(t, JSON, `{"name":"x","payload":{
		"plain":"abcdefghijklmnopqrstuvwxyz0123456789",
		"escapes":"\"\\\/\b\f\n\r\t",
		"unicode":"\u00e9\u4e2d\ud83d\ude00",
		"lone high":"a\ud800b",
		"high then not low":"\ud800\u0041",
		"lone low":"\udc00",
		"high high low":"\ud800\ud83d\ude00",
		"nul":"\u0000",
		"long with escape":"0123456789abcdef0123456789\"0123456789abcdef0123456789"}}`)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{
		"plain":             "abcdefghijklmnopqrstuvwxyz0123456789",
		"escapes":           "\"\\/\b\f\n\r\t",
		"unicode":           "é中😀",
		"lone high":         "a\uFFFDb",
		"high then not low": "\uFFFDA",
		"lone low":          "\uFFFD",
		"high high low":     "\uFFFD😀",
		"nul":               "\x00",
		"long with escape":  `0123456789abcdef0123456789"0123456789abcdef0123456789`,
	}, firstBody(t, logs).AsRaw())
}

// Values outside the payload are bounded at the nesting the previous
// parser allowed; the payload at max_nesting_depth.
func TestNestingOutsideThePayload(t *testing.T) {
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	_, _, err := decodeOne(t, JSON, `{"name":"x","payload":{},"extra":`+deep(maxNesting-1)+`}`)
	require.NoError(t, err)
	_, _, err = decodeOne(t, JSON, `{"name":"x","payload":{},"extra":`+deep(maxNesting)+`}`)
	assert.EqualError(t, err, "event 0: payload nesting deeper than 32 levels (max_nesting_depth)")
	logs, _, err := redacting().Decode(Request{Format: JSON, Body: []byte(`{"name":"x","payload":{"password":` + deep(100) + `}}`)})
	require.NoError(t, err, "a redacted value is not converted")
	assert.Equal(t, map[string]any{"password": event.Filtered}, firstBody(t, logs).AsRaw())
}
