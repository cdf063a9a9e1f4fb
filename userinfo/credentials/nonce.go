package credentials

import (
	"crypto/sha256"
	"sync"
	"time"
)

// maxCachedNonces bounds the nonce cache; beyond it expired entries are
// swept and then arbitrary ones dropped (a dropped nonce costs one extra
// request later).
const maxCachedNonces = 10000

// tokenKey identifies an access token in the cache without keeping it.
type tokenKey [sha256.Size]byte

func keyOf(accessToken string) tokenKey { return sha256.Sum256([]byte(accessToken)) }

// nonceEntry is a c_nonce and when to stop using it.
type nonceEntry struct {
	nonce   string
	expires time.Time
}

// nonceCache keeps the last c_nonce handed out for each access token,
// keyed by the token's SHA-256, until shortly before it expires.
type nonceCache struct {
	mu      sync.Mutex // guards entries
	entries map[tokenKey]nonceEntry
}

// get returns the cached nonce for k, or "".
func (c *nonceCache) get(k tokenKey, now time.Time) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok {
		return ""
	}
	if !now.Before(e.expires) {
		delete(c.entries, k)
		return ""
	}
	return e.nonce
}

// put caches nonce for k for expiresIn seconds, less a margin for the
// round trip and clock differences. Nonces without a lifetime are not
// cached.
func (c *nonceCache) put(k tokenKey, nonce string, expiresIn int64, now time.Time) {
	if nonce == "" || expiresIn <= 0 {
		return
	}
	life := time.Duration(min(expiresIn, int64(24*time.Hour/time.Second))) * time.Second
	life -= min(life/10, 30*time.Second)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = make(map[tokenKey]nonceEntry)
	}
	if _, ok := c.entries[k]; !ok && len(c.entries) >= maxCachedNonces {
		for key, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, key)
			}
		}
		for key := range c.entries {
			if len(c.entries) < maxCachedNonces {
				break
			}
			delete(c.entries, key)
		}
	}
	c.entries[k] = nonceEntry{nonce: nonce, expires: now.Add(life)}
}

// drop forgets the nonce for k if it is still nonce.
func (c *nonceCache) drop(k tokenKey, nonce string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[k]; ok && e.nonce == nonce {
		delete(c.entries, k)
	}
}

// len returns the number of entries, for tests.
func (c *nonceCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
