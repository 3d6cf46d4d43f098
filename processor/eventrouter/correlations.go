package eventrouter // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter"

import (
	"strings"
	"sync"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

// correlations remembers the correlation id of recent tasks, so that the
// logs of a task's events that do not carry it get it too. It holds the
// last maxCorrelations tasks (about 6 MiB at the bound); ids longer than
// maxSpreadCorrelation are not spread, so that no input is copied onto
// many outputs.
type correlations struct {
	mu   sync.Mutex
	m    map[pcommon.TraceID]string
	ring []pcommon.TraceID
	next int
}

const (
	maxCorrelations      = 1 << 16
	maxSpreadCorrelation = 128
)

func newCorrelations() *correlations {
	return &correlations{m: make(map[pcommon.TraceID]string, 1024)}
}

func (c *correlations) learn(id pcommon.TraceID, corr string) {
	if len(corr) > maxSpreadCorrelation {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[id]; ok {
		if old != corr {
			c.m[id] = strings.Clone(corr)
		}
		return
	}
	if len(c.ring) < maxCorrelations {
		c.ring = append(c.ring, id)
	} else {
		delete(c.m, c.ring[c.next])
		c.ring[c.next] = id
		c.next = (c.next + 1) % maxCorrelations
	}
	c.m[id] = strings.Clone(corr)
}

func (c *correlations) known(id pcommon.TraceID) bool {
	c.mu.Lock()
	_, ok := c.m[id]
	c.mu.Unlock()
	return ok
}

// put sets the correlation id of lr's task on lr.
func (c *correlations) put(lr plog.LogRecord) {
	c.mu.Lock()
	corr, ok := c.m[lr.TraceID()]
	c.mu.Unlock()
	if ok {
		lr.Attributes().PutStr(event.AttrCorrelationID, corr)
	}
}
