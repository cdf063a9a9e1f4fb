package redisstore

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oidcrp/oidcrp/rp/session"
)

func TestNew(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = c.Close() })
	tests := []struct {
		name    string
		opt     Options
		wantErr bool
		prefix  string
	}{
		{name: "nil client", opt: Options{}, wantErr: true},
		{name: "negative lock TTL", opt: Options{Client: c, CredentialLockTTL: -time.Second}, wantErr: true},
		{name: "defaults", opt: Options{Client: c}, prefix: DefaultPrefix},
		{name: "own prefix", opt: Options{Client: c, Prefix: "app1:"}, prefix: "app1:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.opt)
			if (err != nil) != tc.wantErr {
				t.Fatalf("New: err = %v, wantErr %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if s.prefix != tc.prefix || s.now == nil || s.lockTTL != DefaultCredentialLockTTL || !s.tx {
				t.Errorf("store = %+v", s)
			}
		})
	}
}

func TestNewClient(t *testing.T) {
	tests := []struct {
		name     string
		url      string
		wantErr  bool
		wantDial time.Duration
		wantRead time.Duration
	}{
		{name: "defaults", url: "redis://127.0.0.1:6379/0", wantDial: RecommendedDialTimeout, wantRead: RecommendedReadTimeout},
		{name: "URL overrides", url: "redis://127.0.0.1:6379/0?dial_timeout=3s&read_timeout=2s", wantDial: 3 * time.Second, wantRead: 2 * time.Second},
		{name: "bad scheme", url: "http://127.0.0.1:6379", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewClient(tc.url)
			if (err != nil) != tc.wantErr {
				t.Fatalf("NewClient: err = %v, wantErr %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			defer c.Close()
			o := c.Options()
			if o.DialTimeout != tc.wantDial || o.ReadTimeout != tc.wantRead || o.WriteTimeout != RecommendedWriteTimeout ||
				o.MaxRetries != RecommendedMaxRetries || !o.ContextTimeoutEnabled {
				t.Errorf("options: dial %v read %v write %v retries %d ctx %v", o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.MaxRetries, o.ContextTimeoutEnabled)
			}
		})
	}
}

func TestBackend(t *testing.T) {
	rp := startRedis(t)
	raw := rp.client(t)
	ctx := context.Background()
	for _, sealed := range []bool{false, true} {
		t.Run(fmt.Sprintf("sealed=%v", sealed), func(t *testing.T) {
			opt := Options{Prefix: fmt.Sprintf("t%v:", sealed)}
			if sealed {
				opt.Codec = mustCodec(t, 1)
			}
			s := rp.store(t, opt)
			now := time.Now()
			want := sampleSession(t, now)
			mustSet(t, s, want, now.Add(time.Hour))

			t.Run("round trip", func(t *testing.T) {
				sameSession(t, mustGet(t, s, want.ID), want)
			})
			t.Run("another replica reads it", func(t *testing.T) {
				sameSession(t, mustGet(t, rp.store(t, opt), want.ID), want)
			})
			t.Run("returned sessions are not shared", func(t *testing.T) {
				a := mustGet(t, s, want.ID)
				a.AccessToken = "changed"
				if b := mustGet(t, s, want.ID); b.AccessToken != want.AccessToken {
					t.Error("a change to a returned session reached the store")
				}
			})
			t.Run("replace", func(t *testing.T) {
				next := *want
				next.AccessToken = "rotated"
				mustSet(t, s, &next, now.Add(time.Hour))
				if got := mustGet(t, s, want.ID); got == nil || got.AccessToken != "rotated" {
					t.Fatalf("Get after replace = %+v", got)
				}
				mustSet(t, s, want, now.Add(time.Hour))
			})
			t.Run("TTL is the expiry", func(t *testing.T) {
				ttl, err := raw.PTTL(ctx, s.recordKey(want.ID)).Result()
				if err != nil {
					t.Fatal(err)
				}
				if ttl < 59*time.Minute || ttl > time.Hour {
					t.Errorf("PTTL = %v, want about 1h", ttl)
				}
			})
			t.Run("ID not stored in clear", func(t *testing.T) {
				keys, err := raw.Keys(ctx, opt.Prefix+"*").Result()
				if err != nil {
					t.Fatal(err)
				}
				rk := s.recordKey(want.ID)
				found := false
				for _, k := range keys {
					if strings.Contains(k, want.ID) {
						t.Errorf("key %q contains the session ID", k)
					}
					found = found || k == rk
					if typ := raw.Type(ctx, k).Val(); typ == "hash" {
						for f, v := range raw.HGetAll(ctx, k).Val() {
							if strings.Contains(v, want.ID) {
								t.Errorf("field %s of %s contains the session ID", f, k)
							}
						}
					}
				}
				if !found || !strings.HasPrefix(rk, opt.Prefix+"s:") || len(rk) != len(opt.Prefix)+2+64 {
					t.Errorf("record key %q not among %v", rk, keys)
				}
			})
			t.Run("tokens at rest", func(t *testing.T) {
				v := raw.HGet(ctx, s.recordKey(want.ID), fieldData).Val()
				for _, secret := range []string{want.AccessToken, want.RefreshToken, want.IDToken, "jane@example.com"} {
					if got := strings.Contains(v, secret); got != !sealed {
						t.Errorf("value contains %.12q…: %v, want %v", secret, got, !sealed)
					}
				}
			})
			t.Run("missing", func(t *testing.T) {
				if got := mustGet(t, s, mustID(t)); got != nil {
					t.Errorf("Get(unknown) = %+v", got)
				}
			})
			t.Run("delete", func(t *testing.T) {
				other := sampleSession(t, now)
				mustSet(t, s, other, now.Add(time.Hour))
				for range 2 { // deleting a missing ID is fine
					if err := s.Delete(ctx, other.ID); err != nil {
						t.Fatal(err)
					}
				}
				if got := mustGet(t, s, other.ID); got != nil {
					t.Errorf("Get after Delete = %+v", got)
				}
			})
			t.Run("set in the past deletes", func(t *testing.T) {
				other := sampleSession(t, now)
				mustSet(t, s, other, now.Add(time.Hour))
				mustSet(t, s, other, now.Add(-time.Second))
				if got := mustGet(t, s, other.ID); got != nil {
					t.Errorf("Get = %+v", got)
				}
			})
			t.Run("nil session", func(t *testing.T) {
				if err := s.Set(ctx, nil, now.Add(time.Hour)); err == nil {
					t.Error("Set(nil) succeeded")
				}
			})
			t.Run("unencodable session", func(t *testing.T) {
				bad := sampleSession(t, now)
				bad.CreatedAt = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
				if err := s.Set(ctx, bad, now.Add(time.Hour)); err == nil {
					t.Error("Set accepted a time outside the record's range")
				}
			})
		})
	}
}

func TestBackendExpiry(t *testing.T) {
	rp := startRedis(t)
	s := rp.store(t, Options{})
	now := time.Now()
	sess := sampleSession(t, now)
	mustSet(t, s, sess, now.Add(150*time.Millisecond))
	if got := mustGet(t, s, sess.ID); got == nil {
		t.Fatal("record missing before its expiry")
	}
	time.Sleep(300 * time.Millisecond)
	if got := mustGet(t, s, sess.ID); got != nil {
		t.Errorf("Get after expiry = %+v", got)
	}
}

// TestBackendClock checks that the TTL counts from Options.Now, not from
// Redis's clock: an application clock far from Redis's still gives the
// intended lifetime.
func TestBackendClock(t *testing.T) {
	rp := startRedis(t)
	skewed := time.Now().Add(-72 * time.Hour)
	s := rp.store(t, Options{Now: func() time.Time { return skewed }})
	sess := sampleSession(t, skewed)
	mustSet(t, s, sess, skewed.Add(10*time.Minute))
	ttl := rp.client(t).PTTL(context.Background(), s.recordKey(sess.ID)).Val()
	if ttl < 9*time.Minute || ttl > 10*time.Minute {
		t.Errorf("PTTL = %v, want about 10m", ttl)
	}
}

// TestBackendGarbled tampers with records the way someone with write
// access to Redis (or a corrupted snapshot) could: every case must read
// as "not found", never as an error or another session.
func TestBackendGarbled(t *testing.T) {
	rp := startRedis(t)
	raw := rp.client(t)
	ctx := context.Background()
	sealed := rp.store(t, Options{Prefix: "sealed:", Codec: mustCodec(t, 1)})
	plain := rp.store(t, Options{Prefix: "plain:"})
	now := time.Now()

	tests := []struct {
		name   string
		store  *Store
		tamper func(t *testing.T, victim, donor *session.Session)
	}{
		{name: "plain: junk record", store: plain, tamper: func(t *testing.T, v, _ *session.Session) {
			raw.HSet(ctx, plain.recordKey(v.ID), fieldData, "\x01junk")
		}},
		{name: "plain: truncated record", store: plain, tamper: func(t *testing.T, v, _ *session.Session) {
			d := raw.HGet(ctx, plain.recordKey(v.ID), fieldData).Val()
			raw.HSet(ctx, plain.recordKey(v.ID), fieldData, d[:len(d)-3])
		}},
		{name: "plain: wrong type", store: plain, tamper: func(t *testing.T, v, _ *session.Session) {
			raw.Del(ctx, plain.recordKey(v.ID))
			raw.Set(ctx, plain.recordKey(v.ID), "a string", time.Hour)
		}},
		{name: "plain: no data field", store: plain, tamper: func(t *testing.T, v, _ *session.Session) {
			raw.HDel(ctx, plain.recordKey(v.ID), fieldData)
		}},
		{name: "sealed: flipped byte", store: sealed, tamper: func(t *testing.T, v, _ *session.Session) {
			d := []byte(raw.HGet(ctx, sealed.recordKey(v.ID), fieldData).Val())
			d[len(d)/2] ^= 1
			if d[len(d)/2] == '-' || d[len(d)/2] == '_' {
				d[len(d)/2] = 'A'
			}
			raw.HSet(ctx, sealed.recordKey(v.ID), fieldData, string(d))
		}},
		{name: "sealed: plain record planted", store: sealed, tamper: func(t *testing.T, v, _ *session.Session) {
			rec := *v
			rec.ID = ""
			rec.AccessToken = "planted"
			b, _ := rec.MarshalBinary()
			raw.HSet(ctx, sealed.recordKey(v.ID), fieldData, b)
		}},
		{name: "sealed: another record moved here", store: sealed, tamper: func(t *testing.T, v, d *session.Session) {
			raw.HSet(ctx, sealed.recordKey(v.ID), fieldData, raw.HGet(ctx, sealed.recordKey(d.ID), fieldData).Val())
		}},
		{name: "sealed: under another key", store: sealed, tamper: func(t *testing.T, v, _ *session.Session) {
			other, err := New(Options{Client: raw, Prefix: "sealed:", Codec: mustCodec(t, 2)})
			if err != nil {
				t.Fatal(err)
			}
			forged := *v
			forged.Subject = "attacker"
			mustSet(t, other, &forged, now.Add(time.Hour))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			victim, donor := sampleSession(t, now), sampleSession(t, now)
			mustSet(t, tc.store, victim, now.Add(time.Hour))
			mustSet(t, tc.store, donor, now.Add(time.Hour))
			tc.tamper(t, victim, donor)
			if got, err := tc.store.Get(ctx, victim.ID); got != nil || err != nil {
				t.Errorf("Get = %+v, %v; want nil, nil", got, err)
			}
			sameSession(t, mustGet(t, tc.store, donor.ID), donor)
			// The store can write over the garbled record.
			mustSet(t, tc.store, victim, now.Add(time.Hour))
			sameSession(t, mustGet(t, tc.store, victim.ID), victim)
		})
	}
}

func TestIndexer(t *testing.T) {
	rp := startRedis(t)
	ctx := context.Background()
	raw := rp.client(t)
	// Two replicas: two Stores, two connection pools.
	r1 := rp.store(t, Options{Codec: mustCodec(t, 1)})
	r2 := rp.store(t, Options{Codec: mustCodec(t, 1)})
	now := time.Now()
	const iss, iss2 = "https://id.example.com/", "https://other.example.com/"
	mk := func(iss, sub, sid string) *session.Session {
		s := sampleSession(t, now)
		s.Issuer, s.Subject, s.SID = iss, sub, sid
		return s
	}
	exp := now.Add(time.Hour)
	live := func(s *session.Session) bool { return mustGet(t, r1, s.ID) != nil }

	t.Run("DeleteBySID across replicas", func(t *testing.T) {
		a, b := mk(iss, "alice", "sid-1"), mk(iss, "alice", "sid-1")
		c := mk(iss, "alice", "sid-2")
		d := mk(iss2, "alice", "sid-1") // same sid at another issuer
		mustSet(t, r1, a, exp)
		mustSet(t, r2, b, exp)
		mustSet(t, r1, c, exp)
		mustSet(t, r2, d, exp)
		n, err := r2.DeleteBySID(ctx, iss, "sid-1")
		if err != nil || n != 2 {
			t.Fatalf("DeleteBySID = %d, %v; want 2", n, err)
		}
		if live(a) || live(b) || !live(c) || !live(d) {
			t.Errorf("live after DeleteBySID: a=%v b=%v c=%v d=%v", live(a), live(b), live(c), live(d))
		}
		if n, err := r1.DeleteBySID(ctx, iss, "sid-1"); err != nil || n != 0 {
			t.Errorf("second DeleteBySID = %d, %v; want 0", n, err)
		}
	})
	t.Run("DeleteBySubject", func(t *testing.T) {
		a, b := mk(iss, "bob", "sid-b1"), mk(iss, "bob", "")
		c := mk(iss, "carol", "sid-c")
		d := mk(iss2, "bob", "sid-b2")
		for _, s := range []*session.Session{a, b, c, d} {
			mustSet(t, r1, s, exp)
		}
		n, err := r2.DeleteBySubject(ctx, iss, "bob")
		if err != nil || n != 2 {
			t.Fatalf("DeleteBySubject = %d, %v; want 2", n, err)
		}
		if live(a) || live(b) || !live(c) || !live(d) {
			t.Errorf("live after DeleteBySubject: a=%v b=%v c=%v d=%v", live(a), live(b), live(c), live(d))
		}
	})
	t.Run("empty sid or subject deletes nothing", func(t *testing.T) {
		a := mk(iss, "dave", "")
		mustSet(t, r1, a, exp)
		for _, f := range []func() (int, error){
			func() (int, error) { return r1.DeleteBySID(ctx, iss, "") },
			func() (int, error) { return r1.DeleteBySubject(ctx, iss, "") },
		} {
			if n, err := f(); n != 0 || err != nil {
				t.Errorf("= %d, %v; want 0, nil", n, err)
			}
		}
		if !live(a) {
			t.Error("session deleted")
		}
	})
	t.Run("stale member never deletes a moved session", func(t *testing.T) {
		a := mk(iss, "erin", "sid-old")
		mustSet(t, r1, a, exp)
		moved := *a
		moved.SID = "sid-new"
		mustSet(t, r2, &moved, exp)
		if n, err := r1.DeleteBySID(ctx, iss, "sid-old"); err != nil || n != 0 {
			t.Fatalf("DeleteBySID(old) = %d, %v; want 0", n, err)
		}
		if !live(a) {
			t.Fatal("session deleted through a stale index member")
		}
		if n, err := r1.DeleteBySID(ctx, iss, "sid-new"); err != nil || n != 1 {
			t.Fatalf("DeleteBySID(new) = %d, %v; want 1", n, err)
		}
	})
	t.Run("index after record expiry", func(t *testing.T) {
		short := mk(iss, "frank", "sid-f")
		long := mk(iss, "frank", "sid-f")
		mustSet(t, r1, long, time.Now().Add(400*time.Millisecond))
		mustSet(t, r1, short, time.Now().Add(100*time.Millisecond))
		xk := r1.sidKey(iss, "sid-f")
		if ttl := raw.PTTL(ctx, xk).Val(); ttl < 300*time.Millisecond {
			t.Errorf("index TTL = %v, want that of the longest member", ttl)
		}
		time.Sleep(200 * time.Millisecond)
		if n, err := r2.DeleteBySID(ctx, iss, "sid-f"); err != nil || n != 1 {
			t.Errorf("DeleteBySID = %d, %v; want 1 (the expired record does not count)", n, err)
		}
		mustSet(t, r1, mk(iss, "frank", "sid-g"), time.Now().Add(100*time.Millisecond))
		time.Sleep(250 * time.Millisecond)
		for _, k := range []string{xk, r1.sidKey(iss, "sid-g"), r1.subKey(iss, "frank")} {
			if n := raw.Exists(ctx, k).Val(); n != 0 {
				t.Errorf("index %s outlived its members", k)
			}
		}
		if n, err := r2.DeleteBySubject(ctx, iss, "frank"); err != nil || n != 0 {
			t.Errorf("DeleteBySubject = %d, %v; want 0", n, err)
		}
	})
	t.Run("index TTL is never shortened", func(t *testing.T) {
		a, b := mk(iss, "gina", "sid-g1"), mk(iss, "gina", "sid-g1")
		mustSet(t, r1, a, now.Add(time.Hour))
		mustSet(t, r1, b, time.Now().Add(time.Minute))
		if ttl := raw.PTTL(ctx, r1.subKey(iss, "gina")).Val(); ttl < 59*time.Minute {
			t.Errorf("index TTL = %v after a shorter member, want about 1h", ttl)
		}
	})
	t.Run("index prunes stale members", func(t *testing.T) {
		uk := r1.subKey(iss, "heidi")
		var first []*session.Session
		for range pruneMin {
			s := mk(iss, "heidi", "")
			first = append(first, s)
			mustSet(t, r1, s, exp)
		}
		for _, s := range first[:pruneMin-4] {
			if err := r2.Delete(ctx, s.ID); err != nil {
				t.Fatal(err)
			}
		}
		for range pruneMin {
			mustSet(t, r2, mk(iss, "heidi", ""), exp)
		}
		// The set reached 128 members at the last Set and was pruned to
		// the live ones.
		if n := raw.SCard(ctx, uk).Val(); n != pruneMin+4 {
			t.Errorf("SCARD = %d, want %d", n, pruneMin+4)
		}
		if n, err := r1.DeleteBySubject(ctx, iss, "heidi"); err != nil || n != pruneMin+4 {
			t.Errorf("DeleteBySubject = %d, %v; want %d", n, err, pruneMin+4)
		}
	})
	t.Run("wrong-type member is ignored", func(t *testing.T) {
		a := mk(iss, "ivan", "sid-i")
		mustSet(t, r1, a, exp)
		junk := r1.prefix + "s:junk"
		raw.Set(ctx, junk, "x", time.Hour)
		raw.SAdd(ctx, r1.sidKey(iss, "sid-i"), junk)
		if n, err := r1.DeleteBySID(ctx, iss, "sid-i"); err != nil || n != 1 {
			t.Errorf("DeleteBySID = %d, %v; want 1", n, err)
		}
		if raw.Exists(ctx, junk).Val() != 1 {
			t.Error("a key of the wrong type was deleted")
		}
	})
}

// TestBackendThroughServerStore runs the Redis backend under the session
// package's ServerStore, as the relying party uses it.
func TestBackendThroughServerStore(t *testing.T) {
	rp := startRedis(t)
	now := time.Now()
	st1 := session.NewServerStore(rp.store(t, Options{Codec: mustCodec(t, 1)}), session.CookieOptions{MaxAge: time.Hour})
	st2 := session.NewServerStore(rp.store(t, Options{Codec: mustCodec(t, 1)}), session.CookieOptions{MaxAge: time.Hour})
	want := sampleSession(t, now)
	if err := st1.Save(httptest.NewRecorder(), nil, want); err != nil {
		t.Fatal(err)
	}
	got, err := st2.LoadID(context.Background(), want.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameSession(t, got, want)
	n, err := st2.DeleteBySID(context.Background(), want.Issuer, want.SID)
	if err != nil || n != 1 {
		t.Fatalf("DeleteBySID = %d, %v", n, err)
	}
	if got, err := st1.LoadID(context.Background(), want.ID); got != nil || err != nil {
		t.Errorf("LoadID after logout = %+v, %v", got, err)
	}
	if _, ok := session.IndexerOf(st1); !ok {
		t.Error("IndexerOf(ServerStore over redisstore) = false")
	}
}

// TestSetIsAtomicForReaders re-saves a session on one replica while
// another reads it: a reader must never find it missing, which the
// relying party would take for a logout.
func TestSetIsAtomicForReaders(t *testing.T) {
	rp := startRedis(t)
	for _, tx := range []bool{true, false} {
		t.Run(fmt.Sprintf("multi=%v", tx), func(t *testing.T) {
			w, r := rp.store(t, Options{Codec: mustCodec(t, 1)}), rp.store(t, Options{Codec: mustCodec(t, 1)})
			w.tx = tx // false: the plain pipeline used with a cluster client
			now := time.Now()
			sess := sampleSession(t, now)
			mustSet(t, w, sess, now.Add(time.Hour))
			done := make(chan struct{})
			go func() {
				defer close(done)
				for i := range 100 {
					next := *sess
					next.AccessToken = fmt.Sprintf("at-%d", i)
					if err := w.Set(context.Background(), &next, now.Add(time.Hour)); err != nil {
						t.Error(err)
						return
					}
				}
			}()
			reads, misses := 0, 0
			for {
				select {
				case <-done:
					if misses > 0 {
						t.Errorf("%d of %d reads found no session during re-saves", misses, reads)
					}
					if reads == 0 {
						t.Error("no reads happened")
					}
					return
				default:
				}
				if mustGet(t, r, sess.ID) == nil {
					misses++
				}
				reads++
			}
		})
	}
}
