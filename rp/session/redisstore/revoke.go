package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oidcrp/oidcrp/rp/session"
)

// revokeScript records at ARGV[1] (Unix nanoseconds, 20 digits, zero
// padded) in KEYS[1] for ARGV[2] milliseconds, keeping the later of the
// stored and new time and the later end of life. The times are compared
// as two 10-digit halves, each exact as a Lua number.
var revokeScript = redis.NewScript(`
local at = ARGV[1]
local cur = redis.call('GET', KEYS[1])
if cur and string.len(cur) == 20 then
	local ch, ah = tonumber(string.sub(cur, 1, 10)), tonumber(string.sub(at, 1, 10))
	if ch > ah or (ch == ah and tonumber(string.sub(cur, 11)) > tonumber(string.sub(at, 11))) then
		at = cur
	end
end
local ttl = tonumber(ARGV[2])
local left = redis.call('PTTL', KEYS[1])
if left > ttl then
	ttl = left
end
redis.call('SET', KEYS[1], at, 'PX', ttl)
return 1`)

// Revocations returns a [session.Revocations] shared by every Store on the
// same Redis and prefix: a logout seen by one replica refuses the
// session's cookies on all of them. Each entry is a key with a TTL (keys
// are stored as their SHA-256); Revoke is one atomic Lua script, so
// concurrent revocations of one key keep the later time and the later end
// of life; RevokedAt is one GET. A ttl <= 0 records nothing. Times are
// kept to the nanosecond; a time before 1970 is recorded as 1970.
func (s *Store) Revocations() session.Revocations { return &revocations{s: s} }

type revocations struct{ s *Store }

func (r *revocations) key(k string) string { return r.s.prefix + "rev:" + hashHex(k) }

// Revoke records key as revoked at at, for ttl.
func (r *revocations) Revoke(ctx context.Context, key string, at time.Time, ttl time.Duration) error {
	if ttl <= 0 {
		return nil
	}
	var n int64
	if at.After(time.Unix(0, 0)) {
		n = at.UnixNano()
	}
	v := fmt.Sprintf("%020d", n)
	if err := revokeScript.Run(ctx, r.s.c, []string{r.key(key)}, v, millis(ttl)).Err(); err != nil {
		return fmt.Errorf("redisstore: revoke: %w", err)
	}
	return nil
}

// RevokedAt returns when key was revoked, if it still is. A stored value
// that does not parse is an error wrapping session.ErrInvalid: the
// relying party then fails closed rather than accept a revoked session.
func (r *revocations) RevokedAt(ctx context.Context, key string) (time.Time, bool, error) {
	v, err := r.s.c.Get(ctx, r.key(key)).Result()
	if errors.Is(err, redis.Nil) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("redisstore: revoked at: %w", err)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || len(v) != 20 || n < 0 {
		return time.Time{}, false, fmt.Errorf("redisstore: revoked at: malformed entry: %w", session.ErrInvalid)
	}
	return time.Unix(0, n).UTC(), true, nil
}

// ReplayCache returns a [session.ReplayCache] shared by every Store on the
// same Redis and prefix, so that a message (a logout token's jti, a login
// state) is accepted once across all replicas. Seen is one SET NX PX:
// atomic, so of any number of concurrent calls for one key on any
// replicas exactly one reports false. Keys are stored as their SHA-256. A
// ttl <= 0 records nothing and reports false.
func (s *Store) ReplayCache() session.ReplayCache { return &replayCache{s: s} }

type replayCache struct{ s *Store }

// Seen reports whether key was recorded within its ttl; if not, it records
// it for ttl and returns false. Each call writes a random token, so a
// network retry of the same call still reports false.
func (c *replayCache) Seen(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, nil
	}
	token, err := newToken()
	if err != nil {
		return false, fmt.Errorf("redisstore: seen: %w", err)
	}
	first, err := c.s.setNXGet(ctx, c.s.prefix+"seen:"+hashHex(key), token, ttl)
	if err != nil {
		return false, fmt.Errorf("redisstore: seen: %w", err)
	}
	return !first, nil
}
