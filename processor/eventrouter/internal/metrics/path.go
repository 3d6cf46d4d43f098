package metrics

import (
	"fmt"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// source says where a value path starts.
type source uint8

const (
	srcPayload    source = iota // the body map: payload.a.b.0.c
	srcAttributes               // one log record attribute: attributes.<key>
	srcResource                 // one resource attribute: resource.<key>
	srcEventName                // the event name itself
)

// valuePath is a compiled path into an event. Attribute keys contain dots
// (tasker.step.attempt), so for attributes and resource everything after the
// prefix is one key; payload paths descend nested maps (and slices, by index)
// one dot-separated segment at a time.
type valuePath struct {
	src  source
	key  string    // attributes / resource key
	segs []pathSeg // payload segments
}

type pathSeg struct {
	key   string
	index int // >= 0 when the segment is a whole number usable as a slice index
}

func compilePath(s string) (valuePath, error) {
	switch {
	case s == "event.name":
		return valuePath{src: srcEventName}, nil
	case strings.HasPrefix(s, "attributes."):
		k := s[len("attributes."):]
		if k == "" {
			return valuePath{}, fmt.Errorf("%q: missing attribute key after \"attributes.\"", s)
		}
		return valuePath{src: srcAttributes, key: k}, nil
	case strings.HasPrefix(s, "resource."):
		k := s[len("resource."):]
		if k == "" {
			return valuePath{}, fmt.Errorf("%q: missing attribute key after \"resource.\"", s)
		}
		return valuePath{src: srcResource, key: k}, nil
	case strings.HasPrefix(s, "payload."):
		rest := s[len("payload."):]
		parts := strings.Split(rest, ".")
		p := valuePath{src: srcPayload, segs: make([]pathSeg, len(parts))}
		for i, part := range parts {
			if part == "" {
				return valuePath{}, fmt.Errorf("%q: empty segment in payload path", s)
			}
			p.segs[i] = pathSeg{key: part, index: -1}
			if n, err := strconv.Atoi(part); err == nil && n >= 0 {
				p.segs[i].index = n
			}
		}
		return p, nil
	}
	return valuePath{}, fmt.Errorf("%q: a path starts with \"payload.\", \"attributes.\" or \"resource.\", or is \"event.name\"", s)
}

// lookup returns the value the path points to in an event (its record and
// its payload, body); ok is false when it is absent. For srcEventName the
// caller uses the name it already has.
func (p *valuePath) lookup(lr plog.LogRecord, body pcommon.Value, res pcommon.Resource) (pcommon.Value, bool) {
	switch p.src {
	case srcAttributes:
		return lr.Attributes().Get(p.key)
	case srcResource:
		return res.Attributes().Get(p.key)
	case srcPayload:
		v := body
		for i := range p.segs {
			s := &p.segs[i]
			switch v.Type() {
			case pcommon.ValueTypeMap:
				var ok bool
				if v, ok = v.Map().Get(s.key); !ok {
					return v, false
				}
			case pcommon.ValueTypeSlice:
				sl := v.Slice()
				if s.index < 0 || s.index >= sl.Len() {
					return pcommon.Value{}, false
				}
				v = sl.At(s.index)
			default:
				return pcommon.Value{}, false
			}
		}
		return v, v.Type() != pcommon.ValueTypeEmpty
	}
	return pcommon.Value{}, false
}
