// The workload a simulation runs: its configuration, and the event rate it
// gives.

package sim

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Config describes a simulated workload. Start from DefaultConfig.
type Config struct {
	// Seed makes the stream reproducible.
	Seed int64
	// Start is the virtual time of the first event (the handler registrations).
	Start time.Time
	// Tasks is the number of tasks to run; 0 runs until Stop is called.
	Tasks int
	// Concurrency caps the tasks in flight; 0 means no cap.
	Concurrency int
	// TaskInterval is the mean of the exponentially distributed gap between
	// task arrivals. A task that arrives while Concurrency tasks are in
	// flight waits for one of them to finish.
	TaskInterval time.Duration
	// FailureRate is the probability that one step attempt fails.
	FailureRate float64
	// FatalRate is the probability that a task holds a step whose every
	// attempt fails, so that the task fails.
	FatalRate float64
	// RetryLimit is the number of attempts a step gets (Tasker's retry_limit).
	RetryLimit int
	// DBQueries is the mean number of database queries per step attempt.
	DBQueries float64
	// Templates restricts the task templates used (names from TemplateNames);
	// empty means all.
	Templates []string
	// FirstTaskID is the id of the first task. Step ids start at
	// 1000 + 10*(FirstTaskID-1) + 1, so runs with disjoint task id ranges also
	// have disjoint step ids.
	FirstTaskID int64
	// NoRegistry leaves out the handler.registered events at start-up.
	NoRegistry bool
}

// DefaultConfig is a small, fully deterministic workload (fixed start time).
func DefaultConfig() Config {
	return Config{
		Seed:         1,
		Start:        time.Date(2025, 11, 25, 19, 46, 39, 0, time.UTC),
		Tasks:        100,
		Concurrency:  50,
		TaskInterval: 20 * time.Millisecond,
		FailureRate:  0.2,
		FatalRate:    0.05,
		RetryLimit:   3,
		DBQueries:    0.5,
		FirstTaskID:  1,
	}
}

// Validate reports the first nonsensical setting, named after its field.
func (c Config) Validate() error {
	switch {
	case c.Start.IsZero():
		return errors.New("sim: Config.Start must be set")
	case c.Tasks < 0:
		return errors.New("sim: Config.Tasks must not be negative")
	case c.Concurrency < 0:
		return errors.New("sim: Config.Concurrency must not be negative")
	case c.TaskInterval < 0:
		return errors.New("TaskInterval must not be negative")
	case !(c.FailureRate >= 0 && c.FailureRate <= 1):
		return errors.New("FailureRate must be between 0 and 1")
	case !(c.FatalRate >= 0 && c.FatalRate <= 1):
		return errors.New("FatalRate must be between 0 and 1")
	case c.RetryLimit < 1 || c.RetryLimit > 100:
		return errors.New("RetryLimit must be between 1 and 100")
	case !(c.DBQueries >= 0 && c.DBQueries <= 10):
		return errors.New("DBQueries must be between 0 and 10")
	case c.FirstTaskID < 1:
		return errors.New("FirstTaskID must be at least 1")
	}
	for _, name := range c.Templates {
		if !slices.Contains(TemplateNames(), name) {
			return fmt.Errorf("unknown template %q (known: %v)", name, TemplateNames())
		}
	}
	return nil
}

// EventsPerTask estimates the mean number of events one task of cfg
// produces, by simulating a sample of tasks (deterministic for a Config).
// A sender that wants a given event rate sets TaskInterval from it.
func EventsPerTask(cfg Config) (float64, error) {
	const sample = 400
	cfg.Tasks = sample
	cfg.Concurrency = 0
	cfg.NoRegistry = true
	cfg.Seed ^= 0x5eed
	g, err := New(cfg)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, ok := g.Next(); ok; _, ok = g.Next() {
		n++
	}
	return float64(n) / sample, nil
}
