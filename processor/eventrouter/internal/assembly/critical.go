package assembly // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/assembly"

import (
	"math"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Attributes of a completed task span that describe where its time went.
const (
	AttrCriticalPath      = "tasker.task.critical_path"       // step names of the critical path, in order
	AttrCriticalPathShare = "tasker.task.critical_path.share" // the path's working time over the task's duration
)

// criticalPath returns the task's critical path: the chain of step attempts
// that decided when the task could end. It starts from the attempt that
// ended last and walks back, each time to the attempt that ended last
// before the current one started: a step runs once the steps it depends on
// ended (Tasker discovers a step as viable, in a batch, when they did), so
// the latest-ending one before it is the one it waited for. Retries of a
// step chain the same way, an attempt after the one that failed. Only
// complete attempts count; ties go to the longer attempt, then the smaller
// span id. The result, in order, is in a.path.
func (a *Assembler) criticalPath(steps []*span) []*span {
	path := a.path[:0]
	var cur *span
	for _, sp := range steps {
		if isComplete(sp) && (cur == nil || later(sp, cur)) {
			cur = sp
		}
	}
	for cur != nil {
		path = append(path, cur)
		var prev *span
		for _, sp := range steps {
			// strictly earlier starts: the walk always ends
			if !isComplete(sp) || sp.end > cur.start || sp.start >= cur.start {
				continue
			}
			if prev == nil || later(sp, prev) {
				prev = sp
			}
		}
		cur = prev
	}
	for i, j := 0, len(path)-1; i < j; i, j = i+1, j-1 {
		path[i], path[j] = path[j], path[i]
	}
	a.path = path
	return path
}

// later orders candidates: the later end first, then the longer attempt,
// then the smaller id.
func later(x, y *span) bool {
	if x.end != y.end {
		return x.end > y.end
	}
	if dx, dy := x.end-x.start, y.end-y.start; dx != dy {
		return dx > dy
	}
	return compareIDs(x.id, y.id) < 0
}

// putCriticalPath adds the critical path to a completed task span.
func (a *Assembler) putCriticalPath(st *taskState, task *span, m pcommon.Map) {
	if len(a.path) == 0 || !isComplete(task) || task.end <= task.start {
		return
	}
	names := m.PutEmptySlice(AttrCriticalPath)
	names.EnsureCapacity(len(a.path))
	var work pcommon.Timestamp
	for _, sp := range a.path {
		names.AppendEmpty().SetStr(a.str(st, sp.label))
		work += sp.end - sp.start
	}
	share := float64(work) / float64(task.end-task.start)
	m.PutDouble(AttrCriticalPathShare, math.Round(min(share, 1)*1000)/1000)
}
