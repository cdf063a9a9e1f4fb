package redisstore

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/rp/session"
)

func TestReplayCacheAtomicAcrossReplicas(t *testing.T) {
	rp := startRedis(t)
	caches := []session.ReplayCache{rp.store(t, Options{}).ReplayCache(), rp.store(t, Options{}).ReplayCache()}
	const n = 100
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex // guards fresh and errs
		fresh int
		errs  []error
	)
	start := make(chan struct{})
	for i := range n {
		c := caches[i%len(caches)]
		wg.Go(func() {
			<-start
			seen, err := c.Seen(context.Background(), "jti-1", time.Minute)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			if !seen {
				fresh++
			}
		})
	}
	close(start)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	if fresh != 1 {
		t.Errorf("%d of %d concurrent Seen calls reported a first sighting, want exactly 1", fresh, n)
	}
}

func TestReplayCache(t *testing.T) {
	rp := startRedis(t)
	s := rp.store(t, Options{})
	c := s.ReplayCache()
	ctx := context.Background()
	tests := []struct {
		name  string
		key   string
		ttl   time.Duration
		sleep time.Duration
		want  []bool
	}{
		{name: "first then seen", key: "a", ttl: time.Minute, want: []bool{false, true, true}},
		{name: "forgotten after ttl", key: "b", ttl: 100 * time.Millisecond, sleep: 200 * time.Millisecond, want: []bool{false, false}},
		{name: "zero ttl records nothing", key: "c", ttl: 0, want: []bool{false, false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for i, want := range tc.want {
				if i > 0 {
					time.Sleep(tc.sleep)
				}
				got, err := c.Seen(ctx, tc.key, tc.ttl)
				if err != nil || got != want {
					t.Fatalf("call %d: Seen = %v, %v; want %v", i, got, err, want)
				}
			}
		})
	}
	t.Run("keys are hashed", func(t *testing.T) {
		if _, err := c.Seen(ctx, "jti-secret-value", time.Minute); err != nil {
			t.Fatal(err)
		}
		for _, k := range rp.client(t).Keys(ctx, "*").Val() {
			if strings.Contains(k, "jti-secret-value") {
				t.Errorf("key %q holds the key in clear", k)
			}
		}
	})
}

func TestRevocations(t *testing.T) {
	rp := startRedis(t)
	r1, r2 := rp.store(t, Options{}).Revocations(), rp.store(t, Options{}).Revocations()
	raw := rp.client(t)
	ctx := context.Background()
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 123456789, time.UTC)

	revokedAt := func(t *testing.T, r session.Revocations, key string) (time.Time, bool) {
		t.Helper()
		at, ok, err := r.RevokedAt(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		return at, ok
	}

	t.Run("not revoked", func(t *testing.T) {
		if _, ok := revokedAt(t, r1, "nobody"); ok {
			t.Error("unknown key revoked")
		}
	})
	t.Run("seen by another replica, to the nanosecond", func(t *testing.T) {
		if err := r1.Revoke(ctx, "sid:1", t0, time.Minute); err != nil {
			t.Fatal(err)
		}
		at, ok := revokedAt(t, r2, "sid:1")
		if !ok || !at.Equal(t0) {
			t.Errorf("RevokedAt = %v, %v; want %v", at, ok, t0)
		}
	})
	t.Run("keeps the later time and the later end of life", func(t *testing.T) {
		if err := r1.Revoke(ctx, "sid:2", t0.Add(time.Second), 2*time.Second); err != nil {
			t.Fatal(err)
		}
		if err := r2.Revoke(ctx, "sid:2", t0, 100*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
		at, ok := revokedAt(t, r1, "sid:2")
		if !ok || !at.Equal(t0.Add(time.Second)) {
			t.Errorf("RevokedAt = %v, %v; want %v", at, ok, t0.Add(time.Second))
		}
		if err := r2.Revoke(ctx, "sid:2", t0.Add(time.Hour), time.Second); err != nil {
			t.Fatal(err)
		}
		if at, _ := revokedAt(t, r1, "sid:2"); !at.Equal(t0.Add(time.Hour)) {
			t.Errorf("RevokedAt = %v, want the later time", at)
		}
	})
	t.Run("entry ends after ttl", func(t *testing.T) {
		if err := r1.Revoke(ctx, "sid:3", t0, 100*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if _, ok := revokedAt(t, r2, "sid:3"); !ok {
			t.Fatal("not revoked")
		}
		time.Sleep(200 * time.Millisecond)
		if _, ok := revokedAt(t, r2, "sid:3"); ok {
			t.Error("still revoked after ttl")
		}
	})
	t.Run("zero ttl records nothing", func(t *testing.T) {
		if err := r1.Revoke(ctx, "sid:4", t0, 0); err != nil {
			t.Fatal(err)
		}
		if _, ok := revokedAt(t, r1, "sid:4"); ok {
			t.Error("revoked with ttl 0")
		}
	})
	t.Run("time before 1970", func(t *testing.T) {
		if err := r1.Revoke(ctx, "sid:5", time.Time{}, time.Minute); err != nil {
			t.Fatal(err)
		}
		if at, ok := revokedAt(t, r1, "sid:5"); !ok || !at.Equal(time.Unix(0, 0)) {
			t.Errorf("RevokedAt = %v, %v", at, ok)
		}
	})
	t.Run("malformed entry fails closed", func(t *testing.T) {
		s := rp.store(t, Options{})
		raw.Set(ctx, s.prefix+"rev:"+hashHex("sid:6"), "garbage", time.Minute)
		if _, _, err := s.Revocations().RevokedAt(ctx, "sid:6"); !errors.Is(err, session.ErrInvalid) {
			t.Errorf("RevokedAt = %v, want ErrInvalid", err)
		}
	})
}
