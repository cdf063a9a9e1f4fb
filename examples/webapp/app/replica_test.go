package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oidcrp/oidcrp/examples/webapp/app"
	"github.com/oidcrp/oidcrp/internal/redistest"
	"github.com/oidcrp/oidcrp/rp/rptest"
	"github.com/oidcrp/oidcrp/rp/session"
	"github.com/oidcrp/oidcrp/rp/session/redisstore"
)

// The tests in this file run the reference application as two replicas
// (two instances on their own ports, like two pods behind a load
// balancer) over one Redis, against the in-process provider of rp/rptest.
// Both listen on 127.0.0.1, and cookie jars key cookies by host, not
// port: one cookie-jar client is one browser talking to both replicas.

func init() {
	// go-redis logs every failed dial to standard error; the outage tests
	// cause many, and the replicas log what matters.
	redis.SetLogger(quietRedisLog{})
}

type quietRedisLog struct{}

func (quietRedisLog) Printf(context.Context, string, ...any) {}

// replicaKey is the SESSION_KEYS value every replica shares.
const replicaKey = "replica-session-key-0123456789abcdef"

// replicaClientID and replicaClientSecret are the replicas' client at the
// provider.
const (
	replicaClientID     = "webapp"
	replicaClientSecret = "webapp-secret-0123456789"
)

// promptly bounds how long a request may take to fail while Redis is
// unreachable (the client's recommended timeouts make it about a second).
const promptly = 2 * time.Second

// replicaOptions configures startReplicas.
type replicaOptions struct {
	// store is SESSION_STORE: "redis" (the default) or "cookie".
	store string
	// redisArgs are added to redis-server's command line.
	redisArgs []string
	// redisQuery is added to REDIS_URL as its query (client settings).
	redisQuery string
	// provider configures the provider.
	provider []rptest.Option
	// quiet discards the replicas' logs (benchmarks).
	quiet bool
}

// replicaSet is the provider, Redis and two replicas A and B of the
// reference app. The provider's back-channel logout URI is B's.
type replicaSet struct {
	tb    testing.TB
	op    *rptest.Provider
	redis *redistest.Server // nil with SESSION_STORE=cookie
	a, b  *replica
	// rs reads the replicas' session records, over its own connection.
	rs *redisstore.Store
}

// replica is one instance of the reference app.
type replica struct {
	name    string
	base    string
	app     *app.App
	handler http.Handler
}

// startReplicas starts Redis (for the Redis store), the provider and two
// replicas, all stopped when tb ends.
func startReplicas(tb testing.TB, opt replicaOptions) *replicaSet {
	tb.Helper()
	if opt.store == "" {
		opt.store = "redis"
	}
	s := &replicaSet{tb: tb}
	redisURL := ""
	if opt.store == "redis" {
		s.redis = redistest.Start(tb, opt.redisArgs...)
		redisURL = s.redis.URL()
		if opt.redisQuery != "" {
			redisURL += "?" + opt.redisQuery
		}
		s.rs = recordReader(tb, s.redis)
	}
	popts := append([]rptest.Option{rptest.WithClaims(map[string]any{
		"email": "alice@example.com", "email_verified": true, "name": "Alice Example",
	})}, opt.provider...)
	s.op = rptest.NewProvider(tb, popts...)

	lnA, lnB := listenLoopback(tb), listenLoopback(tb)
	baseA, baseB := "http://"+lnA.Addr().String(), "http://"+lnB.Addr().String()
	s.op.RegisterClient(rptest.Client{
		ID:                     replicaClientID,
		Secret:                 replicaClientSecret,
		RedirectURIs:           []string{baseA + "/callback", baseB + "/callback"},
		PostLogoutRedirectURIs: []string{baseA + "/logout/done", baseB + "/logout/done"},
		BackchannelLogoutURI:   baseB + "/backchannel-logout",
	})

	var logs io.Writer = io.Discard
	if !opt.quiet {
		lw := &replicaLog{tb: tb}
		tb.Cleanup(lw.stop) // runs after the replicas' cleanups
		logs = lw
	}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	start := func(name string, ln net.Listener) *replica {
		vars := map[string]string{
			"LISTEN_ADDR":          ln.Addr().String(),
			"OIDC_ISSUER":          s.op.Issuer(),
			"OIDC_CLIENT_ID":       replicaClientID,
			"OIDC_CLIENT_SECRET":   replicaClientSecret,
			"SESSION_STORE":        opt.store,
			"REDIS_URL":            redisURL,
			"SESSION_DIR":          tb.TempDir() + "/sessions",
			"SESSION_KEYS":         replicaKey,
			"OIDC_HOLDER_KEY_FILE": tb.TempDir() + "/holder.pem",
		}
		cfg, err := app.LoadConfig(func(k string) string { return vars[k] })
		if err != nil {
			tb.Fatal(err)
		}
		a, h, err := app.New(context.Background(), cfg, logger.With("replica", name))
		if err != nil {
			tb.Fatalf("replica %s: %v", name, err)
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(ln)
		tb.Cleanup(func() {
			srv.Close()
			a.Close()
		})
		return &replica{name: name, base: "http://" + ln.Addr().String(), app: a, handler: h}
	}
	s.a = start("A", lnA)
	s.b = start("B", lnB)
	return s
}

func listenLoopback(tb testing.TB) net.Listener {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	return ln
}

// replicaLog writes log lines to the test's log until stop, so that a
// request still running when the test ends cannot log into a finished
// test.
type replicaLog struct {
	tb      testing.TB
	stopped atomic.Bool
}

func (l *replicaLog) Write(p []byte) (int, error) {
	if !l.stopped.Load() {
		l.tb.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (l *replicaLog) stop() { l.stopped.Store(true) }

// browser returns a cookie-jar client that follows redirects: the
// provider signs the user in at once, so GET /login completes a login.
func (s *replicaSet) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 20 * time.Second}
}

// noRedirect returns a client with c's cookies that stops at the first
// answer.
func noRedirect(c *http.Client) *http.Client {
	return &http.Client{
		Jar:           c.Jar,
		Timeout:       c.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// replicaResponse is what a request got.
type replicaResponse struct {
	status   int
	location string
	body     []byte
	took     time.Duration
}

// do sends GET path to r with c; api marks it an API request (Accept:
// application/json), which gets 401 rather than a redirect to the login
// page. It returns an error rather than failing the test, for use from
// other goroutines.
func (r *replica) do(c *http.Client, path string, api bool) (replicaResponse, error) {
	req, err := http.NewRequest(http.MethodGet, r.base+path, nil)
	if err != nil {
		return replicaResponse{}, err
	}
	if api {
		req.Header.Set("Accept", "application/json")
	}
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return replicaResponse{}, fmt.Errorf("GET %s on %s: %w", path, r.name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return replicaResponse{}, fmt.Errorf("GET %s on %s: %w", path, r.name, err)
	}
	return replicaResponse{status: resp.StatusCode, location: resp.Header.Get("Location"), body: body, took: time.Since(start)}, nil
}

// get is do failing tb on a transport error.
func (r *replica) get(tb testing.TB, c *http.Client, path string, api bool) replicaResponse {
	tb.Helper()
	resp, err := r.do(c, path, api)
	if err != nil {
		tb.Fatal(err)
	}
	return resp
}

// whoami returns the status of an API request to /api/whoami on r.
func (r *replica) whoami(tb testing.TB, c *http.Client) int {
	tb.Helper()
	return r.get(tb, c, "/api/whoami", true).status
}

// login logs c in through r and checks that it lands on /api/whoami as
// alice.
func (r *replica) login(tb testing.TB, c *http.Client) {
	tb.Helper()
	resp := r.get(tb, c, "/login?return_to=/api/whoami", false)
	if resp.status != http.StatusOK || !strings.Contains(string(resp.body), `"sub":"alice"`) {
		tb.Fatalf("login through %s: %d %s", r.name, resp.status, resp.body)
	}
}

// me returns /me on r as JSON.
func (r *replica) me(tb testing.TB, c *http.Client) map[string]any {
	tb.Helper()
	resp := r.get(tb, c, "/me", true)
	if resp.status != http.StatusOK {
		tb.Fatalf("/me on %s: %d %s", r.name, resp.status, resp.body)
	}
	var m map[string]any
	if err := json.Unmarshal(resp.body, &m); err != nil {
		tb.Fatalf("/me on %s is not JSON: %v: %s", r.name, err, resp.body)
	}
	return m
}

// cookies returns c's cookies for the replicas' host.
func (s *replicaSet) cookies(c *http.Client) []*http.Cookie {
	u, _ := url.Parse(s.a.base + "/")
	return c.Jar.Cookies(u)
}

// record returns the session record in Redis of c's session cookie, or nil.
func (s *replicaSet) record(c *http.Client) *session.Session {
	s.tb.Helper()
	return storedRecord(s.tb, s.rs, s.cookies(c))
}

// recordReader returns a Store that reads the records the replicas write
// to srv (sealed with replicaKey), over a connection of its own with
// timeouts for a busy machine.
func recordReader(tb testing.TB, srv *redistest.Server) *redisstore.Store {
	tb.Helper()
	client, err := redisstore.NewClient(srv.URL() + "?read_timeout=5s&write_timeout=5s")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { client.Close() })
	codec, err := session.NewCodec([]byte(replicaKey))
	if err != nil {
		tb.Fatal(err)
	}
	rs, err := redisstore.New(redisstore.Options{Client: client, Codec: codec})
	if err != nil {
		tb.Fatal(err)
	}
	return rs
}

// storedRecord returns the record in rs that the session cookie among
// cookies names, or nil.
func storedRecord(tb testing.TB, rs *redisstore.Store, cookies []*http.Cookie) *session.Session {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/", nil)
	for _, ck := range cookies {
		req.AddCookie(ck)
	}
	rec, err := session.NewServerStore(rs, session.CookieOptions{}).Load(req)
	if err != nil {
		tb.Fatalf("read the session record: %v", err)
	}
	return rec
}

// eventuallyStatus polls an API request to path on r for up to wait until
// its status is not 503 (the Redis client reconnecting), and returns the
// last answer.
func (r *replica) eventuallyStatus(tb testing.TB, c *http.Client, path string, wait time.Duration) replicaResponse {
	tb.Helper()
	deadline := time.Now().Add(wait)
	for {
		resp := r.get(tb, c, path, true)
		if resp.status != http.StatusServiceUnavailable || time.Now().After(deadline) {
			return resp
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestReplicasShareSessions(t *testing.T) {
	s := startReplicas(t, replicaOptions{})
	c := s.browser()
	s.a.login(t, c)

	// The cookie carries only the session ID; the record is in Redis.
	var sessionCookie *http.Cookie
	for _, ck := range s.cookies(c) {
		if ck.Name == session.DefaultCookieName {
			sessionCookie = ck
		}
	}
	if sessionCookie == nil || len(sessionCookie.Value) > 64 {
		t.Fatalf("session cookie %v: want a short session ID", sessionCookie)
	}
	rec := s.record(c)
	if rec == nil || rec.Subject != "alice" || rec.RefreshToken == "" || rec.ID != sessionCookie.Value {
		t.Fatalf("record in Redis = %+v", rec)
	}

	// B knows the session A made, without a login of its own.
	tokens := s.op.Count(rptest.EndpointToken)
	if resp := s.b.get(t, c, "/api/whoami", true); resp.status != http.StatusOK || !strings.Contains(string(resp.body), `"sub":"alice"`) {
		t.Fatalf("/api/whoami on B after login on A: %d %s", resp.status, resp.body)
	}
	meA, meB := s.a.me(t, c), s.b.me(t, c)
	if meA["sid"] == "" || meA["sid"] != meB["sid"] || meA["logged_in_at"] != meB["logged_in_at"] {
		t.Errorf("/me differs between replicas:\nA %v\nB %v", meA, meB)
	}
	if n := s.op.Count(rptest.EndpointToken); n != tokens {
		t.Errorf("B called the token endpoint %d times", n-tokens)
	}
	if n := s.op.Count(rptest.EndpointAuthorize); n != 1 {
		t.Errorf("%d authorization requests, want 1", n)
	}

	// Another browser is anonymous on both, and a forged session ID is
	// anonymous too.
	for _, r := range []*replica{s.a, s.b} {
		if st := r.whoami(t, s.browser()); st != http.StatusUnauthorized {
			t.Errorf("anonymous /api/whoami on %s: %d", r.name, st)
		}
		forged := s.browser()
		u, _ := url.Parse(r.base + "/")
		forged.Jar.SetCookies(u, []*http.Cookie{{Name: session.DefaultCookieName, Value: strings.Repeat("A", len(sessionCookie.Value))}})
		if st := r.whoami(t, forged); st != http.StatusUnauthorized {
			t.Errorf("forged session ID on %s: %d", r.name, st)
		}
	}
}

func TestReplicasBackchannelLogout(t *testing.T) {
	s := startReplicas(t, replicaOptions{})
	c := s.browser()
	s.a.login(t, c)
	sid := s.op.SessionID()
	for _, r := range []*replica{s.a, s.b} {
		if st := r.whoami(t, c); st != http.StatusOK {
			t.Fatalf("/api/whoami on %s before logout: %d", r.name, st)
		}
	}
	// A copy of the browser, as another tab or a stolen cookie would
	// carry it.
	stale := s.browser()
	u, _ := url.Parse(s.a.base + "/")
	stale.Jar.SetCookies(u, s.cookies(c))

	// The provider ends the login session; only B receives the logout
	// token.
	if err := s.op.LogoutSession(t.Context()); err != nil {
		t.Fatalf("back-channel logout to B: %v", err)
	}
	if n := s.op.Count(rptest.EndpointBackchannelLogout); n != 1 {
		t.Errorf("%d back-channel logout deliveries, want 1", n)
	}

	for _, r := range []*replica{s.a, s.b} {
		if st := r.whoami(t, c); st != http.StatusUnauthorized {
			t.Errorf("API request on %s after back-channel logout: %d, want 401", r.name, st)
		}
		resp := r.get(t, noRedirect(stale), "/me", false)
		if resp.status != http.StatusFound || !strings.HasPrefix(resp.location, "/login?return_to=") {
			t.Errorf("browser request on %s after back-channel logout: %d Location %q, want a redirect to login", r.name, resp.status, resp.location)
		}
	}
	if rec := s.record(stale); rec != nil {
		t.Errorf("the session record survived the back-channel logout: %+v", rec)
	}

	// A logout token replayed to the other replica is refused: the replay
	// cache is shared.
	claims := s.op.LogoutTokenClaims(replicaClientID, sid)
	token := s.op.SignIDToken(claims, rptest.WithHeader("typ", "logout+jwt"))
	post := func(r *replica) int {
		resp, err := http.PostForm(r.base+"/backchannel-logout", url.Values{"logout_token": {token}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := post(s.b); st != http.StatusOK {
		t.Fatalf("fresh logout token on B: %d", st)
	}
	if st := post(s.a); st != http.StatusBadRequest {
		t.Errorf("logout token replayed on A: %d, want 400", st)
	}

	// A new login works and is a new session on both replicas.
	s.b.login(t, c)
	if st := s.a.whoami(t, c); st != http.StatusOK {
		t.Errorf("/api/whoami on A after a new login on B: %d", st)
	}
	if got := s.a.me(t, c)["sid"]; got == sid {
		t.Errorf("new login kept the ended provider session %v", sid)
	}
	if st := s.a.whoami(t, stale); st != http.StatusUnauthorized {
		t.Errorf("the logged-out cookie works again after a new login: %d", st)
	}
}

func TestReplicasSingleRefresh(t *testing.T) {
	// Access tokens live 3 s (refresh margin 750 ms).
	s := startReplicas(t, replicaOptions{provider: []rptest.Option{rptest.WithAccessTokenTTL(3 * time.Second)}})
	c := s.browser()
	s.a.login(t, c)
	before := s.record(c)
	if before == nil || before.RefreshToken == "" {
		t.Fatalf("no refresh token in the session: %+v", before)
	}
	time.Sleep(time.Until(before.Expiry.Add(100 * time.Millisecond)))
	// A slow token endpoint makes both replicas load the expired session
	// before the refresh is done.
	s.op.SetMisbehaviour(rptest.Misbehaviour{TokenDelay: 300 * time.Millisecond})

	const n = 100
	var wg sync.WaitGroup
	errs := make(chan error, n)
	begin := make(chan struct{})
	for i := range n {
		r := s.a
		if i%2 == 1 {
			r = s.b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-begin
			resp, err := r.do(c, "/api/whoami", true)
			switch {
			case err != nil:
				errs <- err
			case resp.status != http.StatusOK || !strings.Contains(string(resp.body), `"sub":"alice"`):
				errs <- fmt.Errorf("request %d on %s: %d %s", i, r.name, resp.status, resp.body)
			}
		}()
	}
	close(begin)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := s.op.Count(rptest.EndpointRefresh); got != 1 {
		t.Errorf("%d refresh requests from two replicas, want 1", got)
	}
	after := s.record(c)
	if after == nil || after.RefreshToken == before.RefreshToken || !after.TokenIssued.After(before.TokenIssued) {
		t.Fatalf("the record in Redis was not refreshed: %+v", after)
	}
	if s.op.TokenActive(before.RefreshToken) {
		t.Error("the old refresh token is still active")
	}
	if !s.op.TokenActive(after.RefreshToken) || !s.op.TokenActive(after.AccessToken) {
		t.Error("the rotated tokens in Redis are not active at the provider")
	}
}

// outageRequests are the requests a logged-in browser makes while Redis
// is down; each must get 503.
var outageRequests = []struct {
	name string
	path string
	api  bool
}{
	{name: "API", path: "/api/whoami", api: true},
	{name: "browser", path: "/api/whoami"},
	{name: "me", path: "/me", api: true},
	{name: "home", path: "/"},
	{name: "login", path: "/login?return_to=/me"},
}

// checkOutage sends every outageRequest with c's cookies to both replicas
// and checks for a prompt 503.
func (s *replicaSet) checkOutage(t *testing.T, c *http.Client, within time.Duration) {
	t.Helper()
	for _, r := range []*replica{s.a, s.b} {
		for _, tc := range outageRequests {
			resp := r.get(t, noRedirect(c), tc.path, tc.api)
			if resp.status != http.StatusServiceUnavailable {
				t.Errorf("%s request (%s) on %s while Redis is down: %d Location %q, want 503: %.200s", tc.name, tc.path, r.name, resp.status, resp.location, resp.body)
			}
			if resp.took > within {
				t.Errorf("%s request on %s took %v while Redis is down, want under %v", tc.name, r.name, resp.took, within)
			}
			t.Logf("%s request on %s while Redis is down: %d after %v", tc.name, r.name, resp.status, resp.took.Round(time.Millisecond))
			if strings.Contains(string(resp.body), "alice") {
				t.Errorf("%s request on %s answered with the user's data while Redis is down: %.200s", tc.name, r.name, resp.body)
			}
		}
	}
}

func TestReplicasRedisDown(t *testing.T) {
	s := startReplicas(t, replicaOptions{})
	c := s.browser()
	s.a.login(t, c)
	if st := s.b.whoami(t, c); st != http.StatusOK {
		t.Fatalf("/api/whoami on B: %d", st)
	}

	s.redis.Kill()
	s.checkOutage(t, c, promptly)
	// A logout the replicas cannot record is not acknowledged, so the
	// provider knows it failed.
	start := time.Now()
	if err := s.op.LogoutSession(t.Context()); err == nil {
		t.Error("back-channel logout acknowledged while Redis is down")
	}
	t.Logf("back-channel logout while Redis is down refused after %v", time.Since(start).Round(time.Millisecond))

	// Redis comes back empty: the old cookie names no session.
	s.redis.Restart()
	start = time.Now()
	resp := s.a.eventuallyStatus(t, c, "/api/whoami", 5*time.Second)
	t.Logf("A answered %d %v after Redis restarted", resp.status, time.Since(start).Round(time.Millisecond))
	if resp.status != http.StatusUnauthorized {
		t.Fatalf("old cookie on A after Redis restarted empty: %d %s, want 401", resp.status, resp.body)
	}
	for _, r := range []*replica{s.a, s.b} {
		if st := r.eventuallyStatus(t, c, "/api/whoami", 5*time.Second).status; st != http.StatusUnauthorized {
			t.Errorf("old cookie, API request on %s: %d, want 401", r.name, st)
		}
		if resp := r.get(t, noRedirect(c), "/me", false); resp.status != http.StatusFound || !strings.HasPrefix(resp.location, "/login?return_to=%2Fme") {
			t.Errorf("old cookie, browser request on %s: %d Location %q, want a redirect to login", r.name, resp.status, resp.location)
		}
	}
	// A new login works, and is shared again.
	s.b.login(t, c)
	if st := s.a.whoami(t, c); st != http.StatusOK {
		t.Errorf("/api/whoami on A after a new login on B: %d", st)
	}
}

func TestReplicasRedisFrozen(t *testing.T) {
	// A hung Redis (or a partition) accepts connections and never
	// answers: the client's timeouts must still turn that into a 503.
	s := startReplicas(t, replicaOptions{})
	c := s.browser()
	s.a.login(t, c)
	s.redis.Freeze()
	for _, r := range []*replica{s.a, s.b} {
		resp := r.get(t, c, "/api/whoami", true)
		t.Logf("/api/whoami on %s while Redis hangs: %d after %v", r.name, resp.status, resp.took.Round(time.Millisecond))
		if resp.status != http.StatusServiceUnavailable || resp.took > 2*promptly {
			t.Errorf("/api/whoami on %s while Redis hangs: %d after %v, want 503 within %v", r.name, resp.status, resp.took, 2*promptly)
		}
	}
	s.redis.Thaw()
	for _, r := range []*replica{s.a, s.b} {
		if resp := r.eventuallyStatus(t, c, "/api/whoami", 5*time.Second); resp.status != http.StatusOK {
			t.Errorf("/api/whoami on %s after Redis resumed: %d %s", r.name, resp.status, resp.body)
		}
	}
}

func TestReplicasRedisPersistence(t *testing.T) {
	aof := []string{"--appendonly", "yes", "--appendfsync", "always"}
	tests := []struct {
		name string
		stop func(*redistest.Server)
	}{
		{name: "shutdown", stop: (*redistest.Server).Shutdown},
		{name: "crash", stop: (*redistest.Server).Kill},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// fsync on every write can be slow on a busy disk: this test
			// is about durability, not latency.
			s := startReplicas(t, replicaOptions{redisArgs: aof, redisQuery: "read_timeout=5s&write_timeout=5s"})
			c := s.browser()
			s.a.login(t, c)
			sid := s.a.me(t, c)["sid"]

			tc.stop(s.redis)
			if st := s.b.whoami(t, c); st != http.StatusServiceUnavailable {
				t.Errorf("/api/whoami on B while Redis is down: %d, want 503", st)
			}
			s.redis.Restart(aof...)

			for _, r := range []*replica{s.b, s.a} {
				resp := r.eventuallyStatus(t, c, "/api/whoami", 5*time.Second)
				if resp.status != http.StatusOK || !strings.Contains(string(resp.body), `"sub":"alice"`) {
					t.Errorf("/api/whoami on %s after Redis restarted: %d %s", r.name, resp.status, resp.body)
				}
			}
			if got := s.b.me(t, c)["sid"]; got != sid {
				t.Errorf("sid after restart = %v, want %v", got, sid)
			}
			if n := s.op.Count(rptest.EndpointAuthorize); n != 1 {
				t.Errorf("%d logins, want 1: the session did not survive", n)
			}
		})
	}
}
