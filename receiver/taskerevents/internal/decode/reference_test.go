package decode

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// refMaxDepth is the max_nesting_depth of the reference fuzz test: small, so
// that the limit is often met.
const refMaxDepth = 6

// reference decodes data as the decoder must, with encoding/json only: ok
// is whether the decoder must accept data as a payload (valid JSON, an
// object, nested at most refMaxDepth levels, numbers within float64), and
// body what it must produce then. comparable is false when body cannot
// stand for the decoder's output (see canonical).
func reference(data []byte) (body pcommon.Map, ok, comparable bool) {
	if !json.Valid(data) {
		return pcommon.Map{}, false, false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		panic(err) // json.Valid said yes
	}
	m, isObject := v.(map[string]any)
	if !isObject || depth(v) > refMaxDepth {
		return pcommon.Map{}, false, false
	}
	raw, inRange, comparable := documented(m)
	if !inRange {
		return pcommon.Map{}, false, false
	}
	body = pcommon.NewMap()
	if err := body.FromRaw(raw.(map[string]any)); err != nil {
		panic(err)
	}
	return body, true, comparable
}

// duplicateKeys reports whether an object of the valid JSON data has two
// members of one name.
func duplicateKeys(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type level struct {
		object bool
		names  map[string]bool
		key    bool // the next token of an object is a member name
	}
	var stack []level
	for {
		tok, err := dec.Token()
		if err != nil {
			return false // the end (data is valid)
		}
		if n := len(stack); n > 0 && stack[n-1].object {
			top := &stack[n-1]
			if d, isDelim := tok.(json.Delim); !(isDelim && d == '}') {
				if top.key {
					name := tok.(string)
					if top.names[name] {
						return true
					}
					top.names[name] = true
					top.key = false
					continue
				}
				top.key = true // this token starts the member's value
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, level{object: true, names: map[string]bool{}, key: true})
		case json.Delim('['):
			stack = append(stack, level{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
	}
}

// depth is the nesting level of the deepest container in v, v being 1.
func depth(v any) int {
	d := 0
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			d = max(d, depth(e))
		}
	case []any:
		for _, e := range x {
			d = max(d, depth(e))
		}
	default:
		return 0
	}
	return d + 1
}

// documented maps a value decoded with UseNumber to the types the package
// documents: integers that fit int64 are int64, other numbers float64 (one
// beyond float64 is refused: inRange false), null an empty value. Strings
// are made canonical; comparable is false if that merged two member names.
func documented(v any) (out any, inRange, comparable bool) {
	inRange, comparable = true, true
	switch x := v.(type) {
	case json.Number:
		s := string(x)
		if !strings.ContainsAny(s, ".eE") {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return n, true, true
			}
		}
		f, err := strconv.ParseFloat(s, 64)
		return f, err == nil, true
	case string:
		return canonical(x), true, true
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			c, r, cmp := documented(e)
			if _, dup := m[canonical(k)]; dup {
				comparable = false
			}
			m[canonical(k)] = c
			inRange, comparable = inRange && r, comparable && cmp
		}
		return m, inRange, comparable
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			c, r, cmp := documented(e)
			s[i] = c
			inRange, comparable = inRange && r, comparable && cmp
		}
		return s, inRange, comparable
	}
	return v, true, true
}

// canonical collapses runs of U+FFFD: encoding/json replaces each byte of
// invalid UTF-8 with one, the decoder each run of them (as
// strings.ToValidUTF8 does).
func canonical(s string) string {
	if !strings.Contains(s, "\uFFFD\uFFFD") {
		return s
	}
	var b strings.Builder
	prev := false
	for _, r := range s {
		if r == utf8.RuneError && prev {
			continue
		}
		prev = r == utf8.RuneError
		b.WriteRune(r)
	}
	return b.String()
}

// canonicalMap returns m with canonical strings, as documented makes them,
// and whether that merged no member names.
func canonicalMap(m pcommon.Map) (pcommon.Map, bool) {
	out := pcommon.NewMap()
	raw, _, comparable := documented(m.AsRaw()) // numbers are int64 and float64 already
	if err := out.FromRaw(raw.(map[string]any)); err != nil {
		panic(err)
	}
	return out, comparable
}

// FuzzAgainstEncodingJSON checks the decoder against encoding/json: a
// payload is accepted if and only if it is valid JSON (json.Valid), an
// object and within the nesting limit (numbers within float64), and then
// decodes to what encoding/json (UseNumber) gives, mapped to the documented
// types. The payload comes as the data of a binary-mode CloudEvent, and as
// the payload of a native event.
func FuzzAgainstEncodingJSON(f *testing.F) {
	for _, s := range []string{
		`{}`, ` { } `, `{"a":1}`, `{"a":1,"a":2}`, `{"a":[1,2,{"b":null}],"c":true,"d":false}`,
		`{"s":"\u00e9\ud83d\ude00\n\t\"\\\/\b\f\r"}`, `{"s":"\ud800"}`, `{"s":"\ud800\u0041"}`, `{"s":"\udc00\ud800\udc00"}`,
		"{\"s\":\"a\xff\xfeb\",\"k\xc3\":1}", `{"n":[0,-0,1.5,-1e-7,1E+2,9223372036854775807,9223372036854775808,-9223372036854775809,1e308,1e309,1e-400]}`,
		`{"d":{"d":{"d":{"d":{"d":{}}}}}}`, `{"d":{"d":{"d":{"d":{"d":{"d":{}}}}}}}`, `{"d":[[[[[1]]]]]}`, `{"d":[[[[[[]]]]]]}`,
		`{"a":1,}`, `{"a":1 "b":2}`, `{"a" 1}`, `{a:1}`, `{'a':1}`, "{\"a\":\"\x01\"}", `{"a":"\x"}`, `{"a":01}`, `{"a":1.}`, `{"a":.5}`,
		`{"a":+1}`, `{"a":NaN}`, `{"a":Infinity}`, `{"a":-Infinity}`, `{"a":tru}`, `{"a":nulll}`, `{"a":1}x`, `{"a":1}}`, `{"a":[1,]}`,
		`[1]`, `"s"`, `1`, `null`, ``, ` `, `{`, `{"a":"`, `{"a":"\u12"}`, `{"password":{"x":[1,2]}}`, `{"name":"x","payload":{}}`,
		`{"s":"` + strings.Repeat("x", 40) + `\"` + strings.Repeat("y", 9) + `"}`,
	} {
		f.Add([]byte(s))
	}
	for _, line := range strings.Split(string(fixture(f, "sample-native.ndjson")), "\n")[:40] {
		if i := strings.Index(line, `"payload":`); i > 0 {
			f.Add([]byte(line[i+len(`"payload":`) : len(line)-1]))
		}
	}
	d := New(Options{MaxDepth: refMaxDepth})
	binary := Binary{SpecVersion: "1.0", Type: "t", Source: "s"}
	f.Fuzz(func(t *testing.T, data []byte) {
		want, ok, comparable := reference(data)
		empty := len(bytes.TrimSpace(data)) == 0

		check := func(how string, body []byte, format Format) {
			logs, n, err := d.Decode(Request{Format: format, Body: body, Binary: binary})
			if err != nil {
				var de *Error
				if !errors.As(err, &de) {
					t.Fatalf("%s: error of type %T: %v", how, err, err)
				}
				// A member that a later one of the same name replaces
				// is still converted, and may be refused for its depth
				// or its range where encoding/json, which keeps only the
				// last, sees nothing wrong.
				if ok && !duplicateKeys(data) {
					t.Fatalf("%s: refused valid %q: %v", how, data, err)
				}
				return
			}
			if !ok && !(empty && format == BinaryCloudEvent) {
				t.Fatalf("%s: accepted %q, which encoding/json says is no valid payload", how, data)
			}
			if n != 1 || logs.LogRecordCount() != 1 {
				t.Fatalf("%s: %d events, %d records", how, n, logs.LogRecordCount())
			}
			got := logs.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().Map()
			if !ok {
				if got.Len() != 0 {
					t.Fatalf("%s: empty data decoded to %v", how, got.AsRaw())
				}
				return
			}
			if got, same := canonicalMap(got); comparable && same && !got.Equal(want) {
				t.Fatalf("%s: %q\ndecoded   %v\nreference %v", how, data, got.AsRaw(), want.AsRaw())
			}
		}
		check("binary CloudEvent data", data, BinaryCloudEvent)
		if json.Valid(data) {
			check("native payload", append(append([]byte(`{"name":"n","payload":`), data...), '}'), JSON)
		}
	})
}
