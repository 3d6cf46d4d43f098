package main

import (
	"bufio"
	"fmt"
	"os"
	"sync"
	"time"
)

// sampler keeps the phases of a run and, once a second, what the collector
// did: events accepted, CPU used, resident memory.
type sampler struct {
	s     *sender
	pid   int
	begin time.Time

	mu      sync.Mutex
	rows    []sampleRow
	current string
	done    chan struct{}
	wg      sync.WaitGroup
}

type sampleRow struct {
	t            float64 // seconds since the start
	phase        string
	eventsPerSec float64
	cpuCores     float64
	rssBytes     int64
}

// phaseRun is one phase in progress.
type phaseRun struct {
	stats *phaseStats
	cpu0  float64
	ok    bool // cpu0 was read
}

func newSampler(s *sender, pid int) *sampler {
	return &sampler{s: s, pid: pid, begin: time.Now(), done: make(chan struct{})}
}

// phase starts a phase: completions are counted in it from now on.
func (m *sampler) phase(name string) *phaseRun {
	p := &phaseRun{stats: newPhaseStats(name)}
	if m.pid > 0 {
		if ps, err := readProc(m.pid); err == nil {
			p.cpu0, p.ok = ps.cpuSeconds, true
		}
	}
	m.s.stats.Store(p.stats)
	m.mu.Lock()
	m.current = name
	m.mu.Unlock()
	return p
}

// finish summarizes a phase, with the collector's CPU time since its start.
func (m *sampler) finish(p *phaseRun) PhaseResult {
	var cpu float64
	var ok bool
	if p.ok {
		if ps, err := readProc(m.pid); err == nil {
			cpu, ok = ps.cpuSeconds-p.cpu0, true
		}
	}
	r := p.stats.result(time.Now())
	if ok {
		r.CPUSeconds = cpu
		if r.Seconds > 0 {
			r.CPUUtilization = cpu / r.Seconds
		}
		if r.EventsAccepted > 0 {
			r.CPUSecondsPerMillion = cpu / float64(r.EventsAccepted) * 1e6
		}
	}
	return r
}

func (m *sampler) start() {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		lastT := time.Now()
		lastEv := m.s.accepted.Load()
		var lastCPU float64
		if m.pid > 0 {
			if ps, err := readProc(m.pid); err == nil {
				lastCPU = ps.cpuSeconds
			}
		}
		for {
			select {
			case <-m.done:
				return
			case now := <-t.C:
				ev := m.s.accepted.Load()
				dt := now.Sub(lastT).Seconds()
				row := sampleRow{t: now.Sub(m.begin).Seconds(), eventsPerSec: float64(ev-lastEv) / dt}
				if m.pid > 0 {
					if ps, err := readProc(m.pid); err == nil {
						row.cpuCores = (ps.cpuSeconds - lastCPU) / dt
						row.rssBytes = ps.rssBytes
						lastCPU = ps.cpuSeconds
					}
				}
				m.mu.Lock()
				row.phase = m.current
				m.rows = append(m.rows, row)
				m.mu.Unlock()
				lastT, lastEv = now, ev
			}
		}
	}()
}

func (m *sampler) stop() {
	close(m.done)
	m.wg.Wait()
}

// writeCSV writes the samples: label,t_s,phase,events_per_s,cpu_cores,rss_mib.
func (m *sampler) writeCSV(path, label string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "label,t_s,phase,events_per_s,cpu_cores,rss_mib")
	m.mu.Lock()
	for _, r := range m.rows {
		fmt.Fprintf(w, "%s,%.1f,%s,%.0f,%.3f,%.1f\n", label, r.t, r.phase, r.eventsPerSec, r.cpuCores, float64(r.rssBytes)/(1<<20))
	}
	m.mu.Unlock()
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
