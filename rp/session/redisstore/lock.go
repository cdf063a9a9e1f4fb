package redisstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// releaseTimeout bounds the release of a lock and each renewal of a
// credential lock; they run after the caller's context may have ended.
const releaseTimeout = 2 * time.Second

// Polling while a lock is held elsewhere: 2 ms doubling to 50 ms, with
// jitter so that waiters on many replicas do not poll in step.
const (
	pollFirst = 2 * time.Millisecond
	pollMax   = 50 * time.Millisecond
)

// releaseScript deletes KEYS[1] only if it still holds the token ARGV[1]
// (compare-and-delete), so a holder whose lease expired cannot release a
// lock another holder has taken since.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('DEL', KEYS[1])
end
return 0`)

// renewScript extends KEYS[1] to ARGV[2] milliseconds only if it still
// holds the token ARGV[1].
var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`)

// Lock takes a lease on key shared by every Store that uses the same Redis
// and prefix (the key is stored as its SHA-256, so a key that contains a
// session ID does not reveal it). It implements [session.Locker]:
//
//   - Acquisition is SET NX PX ttl with a random 128-bit token. While
//     another holder has the lease, Lock polls (2 ms doubling to 50 ms,
//     jittered) until it gets it or ctx ends; then it returns ctx's error.
//     A Redis failure ends the wait at once with an error.
//   - The lease ends at unlock or after ttl, whichever comes first: a
//     holder that dies or hangs blocks others for at most ttl. A holder
//     that runs longer than ttl loses exclusivity, so ttl must exceed the
//     longest critical section (the relying party uses its refresh
//     timeout).
//   - unlock deletes the key only if it still holds this holder's token
//     (a Lua compare-and-delete), so a holder whose lease expired never
//     releases the lease of the next one. It is safe to call more than
//     once, runs with its own short timeout even when ctx has ended, and
//     ignores errors: if the release fails the lease simply expires.
//
// Lock fails for a ttl that is not positive.
func (s *Store) Lock(ctx context.Context, key string, ttl time.Duration) (func(), error) {
	if ttl <= 0 {
		return nil, fmt.Errorf("redisstore: lock: ttl %v is not positive", ttl)
	}
	lk := s.prefix + "lock:" + hashHex(key)
	token, err := s.acquire(ctx, lk, ttl)
	if err != nil {
		return nil, fmt.Errorf("redisstore: lock: %w", err)
	}
	var once sync.Once
	return func() { once.Do(func() { s.release(ctx, lk, token) }) }, nil
}

// acquire polls SET NX until it holds lk, and returns its token.
func (s *Store) acquire(ctx context.Context, lk string, ttl time.Duration) (string, error) {
	token, err := newToken()
	if err != nil {
		return "", err
	}
	delay := pollFirst
	for {
		ok, err := s.setNXGet(ctx, lk, token, ttl)
		if err != nil {
			return "", err
		}
		if ok {
			return token, nil
		}
		// Sleep between delay/2 and delay.
		t := time.NewTimer(delay/2 + rand.N(delay/2+1))
		select {
		case <-ctx.Done():
			t.Stop()
			return "", ctx.Err()
		case <-t.C:
		}
		delay = min(2*delay, pollMax)
	}
}

// release runs the compare-and-delete for lk and token.
func (s *Store) release(ctx context.Context, lk, token string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	// An error leaves the key to expire with its lease.
	_ = releaseScript.Run(ctx, s.c, []string{lk}, token).Err()
}

// renew extends lk to ttl if it still holds token. It reports false when
// the lease was lost (expired and possibly taken by another holder).
func (s *Store) renew(ctx context.Context, lk, token string, ttl time.Duration) (bool, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	n, err := renewScript.Run(ctx, s.c, []string{lk}, token, millis(ttl)).Int64()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	return n == 1, err
}
