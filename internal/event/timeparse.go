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
	y1, ok1 := num2(s, 0)
	y2, ok2 := num2(s, 2)
	month, ok3 := num2(s, 5)
	day, ok4 := num2(s, 8)
	hour, ok5 := num2(s, 11)
	minute, ok6 := num2(s, 14)
	sec, ok7 := num2(s, 17)
	year := y1*100 + y2
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) ||
		year < 1970 || year > 2261 || month < 1 || month > 12 || day < 1 || day > daysIn(month, year) ||
		hour > 23 || minute > 59 || sec > 59 {
		return 0, false
	}
	rest := s[19:]
	nsec := int64(0)
	if len(rest) > 0 && rest[0] == '.' {
		n, f := 1, 0
		for ; n < len(rest); n++ {
			c := rest[n] - '0'
			if c > 9 {
				break
			}
			f = f*10 + int(c)
		}
		if n == 1 || n > 10 {
			return 0, false // no digit, or more than nine
		}
		nsec = int64(f) * fracScale[n-1]
		rest = rest[n:]
	}
	offset := int64(0)
	switch {
	case rest == "Z":
	case len(rest) == len("+07:00") && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, ok1 := num2(rest, 1)
		om, ok2 := num2(rest, 4)
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

// num2 reads the two ASCII digits at s[i:i+2].
func num2(s string, i int) (int, bool) {
	a, b := s[i]-'0', s[i+1]-'0' // a byte below '0' wraps above 9
	return int(a)*10 + int(b), a <= 9 && b <= 9
}

// fracScale[d] turns d digits of a fraction of a second into nanoseconds.
var fracScale = [10]int64{0, 1e8, 1e7, 1e6, 1e5, 1e4, 1e3, 100, 10, 1}

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
