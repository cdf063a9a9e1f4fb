package hydra

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/internal/loginapp"
)

// EnvEnable names the environment variable that, set to "1", turns on the
// tests that run a real Ory Hydra. They also run when CI is "true".
const EnvEnable = "OIDCRP_HYDRA"

// buildTimeout bounds building Hydra from source inside a test.
const buildTimeout = 8 * time.Minute

// Enabled reports whether tests against a real Hydra should run:
// OIDCRP_HYDRA=1 or CI=true.
func Enabled() bool {
	return os.Getenv(EnvEnable) == "1" || inCI()
}

func inCI() bool { return os.Getenv("CI") == "true" }

// SkipIfUnavailable skips t unless Enabled, and otherwise makes sure the
// Hydra binary exists (building it if needed) and returns its path. When
// the binary cannot be had — no C compiler, no network for the module
// download — it skips t with the reason, except under CI=true, where it
// fails t instead.
func SkipIfUnavailable(t testing.TB) string {
	t.Helper()
	if !Enabled() {
		t.Skip("set OIDCRP_HYDRA=1 to run tests against a real Ory Hydra")
	}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	bin, err := Binary(ctx)
	if err != nil {
		if inCI() {
			t.Fatalf("Ory Hydra %s is needed under CI=true: %v", Version, err)
		}
		t.Skipf("Ory Hydra %s is unavailable (run scripts/hydra.sh build, or set %s): %v", Version, EnvBinary, err)
	}
	return bin
}

// StartForTest is Start for tests: it calls SkipIfUnavailable, fails t if
// Hydra does not start, stops the server when t ends, and logs the end of
// Hydra's log if t failed.
func StartForTest(t testing.TB, opt Options) *Server {
	t.Helper()
	SkipIfUnavailable(t)
	s, err := startForTest(t, opt)
	if err != nil {
		t.Fatalf("start Ory Hydra: %v", err)
	}
	return s
}

// startForTest starts Hydra and registers its Stop with t.
func startForTest(t testing.TB, opt Options) (*Server, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Start(ctx, opt)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("Hydra log (last 60 lines):\n%s", s.LogTail(60))
		}
		// Hydra's graceful shutdown can outlast the grace period on a
		// loaded machine; being killed then loses nothing of a test's
		// in-memory provider.
		if err := s.Stop(); errors.Is(err, ErrKilled) {
			t.Logf("stop Ory Hydra: %v", err)
		} else if err != nil {
			t.Errorf("stop Ory Hydra: %v", err)
		}
	})
	return s, nil
}

// StartWithLoginApp starts a login provider in Auto mode (see package
// loginapp) on a loopback port, then Hydra with every urls.* entry pointing
// at it (opt's URLs are overwritten), all stopped when t ends. id nil means
// the first of loginapp.DemoUsers (alice). The provider's base URL is in
// [Server.LoginAppURL]; its /logged-out page is Hydra's default post-logout
// destination.
func StartWithLoginApp(t testing.TB, id *loginapp.Identity, opt Options) *Server {
	t.Helper()
	SkipIfUnavailable(t)
	if id == nil {
		id = &loginapp.DemoUsers()[0].Identity
	}
	// The provider must know the admin URL and Hydra the provider's URL:
	// bind the provider's port first and hand Hydra its address.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen for the login app: %v", err)
	}
	base := "http://" + ln.Addr().String()
	opt.LoginURL = base + "/login"
	opt.ConsentURL = base + "/consent"
	opt.LogoutURL = base + "/logout"
	opt.ErrorURL = base + "/error"
	opt.PostLogoutURL = base + "/logged-out"
	s, err := startForTest(t, opt)
	if err != nil {
		ln.Close()
		t.Fatalf("start Ory Hydra: %v", err)
	}
	app, err := loginapp.New(loginapp.Config{AdminURL: s.AdminURL, Auto: id})
	if err != nil {
		ln.Close()
		t.Fatalf("login app: %v", err)
	}
	// Connections that arrive before Serve wait in the listen backlog.
	srv := &http.Server{Handler: app, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	s.cleanups = append(s.cleanups, func() { srv.Close() })
	s.LoginAppURL = base
	return s
}
