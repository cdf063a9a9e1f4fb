package session

import (
	"container/list"
	"context"
	"sync"
	"time"
)

// Revocations remembers keys (for example an issuer with a provider session
// ID or a subject) that were logged out, and when, so that a stateless
// cookie session created before that moment can be refused on its next
// request (OpenID Connect Back-Channel Logout 1.0 §2.7 asks the RP to end
// those sessions). An entry lives for ttl — the absolute session lifetime,
// after which no session it covers can exist anymore.
type Revocations interface {
	// Revoke records that key was revoked at at. Revoking a key again keeps
	// the later time and the later end of life.
	Revoke(ctx context.Context, key string, at time.Time, ttl time.Duration) error
	// RevokedAt returns when key was revoked, and false when it is not (or
	// no longer) revoked.
	RevokedAt(ctx context.Context, key string) (time.Time, bool, error)
}

// ReplayCache remembers keys (such as a logout token's "jti") for a while
// so that a message can be accepted only once (OpenID Connect Back-Channel
// Logout 1.0 §2.6 step 10).
type ReplayCache interface {
	// Seen reports whether key was seen within its ttl, and records it
	// with ttl when it was not: the first call returns false, later calls
	// true until ttl ends.
	Seen(ctx context.Context, key string, ttl time.Duration) (bool, error)
}

// DefaultMaxEntries is the size bound of the memory caches when none is
// given.
const DefaultMaxEntries = 100_000

// ttlCache is a size-bounded map from key to (time, expiry) kept in
// insertion order (a key revoked again moves to the new end).
type ttlCache struct {
	max int
	now func() time.Time

	mu    sync.RWMutex // guards items and order
	items map[string]*list.Element
	order *list.List // of *ttlEntry, oldest first
}

type ttlEntry struct {
	key     string
	at      time.Time
	expires time.Time
}

func newTTLCache(max int, now func() time.Time) ttlCache {
	if max <= 0 {
		max = DefaultMaxEntries
	}
	if now == nil {
		now = time.Now
	}
	return ttlCache{max: max, now: now, items: make(map[string]*list.Element), order: list.New()}
}

// getLocked returns the live entry for key, dropping it when expired.
func (c *ttlCache) getLocked(key string, now time.Time) *ttlEntry {
	el := c.items[key]
	if el == nil {
		return nil
	}
	e := el.Value.(*ttlEntry)
	if !now.Before(e.expires) {
		c.order.Remove(el)
		delete(c.items, key)
		return nil
	}
	return e
}

// putLocked adds a new entry (key must not be present): it first drops
// expired entries at the old end, then evicts the oldest while full.
func (c *ttlCache) putLocked(e *ttlEntry, now time.Time) {
	for c.order.Len() > 0 {
		front := c.order.Front()
		fe := front.Value.(*ttlEntry)
		if now.Before(fe.expires) && c.order.Len() < c.max {
			break
		}
		c.order.Remove(front)
		delete(c.items, fe.key)
	}
	c.items[e.key] = c.order.PushBack(e)
}

// Len returns the number of entries held, expired ones included.
func (c *ttlCache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.order.Len()
}

// live returns the entry for key if it has not expired. It only reads, so
// concurrent lookups (the per-request path) do not serialize; expired
// entries are dropped by later writes.
func (c *ttlCache) live(key string, now time.Time) (ttlEntry, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	el := c.items[key]
	if el == nil {
		return ttlEntry{}, false
	}
	e := el.Value.(*ttlEntry)
	if !now.Before(e.expires) {
		return ttlEntry{}, false
	}
	return *e, true
}

// MemoryRevocations is an in-process, size-bounded [Revocations]. When it
// holds max entries, the oldest is evicted first. Safe for concurrent use.
type MemoryRevocations struct {
	c ttlCache
}

// NewMemoryRevocations returns a MemoryRevocations holding at most max
// entries (DefaultMaxEntries when max <= 0), with now as its clock
// (time.Now when nil).
func NewMemoryRevocations(max int, now func() time.Time) *MemoryRevocations {
	return &MemoryRevocations{c: newTTLCache(max, now)}
}

// Revoke records key as revoked at at until ttl from now. A ttl <= 0
// records nothing.
func (m *MemoryRevocations) Revoke(_ context.Context, key string, at time.Time, ttl time.Duration) error {
	if ttl <= 0 {
		return nil
	}
	c := &m.c
	now := c.now()
	expires := now.Add(ttl)
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.getLocked(key, now); e != nil {
		if at.After(e.at) {
			e.at = at
		}
		if expires.After(e.expires) {
			e.expires = expires
		}
		c.order.MoveToBack(c.items[key])
		return nil
	}
	c.putLocked(&ttlEntry{key: key, at: at, expires: expires}, now)
	return nil
}

// RevokedAt returns when key was revoked, if it still is. Lookups take a
// read lock only.
func (m *MemoryRevocations) RevokedAt(_ context.Context, key string) (time.Time, bool, error) {
	if e, ok := m.c.live(key, m.c.now()); ok {
		return e.at, true, nil
	}
	return time.Time{}, false, nil
}

// Len returns the number of entries held, expired ones not yet dropped
// included.
func (m *MemoryRevocations) Len() int { return m.c.Len() }

// MemoryReplayCache is an in-process, size-bounded [ReplayCache]. When it
// holds max live entries, the oldest is evicted first, after which that key
// would be accepted again; size it above the number of messages expected
// within one ttl. Safe for concurrent use.
type MemoryReplayCache struct {
	c ttlCache
}

// NewMemoryReplayCache returns a MemoryReplayCache holding at most max
// entries (DefaultMaxEntries when max <= 0), with now as its clock
// (time.Now when nil).
func NewMemoryReplayCache(max int, now func() time.Time) *MemoryReplayCache {
	return &MemoryReplayCache{c: newTTLCache(max, now)}
}

// Seen reports whether key was recorded within its ttl; if not, it records
// key for ttl and returns false.
func (m *MemoryReplayCache) Seen(_ context.Context, key string, ttl time.Duration) (bool, error) {
	c := &m.c
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.getLocked(key, now) != nil {
		return true, nil
	}
	c.putLocked(&ttlEntry{key: key, at: now, expires: now.Add(ttl)}, now)
	return false, nil
}

// Len returns the number of entries held, expired ones not yet dropped
// included.
func (m *MemoryReplayCache) Len() int { return m.c.Len() }
