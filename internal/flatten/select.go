package flatten

import (
	"fmt"
	"slices"
)

// Column is a selected field with the name it is written under.
type Column struct {
	Field
	// Out is the output name (the field name unless field_mapping renames it).
	Out string
}

// Select returns the fields of signal s named in names (or the defaults when
// names is empty), minus those in exclude, renamed by mapping. Names that are
// not fields of s are an error when strict is set and skipped otherwise, so
// one include list can serve all three signals.
func Select(s Signal, names, exclude []string, mapping map[string]string, strict bool) ([]Column, error) {
	if len(names) == 0 {
		names = defaults[s]
	}
	cols := make([]Column, 0, len(names))
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		f, ok := Lookup(s, n)
		if !ok {
			if strict {
				return nil, fmt.Errorf("%q is not a %s field", n, s)
			}
			continue
		}
		if slices.Contains(exclude, n) {
			continue
		}
		out := n
		if m, ok := mapping[n]; ok {
			out = m
		}
		if seen[out] {
			return nil, fmt.Errorf("two %s fields would be written as %q", s, out)
		}
		seen[out] = true
		cols = append(cols, Column{Field: f, Out: out})
	}
	return cols, nil
}

// ValidateNames checks that every name is a field of some signal.
func ValidateNames(key string, names []string) error {
	for _, n := range names {
		if !Known(n) {
			return fmt.Errorf("%s: unknown field %q", key, n)
		}
	}
	return nil
}

// ValidateMapping checks a field_mapping: known source fields, non-empty
// targets.
func ValidateMapping(key string, mapping map[string]string) error {
	for from, to := range mapping {
		if !Known(from) {
			return fmt.Errorf("%s: unknown field %q", key, from)
		}
		if to == "" {
			return fmt.Errorf("%s: field %q is mapped to an empty name", key, from)
		}
	}
	return nil
}
