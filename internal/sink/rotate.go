package sink

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// output receives whole records. writeRecords writes records in order and
// returns how many it wrote completely; on error the rest stay with the
// caller for a later attempt.
type output interface {
	writeRecords(data []byte, ends []int) (int, error)
	close() error
}

// backupLayout names rotated files: traces.csv becomes
// traces-2026-11-25T10-04-05.123456789.csv (UTC). It sorts by time.
const backupLayout = "2006-01-02T15-04-05.000000000"

const filePerm = 0o644

// fileOutput writes to one file, rotating it by size and age. Rotation only
// ever happens between records, and a file that has a header (CSV) gets it
// at the top of every new file.
type fileOutput struct {
	path     string
	header   []byte
	maxBytes int64
	rot      RotationConfig
	logger   *zap.Logger
	now      func() time.Time

	f        *os.File
	size     int64
	openedAt time.Time

	// Background gzip of rotated files; one at a time, in rotation order.
	bg sync.Mutex
	wg sync.WaitGroup
}

func newFileOutput(path string, header []byte, rot RotationConfig, logger *zap.Logger) (*fileOutput, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create directory for %s: %w", path, err)
	}
	o := &fileOutput{
		path:     path,
		header:   header,
		maxBytes: int64(rot.MaxMegabytes * 1024 * 1024),
		rot:      rot,
		logger:   logger,
		now:      time.Now,
	}
	if err := o.open(); err != nil {
		return nil, err
	}
	return o, nil
}

// open opens (or creates) the file for appending. A new or empty file gets
// the header. An existing file whose first line is not our header (the CSV
// columns changed since it was written) is rotated away first, so that one
// file never mixes two layouts.
func (o *fileOutput) open() error {
	f, err := os.OpenFile(o.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, filePerm)
	if err != nil {
		return fmt.Errorf("open %s: %w", o.path, err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return fmt.Errorf("stat %s: %w", o.path, err)
	}
	o.f, o.size, o.openedAt = f, st.Size(), o.now()
	if len(o.header) == 0 {
		return nil
	}
	if o.size > 0 {
		if o.startsWithHeader() {
			return nil
		}
		o.logger.Info("Existing file has a different header; rotating it", zap.String("path", o.path))
		return o.rotate()
	}
	n, err := f.Write(o.header)
	o.size += int64(n)
	if err != nil {
		return fmt.Errorf("write header to %s: %w", o.path, err)
	}
	return nil
}

func (o *fileOutput) startsWithHeader() bool {
	f, err := os.Open(o.path)
	if err != nil {
		return false
	}
	defer f.Close()
	buf := make([]byte, len(o.header))
	if _, err := io.ReadFull(f, buf); err != nil {
		return false
	}
	return bytes.Equal(buf, o.header)
}

// hasRecords reports whether the current file holds anything beyond its header.
func (o *fileOutput) hasRecords() bool { return o.size > int64(len(o.header)) }

func (o *fileOutput) writeRecords(data []byte, ends []int) (int, error) {
	written, start := 0, 0
	for written < len(ends) {
		if o.f == nil {
			// A previous rotation failed to reopen; try again.
			if err := o.open(); err != nil {
				return written, err
			}
		}
		if o.rot.MaxAge > 0 && o.hasRecords() && o.now().Sub(o.openedAt) >= o.rot.MaxAge {
			if err := o.rotate(); err != nil {
				return written, err
			}
			continue
		}
		k := len(ends)
		if o.maxBytes > 0 {
			room := o.maxBytes - o.size
			k = written
			for k < len(ends) && int64(ends[k]-start) <= room {
				k++
			}
			if k == written {
				if o.hasRecords() {
					if err := o.rotate(); err != nil {
						return written, err
					}
					continue
				}
				// A record bigger than a whole file goes alone into a fresh one.
				k = written + 1
			}
		}
		n, err := o.f.Write(data[start:ends[k-1]])
		if err != nil {
			if n > 0 {
				// Never leave half a record behind: cut the file back to
				// the last complete record; the chunk stays pending.
				if terr := o.f.Truncate(o.size); terr != nil {
					o.logger.Error("Cannot remove a partial write", zap.String("path", o.path), zap.Error(terr))
					o.size += int64(n)
				}
			}
			return written, fmt.Errorf("write %s: %w", o.path, err)
		}
		o.size += int64(n)
		written, start = k, ends[k-1]
	}
	return written, nil
}

// rotate moves the current file aside under a time-stamped name and opens a
// fresh one.
func (o *fileOutput) rotate() error {
	if o.f != nil {
		err := o.f.Close()
		o.f = nil
		if err != nil {
			return fmt.Errorf("close %s: %w", o.path, err)
		}
	}
	backup := o.backupName()
	if err := os.Rename(o.path, backup); err != nil {
		if oerr := o.reopenAppend(); oerr != nil {
			o.logger.Error("Cannot reopen file after failed rotation", zap.String("path", o.path), zap.Error(oerr))
		}
		return fmt.Errorf("rotate %s: %w", o.path, err)
	}
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		o.bg.Lock()
		defer o.bg.Unlock()
		if o.rot.Compress {
			if err := gzipFile(backup); err != nil {
				o.logger.Error("Cannot compress rotated file", zap.String("path", backup), zap.Error(err))
			}
		}
		o.prune()
	}()
	return o.open()
}

// reopenAppend reopens the current file without header logic (used when a
// rotation could not rename it).
func (o *fileOutput) reopenAppend() error {
	f, err := os.OpenFile(o.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, filePerm)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return err
	}
	o.f, o.size = f, st.Size()
	return nil
}

func (o *fileOutput) splitName() (dir, stem, ext string) {
	dir, base := filepath.Split(o.path)
	ext = filepath.Ext(base)
	return dir, strings.TrimSuffix(base, ext), ext
}

func (o *fileOutput) backupName() string {
	dir, stem, ext := o.splitName()
	t := o.now().UTC()
	for {
		name := filepath.Join(dir, stem+"-"+t.Format(backupLayout)+ext)
		if _, err := os.Stat(name); errors.Is(err, os.ErrNotExist) {
			if _, err := os.Stat(name + ".gz"); errors.Is(err, os.ErrNotExist) {
				return name
			}
		}
		t = t.Add(time.Nanosecond)
	}
}

// backups lists rotated files of this output, oldest first.
func (o *fileOutput) backups() ([]string, error) {
	dir, stem, ext := o.splitName()
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, stem+"-") {
			continue
		}
		rest := strings.TrimPrefix(name, stem+"-")
		rest = strings.TrimSuffix(rest, ".gz")
		if !strings.HasSuffix(rest, ext) {
			continue
		}
		if _, err := time.Parse(backupLayout, strings.TrimSuffix(rest, ext)); err != nil {
			continue
		}
		names = append(names, filepath.Join(dir, name))
	}
	slices.Sort(names)
	return names, nil
}

// prune deletes the oldest rotated files beyond max_backups.
func (o *fileOutput) prune() {
	if o.rot.MaxBackups <= 0 {
		return
	}
	names, err := o.backups()
	if err != nil {
		o.logger.Warn("Cannot list rotated files", zap.String("path", o.path), zap.Error(err))
		return
	}
	for len(names) > o.rot.MaxBackups {
		if err := os.Remove(names[0]); err != nil {
			o.logger.Warn("Cannot delete old rotated file", zap.String("path", names[0]), zap.Error(err))
		}
		names = names[1:]
	}
}

func (o *fileOutput) close() error {
	var err error
	if o.f != nil {
		err = o.f.Close()
		o.f = nil
	}
	o.wg.Wait()
	return err
}

// gzipFile compresses path to path.gz and removes path. The .gz appears
// under its final name only once complete.
func gzipFile(path string) (err error) {
	in, err := os.Open(path)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := path + ".gz.tmp"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, filePerm)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = out.Close()
			_ = os.Remove(tmp)
		}
	}()
	zw := gzip.NewWriter(out)
	if _, err = io.Copy(zw, in); err != nil {
		return err
	}
	if err = zw.Close(); err != nil {
		return err
	}
	if err = out.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path+".gz"); err != nil {
		return err
	}
	return os.Remove(path)
}

// stdoutOutput writes to the process's standard output. Every stdout
// destination shares one lock so records of different exporters never
// interleave.
type stdoutOutput struct{}

var (
	stdoutMu     sync.Mutex
	stdoutWriter io.Writer = os.Stdout
)

func newStdoutOutput(header []byte) (*stdoutOutput, error) {
	if len(header) > 0 {
		stdoutMu.Lock()
		defer stdoutMu.Unlock()
		if _, err := stdoutWriter.Write(header); err != nil {
			return nil, fmt.Errorf("write header to stdout: %w", err)
		}
	}
	return &stdoutOutput{}, nil
}

func (*stdoutOutput) writeRecords(data []byte, ends []int) (int, error) {
	stdoutMu.Lock()
	defer stdoutMu.Unlock()
	if _, err := stdoutWriter.Write(data[:ends[len(ends)-1]]); err != nil {
		return 0, fmt.Errorf("write stdout: %w", err)
	}
	return len(ends), nil
}

func (*stdoutOutput) close() error { return nil }
