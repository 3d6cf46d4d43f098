package event // import "github.com/otelcol-tasker/otelcol-tasker/internal/event"

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// ParseTime reads an ISO-8601 / RFC 3339 time as Tasker writes it.
//
// Times in the shape Tasker writes (2025-11-25T19:46:40.131Z, or with a
// numeric offset) are read here without time.Parse, which builds a
// time.Time, normalizes it and, for an offset, looks up the local zone: it
// was about 80 ns a time, and the pipeline reads one or two per event. The
// result is time.Parse's, to the nanosecond (a test compares them); anything
// else goes to time.Parse.
func ParseTime(s string) (pcommon.Timestamp, bool) {
	if s == "" {
		return 0, false
	}
	if ts, ok := parseRFC3339(s); ok {
		return ts, true
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, false
	}
	return pcommon.NewTimestampFromTime(t), true
}

// parseRFC3339 reads YYYY-MM-DDTHH:MM:SS[.F{1,9}](Z|±HH:MM) of a year from
// 1970 to 2261 (Unix nanoseconds fit in an int64); ok is false for anything
// else, valid or not.
func parseRFC3339(s string) (pcommon.Timestamp, bool) {
	if len(s) < len("2006-01-02T15:04:05Z") || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return 0, false
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	hour, ok4 := digits(s[11:13])
	minute, ok5 := digits(s[14:16])
	sec, ok6 := digits(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) ||
		year < 1970 || year > 2261 || month < 1 || month > 12 || day < 1 || day > daysIn(month, year) ||
		hour > 23 || minute > 59 || sec > 59 {
		return 0, false
	}
	rest := s[19:]
	nsec := int64(0)
	if len(rest) > 0 && rest[0] == '.' {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 1 || n > 10 {
			return 0, false // no digit, or more than nine
		}
		f, _ := digits(rest[1:n])
		for i := n; i <= 9; i++ {
			f *= 10
		}
		nsec = int64(f)
		rest = rest[n:]
	}
	offset := int64(0)
	switch {
	case rest == "Z":
	case len(rest) == len("+07:00") && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, ok1 := digits(rest[1:3])
		om, ok2 := digits(rest[4:6])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return 0, false
		}
		offset = int64(oh*60+om) * 60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return 0, false
	}
	secs := daysSinceEpoch(year, month, day)*86400 + int64(hour*3600+minute*60+sec) - offset
	if secs < 0 {
		return 0, false // before 1970: time.Parse decides
	}
	return pcommon.Timestamp(secs*1e9 + nsec), true
}

// digits reads a run of ASCII digits (at most nine).
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysSinceEpoch is the number of days from 1970-01-01 to the date, in the
// proleptic Gregorian calendar (Hinnant's days_from_civil, for years ≥ 0).
func daysSinceEpoch(year, month, day int) int64 {
	y := int64(year)
	if month <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	m := int64(month)
	if m > 2 {
		m -= 3
	} else {
		m += 9
	}
	doy := (153*m+2)/5 + int64(day) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}
