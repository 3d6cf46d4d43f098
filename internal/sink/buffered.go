package sink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Destination takes batches of whole records.
type Destination interface {
	// Write delivers b or keeps it for delivery. An error means b was not
	// taken and may be retried.
	Write(ctx context.Context, b *Batch) error
	// Close writes everything still buffered and releases the destination.
	Close(ctx context.Context) error
}

// fileOptions are what two users of one file must agree on.
type fileOptions struct {
	path      string
	header    []byte
	rotation  RotationConfig
	interval  time.Duration
	threshold int
}

func (a fileOptions) equal(b fileOptions) bool {
	return a.path == b.path && bytes.Equal(a.header, b.header) && a.rotation == b.rotation &&
		a.interval == b.interval && a.threshold == b.threshold
}

// buffered collects records in memory and writes them to its output when
// flush_threshold records are waiting, every flush_interval, and at close.
type buffered struct {
	opts   fileOptions
	key    string // registry key; "" for stdout
	logger *zap.Logger

	mu         sync.Mutex
	pending    Batch
	out        output
	maxPending int
	failing    bool
	refs       int

	stop chan struct{}
	done chan struct{}
}

// maxPendingFloor: while writes fail, at most this many records (or ten
// thresholds, if more) wait in memory before exports are refused.
const maxPendingFloor = 100_000

// Files are shared by every exporter writing them, so that two signals (or
// two exporters) pointed at one path append whole records to one writer.
var registry = struct {
	sync.Mutex
	files map[string]*buffered
}{files: map[string]*buffered{}}

func openBuffered(opts fileOptions, logger *zap.Logger) (*buffered, error) {
	if opts.path == Stdout {
		out, err := newStdoutOutput(opts.header)
		if err != nil {
			return nil, err
		}
		return startBuffered(opts, "", out, logger), nil
	}
	key, err := filepath.Abs(opts.path)
	if err != nil {
		return nil, fmt.Errorf("path %q: %w", opts.path, err)
	}
	registry.Lock()
	defer registry.Unlock()
	if b, ok := registry.files[key]; ok {
		if !b.opts.equal(opts) {
			return nil, fmt.Errorf("file %s is already written by another exporter or signal with different columns, rotation or flush settings: give each signal its own file (traces_path/metrics_path/logs_path or {signal} in path)", opts.path)
		}
		b.mu.Lock()
		b.refs++
		b.mu.Unlock()
		return b, nil
	}
	out, err := newFileOutput(key, opts.header, opts.rotation, logger)
	if err != nil {
		return nil, err
	}
	b := startBuffered(opts, key, out, logger)
	registry.files[key] = b
	return b, nil
}

func startBuffered(opts fileOptions, key string, out output, logger *zap.Logger) *buffered {
	b := &buffered{
		opts:       opts,
		key:        key,
		logger:     logger.With(zap.String("path", opts.path)),
		out:        out,
		maxPending: max(10*opts.threshold, maxPendingFloor),
		refs:       1,
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
	}
	if opts.interval > 0 {
		go b.loop()
	} else {
		close(b.done)
	}
	return b
}

func (b *buffered) loop() {
	defer close(b.done)
	t := time.NewTicker(b.opts.interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			b.mu.Lock()
			_ = b.flushLocked()
			b.mu.Unlock()
		case <-b.stop:
			return
		}
	}
}

func (b *buffered) Write(_ context.Context, batch *Batch) error {
	if batch.Records() == 0 {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.refs == 0 {
		return errors.New("destination is closed")
	}
	if len(b.pending.Ends) >= b.maxPending {
		if err := b.flushLocked(); err != nil {
			return fmt.Errorf("%d records are waiting to be written: %w", len(b.pending.Ends), err)
		}
	}
	base := len(b.pending.Data)
	b.pending.Data = append(b.pending.Data, batch.Data...)
	for _, e := range batch.Ends {
		b.pending.Ends = append(b.pending.Ends, base+e)
	}
	if len(b.pending.Ends) >= b.opts.threshold {
		// A failure here is logged and retried on the next flush; the
		// records are kept, so the export itself succeeded.
		_ = b.flushLocked()
	}
	return nil
}

// flushLocked writes pending records; those it could not write stay pending.
func (b *buffered) flushLocked() error {
	if len(b.pending.Ends) == 0 {
		return nil
	}
	n, err := b.out.writeRecords(b.pending.Data, b.pending.Ends)
	b.dropWritten(n)
	if err != nil {
		if !b.failing {
			b.logger.Error("Cannot write records; keeping them for the next flush",
				zap.Int("pending_records", len(b.pending.Ends)), zap.Error(err))
		}
		b.failing = true
		return err
	}
	if b.failing {
		b.logger.Info("Writing records works again")
		b.failing = false
	}
	return nil
}

func (b *buffered) dropWritten(n int) {
	switch {
	case n == 0:
	case n == len(b.pending.Ends):
		if cap(b.pending.Data) > maxPooledBytes {
			b.pending = Batch{}
		} else {
			b.pending.Reset()
		}
	default:
		off := b.pending.Ends[n-1]
		rest := copy(b.pending.Data, b.pending.Data[off:])
		b.pending.Data = b.pending.Data[:rest]
		k := copy(b.pending.Ends, b.pending.Ends[n:])
		b.pending.Ends = b.pending.Ends[:k]
		for i := range b.pending.Ends {
			b.pending.Ends[i] -= off
		}
	}
}

// Close drops one reference; the last one stops the timer, writes what is
// left and closes the file.
func (b *buffered) Close(context.Context) error {
	if b.key != "" {
		registry.Lock()
		defer registry.Unlock()
	}
	b.mu.Lock()
	if b.refs == 0 {
		b.mu.Unlock()
		return nil
	}
	b.refs--
	if b.refs > 0 {
		b.mu.Unlock()
		return nil
	}
	b.mu.Unlock()

	close(b.stop)
	<-b.done

	b.mu.Lock()
	defer b.mu.Unlock()
	var err error
	if ferr := b.flushLocked(); ferr != nil {
		err = fmt.Errorf("%d records could not be written at shutdown: %w", len(b.pending.Ends), ferr)
	}
	err = errors.Join(err, b.out.close())
	if b.key != "" {
		delete(registry.files, b.key)
	}
	return err
}
