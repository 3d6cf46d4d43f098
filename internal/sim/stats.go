package sim

import (
	"math"
	"slices"
)

// Stats is the ground truth of a generated stream. Its JSON keys are those of
// internal/fixtures/data/sample-native.summary.json, plus a few extras.
type Stats struct {
	Tasks               int64            `json:"tasks"`
	TasksCompleted      int64            `json:"tasks_completed"`
	TasksFailed         int64            `json:"tasks_failed"`
	StepAttempts        int64            `json:"step_attempts"`
	StepsCompleted      int64            `json:"steps_completed"`
	StepsFailedAttempts int64            `json:"steps_failed_attempts"`
	Retries             int64            `json:"retries"`
	DBQueries           int64            `json:"db_queries"`
	SecretsPlanted      int64            `json:"secrets_planted"`
	TaskIDs             []int64          `json:"task_ids"`
	Events              int64            `json:"events"`
	ByName              map[string]int64 `json:"by_name"`

	// Extras.
	StepsFailed      int64         `json:"steps_failed"` // steps that exhausted their retries
	WorkflowDuration DurationStats `json:"workflow_duration_seconds"`
	FirstTimestamp   string        `json:"first_timestamp,omitempty"`
	LastTimestamp    string        `json:"last_timestamp,omitempty"`
}

// DurationStats summarizes the workflow durations (task started_at to its
// completed or failed event) of every finished task, in seconds.
type DurationStats struct {
	Count int64   `json:"count"`
	Min   float64 `json:"min"`
	Max   float64 `json:"max"`
	P95   float64 `json:"p95"`
	Mean  float64 `json:"mean"`
}

// Stats returns the counts of everything emitted so far.
func (g *Generator) Stats() Stats {
	c := g.counts
	s := Stats{
		Tasks:               c[nTaskInitialize],
		TasksCompleted:      c[nTaskCompleted],
		TasksFailed:         c[nTaskFailed],
		StepAttempts:        c[nStepExec],
		StepsCompleted:      c[nStepCompleted],
		StepsFailedAttempts: c[nStepFailed],
		Retries:             c[nStepRetry],
		DBQueries:           c[nDBQuery],
		SecretsPlanted:      c[nTaskInitialize], // every task context holds an api_token and a password
		TaskIDs:             slices.Clone(g.taskIDs),
		Events:              g.emitted,
		ByName:              make(map[string]int64, numNames),
		StepsFailed:         c[nStepFailed] - c[nStepRetry],
		WorkflowDuration:    durationStats(g.durations),
	}
	if s.TaskIDs == nil {
		s.TaskIDs = []int64{}
	}
	for i, n := range c {
		if n > 0 {
			s.ByName[EventNames[i]] = n
		}
	}
	if g.emitted > 0 {
		s.FirstTimestamp = FormatTime(g.firstTime)
		s.LastTimestamp = FormatTime(g.lastTime)
	}
	return s
}

// durationStats computes min, max, mean and the nearest-rank 95th percentile.
func durationStats(ms []int64) DurationStats {
	if len(ms) == 0 {
		return DurationStats{}
	}
	sorted := slices.Clone(ms)
	slices.Sort(sorted)
	var sum int64
	for _, v := range sorted {
		sum += v
	}
	rank := int(math.Ceil(0.95*float64(len(sorted)))) - 1
	return DurationStats{
		Count: int64(len(sorted)),
		Min:   float64(sorted[0]) / 1000,
		Max:   float64(sorted[len(sorted)-1]) / 1000,
		P95:   float64(sorted[rank]) / 1000,
		Mean:  math.Round(float64(sum)/float64(len(sorted))) / 1000,
	}
}

// DurationStatsOf is durationStats for callers that recompute durations
// from a stream (milliseconds in, seconds out).
func DurationStatsOf(ms []int64) DurationStats { return durationStats(ms) }
