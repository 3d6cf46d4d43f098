package flatten

import (
	"encoding/json"
	"math"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	cases := []string{
		"", "plain", `quote " backslash \ slash /`, "ctl \x00\x01\x1f\x7f", "nl\n cr\r tab\t",
		"héllo ✓ 日本", "line sep \u2028 para \u2029", "bad utf8 \xff\xfe end", "<html>&amp;",
	}
	for _, s := range cases {
		got := AppendString(nil, s)
		var back string
		require.NoError(t, json.Unmarshal(got, &back), "output %s", got)
		want := s
		if !utf8.ValidString(s) {
			// encoding/json replaces invalid UTF-8 the same way.
			b, _ := json.Marshal(s)
			require.NoError(t, json.Unmarshal(b, &want))
		}
		assert.Equal(t, want, back)
	}
}

func TestAppendFloat(t *testing.T) {
	for _, f := range []float64{0, -3, 1.5, -0.25, 1e-7, 1.5e-9, 1e21, 123456789.125, math.MaxFloat64, math.SmallestNonzeroFloat64} {
		want, err := json.Marshal(f)
		require.NoError(t, err)
		assert.Equal(t, string(want), string(AppendFloat(nil, f)))
	}
	assert.Equal(t, `"NaN"`, string(AppendFloat(nil, math.NaN())))
	assert.Equal(t, `"+Inf"`, string(AppendFloat(nil, math.Inf(1))))
	assert.Equal(t, `"-Inf"`, string(AppendFloat(nil, math.Inf(-1))))
	assert.Equal(t, `-Inf`, string(AppendNumber(nil, math.Inf(-1))))
}

func TestAppendValueRoundTrip(t *testing.T) {
	m := pcommon.NewMap()
	m.PutStr("s", "x\"y")
	m.PutInt("i", -9007199254740993)
	m.PutDouble("d", 2.5)
	m.PutBool("b", true)
	m.PutEmptyBytes("raw").FromRaw([]byte{0, 255})
	m.PutEmpty("nil")
	inner := m.PutEmptyMap("m")
	inner.PutEmptySlice("l").AppendEmpty().SetStr("deep")
	got := AppendMap(nil, m, nil)

	want, err := json.Marshal(m.AsRaw())
	require.NoError(t, err)
	assert.JSONEq(t, string(want), string(got))
	assert.Contains(t, string(got), `"i":-9007199254740993`, "ints keep full precision")

	skipped := AppendMap(nil, m, func(k string) bool { return k == "s" || k == "m" })
	var back map[string]any
	require.NoError(t, json.Unmarshal(skipped, &back))
	assert.NotContains(t, back, "s")
	assert.NotContains(t, back, "m")
	assert.Contains(t, back, "i")
}
