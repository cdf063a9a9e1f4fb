package redistest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Timeouts of the process handling.
const (
	// readyTimeout bounds the wait for a started server to answer PING
	// (loading a large append-only file on a busy machine takes a while).
	readyTimeout = 10 * time.Second
	// stopTimeout bounds the wait for a signalled server to exit before it
	// is killed.
	stopTimeout = 10 * time.Second
	// startAttempts is how often Start tries a new free port, and
	// restartAttempts how often Restart tries the same port, which the
	// previous process may hold for a moment after it exits.
	startAttempts   = 5
	restartAttempts = 50
)

// A Server is a redis-server process started by [Start]. Its methods are
// safe for concurrent use.
type Server struct {
	tb   testing.TB
	bin  string
	port int
	dir  string

	mu     sync.Mutex    // guards cmd, done, out and frozen
	cmd    *exec.Cmd     // nil while stopped
	done   chan struct{} // closed when cmd has exited
	out    *syncBuffer   // the running (or last) process's output
	frozen bool          // cmd was sent SIGSTOP and not SIGCONT since
}

// Start runs a redis-server on a free loopback port:
//
//	redis-server --port N --bind 127.0.0.1 --save '' --appendonly no --dir <t.TempDir()> [args...]
//
// (plus --daemonize no and a warning-level log to its standard output),
// waits until it answers PING, and kills it by its PID when t ends. args
// come last, so they override the defaults: "--appendonly", "yes",
// "--appendfsync", "always" makes every write durable.
//
// When redis-server is not on PATH, Start skips t, except when the
// environment has CI=true, where it fails t. It fails t when the server
// does not start.
func Start(t testing.TB, args ...string) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("redistest: redis-server is required when CI=true (apt-get install redis-server): %v", err)
		}
		t.Skipf("redistest: redis-server is not installed (apt-get install redis-server); skipping: %v", err)
	}
	s := &Server{tb: t, bin: bin, dir: t.TempDir()}
	// Registered after TempDir's cleanup, so it runs before the directory
	// is removed.
	t.Cleanup(func() {
		s.Kill()
		if t.Failed() {
			if out := s.output(); out != "" {
				t.Logf("redistest: redis-server output:\n%s", out)
			}
		}
	})
	for range startAttempts { // the free port may be taken before redis binds it
		if s.port, err = freePort(); err != nil {
			t.Fatalf("redistest: %v", err)
		}
		if err = s.start(args); err == nil {
			return s
		}
	}
	t.Fatalf("redistest: start redis-server: %v", err)
	return nil
}

// Addr returns the server's address, "127.0.0.1:N".
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// URL returns the server's URL for database 0, "redis://127.0.0.1:N/0",
// as redis.ParseURL reads it.
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// Dir returns the server's working directory, where it keeps its
// append-only file and snapshots. It stays the same across restarts.
func (s *Server) Dir() string { return s.dir }

// Kill stops the server at once with SIGKILL, as a crash would: only what
// it had already written to disk survives. It waits until the process has
// exited. Killing a stopped server does nothing.
func (s *Server) Kill() { s.stop(syscall.SIGKILL) }

// Shutdown stops the server gracefully with SIGTERM (with persistence on,
// it flushes its append-only file first) and waits until it has exited,
// killing it after 10 s. Shutting down a stopped server does nothing.
func (s *Server) Shutdown() { s.stop(syscall.SIGTERM) }

// Restart starts the server again on the same port and in the same
// directory, with args added to the defaults as in [Start] (the args given
// to Start are not reused). A running server is shut down first. With the
// defaults the new server is empty; started with --appendonly yes over a
// directory a server with --appendonly yes wrote, it loads that data.
// Restart waits until the server answers PING and fails the test if it
// does not start.
func (s *Server) Restart(args ...string) {
	s.tb.Helper()
	s.Shutdown()
	var err error
	for range restartAttempts {
		if err = s.start(args); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.tb.Fatalf("redistest: restart redis-server on %s: %v", s.Addr(), err)
}

// Freeze stops the server's process with SIGSTOP, without closing its
// sockets: connections and new dials are accepted by the kernel but
// nothing answers, as with a hung server or a network partition.
// [Server.Thaw] resumes it; [Server.Kill], [Server.Shutdown] and the end
// of the test work on a frozen server too.
func (s *Server) Freeze() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil && !s.frozen {
		_ = s.cmd.Process.Signal(syscall.SIGSTOP)
		s.frozen = true
	}
}

// Thaw resumes a server stopped by [Server.Freeze] with SIGCONT.
func (s *Server) Thaw() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil && s.frozen {
		_ = s.cmd.Process.Signal(syscall.SIGCONT)
		s.frozen = false
	}
}

// start runs redis-server on s.port and waits until it answers PING.
func (s *Server) start(args []string) error {
	all := append([]string{
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir,
		"--daemonize", "no", "--loglevel", "warning", "--logfile", "",
	}, args...)
	cmd := exec.Command(s.bin, all...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	deadline := time.Now().Add(readyTimeout)
	for {
		select {
		case <-done:
			return fmt.Errorf("redis-server exited: %s", strings.TrimSpace(out.String()))
		default:
		}
		if ping(s.Addr()) == nil {
			s.mu.Lock()
			s.cmd, s.done, s.out, s.frozen = cmd, done, out, false
			s.mu.Unlock()
			return nil
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("redis-server did not answer PING within %v: %s", readyTimeout, strings.TrimSpace(out.String()))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stop sends sig to the server by its PID and waits until it exits,
// killing it after stopTimeout.
func (s *Server) stop(sig syscall.Signal) {
	s.mu.Lock()
	cmd, done, frozen := s.cmd, s.done, s.frozen
	s.cmd, s.frozen = nil, false
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	if frozen {
		// A stopped process acts on SIGTERM only once it runs again.
		_ = cmd.Process.Signal(syscall.SIGCONT)
	}
	select {
	case <-done:
	case <-time.After(stopTimeout):
		_ = cmd.Process.Kill()
		<-done
	}
}

// output returns what the last process wrote.
func (s *Server) output() string {
	s.mu.Lock()
	out := s.out
	s.mu.Unlock()
	if out == nil {
		return ""
	}
	return strings.TrimSpace(out.String())
}

// ping sends an inline PING to addr and reports an error unless the answer
// is +PONG (a server still loading its data answers -LOADING).
func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return errors.New("PING answered " + strings.TrimSpace(line))
	}
	return nil
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// syncBuffer collects a process's output.
type syncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
