package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func init() {
	// go-redis logs every failed dial; these tests cause some.
	redis.SetLogger(quietLogger{})
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

func newClient(t *testing.T, s *Server) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	opt.DialTimeout, opt.ReadTimeout, opt.MaxRetries = 500*time.Millisecond, 500*time.Millisecond, -1
	c := redis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// eventually polls f for up to 3 s until it returns nil.
func eventually(f func() error) error {
	deadline := time.Now().Add(3 * time.Second)
	for {
		err := f()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestStartAddrURL(t *testing.T) {
	s := Start(t)
	host, port, err := net.SplitHostPort(s.Addr())
	if err != nil || host != "127.0.0.1" || port == "0" {
		t.Fatalf("Addr() = %q (%v)", s.Addr(), err)
	}
	if want := "redis://" + s.Addr() + "/0"; s.URL() != want {
		t.Errorf("URL() = %q, want %q", s.URL(), want)
	}
	if fi, err := os.Stat(s.Dir()); err != nil || !fi.IsDir() {
		t.Errorf("Dir() %q: %v", s.Dir(), err)
	}
	c := newClient(t, s)
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	// The defaults: no persistence, data under Dir.
	cfg, err := c.ConfigGet(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"appendonly": "no", "save": "", "dir": s.Dir(), "bind": "127.0.0.1"} {
		if cfg[k] != want {
			t.Errorf("config %s = %q, want %q", k, cfg[k], want)
		}
	}
	// Two servers in one test do not share a port.
	if other := Start(t); other.Addr() == s.Addr() {
		t.Errorf("second server on the same address %s", s.Addr())
	}
}

func TestArgsOverrideDefaults(t *testing.T) {
	s := Start(t, "--appendonly", "yes", "--maxmemory", "10mb")
	cfg, err := newClient(t, s).ConfigGet(context.Background(), "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if cfg["appendonly"] != "yes" || cfg["maxmemory"] != "10485760" {
		t.Errorf("appendonly = %q, maxmemory = %q", cfg["appendonly"], cfg["maxmemory"])
	}
}

func TestStopAndRestart(t *testing.T) {
	aof := []string{"--appendonly", "yes", "--appendfsync", "always"}
	tests := []struct {
		name      string
		startArgs []string
		stop      func(*Server)
		restart   []string
		wantKept  bool
	}{
		{name: "kill without persistence loses data", stop: (*Server).Kill},
		{name: "shutdown without persistence loses data", stop: (*Server).Shutdown},
		{name: "kill with fsync always keeps data", startArgs: aof, stop: (*Server).Kill, restart: aof, wantKept: true},
		{name: "shutdown with append-only file keeps data", startArgs: aof, stop: (*Server).Shutdown, restart: aof, wantKept: true},
		{name: "restart without the append-only file starts empty", startArgs: aof, stop: (*Server).Shutdown},
		{name: "restart of a running server shuts it down first"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := Start(t, tc.startArgs...)
			addr := s.Addr()
			c := newClient(t, s)
			ctx := context.Background()
			if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
				t.Fatal(err)
			}
			if tc.stop != nil {
				tc.stop(s)
				if err := ping(addr); err == nil {
					t.Fatal("server still answers after it was stopped")
				}
			}
			s.Restart(tc.restart...)
			if s.Addr() != addr {
				t.Errorf("restarted on %s, want %s", s.Addr(), addr)
			}
			var got string
			err := eventually(func() error {
				var err error
				got, err = c.Get(ctx, "k").Result()
				if errors.Is(err, redis.Nil) {
					got, err = "", nil
				}
				return err
			})
			if err != nil {
				t.Fatalf("GET after restart: %v", err)
			}
			if kept := got == "v"; kept != tc.wantKept {
				t.Errorf("after restart k = %q, want kept = %v", got, tc.wantKept)
			}
		})
	}
}

func TestStopTwice(t *testing.T) {
	s := Start(t)
	s.Kill()
	s.Kill()
	s.Shutdown()
	if err := ping(s.Addr()); err == nil {
		t.Fatal("server answers after Kill")
	}
}

func TestFreezeThaw(t *testing.T) {
	s := Start(t)
	s.Freeze()
	s.Freeze() // idempotent
	start := time.Now()
	if err := ping(s.Addr()); err == nil {
		t.Fatal("a frozen server answered PING")
	}
	if d := time.Since(start); d < 400*time.Millisecond {
		// A frozen server accepts the connection and stays silent: the
		// PING must have timed out, not been refused.
		t.Errorf("PING to a frozen server failed after %v, want a timeout", d)
	}
	s.Thaw()
	if err := eventually(func() error { return ping(s.Addr()) }); err != nil {
		t.Fatalf("PING after Thaw: %v", err)
	}

	t.Run("shutdown while frozen", func(t *testing.T) {
		s := Start(t)
		s.Freeze()
		done := make(chan struct{})
		go func() {
			s.Shutdown()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Shutdown of a frozen server hangs")
		}
		if err := ping(s.Addr()); err == nil {
			t.Error("server answers after Shutdown")
		}
	})
}

// recordingTB is a testing.TB whose Skipf and Fatalf record the message
// and end the goroutine, as the real ones do.
type recordingTB struct {
	testing.TB
	mu      sync.Mutex // guards skipped and fatal
	skipped string
	fatal   string
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) Skipf(format string, args ...any) {
	r.mu.Lock()
	r.skipped = fmt.Sprintf(format, args...)
	r.mu.Unlock()
	runtime.Goexit()
}

func (r *recordingTB) Fatalf(format string, args ...any) {
	r.mu.Lock()
	r.fatal = fmt.Sprintf(format, args...)
	r.mu.Unlock()
	runtime.Goexit()
}

func TestMissingBinary(t *testing.T) {
	tests := []struct {
		name      string
		ci        string
		wantSkip  bool
		wantFatal bool
	}{
		{name: "skips outside CI", ci: "", wantSkip: true},
		{name: "skips when CI is not true", ci: "1", wantSkip: true},
		{name: "fails under CI=true", ci: "true", wantFatal: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("PATH", t.TempDir())
			t.Setenv("CI", tc.ci)
			r := &recordingTB{TB: t}
			done := make(chan struct{})
			var s *Server
			go func() {
				defer close(done)
				s = Start(r)
			}()
			<-done
			if s != nil {
				t.Fatal("Start returned a server without redis-server")
			}
			if got := r.skipped != ""; got != tc.wantSkip {
				t.Errorf("skipped = %q, want skip %v", r.skipped, tc.wantSkip)
			}
			if got := r.fatal != ""; got != tc.wantFatal {
				t.Errorf("fatal = %q, want fatal %v", r.fatal, tc.wantFatal)
			}
			if msg := r.skipped + r.fatal; !strings.Contains(msg, "redis-server") || !strings.Contains(msg, "apt-get install redis-server") {
				t.Errorf("message %q does not say what is missing and how to install it", msg)
			}
		})
	}
}
