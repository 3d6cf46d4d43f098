package event

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
)

func TestIsNormalized(t *testing.T) {
	rec := func(set func(lr plog.LogRecord)) plog.LogRecord {
		lr := plog.NewLogRecord()
		set(lr)
		return lr
	}
	cases := []struct {
		name string
		lr   plog.LogRecord
		want bool
	}{
		{"task id attribute", rec(func(lr plog.LogRecord) {
			lr.Attributes().PutStr(AttrTaskID, "1")
			lr.Body().SetEmptyMap().PutStr(FieldTaskID, "1")
		}), true},
		{"name only as attribute", rec(func(lr plog.LogRecord) {
			lr.Attributes().PutStr(AttrEventName, "handler.registered")
		}), false},
		{"task in map body", rec(func(lr plog.LogRecord) {
			lr.SetEventName("task.completed")
			lr.Body().SetEmptyMap().PutStr(FieldTaskID, "1")
		}), false},
		{"task in attributes", rec(func(lr plog.LogRecord) {
			lr.SetEventName("task.completed")
			lr.Attributes().PutInt(FieldTaskID, 1)
		}), false},
		{"event of no task", rec(func(lr plog.LogRecord) {
			lr.SetEventName("handler.registered")
			lr.Body().SetEmptyMap().PutStr("handler", "h")
		}), true},
	}
	for _, c := range cases {
		if got := IsNormalized(c.lr); got != c.want {
			t.Errorf("%s: IsNormalized = %v, want %v", c.name, got, c.want)
		}
	}
}
