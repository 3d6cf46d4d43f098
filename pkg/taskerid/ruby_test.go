package taskerid_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/otelcol-tasker/otelcol-tasker/pkg/taskerid"
)

const idsDoc = "../../docs/IDS.md"

// rubyHarness reads the vectors (as the JSON parser gives them: Integer,
// Float or String ids) and prints one computed id per line, in order.
const rubyHarness = `
require "json"
v = JSON.parse(File.read(ARGV[0]))
v["trace_ids"].each { |t| puts TaskerTraceIds.trace_id(t["task_id"], namespace: t["namespace"]) }
v["span_ids"].each do |s|
  puts case s["role"]
       when "task" then TaskerTraceIds.task_span_id(s["task_id"])
       when "step" then TaskerTraceIds.step_span_id(s["task_id"], s["step_id"], s["attempt"])
       when "handler" then TaskerTraceIds.handler_span_id(s["task_id"], s["step_id"], s["attempt"])
       when "db" then TaskerTraceIds.db_span_id(s["task_id"], s["step_id"], s["started_at"] || s["timestamp"], s["sql"])
       else raise "no check for role #{s["role"]}"
       end
end
traceparent = TaskerTraceIds.step_traceparent(42, 1006, 2, namespace: "prod")
puts traceparent
`

// The Ruby snippet of docs/IDS.md, run as written, gives every id of the
// test vectors. Skipped where ruby is not installed (.ci/run installs it).
func TestRubySnippetMatchesVectors(t *testing.T) {
	ruby, err := exec.LookPath("ruby")
	if err != nil {
		t.Skip("ruby is not installed")
	}
	doc, err := os.ReadFile(idsDoc)
	require.NoError(t, err)
	snippet := rubyBlock(t, string(doc), "# tasker_trace_ids.rb")
	script := filepath.Join(t.TempDir(), "ids.rb")
	require.NoError(t, os.WriteFile(script, []byte(snippet+rubyHarness), 0o600))

	vectorsPath, err := filepath.Abs(vectorsFile)
	require.NoError(t, err)
	var stderr bytes.Buffer
	cmd := exec.Command(ruby, script, vectorsPath)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, stderr.String())

	v := readVectors(t)
	var want []string
	for _, tv := range v.TraceIDs {
		want = append(want, tv.TraceID)
	}
	for _, sv := range v.SpanIDs {
		want = append(want, sv.SpanID)
	}
	sc := taskerid.StepParent("prod", "42", "1006", 2)
	want = append(want, "00-"+sc.TraceID().String()+"-"+sc.SpanID().String()+"-01")
	require.Equal(t, want, strings.Split(strings.TrimSuffix(string(out), "\n"), "\n"))
}

// rubyBlock is the fenced ruby block of doc whose first line is first.
func rubyBlock(t *testing.T, doc, first string) string {
	t.Helper()
	for _, part := range strings.Split(doc, "```ruby\n")[1:] {
		block, _, ok := strings.Cut(part, "```")
		if ok && strings.HasPrefix(block, first) {
			return block
		}
	}
	t.Fatalf("%s has no ruby block starting with %q", idsDoc, first)
	return ""
}
