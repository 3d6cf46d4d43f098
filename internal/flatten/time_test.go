package flatten

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

func TestAppendRFC3339MatchesTimeFormat(t *testing.T) {
	const layout = "2006-01-02T15:04:05.000000000Z07:00"
	times := []time.Time{
		time.Unix(0, 0), time.Unix(0, 1),
		time.Date(2000, 2, 29, 23, 59, 59, 999999999, time.UTC),
		time.Date(2100, 3, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2262, 4, 11, 23, 47, 16, 854775807, time.UTC),
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		times = append(times, time.Unix(0, r.Int64N(1<<62)))
	}
	for _, tm := range times {
		got := string(AppendRFC3339(nil, uint64(tm.UnixNano())))
		require.Equal(t, tm.UTC().Format(layout), got)
		back, err := time.Parse(time.RFC3339Nano, got)
		require.NoError(t, err)
		require.True(t, back.Equal(tm))
	}
}

func TestTimeFormats(t *testing.T) {
	ts := pcommon.Timestamp(1_700_000_000_123_456_789)
	assert.Equal(t, "2023-11-14T22:13:20.123456789Z", string(AppendTime(nil, ts, TimeRFC3339)))
	assert.Equal(t, "1700000000123456789", string(AppendTime(nil, ts, TimeUnixNano)))
	assert.Equal(t, `"2023-11-14T22:13:20.123456789Z"`, string(AppendJSONTime(nil, ts, TimeRFC3339)))
	assert.Equal(t, `null`, string(AppendJSONTime(nil, 0, TimeUnixNano)))

	var f TimeFormat
	require.NoError(t, f.UnmarshalText([]byte("unix_nano")))
	assert.Equal(t, TimeUnixNano, f)
	assert.ErrorContains(t, f.UnmarshalText([]byte("unix_ms")), `unknown time format "unix_ms"`)
}

func TestSelect(t *testing.T) {
	cols, err := Select(Logs, nil, []string{"body"}, map[string]string{"timestamp": "collected_at"}, true)
	require.NoError(t, err)
	var names []string
	for _, c := range cols {
		names = append(names, c.Out)
	}
	assert.Equal(t, []string{"collected_at", "observed_timestamp", "event_name", "severity", "severity_number",
		"trace_id", "span_id", "service_name", "attributes"}, names)

	_, err = Select(Traces, []string{"name", "body"}, nil, nil, true)
	assert.EqualError(t, err, `"body" is not a traces field`)
	cols, err = Select(Traces, []string{"name", "body"}, nil, nil, false)
	require.NoError(t, err)
	assert.Len(t, cols, 1)

	_, err = Select(Traces, []string{"name", "kind"}, nil, map[string]string{"kind": "name"}, true)
	assert.EqualError(t, err, `two traces fields would be written as "name"`)

	assert.EqualError(t, ValidateNames("include", []string{"name", "nope"}), `include: unknown field "nope"`)
	assert.EqualError(t, ValidateMapping("field_mapping", map[string]string{"name": ""}), `field_mapping: field "name" is mapped to an empty name`)
}
