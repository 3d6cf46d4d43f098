package eventrouter // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter"

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"

	"github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/assembly"
)

// taskStore keeps the assembler's pending tasks and tombstones in a storage
// extension: a task's snapshot is written before the batch that changed it
// is acknowledged, and deleted once its spans were delivered.
type taskStore struct {
	client storage.Client
	mu     sync.Mutex // orders the writes of releases made on two goroutines
	ops    []*storage.Operation
}

// openStore gets the connector's client of the storage extension id and
// checks that it can list its records, which a restart needs.
func openStore(ctx context.Context, host component.Host, id component.ID, owner component.ID) (*taskStore, error) {
	ext, ok := host.GetExtensions()[id]
	if !ok {
		return nil, fmt.Errorf("storage: no extension %q is configured (add it under extensions and service.extensions)", id)
	}
	se, ok := ext.(storage.Extension)
	if !ok {
		return nil, fmt.Errorf("storage: extension %q is not a storage extension", id)
	}
	client, err := se.GetClient(ctx, component.KindConnector, owner, "traces")
	if err != nil {
		return nil, fmt.Errorf("storage: extension %q: %w", id, err)
	}
	if _, ok := client.(storage.Walker); !ok {
		_ = client.Close(ctx)
		return nil, fmt.Errorf("storage: extension %q cannot list its records, which restoring pending tasks needs (file_storage can)", id)
	}
	return &taskStore{client: client}, nil
}

// write applies records in one transaction.
func (s *taskStore) write(ctx context.Context, recs []assembly.Record) error {
	if len(recs) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ops := s.ops[:0]
	for _, r := range recs {
		if r.Value == nil {
			ops = append(ops, storage.DeleteOperation(r.Key))
		} else {
			ops = append(ops, storage.SetOperation(r.Key, r.Value))
		}
	}
	err := s.client.Batch(ctx, ops...)
	clear(ops)
	s.ops = ops[:0]
	return err
}

// restore reads every stored task and tombstone back into a, oldest task
// first. A record that cannot be restored is logged, counted and deleted:
// it never stops the collector from starting.
func (s *taskStore) restore(ctx context.Context, a *assembly.Assembler, logger *zap.Logger) (tasks, tombs, skipped int, err error) {
	var taskRecs, tombRecs []assembly.Record
	var bad []string
	err = s.client.(storage.Walker).Walk(ctx, func(key string, value []byte) ([]*storage.Operation, error) {
		rec := assembly.Record{Key: key, Value: slices.Clone(value)}
		switch {
		case strings.HasPrefix(key, assembly.TaskKeyPrefix):
			taskRecs = append(taskRecs, rec)
		case strings.HasPrefix(key, assembly.TombKeyPrefix):
			tombRecs = append(tombRecs, rec)
		default:
			bad = append(bad, key)
			logger.Warn("skipping a stored record the router did not write", zap.String("key", key))
		}
		return nil, nil
	})
	if err != nil {
		return 0, 0, 0, fmt.Errorf("storage: listing stored tasks: %w", err)
	}
	byKey := func(x, y assembly.Record) int { return strings.Compare(x.Key, y.Key) }
	slices.SortFunc(taskRecs, byKey)
	slices.SortFunc(tombRecs, byKey)
	skip := func(kind string, r assembly.Record, err error) {
		logger.Warn("skipping a stored "+kind+" that cannot be restored; it is deleted",
			zap.String("key", r.Key), zap.Int("bytes", len(r.Value)), zap.Error(err))
		bad = append(bad, r.Key)
	}
	// tombstones stored under an earlier version's key move to their key;
	// a trace's second tombstone record is deleted
	var fix []*storage.Operation
	held := make(map[string]string, len(tombRecs)) // trace id → key of the tombstone held for it
	keys := make([]string, 0, len(tombRecs))       // of every tombstone restored
	for _, r := range tombRecs {
		key, err := a.RestoreTombstone(r.Value)
		if err != nil {
			skip("tombstone", r, err)
			continue
		}
		if key != r.Key {
			fix = append(fix, storage.DeleteOperation(r.Key), storage.SetOperation(key, r.Value))
		}
		held[assembly.KeyTrace(key)] = key
		keys = append(keys, key)
	}
	tombs = len(held)
	// Two records of one trace (a store written by a rollback to an earlier
	// version and forward again): the one restored last, the later expiry
	// when both have time keys, is held; the other would never be deleted.
	for _, k := range keys {
		if held[assembly.KeyTrace(k)] != k {
			fix = append(fix, storage.DeleteOperation(k))
		}
	}
	for _, r := range taskRecs {
		if err := a.Restore(r.Value); err != nil {
			skip("task", r, err)
			continue
		}
		tasks++
	}
	if len(bad) > 0 || len(fix) > 0 {
		ops := fix
		for _, k := range bad {
			ops = append(ops, storage.DeleteOperation(k))
		}
		if err := s.client.Batch(ctx, ops...); err != nil {
			logger.Warn("deleting records that cannot be restored, or moving or deleting tombstone records, failed", zap.Error(err))
		}
	}
	return tasks, tombs, len(bad), nil
}

func (s *taskStore) close(ctx context.Context) error {
	return s.client.Close(ctx)
}

// startStorage opens the store and restores what it holds; the tasks the
// bound or the clock release at once are sent and settled.
func (c *tracesConnector) startStorage(ctx context.Context, host component.Host) error {
	st, err := openStore(ctx, host, *c.r.cfg.Storage, c.r.id)
	if err != nil {
		return err
	}
	c.mu.Lock()
	began := time.Now()
	tasks, tombs, skipped, err := st.restore(ctx, c.asm, c.r.logger)
	if err != nil {
		c.mu.Unlock()
		_ = st.close(ctx)
		return err
	}
	c.asm.Restored(time.Now())
	c.asm.Correlations(c.r.correlations.Learn) // the logs of their later events get them again
	c.store = st
	c.mu.Unlock()
	if skipped > 0 {
		c.r.telemetry.EventrouterStorageRecordsSkipped.Add(ctx, int64(skipped))
	}
	c.r.logger.Info("restored pending tasks from storage",
		zap.String("storage", c.r.cfg.Storage.String()), zap.Int("tasks", tasks),
		zap.Int("tombstones", tombs), zap.Int("skipped", skipped), zap.Int64("pending", c.asm.Pending()),
		zap.Duration("took", time.Since(began)))
	return c.emit(ctx, c.asm.Advance, time.Now())
}
