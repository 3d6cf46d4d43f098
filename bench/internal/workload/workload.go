// Package workload prepares the request bodies of the pipeline benchmarks:
// the Tasker sample stream, repeated with fresh task ids, cut into batches
// and encoded once before the run (NDJSON for the taskerevents receiver,
// OTLP/HTTP JSON log records for the otlp receiver).
//
// Every request must carry tasks the collector has not seen before, or the
// router would treat repeated ids as late events of finished tasks. Encoding
// every request during the run would load the generator, so each body is
// encoded once with placeholder task ids at known byte offsets, and a sender
// patches the offsets with the ids of its request (a copy and a few thousand
// 12-digit writes per request).
package workload

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/otelcol-tasker/otelcol-tasker/internal/fixtures"
)

// Format is the encoding of a request body.
type Format string

// Formats the load generator sends.
const (
	NDJSON   Format = "ndjson"    // Tasker native events, one JSON object a line
	OTLPJSON Format = "otlp-json" // OTLP/HTTP JSON ExportLogsServiceRequest
)

// ContentType returns the media type of a format.
func (f Format) ContentType() string {
	if f == NDJSON {
		return "application/x-ndjson"
	}
	return "application/json"
}

// idWidth is the number of digits of every task id in the stream. A fixed
// width lets a sender overwrite ids in place.
const idWidth = 12

// placeholderBase marks the task ids of a template: placeholder j is
// placeholderBase+j, a number no real payload field of the sample holds.
const placeholderBase = 900_000_000_000

// firstID is the smallest task id a sender writes; ids stay 12 digits wide
// up to 999,999,999,999.
const firstID = 100_000_000_000

// Template is one request body with placeholder task ids.
type Template struct {
	Body   []byte
	Events int
	slots  []slot
}

type slot struct {
	off  int32 // byte offset of the 12 digits
	task int32 // task index within the period
}

// Set is the whole periodic stream: Period bodies of Batch events that
// together hold TasksPerPeriod whole tasks (a whole number of copies of the
// sample, so no task crosses the end of a period).
type Set struct {
	Format         Format
	Batch          int
	Templates      []Template
	TasksPerPeriod int
	EventsPerTask  float64
}

// sample is the fixture, parsed once.
type sample struct {
	lines [][]byte
	tasks int // distinct task ids
}

var (
	reTaskID      = regexp.MustCompile(`"task_id":(\d+)`)
	reCorrelation = regexp.MustCompile(`"correlation_id":"tsk_[a-z0-9]+_([a-z0-9]{6})"`)
)

func loadSample() (*sample, error) {
	lines := fixtures.Lines(fixtures.NativeNDJSON)
	if len(lines) == 0 {
		return nil, errors.New("workload: empty fixture")
	}
	ids := map[string]bool{}
	for _, l := range lines {
		for _, m := range reTaskID.FindAllSubmatch(l, -1) {
			ids[string(m[1])] = true
		}
	}
	return &sample{lines: lines, tasks: len(ids)}, nil
}

// Build prepares the periodic stream for a batch size. The period is the
// least common multiple of the sample length and the batch size, so that a
// period holds whole copies of the sample and no task crosses its end.
//
// Each event of the sample is encoded once, with placeholder ids; a body is
// its events' encodings joined, and the placeholders are renumbered per copy
// (copy c, task t of the sample → task c*tasks + t of the period).
func Build(format Format, batch int) (*Set, error) {
	if batch <= 0 {
		return nil, fmt.Errorf("workload: batch must be positive, got %d", batch)
	}
	if format != NDJSON && format != OTLPJSON {
		return nil, fmt.Errorf("workload: unknown format %q", format)
	}
	s, err := loadSample()
	if err != nil {
		return nil, err
	}
	return buildFrom(format, s, batch)
}

// BuildStarts prepares bodies of batch task.start_requested events, each of
// a task never seen before: a workload of tasks that start and never end.
func BuildStarts(format Format, batch int) (*Set, error) {
	if batch <= 0 {
		return nil, fmt.Errorf("workload: batch must be positive, got %d", batch)
	}
	if format != NDJSON && format != OTLPJSON {
		return nil, fmt.Errorf("workload: unknown format %q", format)
	}
	s, err := loadSample()
	if err != nil {
		return nil, err
	}
	for _, l := range s.lines {
		if bytes.Contains(l, []byte(`"name":"task.start_requested"`)) {
			return buildFrom(format, &sample{lines: [][]byte{l}, tasks: 1}, batch)
		}
	}
	return nil, errors.New("workload: the sample has no task.start_requested event")
}

func buildFrom(format Format, s *sample, batch int) (*Set, error) {
	n := len(s.lines)
	period := lcm(n, batch)
	copies := period / n
	if copies*s.tasks >= 100_000_000 {
		return nil, fmt.Errorf("workload: batch %d needs %d copies of the sample, too many", batch, copies)
	}
	frags, err := encodeEvents(format, s)
	if err != nil {
		return nil, err
	}
	w := wrapperOf(format)
	set := &Set{
		Format:         format,
		Batch:          batch,
		TasksPerPeriod: copies * s.tasks,
		EventsPerTask:  float64(n) / float64(s.tasks),
	}
	for first := 0; first < period; first += batch {
		size := len(w.prefix) + len(w.suffix) + batch*len(w.sep)
		for k := first; k < first+batch; k++ {
			size += len(frags[k%n].body)
		}
		t := Template{Body: make([]byte, 0, size), Events: batch}
		t.Body = append(t.Body, w.prefix...)
		for k := first; k < first+batch; k++ {
			if k > first {
				t.Body = append(t.Body, w.sep...)
			}
			f := &frags[k%n]
			base := int32((k / n) * s.tasks)
			for _, sl := range f.slots {
				t.slots = append(t.slots, slot{off: sl.off + int32(len(t.Body)), task: sl.task + base})
			}
			t.Body = append(t.Body, f.body...)
		}
		t.Body = append(t.Body, w.suffix...)
		set.Templates = append(set.Templates, t)
	}
	// The slots were found in each event's own encoding; check that the
	// joined body holds exactly those placeholders and nothing else.
	for _, t := range set.Templates[:1] {
		found := findSlots(t.Body)
		if len(found) != len(t.slots) {
			return nil, fmt.Errorf("workload: body holds %d placeholders, expected %d", len(found), len(t.slots))
		}
	}
	return set, nil
}

// fragment is one event's encoding with its placeholder slots (offsets
// relative to the fragment).
type fragment struct {
	body  []byte
	slots []slot
}

type wrapper struct{ prefix, sep, suffix string }

// otlpSuffix closes logRecords, the scope logs, the resource logs and the
// request of a one-resource, one-scope ExportLogsServiceRequest.
const otlpSuffix = "]}]}]}"

func wrapperOf(format Format) wrapper {
	if format == NDJSON {
		return wrapper{sep: "\n", suffix: "\n"}
	}
	return wrapper{prefix: otlpPrefix(), sep: ",", suffix: otlpSuffix}
}

// encodeEvents encodes every event of the sample once, task ids replaced by
// placeholder(t) for the sample's task t.
func encodeEvents(format Format, s *sample) ([]fragment, error) {
	index := map[string]int{}
	for _, l := range s.lines {
		for _, m := range reTaskID.FindAllSubmatch(l, -1) {
			if _, ok := index[string(m[1])]; !ok {
				index[string(m[1])] = len(index)
			}
		}
	}
	prefix := otlpPrefix()
	out := make([]fragment, len(s.lines))
	for i, l := range s.lines {
		line, planted := renumber(l, index, 0)
		body := line
		if format == OTLPJSON {
			ld, err := ToLogs([][]byte{line})
			if err != nil {
				return nil, fmt.Errorf("workload: event %d: %w", i+1, err)
			}
			req, err := plogotlp.NewExportRequestFromLogs(ld).MarshalJSON()
			if err != nil {
				return nil, err
			}
			if !bytes.HasPrefix(req, []byte(prefix)) || !bytes.HasSuffix(req, []byte(otlpSuffix)) {
				return nil, fmt.Errorf("workload: unexpected OTLP JSON layout: %.200s", req)
			}
			body = req[len(prefix) : len(req)-len(otlpSuffix)]
		}
		slots := findSlots(body)
		if len(slots) != planted {
			return nil, fmt.Errorf("workload: event %d: planted %d task ids, found %d", i+1, planted, len(slots))
		}
		out[i] = fragment{body: body, slots: slots}
	}
	return out, nil
}

// renumber rewrites one NDJSON line of the sample: the task id becomes
// placeholder(base + index of the task), and the correlation id embeds the
// same number (keeping its tsk_<base36>_<6 chars> shape). It returns the line
// and how many ids it planted.
func renumber(line []byte, index map[string]int, base int) ([]byte, int) {
	m := reTaskID.FindSubmatch(line)
	if m == nil {
		return append([]byte(nil), line...), 0
	}
	ph := placeholder(base + index[string(m[1])])
	planted := 0
	out := reTaskID.ReplaceAllFunc(line, func([]byte) []byte {
		planted++
		return []byte(`"task_id":` + ph)
	})
	out = reCorrelation.ReplaceAllFunc(out, func(c []byte) []byte {
		planted++
		suffix := reCorrelation.FindSubmatch(c)[1]
		return []byte(`"correlation_id":"tsk_` + ph + "_" + string(suffix) + `"`)
	})
	return out, planted
}

func placeholder(j int) string {
	return strconv.FormatInt(int64(placeholderBase+j), 10)
}

// findSlots locates every placeholder in an encoded body: 12 digits starting
// with the placeholder prefix, with no digit on either side.
func findSlots(body []byte) []slot {
	prefix := []byte(strconv.FormatInt(placeholderBase, 10)[:4])
	var out []slot
	for i := 0; ; {
		k := bytes.Index(body[i:], prefix)
		if k < 0 {
			return out
		}
		p := i + k
		i = p + 1
		if p > 0 && isDigit(body[p-1]) {
			continue
		}
		if p+idWidth > len(body) || (p+idWidth < len(body) && isDigit(body[p+idWidth])) {
			continue
		}
		v, err := strconv.ParseInt(string(body[p:p+idWidth]), 10, 64)
		if err != nil || v < placeholderBase {
			continue
		}
		out = append(out, slot{off: int32(p), task: int32(v - placeholderBase)})
		i = p + idWidth
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// Patch writes request seq of the stream into dst (reusing its capacity) and
// returns it with the number of events it carries. Request seq belongs to
// period seq/len(Templates); its task ids are firstID + idBase +
// period*TasksPerPeriod + task index, unique across the whole run as long as
// they fit 12 digits.
func (s *Set) Patch(dst []byte, seq uint64, idBase int64) ([]byte, int) {
	t := &s.Templates[seq%uint64(len(s.Templates))]
	period := int64(seq / uint64(len(s.Templates)))
	dst = append(dst[:0], t.Body...)
	first := firstID + idBase + period*int64(s.TasksPerPeriod)
	for _, sl := range t.slots {
		putDigits(dst[sl.off:sl.off+idWidth], first+int64(sl.task))
	}
	return dst, t.Events
}

// putDigits writes v as exactly len(b) decimal digits.
func putDigits(b []byte, v int64) {
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
}

// Bytes returns the total size of the templates.
func (s *Set) Bytes() int {
	n := 0
	for _, t := range s.Templates {
		n += len(t.Body)
	}
	return n
}

func lcm(a, b int) int { return a / gcd(a, b) * b }

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
