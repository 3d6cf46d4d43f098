package event

import "strings"

// SummarizeSQL reads the operation (SELECT, INSERT, …) and the main table of
// a SQL statement without a full parser: enough for span names and metric
// labels. Unknown shapes give an empty table; the operation is upper case and
// the table keeps any schema prefix but loses quotes.
func SummarizeSQL(sql string) (operation, table string) {
	rest := sql
	word, rest := nextWord(rest)
	switch {
	case strings.EqualFold(word, "WITH"):
		// a CTE: the operation is the statement after it; keep it simple
		return "WITH", ""
	case strings.EqualFold(word, "SELECT"):
		operation = "SELECT"
		table = wordAfter(rest, "FROM")
	case strings.EqualFold(word, "INSERT"):
		operation = "INSERT"
		table = wordAfter(rest, "INTO")
	case strings.EqualFold(word, "UPDATE"):
		operation = "UPDATE"
		table, _ = nextWord(rest)
	case strings.EqualFold(word, "DELETE"):
		operation = "DELETE"
		table = wordAfter(rest, "FROM")
	case word == "":
		return "", ""
	default:
		return strings.ToUpper(word), ""
	}
	return operation, unquote(table)
}

// nextWord returns the first run of non-space characters and what follows it.
func nextWord(s string) (string, string) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	j := i
	for j < len(s) && !isSpace(s[j]) && s[j] != '(' && s[j] != ';' && s[j] != ',' {
		j++
	}
	return s[i:j], s[j:]
}

// wordAfter returns the word that follows the first keyword kw in s.
func wordAfter(s, kw string) string {
	for s != "" {
		var w string
		w, s = nextWord(s)
		if w == "" {
			if s == "" {
				return ""
			}
			s = s[1:] // skip a delimiter
			continue
		}
		if strings.EqualFold(w, kw) {
			t, _ := nextWord(s)
			return t
		}
	}
	return ""
}

func unquote(t string) string {
	if strings.ContainsAny(t, "\"`[]") {
		return strings.NewReplacer("\"", "", "`", "", "[", "", "]", "").Replace(t)
	}
	return t
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
