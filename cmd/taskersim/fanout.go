package main

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/otelcol-tasker/otelcol-tasker/internal/sim"
)

// fanoutSink spreads events over several destinations, as the worker
// processes of a real installation do: each task is sent over OTLP or over
// HTTP (--otlp-share of the tasks, chosen by task id), and each of its
// events goes to one of that protocol's endpoints at random, so a task's
// events reach several collectors.
type fanoutSink struct {
	http, otlp []sink
	share      float64 // of tasks over OTLP
	seed       uint64
	rng        *rand.Rand
	tasksOTLP  int64
}

// splitList splits a comma-separated flag value.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// newFanoutSink opens one sink per endpoint: HTTP for --endpoint's URLs
// unless every task goes over OTLP, OTLP for --otlp-endpoint's.
func newFanoutSink(ctx context.Context, o *options, stderr io.Writer) (*fanoutSink, error) {
	f := &fanoutSink{share: o.otlpShare(), seed: uint64(o.seed), rng: rand.New(rand.NewPCG(uint64(o.seed), 0x7a5c))}
	if f.share < 1 {
		for _, ep := range splitList(o.endpoint) {
			oc := *o
			oc.endpoint = ep
			f.http = append(f.http, newHTTPSink(ctx, &oc, stderr))
		}
	}
	if f.share > 0 {
		for _, ep := range splitList(o.otlpEndpoint) {
			oc := *o
			oc.otlpEndpoint = ep
			s, err := newOTLPSink(ctx, &oc)
			if err != nil {
				f.Close()
				return nil, err
			}
			f.otlp = append(f.otlp, s)
		}
	}
	return f, nil
}

// overOTLP decides a task's protocol from its id, so that every event of
// the task takes the same one; events of no task go over HTTP when any do.
func (f *fanoutSink) overOTLP(taskID int64) bool {
	switch {
	case f.share >= 1:
		return true
	case f.share <= 0 || taskID == 0:
		return false
	}
	h := splitmix64(uint64(taskID) ^ f.seed)
	return float64(h>>11)/(1<<53) < f.share
}

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

func (f *fanoutSink) Add(ev *sim.Event) error {
	pool := f.http
	if f.overOTLP(ev.TaskID) {
		pool = f.otlp
		if ev.Name == sim.EventTaskInitialize {
			f.tasksOTLP++
		}
	}
	return pool[f.rng.IntN(len(pool))].Add(ev)
}

func (f *fanoutSink) all() []sink { return append(append([]sink{}, f.http...), f.otlp...) }

func (f *fanoutSink) FlushIfOlder(age time.Duration) error {
	var errs []error
	for _, s := range f.all() {
		errs = append(errs, s.FlushIfOlder(age))
	}
	return errors.Join(errs...)
}

func (f *fanoutSink) Close() error {
	var errs []error
	for _, s := range f.all() {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}

func (f *fanoutSink) sum(get func(sink) int64) int64 {
	var n int64
	for _, s := range f.all() {
		n += get(s)
	}
	return n
}

func (f *fanoutSink) Sent() int64     { return f.sum(sink.Sent) }
func (f *fanoutSink) Requests() int64 { return f.sum(sink.Requests) }
func (f *fanoutSink) Retried() int64  { return f.sum(sink.Retried) }
