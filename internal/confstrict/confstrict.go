// Package confstrict rejects configuration keys that a component does not
// have. confighttp's server and client configs decode with
// confmap.WithIgnoreUnused (they are meant to be squashed into a component's
// config), and the effect reaches the whole component: a misspelled key such
// as `flush_intervall` would otherwise be accepted and silently ignored.
package confstrict

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"go.opentelemetry.io/collector/confmap"
)

// Check returns an error naming every key of conf (at any depth where the
// config is a plain struct) that has no field in cfg, a pointer to the
// component's config struct.
func Check(conf *confmap.Conf, cfg any) error {
	var unknown []string
	walk(conf.ToStringMap(), reflect.TypeOf(cfg), "", &unknown)
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	return fmt.Errorf("unknown configuration key(s): %s", strings.Join(unknown, ", "))
}

func walk(m map[string]any, t reflect.Type, prefix string, unknown *[]string) {
	fields := fieldsOf(t)
	if fields == nil {
		return // not a plain config struct (maps, optionals, custom types): accept what it accepts
	}
	for k, v := range m {
		ft, ok := fields[strings.ToLower(k)]
		if !ok {
			*unknown = append(*unknown, prefix+k)
			continue
		}
		if sub, isMap := v.(map[string]any); isMap {
			walk(sub, ft, prefix+k+"::", unknown)
		}
	}
}

// fieldsOf maps the mapstructure keys of a struct type (squashed structs
// included) to their types; nil when t is not a struct with such keys.
func fieldsOf(t reflect.Type) map[string]reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag, ok := f.Tag.Lookup("mapstructure")
		if !ok {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "squash") {
			sub := fieldsOf(f.Type)
			if sub == nil {
				return nil
			}
			for k, v := range sub {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[strings.ToLower(name)] = f.Type
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
