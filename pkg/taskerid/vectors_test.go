package taskerid_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
	"github.com/otelcol-tasker/otelcol-tasker/pkg/taskerid"
)

const vectorsFile = "../../docs/ids-test-vectors.json"

// vectors is docs/ids-test-vectors.json. Ids are kept as JSON numbers or
// strings, as an event payload carries them.
type vectors struct {
	Description string `json:"description"`
	TraceIDs    []struct {
		Name       string `json:"name"`
		Namespace  string `json:"namespace"`
		RawTaskID  any    `json:"task_id"`
		TaskIDText string `json:"task_id_text"`
		Input      string `json:"input"`
		TraceID    string `json:"trace_id"`
	} `json:"trace_ids"`
	SpanIDs []struct {
		Name       string        `json:"name"`
		Role       taskerid.Role `json:"role"`
		RawTaskID  any           `json:"task_id"`
		TaskIDText string        `json:"task_id_text"`
		RawStepID  any           `json:"step_id"`
		StepIDText string        `json:"step_id_text"`
		StartedAt  string        `json:"started_at"`
		Timestamp  string        `json:"timestamp"`
		SQL        string        `json:"sql"`
		EntityID   string        `json:"entity_id"`
		Attempt    int64         `json:"attempt"`
		Input      string        `json:"input"`
		SpanID     string        `json:"span_id"`
	} `json:"span_ids"`
}

func readVectors(t *testing.T) vectors {
	t.Helper()
	raw, err := os.ReadFile(vectorsFile)
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	var v vectors
	require.NoError(t, dec.Decode(&v))
	require.Len(t, v.TraceIDs, 12)
	require.Len(t, v.SpanIDs, 11)
	return v
}

// payloadValue is a JSON id as the receiver decodes it: integers that fit
// int64 are Int, other numbers Double, strings Str.
func payloadValue(t *testing.T, v any) pcommon.Value {
	t.Helper()
	switch x := v.(type) {
	case json.Number:
		if !strings.ContainsAny(string(x), ".eE") {
			n, err := strconv.ParseInt(string(x), 10, 64)
			require.NoError(t, err)
			return pcommon.NewValueInt(n)
		}
		f, err := strconv.ParseFloat(string(x), 64)
		require.NoError(t, err)
		return pcommon.NewValueDouble(f)
	case string:
		return pcommon.NewValueStr(x)
	}
	t.Fatalf("id %v is neither a number nor a string", v)
	return pcommon.Value{}
}

// The vectors' inputs are what their ids hash, and the ids and renderings
// are the package's and the collector's: taskerid for the hashes,
// event.IDString for the ids' text, and the normalizer for the ids an
// event record gets.
func TestVectorsTraceIDs(t *testing.T) {
	for _, v := range readVectors(t).TraceIDs {
		t.Run(v.Name, func(t *testing.T) {
			require.Equal(t, v.TaskIDText, event.IDString(payloadValue(t, v.RawTaskID)))
			got := taskerid.TraceID(v.Namespace, v.TaskIDText)
			require.Equal(t, v.TraceID, hex.EncodeToString(got[:]))
			if v.Input != "" {
				require.Equal(t, v.Input, "tasker/trace/"+nsPrefix(v.Namespace)+v.TaskIDText)
				require.Equal(t, v.TraceID, sha256Hex(v.Input)[:32])
			}

			lr := plog.NewLogRecord()
			body := lr.Body().SetEmptyMap()
			payloadValue(t, v.RawTaskID).CopyTo(body.PutEmpty("task_id"))
			event.Normalize(lr, "task.completed", v.Namespace, 1)
			tid := lr.TraceID()
			require.Equal(t, v.TraceID, hex.EncodeToString(tid[:]))
		})
	}
}

func TestVectorsSpanIDs(t *testing.T) {
	for _, v := range readVectors(t).SpanIDs {
		t.Run(v.Name, func(t *testing.T) {
			require.Equal(t, v.TaskIDText, event.IDString(payloadValue(t, v.RawTaskID)))
			require.Equal(t, v.Input, string(v.Role)+"/"+v.TaskIDText+"/"+v.EntityID+"/"+strconv.FormatInt(v.Attempt, 10))
			require.Equal(t, v.SpanID, sha256Hex(v.Input)[:16])
			generic := taskerid.SpanID(v.Role, v.TaskIDText, v.EntityID, v.Attempt)
			require.Equal(t, v.SpanID, hex.EncodeToString(generic[:]))

			task, step := v.TaskIDText, v.StepIDText
			if v.RawStepID != nil {
				require.Equal(t, step, event.IDString(payloadValue(t, v.RawStepID)))
			}
			var got [8]byte
			payload := map[string]pcommon.Value{"task_id": payloadValue(t, v.RawTaskID)}
			name := "task.completed"
			switch v.Role {
			case taskerid.RoleTask:
				got = taskerid.TaskSpanID(task)
			case taskerid.RoleStep:
				got = taskerid.StepSpanID(task, step, v.Attempt)
				payload["step_id"] = payloadValue(t, v.RawStepID)
				payload["attempt_number"] = pcommon.NewValueInt(v.Attempt)
				name = "step.completed"
			case taskerid.RoleHandler:
				got = taskerid.HandlerSpanID(task, step, v.Attempt)
				name = "" // the collector makes handler spans from step events: no record of their own
			case taskerid.RoleDB:
				got = taskerid.DBSpanID(task, step, firstNonEmpty(v.StartedAt, v.Timestamp), v.SQL)
				payload["step_id"] = payloadValue(t, v.RawStepID)
				payload["sql"] = pcommon.NewValueStr(v.SQL)
				if v.StartedAt != "" {
					payload["started_at"] = pcommon.NewValueStr(v.StartedAt)
				}
				if v.Timestamp != "" {
					payload["timestamp"] = pcommon.NewValueStr(v.Timestamp)
				}
				name = "database.query_executed"
			default:
				t.Fatalf("role %q has no vector check", v.Role)
			}
			require.Equal(t, v.SpanID, hex.EncodeToString(got[:]))

			if name != "" {
				lr := plog.NewLogRecord()
				body := lr.Body().SetEmptyMap()
				for k, val := range payload {
					val.CopyTo(body.PutEmpty(k))
				}
				event.Normalize(lr, name, "", 1)
				sid := lr.SpanID()
				require.Equal(t, v.SpanID, hex.EncodeToString(sid[:]))
			}
		})
	}
}

func nsPrefix(ns string) string {
	if ns == "" {
		return ""
	}
	return ns + "/"
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
