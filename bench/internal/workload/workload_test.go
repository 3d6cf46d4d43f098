package workload

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strconv"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/otelcol-tasker/otelcol-tasker/internal/fixtures"
)

func TestBuildNDJSON(t *testing.T) {
	sum := fixtures.NativeSummary()
	set, err := Build(NDJSON, 1000)
	if err != nil {
		t.Fatal(err)
	}
	// lcm(646, 1000) = 323,000 events: 323 bodies, 500 copies of 20 tasks.
	if got := len(set.Templates); got != 323 {
		t.Fatalf("templates = %d, want 323", got)
	}
	if set.TasksPerPeriod != 500*sum.Tasks {
		t.Fatalf("tasks per period = %d, want %d", set.TasksPerPeriod, 500*sum.Tasks)
	}
	// Two periods: every task id is new in the second one, events of a task
	// keep one id across the bodies of a period, and names keep their counts.
	ids := map[int64]int{}
	names := map[string]int{}
	var buf []byte
	for seq := uint64(0); seq < 2*323; seq++ {
		var n int
		buf, n = set.Patch(buf, seq, 0)
		if n != 1000 {
			t.Fatalf("request %d carries %d events", seq, n)
		}
		lines := 0
		sc := bufio.NewScanner(bytes.NewReader(buf))
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			lines++
			var ev struct {
				Name    string `json:"name"`
				Payload struct {
					TaskID        *int64 `json:"task_id"`
					CorrelationID string `json:"correlation_id"`
				} `json:"payload"`
			}
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				t.Fatalf("request %d: %v: %s", seq, err, sc.Bytes())
			}
			names[ev.Name]++
			if ev.Payload.TaskID == nil {
				continue
			}
			id := *ev.Payload.TaskID
			if id < firstID || id >= firstID+2*int64(set.TasksPerPeriod) {
				t.Fatalf("task id %d out of range", id)
			}
			ids[id]++
			if c := ev.Payload.CorrelationID; c != "" && c[:4+idWidth] != "tsk_"+strconv.FormatInt(id, 10) {
				t.Fatalf("correlation id %q does not carry task id %d", c, id)
			}
		}
		if lines != 1000 {
			t.Fatalf("request %d has %d lines", seq, lines)
		}
	}
	if len(ids) != 2*set.TasksPerPeriod {
		t.Fatalf("distinct task ids = %d, want %d", len(ids), 2*set.TasksPerPeriod)
	}
	perTask := (sum.Events - sum.ByName["handler.registered"]) / sum.Tasks
	for id, n := range ids {
		// every task of the sample has at least its start, enqueue and end
		if n < 5 || n > 4*perTask {
			t.Fatalf("task %d has %d events", id, n)
		}
	}
	for name, want := range sum.ByName {
		if names[name] != 1000*want {
			t.Errorf("%s: %d events, want %d", name, names[name], 1000*want)
		}
	}
}

func TestBuildOTLPJSON(t *testing.T) {
	set, err := Build(OTLPJSON, 1000)
	if err != nil {
		t.Fatal(err)
	}
	body, n := set.Patch(nil, 323+5, 7)
	req := plogotlp.NewExportRequest()
	if err := req.UnmarshalJSON(body); err != nil {
		t.Fatal(err)
	}
	ld := req.Logs()
	if ld.LogRecordCount() != n || n != 1000 {
		t.Fatalf("records = %d, n = %d", ld.LogRecordCount(), n)
	}
	svc, _ := ld.ResourceLogs().At(0).Resource().Attributes().Get("service.name")
	if svc.Str() != ServiceName {
		t.Fatalf("service.name = %q", svc.Str())
	}
	lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	withTask := 0
	for i := 0; i < lrs.Len(); i++ {
		lr := lrs.At(i)
		if lr.EventName() == "" || lr.Timestamp() == 0 || lr.Body().Type() != pcommon.ValueTypeMap {
			t.Fatalf("record %d: name %q ts %d body %s", i, lr.EventName(), lr.Timestamp(), lr.Body().Type())
		}
		if !lr.TraceID().IsEmpty() || lr.Attributes().Len() != 0 {
			t.Fatalf("record %d is already normalized", i)
		}
		v, ok := lr.Body().Map().Get("task_id")
		if !ok {
			continue
		}
		withTask++
		if v.Type() != pcommon.ValueTypeInt {
			t.Fatalf("task_id is %s, want Int", v.Type())
		}
		// second period, id base 7
		lo := int64(firstID + 7 + set.TasksPerPeriod)
		if v.Int() < lo || v.Int() >= lo+int64(set.TasksPerPeriod) {
			t.Fatalf("task_id %d outside the second period", v.Int())
		}
	}
	if withTask == 0 {
		t.Fatal("no record carries a task id")
	}
}

func TestBuildRejectsNonsense(t *testing.T) {
	if _, err := Build(NDJSON, 0); err == nil {
		t.Fatal("batch 0 accepted")
	}
	if _, err := Build("xml", 10); err == nil {
		t.Fatal("format xml accepted")
	}
}
