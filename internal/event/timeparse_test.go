package event

import (
	"math/rand/v2"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// parseTimeSlow is ParseTime as time.Parse alone gives it.
func parseTimeSlow(s string) (pcommon.Timestamp, bool) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if s == "" || err != nil {
		return 0, false
	}
	return pcommon.NewTimestampFromTime(t), true
}

func TestParseTimeAgreesWithTimeParse(t *testing.T) {
	cases := []string{
		"2025-11-25T19:46:40.131Z", "2025-11-25T19:46:40Z", "2025-11-25T19:46:40.000Z",
		"2025-11-25T19:46:40.123456789Z", "2025-11-25T19:46:40.1234567891Z", "2025-11-25T19:46:40.Z",
		"2025-11-25T19:46:40+01:00", "2025-11-25T19:46:40.5-07:30", "1970-01-01T00:00:00Z",
		"1969-12-31T23:59:59Z", "1970-01-01T00:00:00+00:01", "2262-04-11T23:47:16Z", "2261-12-31T23:59:59.999999999Z",
		"2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z", "2000-02-29T12:00:00Z", "1900-02-29T12:00:00Z",
		"2025-13-01T00:00:00Z", "2025-00-01T00:00:00Z", "2025-04-31T00:00:00Z", "2025-11-25T24:00:00Z",
		"2025-11-25T19:60:00Z", "2025-11-25T19:46:60Z", "2025-11-25t19:46:40Z", "2025-11-25T19:46:40z",
		"2025-11-25 19:46:40Z", "2025-11-25T19:46:40", "2025-11-25T19:46:40+0100", "2025-11-25T19:46:40+24:00",
		"2025-11-25T19:46:40+01:60", "+025-11-25T19:46:40Z", "2025-1-25T19:46:40Z", "", "x", "2025-11-25",
		"2025-11-25T19:46:40.131Z ", "２025-11-25T19:46:40Z",
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		tm := time.Unix(r.Int64N(300*365*86400), r.Int64N(1e9)).UTC()
		if r.IntN(2) == 0 {
			tm = tm.In(time.FixedZone("", (r.IntN(48)-24)*1800))
		}
		layout := []string{time.RFC3339, time.RFC3339Nano, "2006-01-02T15:04:05.000Z07:00", "2006-01-02T15:04:05.000000Z07:00"}[r.IntN(4)]
		cases = append(cases, tm.Format(layout))
	}
	for _, s := range cases {
		got, gotOK := ParseTime(s)
		want, wantOK := parseTimeSlow(s)
		if got != want || gotOK != wantOK {
			t.Fatalf("ParseTime(%q) = %d, %v; time.Parse gives %d, %v", s, got, gotOK, want, wantOK)
		}
	}
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2025-11-25T19:46:40.131Z", "2025-11-25T19:46:40+01:00", "2024-02-29T00:00:00.999999999-23:59"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, gotOK := ParseTime(s)
		want, wantOK := parseTimeSlow(s)
		if got != want || gotOK != wantOK {
			t.Fatalf("ParseTime(%q) = %d, %v; time.Parse gives %d, %v", s, got, gotOK, want, wantOK)
		}
	})
}

func BenchmarkParseTime(b *testing.B) {
	for _, s := range []string{"2025-11-25T19:46:40.131Z", "2025-11-25T19:46:40.131+01:00"} {
		b.Run(s, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ParseTime(s)
			}
		})
		b.Run(s+"/time.Parse", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				parseTimeSlow(s)
			}
		})
	}
}
