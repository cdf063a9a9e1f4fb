package redisstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oidcrp/oidcrp/rp/session"
)

func init() {
	// The client logs every failed dial; the outage tests cause many.
	redis.SetLogger(quietLogger{})
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

// redisProc is a redis-server started by a test, on a loopback port of
// its own, with its data in a temporary directory.
type redisProc struct {
	t    testing.TB
	bin  string
	port int
	dir  string

	mu   sync.Mutex // guards cmd and done
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// startRedis starts a redis-server with no persistence (args are added
// to, and override, the defaults) and kills it when the test ends. It
// skips the test when redis-server is not installed, unless CI=true,
// where that is a failure.
func startRedis(t testing.TB, args ...string) *redisProc {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("redis-server is required when CI=true: %v", err)
		}
		t.Skipf("redis-server not installed (apt-get install redis-server); skipping: %v", err)
	}
	p := &redisProc{t: t, bin: bin, dir: t.TempDir()}
	t.Cleanup(p.kill)
	var lastErr error
	for range 5 { // the free port may be taken before redis binds it
		p.port = freePort(t)
		if lastErr = p.start(args...); lastErr == nil {
			return p
		}
	}
	t.Fatalf("start redis-server: %v", lastErr)
	return nil
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Addr is the server's host:port.
func (p *redisProc) Addr() string { return "127.0.0.1:" + strconv.Itoa(p.port) }

// start runs redis-server on p.port and waits until it answers PING.
func (p *redisProc) start(args ...string) error {
	all := append([]string{"--port", strconv.Itoa(p.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", p.dir, "--daemonize", "no",
		"--loglevel", "warning", "--logfile", ""}, args...)
	cmd := exec.Command(p.bin, all...)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	c := redis.NewClient(&redis.Options{Addr: p.Addr(), DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		select {
		case <-done:
			return fmt.Errorf("redis-server exited:\n%s", out.String())
		default:
		}
		if c.Ping(context.Background()).Err() == nil {
			p.mu.Lock()
			p.cmd, p.done = cmd, done
			p.mu.Unlock()
			return nil
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("redis-server did not answer within 5s:\n%s", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// signal sends sig to the server by its PID and waits until it exits.
func (p *redisProc) signal(sig os.Signal) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// freeze stops the server's process without closing its sockets (SIGSTOP),
// as a hung server or a network partition would look, until thaw.
func (p *redisProc) freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		_ = p.cmd.Process.Signal(syscall.SIGSTOP)
	}
}

// thaw resumes a frozen server (SIGCONT).
func (p *redisProc) thaw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		_ = p.cmd.Process.Signal(syscall.SIGCONT)
	}
}

// kill stops the server at once (SIGKILL), as a crash would.
func (p *redisProc) kill() { p.signal(syscall.SIGKILL) }

// shutdown stops the server gracefully (SIGTERM).
func (p *redisProc) shutdown() { p.signal(syscall.SIGTERM) }

// restart starts the server again on the same port and directory.
func (p *redisProc) restart(args ...string) {
	p.t.Helper()
	var err error
	for range 50 { // the port may linger briefly
		if err = p.start(args...); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.t.Fatalf("restart redis-server: %v", err)
}

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

// syncBuffer collects a process's output.
type syncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
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
