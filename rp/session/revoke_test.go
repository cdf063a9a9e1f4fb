package session

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestMemoryRevocations(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	r := NewMemoryRevocations(3, clk.Now)
	t0 := clk.Now()

	check := func(key string, wantOK bool, wantAt time.Time) {
		t.Helper()
		at, ok, err := r.RevokedAt(ctx, key)
		if err != nil || ok != wantOK || (ok && !at.Equal(wantAt)) {
			t.Errorf("RevokedAt(%q) = %v, %v, %v; want %v, %v", key, at, ok, err, wantAt, wantOK)
		}
	}
	t.Run("revoke and TTL", func(t *testing.T) {
		_ = r.Revoke(ctx, "sid:a", t0, time.Hour)
		check("sid:a", true, t0)
		check("sid:b", false, time.Time{})
		clk.Add(59 * time.Minute)
		check("sid:a", true, t0)
		clk.Add(time.Minute)
		check("sid:a", false, time.Time{})
	})
	t.Run("revoke again keeps the later time and life", func(t *testing.T) {
		now := clk.Now()
		_ = r.Revoke(ctx, "k", now, time.Hour)
		_ = r.Revoke(ctx, "k", now.Add(-time.Minute), time.Minute) // older, shorter
		check("k", true, now)
		clk.Add(30 * time.Minute)
		check("k", true, now)
		_ = r.Revoke(ctx, "k", clk.Now(), time.Hour)
		check("k", true, clk.Now())
		clk.Add(59 * time.Minute)
		check("k", true, clk.Now().Add(-59*time.Minute))
		clk.Add(time.Minute)
		check("k", false, time.Time{})
	})
	t.Run("non-positive TTL records nothing", func(t *testing.T) {
		_ = r.Revoke(ctx, "zero", clk.Now(), 0)
		check("zero", false, time.Time{})
	})
	t.Run("size bound evicts the oldest", func(t *testing.T) {
		now := clk.Now()
		for i := range 4 {
			_ = r.Revoke(ctx, fmt.Sprint("e", i), now, time.Hour)
		}
		if r.Len() != 3 {
			t.Errorf("Len = %d, want 3", r.Len())
		}
		check("e0", false, time.Time{})
		for i := 1; i < 4; i++ {
			check(fmt.Sprint("e", i), true, now)
		}
		// A re-revoked key counts as new.
		_ = r.Revoke(ctx, "e1", now, time.Hour)
		_ = r.Revoke(ctx, "e4", now, time.Hour)
		check("e1", true, now)
		check("e2", false, time.Time{})
	})
	t.Run("expired entries make room before live ones go", func(t *testing.T) {
		r := NewMemoryRevocations(2, clk.Now)
		_ = r.Revoke(ctx, "short", clk.Now(), time.Minute)
		_ = r.Revoke(ctx, "long", clk.Now(), time.Hour)
		clk.Add(time.Minute)
		_ = r.Revoke(ctx, "new", clk.Now(), time.Hour)
		if _, ok, _ := r.RevokedAt(ctx, "long"); !ok {
			t.Error("a live entry was evicted while an expired one could go")
		}
	})
	t.Run("defaults", func(t *testing.T) {
		d := NewMemoryRevocations(0, nil)
		if d.c.max != DefaultMaxEntries || d.c.now == nil {
			t.Errorf("max = %d", d.c.max)
		}
	})
}

func TestMemoryReplayCache(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	c := NewMemoryReplayCache(2, clk.Now)
	seen := func(key string, want bool) {
		t.Helper()
		got, err := c.Seen(ctx, key, time.Minute)
		if err != nil || got != want {
			t.Errorf("Seen(%q) = %v, %v; want %v", key, got, err, want)
		}
	}
	seen("jti-1", false)
	seen("jti-1", true)
	seen("jti-1", true)
	clk.Add(time.Minute)
	seen("jti-1", false) // TTL over: recorded again
	seen("jti-1", true)
	seen("jti-2", false)
	seen("jti-3", false) // evicts jti-1, the oldest
	if c.Len() != 2 {
		t.Errorf("Len = %d, want 2", c.Len())
	}
	seen("jti-3", true)
	seen("jti-2", true)
	seen("jti-1", false)
}

func TestCachesConcurrent(t *testing.T) {
	ctx := context.Background()
	r := NewMemoryRevocations(100, nil)
	c := NewMemoryReplayCache(100, nil)
	var firsts sync.Map
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				key := fmt.Sprint(i % 50)
				_ = r.Revoke(ctx, key, time.Now(), time.Hour)
				_, _, _ = r.RevokedAt(ctx, fmt.Sprint(g, i))
				if s, _ := c.Seen(ctx, "jti-"+key, time.Hour); !s {
					if _, dup := firsts.LoadOrStore(key, g); dup {
						t.Errorf("key %s seen first twice", key)
					}
				}
			}
		})
	}
	wg.Wait()
}
