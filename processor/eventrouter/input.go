package eventrouter // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter"

import (
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

// keyFilter wraps event.Redactor with a cache of its verdicts: the same few
// dozen keys come back in every event, and a map lookup is much cheaper than
// matching every fragment again.
type keyFilter struct {
	r     *event.Redactor
	known []bool // verdicts for knownKeys, by id
	body  []bool // verdicts for the payload fields of bodyFields, by index
	mu    sync.Mutex
	cache atomic.Pointer[map[string]bool] // copy on write: reads take no lock
}

const maxCachedKeys = 4096

func newKeyFilter(cfg event.RedactionConfig) *keyFilter {
	f := &keyFilter{r: event.NewRedactor(cfg)}
	f.cache.Store(&map[string]bool{})
	f.known = make([]bool, len(knownKeys))
	for i, k := range knownKeys {
		f.known[i] = i > 0 && f.r.Sensitive(k)
	}
	f.body = make([]bool, len(bodyFieldList))
	for i, bf := range bodyFieldList {
		f.body[i] = f.r.Sensitive(bf.field) || f.r.Sensitive(bf.attr)
	}
	return f
}

func (f *keyFilter) enabled() bool { return f.r != nil }

func (f *keyFilter) sensitive(key string) bool {
	if f.r == nil {
		return false
	}
	if v, ok := (*f.cache.Load())[key]; ok {
		return v
	}
	s := f.r.Sensitive(key)
	f.mu.Lock()
	defer f.mu.Unlock()
	old := *f.cache.Load()
	if len(old) < maxCachedKeys {
		m := make(map[string]bool, len(old)+1)
		for k, v := range old {
			m[k] = v
		}
		m[key] = s
		f.cache.Store(&m)
	}
	return s
}

// needsRedaction reports whether redactMap would change m.
func (f *keyFilter) needsRedaction(m pcommon.Map) bool {
	if f.r == nil {
		return false
	}
	found := false
	m.Range(func(k string, v pcommon.Value) bool {
		if f.sensitive(k) {
			found = !(v.Type() == pcommon.ValueTypeStr && v.Str() == event.Filtered)
		} else {
			found = f.needsRedactionValue(v)
		}
		return !found
	})
	return found
}

func (f *keyFilter) needsRedactionValue(v pcommon.Value) bool {
	switch v.Type() {
	case pcommon.ValueTypeMap:
		return f.needsRedaction(v.Map())
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		for i := 0; i < s.Len(); i++ {
			if f.needsRedactionValue(s.At(i)) {
				return true
			}
		}
	}
	return false
}

// redactMap replaces the values of sensitive keys at any depth, like
// event.Redactor.RedactMap, and returns how many it replaced.
func (f *keyFilter) redactMap(m pcommon.Map) int {
	if f.r == nil {
		return 0
	}
	n := 0
	m.Range(func(k string, v pcommon.Value) bool {
		if f.sensitive(k) {
			if !(v.Type() == pcommon.ValueTypeStr && v.Str() == event.Filtered) {
				v.SetStr(event.Filtered)
				n++
			}
			return true
		}
		n += f.redactValue(v)
		return true
	})
	return n
}

func (f *keyFilter) redactValue(v pcommon.Value) int {
	switch v.Type() {
	case pcommon.ValueTypeMap:
		return f.redactMap(v.Map())
	case pcommon.ValueTypeSlice:
		n := 0
		s := v.Slice()
		for i := 0; i < s.Len(); i++ {
			n += f.redactValue(s.At(i))
		}
		return n
	}
	return 0
}

// recordNeedsRedaction reports whether the record's attributes or body hold
// a sensitive value.
func (f *keyFilter) recordNeedsRedaction(lr plog.LogRecord) bool {
	return f.needsRedaction(lr.Attributes()) || f.needsRedactionValue(lr.Body())
}

func (f *keyFilter) redactRecord(lr plog.LogRecord) {
	f.redactMap(lr.Attributes())
	f.redactValue(lr.Body())
}

// needsNormalize reports whether a record still needs event.Normalize: the
// taskerevents receiver always writes the task id attribute for events of a
// task. A record without it is normalized when its payload (map body, else
// attributes) names a task, or when its name is only an attribute; an event
// that belongs to no task and has its EventName set is taken as it is.
func needsNormalize(lr plog.LogRecord) bool {
	if _, ok := lr.Attributes().Get(event.AttrTaskID); ok {
		return false
	}
	if lr.EventName() == "" {
		return true
	}
	payload := lr.Attributes()
	if body := lr.Body(); body.Type() == pcommon.ValueTypeMap {
		payload = body.Map()
	}
	_, ok := payload.Get(event.FieldTaskID)
	return ok
}

// normalizeInPlace turns an OTLP event into a normalized event record. The
// payload is the map body, or, when the body is not a map, the attributes
// (copied into a new map body; a non-empty original body is kept under
// "message" unless the payload has that key).
func normalizeInPlace(lr plog.LogRecord, name, namespace string, now pcommon.Timestamp) {
	body := lr.Body()
	if body.Type() != pcommon.ValueTypeMap {
		hasOrig := body.Type() != pcommon.ValueTypeEmpty
		orig := pcommon.NewValueEmpty()
		if hasOrig {
			body.CopyTo(orig)
		}
		attrs := lr.Attributes()
		m := body.SetEmptyMap()
		m.EnsureCapacity(attrs.Len() + 1)
		attrs.Range(func(k string, v pcommon.Value) bool {
			if k != event.AttrEventName {
				v.CopyTo(m.PutEmpty(k))
			}
			return true
		})
		if hasOrig {
			if _, ok := m.Get("message"); !ok {
				orig.CopyTo(m.PutEmpty("message"))
			}
		}
	}
	event.Normalize(lr, name, namespace, now)
}
