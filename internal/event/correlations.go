package event // import "github.com/otelcol-tasker/otelcol-tasker/internal/event"

import (
	"strings"
	"sync"

	"github.com/otelcol-tasker/otelcol-tasker/internal/bounded"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Correlations remembers the correlation id of recent tasks, so that the
// events of a task that do not carry it get it too: once any event of a
// task carried one, every later event of the task has it. It is safe for
// concurrent use and holds the last MaxCorrelations tasks (about 6 MiB at
// the bound); ids longer than MaxSpreadCorrelation are not spread, so that
// no input is copied onto many outputs.
type Correlations struct {
	mu sync.Mutex
	m  *bounded.Map[pcommon.TraceID, string]
}

// Bounds of a Correlations table.
const (
	MaxCorrelations      = 1 << 16
	MaxSpreadCorrelation = 128
)

// NewCorrelations returns an empty table.
func NewCorrelations() *Correlations {
	return &Correlations{m: bounded.New[pcommon.TraceID, string](MaxCorrelations)}
}

// Learn remembers corr as the correlation id of the task of trace id.
func (c *Correlations) Learn(id pcommon.TraceID, corr string) {
	if corr == "" || len(corr) > MaxSpreadCorrelation {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m.Get(id); !ok || old != corr {
		c.m.Put(id, strings.Clone(corr)) // corr may be a view into a batch
	}
}

// Lookup returns the correlation id of the task of trace id, if known.
func (c *Correlations) Lookup(id pcommon.TraceID) (string, bool) {
	c.mu.Lock()
	corr, ok := c.m.Get(id)
	c.mu.Unlock()
	return corr, ok
}
