package registration

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"time"
)

// setMembers are the list members whose order carries no meaning.
// default_acr_values is absent on purpose: its order is a preference.
var setMembers = map[string]bool{
	"redirect_uris":             true,
	"grant_types":               true,
	"contacts":                  true,
	"request_uris":              true,
	"post_logout_redirect_uris": true,
	"audience":                  true,
}

// durationMembers are Ory's lifespans, compared as durations ("1h" equals
// "1h0m0s").
var durationMembers = map[string]bool{
	"authorization_code_grant_access_token_lifespan":  true,
	"authorization_code_grant_id_token_lifespan":      true,
	"authorization_code_grant_refresh_token_lifespan": true,
	"client_credentials_grant_access_token_lifespan":  true,
	"implicit_grant_access_token_lifespan":            true,
	"implicit_grant_id_token_lifespan":                true,
	"jwt_bearer_grant_access_token_lifespan":          true,
	"refresh_token_grant_id_token_lifespan":           true,
	"refresh_token_grant_access_token_lifespan":       true,
	"refresh_token_grant_refresh_token_lifespan":      true,
}

// Drift returns the names of the members, sorted, for which the
// registration no longer matches what the application wants:
//
//   - want differs from requested, the metadata last sent (the
//     application's configuration changed; members sent before and no
//     longer wanted count too);
//   - current, the provider's metadata now, differs from registered, its
//     answer when the metadata was last sent, on a member want sets (the
//     client was changed at the provider).
//
// Only members want sets are compared with the provider's values, so
// defaults the provider fills in do not count, nor do values it
// substituted when it accepted the metadata. Values are normalised before
// comparing: lists whose order means nothing are compared as sets, scope
// as a set of scope tokens, each response type as a set of words, CORS
// origins without a trailing slash and case-insensitively, lifespans as
// durations, numbers and objects by value. With registered nil, current
// is compared with want on the members the provider returned.
func Drift(want, requested, registered, current *Metadata) []string {
	wm := membersOf(want)
	rm := membersOf(requested)
	var names []string
	add := func(name string) {
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	for name := range wm {
		if !equalMember(name, wm[name], rm[name]) {
			add(name)
		}
	}
	for name := range rm {
		if _, ok := wm[name]; !ok {
			add(name)
		}
	}
	cm := membersOf(current)
	if registered != nil {
		gm := membersOf(registered)
		for name := range wm {
			if !equalMember(name, gm[name], cm[name]) {
				add(name)
			}
		}
	} else {
		for name, cv := range cm {
			if wv, ok := wm[name]; ok && !equalMember(name, wv, cv) {
				add(name)
			}
		}
	}
	slices.Sort(names)
	return names
}

// membersOf returns m's JSON members; nil and unencodable metadata have
// none.
func membersOf(m *Metadata) map[string]json.RawMessage {
	if m == nil {
		return nil
	}
	obj, err := m.members()
	if err != nil {
		return nil
	}
	return obj
}

// equalMember compares two values of the member name after normalising
// them; a missing value (nil) equals only a missing value or JSON null.
func equalMember(name string, a, b json.RawMessage) bool {
	return reflect.DeepEqual(normalize(name, a), normalize(name, b))
}

// normalize decodes a member value into a comparable form. Empty values
// (null, "", false, [], {}) normalise to nil, as if absent.
func normalize(name string, raw json.RawMessage) any {
	v := normalizeValue(name, raw)
	switch x := v.(type) {
	case string:
		if x == "" {
			return nil
		}
	case bool:
		if !x {
			return nil
		}
	case []string:
		if len(x) == 0 {
			return nil
		}
	case []any:
		if len(x) == 0 {
			return nil
		}
	case map[string]any:
		if len(x) == 0 {
			return nil
		}
	}
	return v
}

func normalizeValue(name string, raw json.RawMessage) any {
	if len(raw) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return string(raw)
	}
	switch {
	case name == "scope":
		if s, ok := v.(string); ok {
			return strings.Join(sortedSet(strings.Fields(s)), " ")
		}
	case name == "response_types":
		if list, ok := stringList(v); ok {
			for i, rt := range list {
				list[i] = strings.Join(sortedSet(strings.Fields(rt)), " ")
			}
			return sortedSet(list)
		}
	case name == "allowed_cors_origins":
		if list, ok := stringList(v); ok {
			for i, o := range list {
				list[i] = strings.ToLower(strings.TrimRight(o, "/"))
			}
			return sortedSet(list)
		}
	case setMembers[name]:
		if list, ok := stringList(v); ok {
			return sortedSet(list)
		}
	case durationMembers[name]:
		if s, ok := v.(string); ok {
			if d, err := time.ParseDuration(s); err == nil {
				return int64(d)
			}
		}
	}
	return v
}

// stringList converts a decoded JSON array of strings.
func stringList(v any) ([]string, bool) {
	list, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		s, ok := e.(string)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}
