package credentials

import (
	"strconv"
	"testing"
	"time"
)

func TestNonceCache(t *testing.T) {
	now := time.Unix(1700000000, 0)
	tests := []struct {
		name      string
		expiresIn int64
		after     time.Duration
		want      string
	}{
		{"fresh", 3600, time.Minute, "n"},
		{"kept until shortly before expiry", 3600, 3600*time.Second - 31*time.Second, "n"},
		{"dropped within the margin", 3600, 3600*time.Second - 29*time.Second, ""},
		{"short lifetime, tenth as margin", 60, 53 * time.Second, "n"},
		{"short lifetime, margin reached", 60, 54 * time.Second, ""},
		{"no lifetime: not cached", 0, 0, ""},
		{"negative lifetime: not cached", -5, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c nonceCache
			k := keyOf("token")
			c.put(k, "n", tc.expiresIn, now)
			if got := c.get(k, now.Add(tc.after)); got != tc.want {
				t.Errorf("get = %q, want %q", got, tc.want)
			}
			if got := c.get(keyOf("other"), now); got != "" {
				t.Errorf("another token got %q", got)
			}
		})
	}

	t.Run("drop only the nonce named", func(t *testing.T) {
		var c nonceCache
		k := keyOf("token")
		c.put(k, "new", 60, now)
		c.drop(k, "old")
		if c.get(k, now) != "new" {
			t.Error("drop of a replaced nonce removed the new one")
		}
		c.drop(k, "new")
		if c.get(k, now) != "" {
			t.Error("drop did not remove the nonce")
		}
	})

	t.Run("bounded", func(t *testing.T) {
		var c nonceCache
		for i := range maxCachedNonces {
			c.put(keyOf(strconv.Itoa(i)), "n", 10, now)
		}
		if c.len() != maxCachedNonces {
			t.Fatalf("len = %d", c.len())
		}
		// Expired entries are swept first.
		later := now.Add(time.Minute)
		c.put(keyOf("fresh"), "f", 60, later)
		if c.len() != 1 || c.get(keyOf("fresh"), later) != "f" {
			t.Errorf("after the sweep len = %d", c.len())
		}
		// Live entries are dropped to make room, never beyond the bound.
		for i := range maxCachedNonces + 10 {
			c.put(keyOf("live"+strconv.Itoa(i)), "n", 600, later)
		}
		if c.len() > maxCachedNonces {
			t.Errorf("len = %d beyond the bound", c.len())
		}
	})
}

func TestErrorNonceRejected(t *testing.T) {
	tests := []struct {
		e    Error
		want bool
	}{
		{Error{Status: 400, Code: "invalid_request", Description: "… The nonce is invalid."}, true},
		{Error{Status: 400, Code: "invalid_request", Description: "The nonce has expired."}, true},
		{Error{Status: 400, Code: "invalid_nonce"}, true},
		{Error{Status: 400, Code: "invalid_proof"}, true},
		{Error{Status: 400, Code: "invalid_or_missing_proof"}, true},
		{Error{Status: 400, Code: "invalid_request", Description: "The format 'x' is not supported."}, false},
		{Error{Status: 401, Code: "request_unauthorized"}, false},
	}
	for _, tc := range tests {
		if got := tc.e.nonceRejected(); got != tc.want {
			t.Errorf("%+v: nonceRejected = %v, want %v", tc.e, got, tc.want)
		}
	}
}
