package logout

import (
	"container/list"
	"context"
	"sync"
	"time"
)

// ReplayCache remembers keys for a while so that a logout token is
// accepted only once (OpenID Connect Back-Channel Logout 1.0 §2.6). The
// rp/session package's replay caches (in memory, Redis) implement it; with
// several replicas, use a shared one.
type ReplayCache interface {
	// Seen reports whether key was seen within its ttl, and records it
	// with ttl when it was not: the first call returns false, later calls
	// true until ttl ends.
	Seen(ctx context.Context, key string, ttl time.Duration) (bool, error)
}

// DefaultReplayCacheSize is the number of entries a [MemoryReplayCache]
// holds when no size is given.
const DefaultReplayCacheSize = 10_000

// MemoryReplayCache is an in-process [ReplayCache] bounded in time and
// size: an entry lives for its ttl, and when the cache is full the oldest
// entry is dropped to make room. Safe for concurrent use.
type MemoryReplayCache struct {
	max int
	now func() time.Time

	mu    sync.Mutex // guards items and order
	items map[string]*list.Element
	order *list.List // of *replayEntry, oldest first
}

type replayEntry struct {
	key     string
	expires time.Time
}

// NewMemoryReplayCache returns a cache holding at most max entries
// (DefaultReplayCacheSize when max <= 0), using now as its clock (time.Now
// when nil).
func NewMemoryReplayCache(max int, now func() time.Time) *MemoryReplayCache {
	if max <= 0 {
		max = DefaultReplayCacheSize
	}
	if now == nil {
		now = time.Now
	}
	return &MemoryReplayCache{max: max, now: now, items: make(map[string]*list.Element), order: list.New()}
}

// Seen implements [ReplayCache]. A ttl <= 0 records nothing.
func (c *MemoryReplayCache) Seen(_ context.Context, key string, ttl time.Duration) (bool, error) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		if now.Before(el.Value.(*replayEntry).expires) {
			return true, nil
		}
		c.order.Remove(el)
		delete(c.items, key)
	}
	if ttl <= 0 {
		return false, nil
	}
	// Entries are in insertion order, not expiry order, so the front may
	// outlive entries behind it; expired entries behind it are dropped when
	// looked up or when they reach the front.
	for c.order.Len() > 0 {
		front := c.order.Front()
		e := front.Value.(*replayEntry)
		if now.Before(e.expires) && c.order.Len() < c.max {
			break
		}
		c.order.Remove(front)
		delete(c.items, e.key)
	}
	c.items[key] = c.order.PushBack(&replayEntry{key: key, expires: now.Add(ttl)})
	return false, nil
}

// Len returns the number of entries held, expired ones included.
func (c *MemoryReplayCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
