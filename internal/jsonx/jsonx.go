// Package jsonx holds the JSON helpers for metadata types that keep the
// members they do not know (discovery and registration metadata): decoding
// with exact member names and re-encoding unknown members on the way out.
package jsonx

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
)

// Names returns, once per type, the set of JSON member names of the struct
// type T's fields.
func Names[T any]() map[string]struct{} {
	t := reflect.TypeFor[T]()
	namesMu.Lock()
	defer namesMu.Unlock()
	if n, ok := namesByType[t]; ok {
		return n
	}
	n := make(map[string]struct{}, t.NumField())
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		n[name] = struct{}{}
	}
	namesByType[t] = n
	return n
}

var (
	namesMu     sync.Mutex // guards namesByType
	namesByType = map[reflect.Type]map[string]struct{}{}
)

// DecodeWithExtra decodes the members of the JSON object data whose names
// are in known into dst, matching names exactly (encoding/json alone would
// also match "ISSUER" to "issuer"), and returns the other members.
func DecodeWithExtra(data []byte, dst any, known map[string]struct{}) (map[string]json.RawMessage, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	var extra map[string]json.RawMessage
	for name, v := range raw {
		if _, ok := known[name]; ok {
			continue
		}
		if extra == nil {
			extra = make(map[string]json.RawMessage)
		}
		extra[name] = v
		delete(raw, name)
	}
	if len(raw) == 0 {
		return extra, nil
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, dst); err != nil {
		return nil, err
	}
	return extra, nil
}

// EncodeWithExtra encodes v (a struct) and adds the members of extra,
// except those whose names are in known (a field always wins) or for which
// skip, when not nil, reports true.
func EncodeWithExtra(v any, extra map[string]json.RawMessage, known map[string]struct{}, skip func(name string) bool) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil || len(extra) == 0 {
		return b, err
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		return nil, err
	}
	for name, raw := range extra {
		if _, ok := known[name]; ok {
			continue
		}
		if skip != nil && skip(name) {
			continue
		}
		if !json.Valid(raw) {
			return nil, fmt.Errorf("extra member %q is not valid JSON", name)
		}
		obj[name] = raw
	}
	return json.Marshal(obj)
}
