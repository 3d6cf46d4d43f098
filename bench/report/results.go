// Reading the results of scripts/bench.sh: load generator summaries, the
// environment, the collector's telemetry, the memory and open-loop tests.

package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Mirrors of the load generator's summary (only what the report reads).
type summary struct {
	Label         string  `json:"label"`
	Format        string  `json:"format"`
	Batch         int     `json:"batch"`
	Conns         int     `json:"conns"`
	BodyBytes     int     `json:"avg_body_bytes"`
	Phases        []phase `json:"phases"`
	PeakRSS       int64   `json:"peak_rss_bytes"`
	EndRSS        int64   `json:"end_rss_bytes"`
	StartRSS      int64   `json:"start_rss_bytes"`
	OpenTasks     int     `json:"open_tasks"`
	TotalAccepted int64   `json:"total_accepted"`
}

type phase struct {
	Name           string         `json:"name"`
	Seconds        float64        `json:"seconds"`
	Requests       int            `json:"requests"`
	EventsAccepted int            `json:"events_accepted"`
	EventsSent     int            `json:"events_sent"`
	EventsPerSec   float64        `json:"events_per_sec"`
	TargetRPS      float64        `json:"target_rps"`
	Errors         map[string]int `json:"errors"`
	ErrorCount     int            `json:"error_count"`
	P50            float64        `json:"latency_p50_ms"`
	P99            float64        `json:"latency_p99_ms"`
	Max            float64        `json:"latency_max_ms"`
	CPUSeconds     float64        `json:"cpu_seconds"`
	CPUUtil        float64        `json:"cpu_utilization"`
	CPUPerMillion  float64        `json:"cpu_seconds_per_million_events"`
}

func (s *summary) phase(name string) *phase {
	for i := range s.Phases {
		if s.Phases[i].Name == name {
			return &s.Phases[i]
		}
	}
	return nil
}

type memtest struct {
	Tasks               int     `json:"tasks"`
	PendingSpans        int64   `json:"pending_spans"`
	HeapBefore          uint64  `json:"heap_before_bytes"`
	HeapAfter           uint64  `json:"heap_after_bytes"`
	BytesPerPendingSpan float64 `json:"bytes_per_pending_span"`
	ObjectsPerSpan      float64 `json:"heap_objects_per_span"`
	FeedSeconds         float64 `json:"feed_seconds"`
}

// row is one pipeline's figures over its rounds: saturation from the round
// with the least CPU per event, the highest peak RSS, median latencies.
type row struct {
	info      pipelineInfo
	rounds    []*summary
	skipped   string
	eps       float64 // events/s at saturation
	cpuUtil   float64
	cpuPerM   float64 // CPU seconds per million events = µs of CPU per event
	peakRSS   float64 // MiB
	p50, p99  float64
	latEPS    float64
	errors    int
	sent      int
	accepted  int64
	collector map[string]float64 // the collector's own counters
}

func readEnv(path string) map[string]string {
	env := map[string]string{}
	f, err := os.Open(path)
	if err != nil {
		return env
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			env[k] = v
		}
	}
	return env
}

func loadRow(dir string, p pipelineInfo) *row {
	r := &row{info: p}
	if b, err := os.ReadFile(filepath.Join(dir, "skipped-"+p.id+".txt")); err == nil {
		r.skipped = strings.TrimSpace(string(b))
	}
	files, _ := filepath.Glob(filepath.Join(dir, p.id+"-r*.json"))
	sort.Strings(files)
	for _, f := range files {
		var s summary
		b, err := os.ReadFile(f)
		if err != nil || json.Unmarshal(b, &s) != nil || s.phase("saturate") == nil {
			continue
		}
		r.rounds = append(r.rounds, &s)
	}
	if len(r.rounds) == 0 {
		if r.skipped == "" {
			r.skipped = "no results"
		}
		return r
	}
	var p50, p99, lat []float64
	best := r.rounds[0].phase("saturate")
	for _, s := range r.rounds {
		sat := s.phase("saturate")
		if sat.CPUPerMillion < best.CPUPerMillion {
			best = sat
		}
		r.peakRSS = max(r.peakRSS, float64(s.PeakRSS)/(1<<20))
		r.errors += sat.ErrorCount
		r.sent += sat.EventsSent
		r.accepted += s.TotalAccepted
		if l := s.phase("latency"); l != nil {
			p50 = append(p50, l.P50)
			p99 = append(p99, l.P99)
			lat = append(lat, l.EventsPerSec)
			r.errors += l.ErrorCount
		}
		for _, ph := range s.Phases {
			if ph.Name != "saturate" && ph.Name != "latency" {
				r.errors += ph.ErrorCount
			}
		}
	}
	// Noise on a shared machine only ever adds cost: the saturation figures
	// are those of the round that cost least per event.
	r.eps, r.cpuUtil, r.cpuPerM = best.EventsPerSec, best.CPUUtil, best.CPUPerMillion
	r.p50, r.p99, r.latEPS = median(p50), median(p99), median(lat)
	r.collector = readTelemetry(filepath.Join(dir, p.id+"-r1-telemetry.txt"))
	return r
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

var reMetric = regexp.MustCompile(`^(otelcol_[a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$`)

// readTelemetry sums the collector's own counters by name (Prometheus text).
func readTelemetry(path string) map[string]float64 {
	out := map[string]float64{}
	b, err := os.ReadFile(path)
	if err != nil {
		return out
	}
	for _, l := range strings.Split(string(b), "\n") {
		m := reMetric.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err == nil {
			out[m[1]] += v
		}
	}
	return out
}

func readMemtest(dir string) (*memtest, error) {
	b, err := os.ReadFile(filepath.Join(dir, "memtest.json"))
	if err != nil {
		if e, err2 := os.ReadFile(filepath.Join(dir, "memtest-error.txt")); err2 == nil {
			return nil, errors.New(firstLine(string(e)))
		}
		return nil, errors.New("no result")
	}
	var m memtest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

func readOpen(dir string) (*summary, error) {
	b, err := os.ReadFile(filepath.Join(dir, "open.json"))
	if err != nil {
		if e, err2 := os.ReadFile(filepath.Join(dir, "skipped-open.txt")); err2 == nil {
			return nil, errors.New(firstLine(string(e)))
		}
		return nil, errors.New("no result")
	}
	var s summary
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
