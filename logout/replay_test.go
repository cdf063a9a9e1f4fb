package logout_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/logout"
)

func TestMemoryReplayCache(t *testing.T) {
	clk := newClock()
	c := logout.NewMemoryReplayCache(3, clk.Now)
	seen := func(key string, ttl time.Duration) bool {
		t.Helper()
		s, err := c.Seen(t.Context(), key, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	steps := []struct {
		name    string
		advance time.Duration
		key     string
		ttl     time.Duration
		want    bool
	}{
		{name: "first sight", key: "a", ttl: time.Minute, want: false},
		{name: "seen again", key: "a", ttl: time.Minute, want: true},
		{name: "other key", key: "b", ttl: 2 * time.Minute, want: false},
		{name: "still within ttl", advance: 59 * time.Second, key: "a", ttl: time.Minute, want: true},
		{name: "ttl over", advance: time.Second, key: "a", ttl: time.Minute, want: false},
		{name: "recorded again", key: "a", ttl: time.Minute, want: true},
		{name: "zero ttl records nothing", key: "z", ttl: 0, want: false},
		{name: "zero ttl really recorded nothing", key: "z", ttl: time.Minute, want: false},
		{name: "b alive", key: "b", ttl: time.Minute, want: true},
	}
	for _, s := range steps {
		clk.Add(s.advance)
		if got := seen(s.key, s.ttl); got != s.want {
			t.Fatalf("%s: Seen(%q) = %v, want %v", s.name, s.key, got, s.want)
		}
	}

	// Size bound: the oldest entry goes first.
	for i := range 10 {
		seen(fmt.Sprint("k", i), time.Hour)
	}
	if n := c.Len(); n != 3 {
		t.Errorf("Len = %d, want 3", n)
	}
	if !seen("k9", time.Hour) || seen("k0", time.Hour) {
		t.Error("size bound evicted the wrong entries")
	}
}
