package redisstore

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oidcrp/oidcrp/registration"
)

// promptly is how long a call may take to fail while Redis is down.
const promptly = 2 * time.Second

// TestRedisDown kills Redis under a working Store: every method must
// fail with an error, promptly and without panicking, never answer
// "not found"; after a restart with empty data the Store works again by
// itself and a missing record is (nil, nil) again.
func TestRedisDown(t *testing.T) {
	rp := startRedis(t)
	s, err := New(Options{Client: rp.recommendedClient(t), Codec: mustCodec(t, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	sess := sampleSession(t, now)
	mustSet(t, s, sess, now.Add(time.Hour))
	creds := s.CredentialStore("default")
	if err := creds.Save(ctx, sampleCredentials()); err != nil {
		t.Fatal(err)
	}

	rp.kill()

	calls := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{name: "Get", call: func(ctx context.Context) error {
			got, err := s.Get(ctx, sess.ID)
			if got != nil {
				t.Errorf("Get returned a session while Redis is down")
			}
			return err
		}},
		{name: "Set", call: func(ctx context.Context) error { return s.Set(ctx, sess, now.Add(time.Hour)) }},
		{name: "Delete", call: func(ctx context.Context) error { return s.Delete(ctx, sess.ID) }},
		{name: "DeleteBySID", call: func(ctx context.Context) error {
			_, err := s.DeleteBySID(ctx, sess.Issuer, sess.SID)
			return err
		}},
		{name: "DeleteBySubject", call: func(ctx context.Context) error {
			_, err := s.DeleteBySubject(ctx, sess.Issuer, sess.Subject)
			return err
		}},
		{name: "Lock", call: func(ctx context.Context) error {
			unlock, err := s.Lock(ctx, "refresh:"+sess.ID, time.Minute)
			if unlock != nil {
				t.Error("Lock handed out an unlock while Redis is down")
			}
			return err
		}},
		{name: "Revoke", call: func(ctx context.Context) error {
			return s.Revocations().Revoke(ctx, "k", now, time.Minute)
		}},
		{name: "RevokedAt", call: func(ctx context.Context) error {
			_, _, err := s.Revocations().RevokedAt(ctx, "k")
			return err
		}},
		{name: "Seen", call: func(ctx context.Context) error {
			_, err := s.ReplayCache().Seen(ctx, "jti", time.Minute)
			return err
		}},
		{name: "credentials Load", call: func(ctx context.Context) error {
			c, err := creds.Load(ctx)
			if c != nil {
				t.Error("Load returned credentials while Redis is down")
			}
			return err
		}},
		{name: "credentials Save", call: func(ctx context.Context) error { return creds.Save(ctx, sampleCredentials()) }},
		{name: "credentials Lock", call: func(ctx context.Context) error {
			_, err := creds.(registration.Locker).Lock(ctx)
			return err
		}},
	}
	for _, tc := range calls {
		t.Run("down/"+tc.name, func(t *testing.T) {
			// A generous ctx: the client's own timeouts must end the call.
			ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			start := time.Now()
			err := tc.call(ctx)
			if err == nil {
				t.Errorf("%s succeeded while Redis is down", tc.name)
			}
			if d := time.Since(start); d > promptly {
				t.Errorf("%s took %v to fail", tc.name, d)
			}
		})
	}

	rp.restart()
	t.Run("recovers, empty", func(t *testing.T) {
		// After repeated dial failures go-redis probes the server once a
		// second, so recovery takes up to about a second; no call from the
		// application is needed.
		deadline := time.Now().Add(3 * time.Second)
		for {
			got, err := s.Get(ctx, sess.ID)
			if err == nil {
				if got != nil {
					t.Fatalf("Get after an empty restart = %+v, want nil", got)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("Get still fails 3s after Redis is back: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		mustSet(t, s, sess, now.Add(time.Hour))
		sameSession(t, mustGet(t, s, sess.ID), sess)
		unlock, err := s.Lock(ctx, "refresh:"+sess.ID, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		unlock()
	})
}

// TestRedisHung freezes Redis: connections stay open but nothing answers.
// The client's read timeout must end each call.
func TestRedisHung(t *testing.T) {
	rp := startRedis(t)
	s, err := New(Options{Client: rp.recommendedClient(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	sess := sampleSession(t, now)
	mustSet(t, s, sess, now.Add(time.Hour))
	rp.freeze()
	t.Cleanup(rp.thaw)
	calls := []struct {
		name string
		call func() error
	}{
		{name: "Get", call: func() error {
			got, err := s.Get(ctx, sess.ID)
			if got != nil {
				t.Error("Get returned a session while Redis hangs")
			}
			return err
		}},
		{name: "Set", call: func() error { return s.Set(ctx, sess, now.Add(time.Hour)) }},
		{name: "Lock", call: func() error {
			_, err := s.Lock(ctx, "k", time.Minute)
			return err
		}},
	}
	for _, tc := range calls {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			if err := tc.call(); err == nil {
				t.Errorf("%s succeeded while Redis hangs", tc.name)
			}
			if d := time.Since(start); d > promptly {
				t.Errorf("%s took %v to fail", tc.name, d)
			}
		})
	}
	rp.thaw()
	deadline := time.Now().Add(3 * time.Second)
	for {
		got, err := s.Get(ctx, sess.ID)
		if err == nil {
			sameSession(t, got, sess)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Get still fails 3s after Redis resumed: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRedisDownCtx checks that the caller's deadline ends a call sooner
// than the client's timeouts would.
func TestRedisDownCtx(t *testing.T) {
	rp := startRedis(t)
	s := rp.store(t, Options{})
	rp.kill()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := s.Get(ctx, mustID(t)); err == nil {
		t.Error("Get succeeded while Redis is down")
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("Get took %v with a 50ms deadline", d)
	}
}

// TestPersistence restarts Redis with an append-only file: sessions,
// index, revocations and credentials survive, with their TTLs.
func TestPersistence(t *testing.T) {
	aof := []string{"--appendonly", "yes", "--appendfsync", "always"}
	rp := startRedis(t, aof...)
	// fsync on every write can be slow on a busy disk: this test is about
	// durability, not latency.
	c := redis.NewClient(&redis.Options{Addr: rp.Addr(), ReadTimeout: 10 * time.Second})
	t.Cleanup(func() { _ = c.Close() })
	s, err := New(Options{Client: c, Codec: mustCodec(t, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	sess := sampleSession(t, now)
	mustSet(t, s, sess, now.Add(time.Hour))
	if err := s.Revocations().Revoke(ctx, "sid:x", now, time.Hour); err != nil {
		t.Fatal(err)
	}
	want := sampleCredentials()
	if err := s.CredentialStore("default").Save(ctx, want); err != nil {
		t.Fatal(err)
	}

	rp.kill() // a crash: only what was fsynced survives
	rp.restart(aof...)

	sameSession(t, mustGet(t, s, sess.ID), sess)
	if ttl := rp.client(t).PTTL(ctx, s.recordKey(sess.ID)).Val(); ttl < 59*time.Minute {
		t.Errorf("TTL after restart = %v", ttl)
	}
	if _, ok, err := s.Revocations().RevokedAt(ctx, "sid:x"); !ok || err != nil {
		t.Errorf("revocation lost: %v, %v", ok, err)
	}
	if c, err := s.CredentialStore("default").Load(ctx); err != nil || c == nil || c.ClientSecret != want.ClientSecret {
		t.Errorf("credentials after restart = %v, %v", c, err)
	}
	if n, err := s.DeleteBySID(ctx, sess.Issuer, sess.SID); err != nil || n != 1 {
		t.Errorf("DeleteBySID after restart = %d, %v; want 1", n, err)
	}

	t.Run("graceful shutdown", func(t *testing.T) {
		other := sampleSession(t, now)
		mustSet(t, s, other, now.Add(time.Hour))
		rp.shutdown()
		rp.restart(aof...)
		sameSession(t, mustGet(t, s, other.ID), other)
	})
}
