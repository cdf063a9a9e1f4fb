package hydra

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/oidcrp/oidcrp/internal/httpx"
)

// ReadyTimeout bounds the wait for /health/ready on both ports.
const ReadyTimeout = 30 * time.Second

// warmUpTimeout bounds the first JWKS request, which generates two RSA-4096
// key sets.
const warmUpTimeout = 60 * time.Second

// stopGrace is how long Stop waits after SIGTERM before it sends SIGKILL.
const stopGrace = 5 * time.Second

// startAttempts is how often Start picks new ports when Hydra cannot bind.
const startAttempts = 5

// ErrNotReady is returned by Start when Hydra exits or does not answer
// /health/ready within ReadyTimeout.
var ErrNotReady = errors.New("hydra: server did not become ready")

// DefaultScopes are the scopes a dynamically registered client gets when it
// asks for none, and the scopes discovery advertises besides Hydra's own
// openid, offline and offline_access.
var DefaultScopes = []string{"openid", "offline_access", "email", "profile"}

// SupportedScopes are the scopes discovery advertises in scopes_supported
// besides the openid, offline and offline_access that Hydra always lists.
var SupportedScopes = []string{"email", "profile"}

// SupportedClaims are the claims discovery advertises in claims_supported.
var SupportedClaims = []string{"sub", "email", "email_verified", "name", "given_name", "family_name", "preferred_username"}

// Options configures a Hydra server started by Start. The URLs point at the
// login and consent provider (see package loginapp); empty ones are left out
// of the configuration, so Hydra falls back to its built-in pages.
type Options struct {
	// LoginURL, ConsentURL, LogoutURL and ErrorURL are Hydra's urls.login,
	// urls.consent, urls.logout and urls.error.
	LoginURL, ConsentURL, LogoutURL, ErrorURL string
	// PostLogoutURL is urls.post_logout_redirect, where a logout without a
	// registered post_logout_redirect_uri ends.
	PostLogoutURL string
	// AccessTokenTTL, IDTokenTTL and RefreshTokenTTL set ttl.access_token,
	// ttl.id_token and ttl.refresh_token. Zero keeps Hydra's defaults (1h,
	// 1h, 720h); other values must be whole seconds.
	AccessTokenTTL, IDTokenTTL, RefreshTokenTTL time.Duration
	// IssuerURL, when set, replaces the issuer and the public base URL that
	// Hydra advertises (urls.self.issuer and urls.self.public), for a proxy
	// in front of the public port. Tokens then carry it as iss, and
	// discovery names endpoints under it.
	IssuerURL string
	// Stdout receives Hydra's log in addition to the log file in
	// [Server.Dir]. Nil means the file only.
	Stdout io.Writer
	// HTTPClient is used for readiness checks and admin calls. Nil means a
	// client with a 10 s timeout and a 1 MiB body limit.
	HTTPClient *http.Client
}

// Server is a running `hydra serve all --dev` process with an in-memory
// database, listening on two free loopback ports.
type Server struct {
	// PublicURL is the base URL of the public port, e.g. http://127.0.0.1:41237.
	PublicURL string
	// AdminURL is the base URL of the admin port. The admin API is
	// unauthenticated; it listens on loopback only.
	AdminURL string
	// Issuer is the issuer Hydra puts in discovery and tokens: PublicURL, or
	// Options.IssuerURL when set.
	Issuer string
	// Dir holds the configuration (hydra.yml) and the log (hydra.log). Stop
	// removes it.
	Dir string
	// LoginAppURL is the base URL of the login provider when the server was
	// started by StartWithLoginApp, empty otherwise.
	LoginAppURL string
	// ReadyAfter is how long Hydra took from process start to answering
	// /health/ready on both ports.
	ReadyAfter time.Duration
	// WarmUpTook is how long the first JWKS request (key generation) took.
	WarmUpTook time.Duration

	client *http.Client
	cmd    *exec.Cmd
	log    *os.File
	done   chan struct{} // closed when the process has exited
	// waitErr is the result of cmd.Wait; it is written before done is closed.
	waitErr error

	// stopOnce makes Stop idempotent.
	stopOnce sync.Once
	// stopErr is the result of the first Stop call.
	stopErr error
	// cleanups run at the end of Stop, last added first.
	cleanups []func()
}

// Start runs Hydra with a configuration written from opt (in-memory
// database, dynamic client registration with DefaultScopes, a random system
// secret) on free loopback ports, waits until /health/ready answers on both
// ports, and warms it up with a JWKS request so that the first discovery is
// fast. If Hydra cannot bind its ports it retries with new ones. ctx bounds
// only the start; the process runs until Stop.
func Start(ctx context.Context, opt Options) (*Server, error) {
	if err := opt.check(); err != nil {
		return nil, err
	}
	bin, err := Binary(ctx)
	if err != nil {
		return nil, err
	}
	var lastErr error
	for range startAttempts {
		s, err := startOnce(ctx, bin, opt)
		if err == nil {
			return s, nil
		}
		lastErr = err
		if !errors.Is(err, errAddrInUse) || ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

// check validates the URLs and TTLs of opt.
func (opt *Options) check() error {
	for _, u := range []struct{ name, v string }{
		{"LoginURL", opt.LoginURL}, {"ConsentURL", opt.ConsentURL}, {"LogoutURL", opt.LogoutURL},
		{"ErrorURL", opt.ErrorURL}, {"PostLogoutURL", opt.PostLogoutURL}, {"IssuerURL", opt.IssuerURL},
	} {
		if u.v == "" {
			continue
		}
		if _, err := httpx.CheckURL("hydra: "+u.name, u.v, false); err != nil {
			return err
		}
	}
	for _, d := range opt.ttls() {
		if d.v != 0 && (d.v < time.Second || d.v%time.Second != 0) {
			return fmt.Errorf("hydra: ttl.%s %v must be a positive whole number of seconds", d.key, d.v)
		}
	}
	return nil
}

// ttl is one entry of Hydra's ttl configuration.
type ttl struct {
	key string
	v   time.Duration
}

func (opt *Options) ttls() []ttl {
	return []ttl{{"access_token", opt.AccessTokenTTL}, {"id_token", opt.IDTokenTTL}, {"refresh_token", opt.RefreshTokenTTL}}
}

// errAddrInUse marks a start that failed because a port was taken between
// choosing it and Hydra binding it.
var errAddrInUse = errors.New("hydra: address already in use")

func startOnce(ctx context.Context, bin string, opt Options) (*Server, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "oidcrp-hydra-*")
	if err != nil {
		return nil, fmt.Errorf("hydra: temp dir: %w", err)
	}
	s := &Server{
		PublicURL: "http://127.0.0.1:" + strconv.Itoa(ports[0]),
		AdminURL:  "http://127.0.0.1:" + strconv.Itoa(ports[1]),
		Dir:       dir,
		client:    opt.HTTPClient,
		done:      make(chan struct{}),
	}
	if s.client == nil {
		s.client = httpx.NewClient(10*time.Second, 0)
	}
	s.Issuer = s.PublicURL
	if opt.IssuerURL != "" {
		s.Issuer = strings.TrimSuffix(opt.IssuerURL, "/")
	}
	cfg, err := renderConfig(opt, s, ports[0], ports[1])
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cfgPath := filepath.Join(dir, "hydra.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("hydra: write config: %w", err)
	}
	s.log, err = os.Create(filepath.Join(dir, "hydra.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("hydra: create log: %w", err)
	}
	var out io.Writer = s.log
	if opt.Stdout != nil {
		out = io.MultiWriter(s.log, opt.Stdout)
	}
	s.cmd = exec.Command(bin, "serve", "all", "--dev", "--sqa-opt-out", "-c", cfgPath)
	s.cmd.Dir = dir
	s.cmd.Stdout = out
	s.cmd.Stderr = out
	s.cmd.SysProcAttr = sysProcAttr()
	t0 := time.Now()
	if err := s.cmd.Start(); err != nil {
		s.log.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("hydra: run %s: %w", bin, err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.done)
	}()
	if err := s.waitReady(ctx); err != nil {
		log := s.LogTail(40)
		s.Stop()
		if strings.Contains(log, "address already in use") {
			return nil, fmt.Errorf("%w: %w", errAddrInUse, err)
		}
		return nil, fmt.Errorf("%w\n%s", err, log)
	}
	s.ReadyAfter = time.Since(t0)
	t1 := time.Now()
	if err := s.warmUp(ctx); err != nil {
		log := s.LogTail(40)
		s.Stop()
		return nil, fmt.Errorf("%w\n%s", err, log)
	}
	s.WarmUpTook = time.Since(t1)
	return s, nil
}

// waitReady polls /health/ready on both ports until each answers 200.
func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, ReadyTimeout)
	defer cancel()
	for _, base := range []string{s.AdminURL, s.PublicURL} {
		for {
			if s.ready(ctx, base+"/health/ready") {
				break
			}
			select {
			case <-s.done:
				return fmt.Errorf("%w: process exited: %v", ErrNotReady, s.waitErr)
			case <-ctx.Done():
				return fmt.Errorf("%w: %s/health/ready: %w", ErrNotReady, base, ctx.Err())
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return nil
}

func (s *Server) ready(ctx context.Context, u string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode == http.StatusOK
}

// warmUp fetches the JWKS once: the first request makes Hydra generate its
// ID-token and access-token key sets.
func (s *Server) warmUp(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, warmUpTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.PublicURL+"/.well-known/jwks.json", nil)
	if err != nil {
		return fmt.Errorf("hydra: warm up: %w", err)
	}
	// The shared client's timeout may be shorter than key generation takes.
	c := *s.client
	c.Timeout = 0
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("hydra: warm up: %w", err)
	}
	defer resp.Body.Close()
	if _, err := httpx.ReadBody(resp.Body, 0); err != nil {
		return fmt.Errorf("hydra: warm up: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("hydra: warm up: GET /.well-known/jwks.json: status %d", resp.StatusCode)
	}
	return nil
}

// ErrKilled reports that Hydra did not exit within the grace period after
// SIGTERM and was killed.
var ErrKilled = errors.New("hydra: stop: killed after SIGTERM timeout")

// Stop sends SIGTERM, waits up to five seconds, then sends SIGKILL, and
// removes Dir. It is safe to call more than once; later calls return the
// first result.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		if s.cmd != nil && s.cmd.Process != nil {
			select {
			case <-s.done:
			default:
				if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
					s.stopErr = fmt.Errorf("hydra: stop: %w", err)
				}
				select {
				case <-s.done:
				case <-time.After(stopGrace):
					s.cmd.Process.Kill()
					<-s.done
					s.stopErr = errors.Join(s.stopErr, ErrKilled)
				}
			}
		}
		if s.log != nil {
			s.log.Close()
		}
		for i := len(s.cleanups) - 1; i >= 0; i-- {
			s.cleanups[i]()
		}
		if s.Dir != "" {
			if err := os.RemoveAll(s.Dir); err != nil {
				s.stopErr = errors.Join(s.stopErr, fmt.Errorf("hydra: stop: %w", err))
			}
		}
	})
	return s.stopErr
}

// Exited reports whether the Hydra process has ended.
func (s *Server) Exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// LogTail returns the last n lines of Hydra's log, or "" once Stop removed it.
func (s *Server) LogTail(n int) string {
	b, err := os.ReadFile(filepath.Join(s.Dir, "hydra.log"))
	if err != nil {
		return ""
	}
	return tail(string(b), n)
}

// freePorts returns n distinct loopback ports that were free a moment ago.
// Holding all listeners until every port is chosen keeps them distinct.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	lns := make([]net.Listener, 0, n)
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("hydra: find a free port: %w", err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// renderConfig writes Hydra's YAML configuration. Every scalar is written
// as a JSON string, which YAML reads as a double-quoted scalar.
func renderConfig(opt Options, s *Server, publicPort, adminPort int) (string, error) {
	secret := make([]byte, 24)
	rand.Read(secret)
	q := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			// Strings and string slices always marshal.
			return `""`
		}
		return string(b)
	}
	publicBase := s.PublicURL
	if opt.IssuerURL != "" {
		publicBase = s.Issuer
	}
	regURL, err := url.JoinPath(publicBase, "oauth2", "register")
	if err != nil {
		return "", fmt.Errorf("hydra: registration URL: %w", err)
	}
	var b strings.Builder
	b.WriteString("dsn: memory\n")
	b.WriteString(`log: {level: "info", format: "text"}` + "\n")
	b.WriteString("serve:\n")
	fmt.Fprintf(&b, "  public: {host: \"127.0.0.1\", port: %d}\n", publicPort)
	fmt.Fprintf(&b, "  admin: {host: \"127.0.0.1\", port: %d}\n", adminPort)
	b.WriteString("urls:\n")
	fmt.Fprintf(&b, "  self: {issuer: %s, public: %s, admin: %s}\n", q(s.Issuer), q(publicBase), q(s.AdminURL))
	for _, u := range []struct{ key, v string }{
		{"login", opt.LoginURL}, {"consent", opt.ConsentURL}, {"logout", opt.LogoutURL},
		{"error", opt.ErrorURL}, {"post_logout_redirect", opt.PostLogoutURL},
	} {
		if u.v != "" {
			fmt.Fprintf(&b, "  %s: %s\n", u.key, q(u.v))
		}
	}
	fmt.Fprintf(&b, "secrets: {system: [%s]}\n", q(hex.EncodeToString(secret)))
	var ttls []string
	for _, d := range opt.ttls() {
		if d.v != 0 {
			ttls = append(ttls, fmt.Sprintf("%s: \"%ds\"", d.key, int64(d.v/time.Second)))
		}
	}
	if len(ttls) > 0 {
		fmt.Fprintf(&b, "ttl: {%s}\n", strings.Join(ttls, ", "))
	}
	b.WriteString("oidc:\n")
	fmt.Fprintf(&b, "  dynamic_client_registration: {enabled: true, default_scope: %s}\n", q(DefaultScopes))
	b.WriteString("  subject_identifiers: {supported_types: [\"public\"]}\n")
	b.WriteString("webfinger:\n")
	b.WriteString("  oidc_discovery:\n")
	fmt.Fprintf(&b, "    client_registration_url: %s\n", q(regURL))
	fmt.Fprintf(&b, "    supported_claims: %s\n", q(SupportedClaims))
	fmt.Fprintf(&b, "    supported_scope: %s\n", q(SupportedScopes))
	return b.String(), nil
}
