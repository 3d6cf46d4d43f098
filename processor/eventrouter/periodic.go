// A ticker goroutine that can be started and stopped more than once.

package eventrouter // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter"

import (
	"sync"
	"time"
)

// periodic runs a function at every tick on its own goroutine, from start
// until stop; both may be called more than once.
type periodic struct {
	startOnce, stopOnce sync.Once
	stop                chan struct{}
	wg                  sync.WaitGroup
}

func (p *periodic) start(every time.Duration, fn func(now time.Time)) {
	p.startOnce.Do(func() {
		p.stop = make(chan struct{})
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-p.stop:
					return
				case now := <-t.C:
					fn(now)
				}
			}
		}()
	})
}

// halt stops the goroutine, waits for it, then runs last, once.
func (p *periodic) halt(last func()) {
	p.stopOnce.Do(func() {
		p.startOnce.Do(func() {}) // never started: nothing to wait for
		if p.stop != nil {
			close(p.stop)
			p.wg.Wait()
		}
		last()
	})
}

// tickFor checks often enough for the grace and timeout to be honoured
// closely, and at most once a second.
func tickFor(cfg TracesConfig) time.Duration {
	d := cfg.SpanTimeout
	if cfg.TaskEndGrace > 0 && cfg.TaskEndGrace < d {
		d = cfg.TaskEndGrace
	}
	d /= 4
	return min(max(d, 10*time.Millisecond), time.Second)
}
