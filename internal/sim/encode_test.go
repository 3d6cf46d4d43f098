// The encoders (NDJSON, log records) agree with each other and with Tasker's formats.

package sim

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

func TestEncodersAgree(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Tasks = 3
	g, err := New(cfg)
	require.NoError(t, err)
	ids := map[string]bool{}
	for {
		ev, ok := g.Next()
		if !ok {
			break
		}
		var native struct {
			Name      string         `json:"name"`
			Timestamp string         `json:"timestamp"`
			Payload   map[string]any `json:"payload"`
		}
		require.NoError(t, json.Unmarshal(AppendNative(nil, ev), &native))

		var flat map[string]any
		require.NoError(t, json.Unmarshal(AppendFlat(nil, ev), &flat))
		assert.Equal(t, native.Name, flat["name"])
		delete(flat, "name")
		assert.Equal(t, native.Payload, flat)

		var ce map[string]any
		require.NoError(t, json.Unmarshal(Encoder{Format: FormatCloudEvents}.Append(nil, ev), &ce))
		assert.Equal(t, "1.0", ce["specversion"])
		assert.Equal(t, "dev.tasker."+native.Name, ce["type"])
		assert.Equal(t, DefaultCloudEventsSource, ce["source"])
		assert.Equal(t, native.Timestamp, ce["time"])
		assert.Equal(t, native.Payload, ce["data"])
		id := ce["id"].(string)
		assert.Regexp(t, `^[0-9a-f]{32}$`, id)
		assert.False(t, ids[id], "CloudEvents ids are unique")
		ids[id] = true
	}
}

func TestJSONEscaping(t *testing.T) {
	s := "quote\" backslash\\ newline\n tab\t ctrl\x01 utf8 é \xff end"
	b := AppendObject(nil, []Field{{Key: "k\"", Val: Str(s)}, {Key: "f", Val: Float(2)}, {Key: "n", Val: Null()}})
	require.True(t, json.Valid(b), string(b))
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	assert.Equal(t, strings.ToValidUTF8(s, "\ufffd"), m["k\""])
	assert.Contains(t, string(b), `"f":2.0`, "whole floats stay floats")
	assert.Nil(t, m["n"])
}

// TestLogRecordNormalizes: records built in-process carry what the shared
// normalization needs.
func TestLogRecordNormalizes(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Tasks = 1
	g, err := New(cfg)
	require.NoError(t, err)
	lrs := plog.NewLogRecordSlice()
	for {
		ev, ok := g.Next()
		if !ok {
			break
		}
		lr := AppendLogRecord(lrs, ev)
		event.Normalize(lr, ev.Name, "", pcommon.NewTimestampFromTime(time.Now()))
		assert.Equal(t, pcommon.Timestamp(ev.Time*1e6), lr.Timestamp())
		if ev.TaskID != 0 {
			v, ok := lr.Attributes().Get(event.AttrTaskID)
			require.True(t, ok)
			assert.Equal(t, strconv.FormatInt(ev.TaskID, 10), v.Str())
			assert.Equal(t, event.TraceID("", v.Str()), lr.TraceID())
		}
	}
	assert.Equal(t, int(g.Stats().Events), lrs.Len())
	body := lrs.At(lrs.Len() - 1).Body().Map()
	v, _ := body.Get("total_execution_duration")
	assert.Equal(t, pcommon.ValueTypeDouble, v.Type())
}

func TestAppendTime(t *testing.T) {
	for _, ms := range []int64{0, 1, 951782400000, 951868800123, 1764099999999, 1764100000000, 4102444800000, 253402300799999, 253402300800000, -1} {
		want := time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
		assert.Equal(t, want, FormatTime(ms), ms)
	}
	for ms := int64(0); ms < 4102444800000; ms += 86399999 * 7 {
		require.Equal(t, time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z"), FormatTime(ms), ms)
	}
}
