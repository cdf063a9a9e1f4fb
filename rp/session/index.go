package session

// index maps (issuer, sid) and (issuer, subject) to the keys of the
// sessions that carry them, for [Indexer]. It is not safe for concurrent
// use; its owner's mutex guards it.
type index[K comparable] struct {
	bySID map[string]map[K]struct{}
	bySub map[string]map[K]struct{}
}

func newIndex[K comparable]() index[K] {
	return index[K]{bySID: make(map[string]map[K]struct{}), bySub: make(map[string]map[K]struct{})}
}

// indexKey joins an issuer and a value; NUL cannot occur in an issuer URL.
func indexKey(iss, v string) string { return iss + "\x00" + v }

// add records k under the session's sid and subject (when non-empty).
func (ix *index[K]) add(k K, iss, sid, sub string) {
	if sid != "" {
		addKey(ix.bySID, indexKey(iss, sid), k)
	}
	if sub != "" {
		addKey(ix.bySub, indexKey(iss, sub), k)
	}
}

// remove undoes add.
func (ix *index[K]) remove(k K, iss, sid, sub string) {
	if sid != "" {
		removeKey(ix.bySID, indexKey(iss, sid), k)
	}
	if sub != "" {
		removeKey(ix.bySub, indexKey(iss, sub), k)
	}
}

// lookup returns a copy of the keys recorded under (iss, v) in m.
func lookup[K comparable](m map[string]map[K]struct{}, iss, v string) []K {
	if v == "" {
		return nil
	}
	set := m[indexKey(iss, v)]
	keys := make([]K, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	return keys
}

func addKey[K comparable](m map[string]map[K]struct{}, key string, k K) {
	set := m[key]
	if set == nil {
		set = make(map[K]struct{}, 1)
		m[key] = set
	}
	set[k] = struct{}{}
}

func removeKey[K comparable](m map[string]map[K]struct{}, key string, k K) {
	set := m[key]
	delete(set, k)
	if len(set) == 0 {
		delete(m, key)
	}
}
