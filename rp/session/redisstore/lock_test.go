package redisstore

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestLockMutualExclusion(t *testing.T) {
	rp := startRedis(t)
	stores := []*Store{rp.store(t, Options{}), rp.store(t, Options{})}
	const goroutines, rounds = 16, 8
	var (
		counter int // guarded by the Redis lock only
		inside  atomic.Int32
		overlap atomic.Bool
		wg      sync.WaitGroup
	)
	errs := make(chan error, goroutines*rounds)
	for g := range goroutines {
		s := stores[g%len(stores)]
		wg.Go(func() {
			for range rounds {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				unlock, err := s.Lock(ctx, "refresh:session-1", 5*time.Second)
				cancel()
				if err != nil {
					errs <- err
					return
				}
				if inside.Add(1) != 1 {
					overlap.Store(true)
				}
				v := counter
				time.Sleep(100 * time.Microsecond)
				counter = v + 1
				inside.Add(-1)
				unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if overlap.Load() {
		t.Error("two holders inside the lock at once")
	}
	if counter != goroutines*rounds {
		t.Errorf("counter = %d, want %d (lost updates)", counter, goroutines*rounds)
	}
}

func TestLock(t *testing.T) {
	rp := startRedis(t)
	raw := rp.client(t)
	a, b := rp.store(t, Options{}), rp.store(t, Options{})
	ctx := context.Background()

	// tryLock attempts the lock for d.
	tryLock := func(s *Store, key string, d time.Duration) (func(), error) {
		ctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		return s.Lock(ctx, key, time.Minute)
	}

	t.Run("key is hashed", func(t *testing.T) {
		id := mustID(t)
		unlock, err := a.Lock(ctx, "refresh:"+id, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		defer unlock()
		for _, k := range raw.Keys(ctx, "*").Val() {
			if strings.Contains(k, id) {
				t.Errorf("lock key %q contains the session ID", k)
			}
		}
	})
	t.Run("ctx end returns promptly", func(t *testing.T) {
		unlock, err := a.Lock(ctx, "k-ctx", 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer unlock()
		start := time.Now()
		_, err = tryLock(b, "k-ctx", 100*time.Millisecond)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Lock = %v, want DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("Lock returned after %v", d)
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := b.Lock(cctx, "k-ctx", time.Second); !errors.Is(err, context.Canceled) {
			t.Errorf("Lock with a canceled ctx = %v", err)
		}
	})
	t.Run("lease expires when the holder dies", func(t *testing.T) {
		if _, err := a.Lock(ctx, "k-dead", 200*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		// a "dies": it never unlocks.
		start := time.Now()
		unlock, err := tryLock(b, "k-dead", 3*time.Second)
		if err != nil {
			t.Fatalf("Lock after the holder died: %v", err)
		}
		defer unlock()
		if d := time.Since(start); d < 100*time.Millisecond || d > 1500*time.Millisecond {
			t.Errorf("acquired after %v, want about the 200ms lease", d)
		}
	})
	t.Run("unlock by a non-owner does nothing", func(t *testing.T) {
		stale, err := a.Lock(ctx, "k-owner", 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(150 * time.Millisecond) // a's lease ends
		unlockB, err := tryLock(b, "k-owner", time.Second)
		if err != nil {
			t.Fatal(err)
		}
		stale() // a, no longer the owner, releases
		if _, err := tryLock(a, "k-owner", 100*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("lock free after a non-owner's unlock: %v", err)
		}
		// An attacker who guesses the key but not the token cannot
		// release it either.
		lk := b.prefix + "lock:" + hashHex("k-owner")
		if n := releaseScript.Run(ctx, raw, []string{lk}, "guessed-token").Val(); n != int64(0) {
			t.Errorf("release with a wrong token = %v", n)
		}
		if raw.Exists(ctx, lk).Val() != 1 {
			t.Fatal("lock released by a wrong token")
		}
		unlockB()
		unlockB() // twice is fine
		unlock, err := tryLock(a, "k-owner", time.Second)
		if err != nil {
			t.Fatalf("lock not free after the owner's unlock: %v", err)
		}
		unlock()
	})
	t.Run("unlock works after ctx ended", func(t *testing.T) {
		lctx, cancel := context.WithCancel(ctx)
		unlock, err := a.Lock(lctx, "k-late", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		unlock()
		unlock2, err := tryLock(b, "k-late", 200*time.Millisecond)
		if err != nil {
			t.Fatalf("lock still held: %v", err)
		}
		unlock2()
	})
	t.Run("bad ttl", func(t *testing.T) {
		for _, ttl := range []time.Duration{0, -time.Second} {
			if _, err := a.Lock(ctx, "k-ttl", ttl); err == nil {
				t.Errorf("Lock with ttl %v succeeded", ttl)
			}
		}
	})
	t.Run("distinct keys do not block", func(t *testing.T) {
		u1, err := a.Lock(ctx, "k-x", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		defer u1()
		u2, err := tryLock(b, "k-y", 200*time.Millisecond)
		if err != nil {
			t.Fatalf("a lock on another key blocked: %v", err)
		}
		u2()
	})
	t.Run("prefixes do not share locks", func(t *testing.T) {
		u1, err := a.Lock(ctx, "k-p", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		defer u1()
		other := rp.store(t, Options{Prefix: "other-app:"})
		u2, err := tryLock(other, "k-p", 200*time.Millisecond)
		if err != nil {
			t.Fatalf("another prefix's lock blocked: %v", err)
		}
		u2()
	})
}
