package redisstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oidcrp/oidcrp/internal/redistest"
	"github.com/oidcrp/oidcrp/rp/session"
)

func init() {
	// The client logs every failed dial; the outage tests cause many.
	redis.SetLogger(quietLogger{})
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

// redisProc is a redis-server started by a test (see internal/redistest),
// with the shorthands these tests use.
type redisProc struct {
	*redistest.Server
}

// startRedis starts a redis-server with no persistence (args are added
// to, and override, the defaults) and kills it when the test ends. It
// skips the test when redis-server is not installed, unless CI=true,
// where that is a failure.
func startRedis(t testing.TB, args ...string) *redisProc {
	t.Helper()
	return &redisProc{redistest.Start(t, args...)}
}

// freeze stops the server's process without closing its sockets (SIGSTOP),
// as a hung server or a network partition would look, until thaw.
func (p *redisProc) freeze() { p.Freeze() }

// thaw resumes a frozen server (SIGCONT).
func (p *redisProc) thaw() { p.Thaw() }

// kill stops the server at once (SIGKILL), as a crash would.
func (p *redisProc) kill() { p.Kill() }

// shutdown stops the server gracefully (SIGTERM).
func (p *redisProc) shutdown() { p.Shutdown() }

// restart starts the server again on the same port and directory.
func (p *redisProc) restart(args ...string) { p.Restart(args...) }

// client returns a client with the recommended settings, except a read
// and write timeout long enough for a busy test machine, closed at the end
// of the test. Each call is a separate connection pool, as on a separate
// replica.
func (p *redisProc) client(t testing.TB) *redis.Client {
	t.Helper()
	return p.clientURL(t, "redis://"+p.Addr()+"?read_timeout=3s&write_timeout=3s")
}

// recommendedClient returns a client with exactly the recommended
// settings.
func (p *redisProc) recommendedClient(t testing.TB) *redis.Client {
	t.Helper()
	return p.clientURL(t, "redis://"+p.Addr())
}

func (p *redisProc) clientURL(t testing.TB, url string) *redis.Client {
	t.Helper()
	c, err := NewClient(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// store returns a Store over a new client (a new "replica").
func (p *redisProc) store(t testing.TB, opt Options) *Store {
	t.Helper()
	opt.Client = p.client(t)
	s, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustCodec(t testing.TB, b byte) *session.Codec {
	t.Helper()
	c, err := session.NewCodec(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustID(t testing.TB) string {
	t.Helper()
	id, err := session.NewID()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func randText(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

// sampleSession is a realistic session of about 2.5 KB.
func sampleSession(t testing.TB, now time.Time) *session.Session {
	return &session.Session{
		ID:           mustID(t),
		Issuer:       "https://id.example.com/",
		Subject:      "248289761001",
		SID:          "08a5019c-17e1-4977-8f42-65a12843ea02",
		IDToken:      "eyJ" + randText(900),
		AccessToken:  "at-" + randText(900),
		TokenType:    "Bearer",
		RefreshToken: "rt-" + randText(400),
		Expiry:       now.Add(time.Hour).UTC(),
		TokenIssued:  now.UTC(),
		ClaimsJSON:   `{"iss":"https://id.example.com/","sub":"248289761001","sid":"08a5019c-17e1-4977-8f42-65a12843ea02","email":"jane@example.com"}`,
		CreatedAt:    now.UTC(),
		LastSeen:     now.UTC(),
	}
}

// sameSession compares every field, times with Equal.
func sameSession(t testing.TB, got, want *session.Session) {
	t.Helper()
	if got == nil || want == nil {
		t.Fatalf("got %v, want %v", got, want)
	}
	g, w := *got, *want
	for _, p := range []struct {
		name string
		a, b time.Time
	}{{"Expiry", g.Expiry, w.Expiry}, {"TokenIssued", g.TokenIssued, w.TokenIssued}, {"CreatedAt", g.CreatedAt, w.CreatedAt}, {"LastSeen", g.LastSeen, w.LastSeen}} {
		if !p.a.Equal(p.b) {
			t.Errorf("%s = %v, want %v", p.name, p.a, p.b)
		}
	}
	g.Expiry, g.TokenIssued, g.CreatedAt, g.LastSeen = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	w.Expiry, w.TokenIssued, w.CreatedAt, w.LastSeen = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if g != w {
		t.Errorf("session mismatch:\n got %+v\nwant %+v", g, w)
	}
}

// mustGet reads a record and fails the test on an error.
func mustGet(t testing.TB, s *Store, id string) *session.Session {
	t.Helper()
	got, err := s.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	return got
}

func mustSet(t testing.TB, s *Store, sess *session.Session, expires time.Time) {
	t.Helper()
	if err := s.Set(context.Background(), sess, expires); err != nil {
		t.Fatalf("Set: %v", err)
	}
}
