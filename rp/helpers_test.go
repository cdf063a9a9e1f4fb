package rp_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/rp"
	"github.com/oidcrp/oidcrp/rp/rptest"
)

const (
	testClientID     = "app"
	testClientSecret = "app-secret"
)

var testKey = []byte("0123456789abcdef0123456789abcdef-test-key")

// clock is a settable clock shared by the RP and the fake provider.
type clock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a relying party in front of a protected test application, with a
// fake provider behind it.
type env struct {
	t     *testing.T
	op    *rptest.Provider
	rp    *rp.RP
	app   *httptest.Server
	clock *clock
	cfg   rp.Config
}

type envOption struct {
	config   func(*rp.Config)
	provider []rptest.Option
	client   func(*rptest.Client)
}

// newEnv starts a fake provider and an application protected by an RP.
func newEnv(t *testing.T, o envOption) *env {
	t.Helper()
	clk := newClock()
	opts := append([]rptest.Option{rptest.WithClock(clk.Now), rptest.WithClaims(map[string]any{"email": "alice@example.com", "name": "Alice"})}, o.provider...)
	op := rptest.NewProvider(t, opts...)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	client := rptest.Client{
		ID:                     testClientID,
		Secret:                 testClientSecret,
		RedirectURIs:           []string{base + "/callback"},
		PostLogoutRedirectURIs: []string{base + "/logout/done"},
	}
	if o.client != nil {
		o.client(&client)
	}
	op.RegisterClient(client)

	cfg := rp.Config{
		Issuer:       op.Issuer(),
		ClientID:     client.ID,
		ClientSecret: client.Secret,
		RedirectURL:  base + "/callback",
		Scopes:       []string{"openid", "profile", "email", "offline_access"},
		SessionKeys:  [][]byte{testKey},
		Now:          clk.Now,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if o.config != nil {
		o.config(&cfg)
	}
	r, err := rp.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("rp.New: %v", err)
	}
	t.Cleanup(func() { r.Close() })

	mux := http.NewServeMux()
	mux.Handle("/", r.Routes())
	mux.Handle("/private", r.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s, ok := rp.SessionFrom(req.Context())
		if !ok {
			http.Error(w, "no session in context", 500)
			return
		}
		io.WriteString(w, "hello "+s.Subject())
	})))
	mux.Handle("/api/private", r.RequireAuthAPI(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s, _ := rp.SessionFrom(req.Context())
		io.WriteString(w, `{"sub":"`+s.Subject()+`"}`)
	})))
	mux.Handle("/public", r.LoadSession(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if s, ok := rp.SessionFrom(req.Context()); ok {
			io.WriteString(w, "user "+s.Subject())
			return
		}
		io.WriteString(w, "anonymous")
	})))
	mux.Handle("/claims", r.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s, _ := rp.SessionFrom(req.Context())
		claims, err := s.Claims()
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		_, has := s.UserInfo()
		json.NewEncoder(w).Encode(map[string]any{"claims": claims, "userinfo": has})
	})))
	mux.Handle("/login-maxage", r.LoginHandler(rp.MaxAge(time.Hour)))
	mux.Handle("/login-voluntary-acr", r.LoginHandler(rp.RequireACR("urn:example:mfa"), rp.ACRValues("urn:example:mfa")))
	mux.Handle("/login-mfa", r.LoginHandler(rp.RequireACR("urn:example:mfa", "urn:example:hwk")))
	mux.Handle("/csrf", r.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s, _ := rp.SessionFrom(req.Context())
		io.WriteString(w, s.CSRFToken())
	})))
	app := httptest.NewUnstartedServer(mux)
	app.Listener.Close()
	app.Listener = ln
	app.Start()
	t.Cleanup(app.Close)
	return &env{t: t, op: op, rp: r, app: app, clock: clk, cfg: cfg}
}

// browser is a cookie-jar client. When stop is set, it does not follow a
// redirect to the application's callback, so tests can inspect or replay
// it.
type browser struct {
	t    *testing.T
	e    *env
	c    *http.Client
	stop bool
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{t: e.t, e: e}
	b.c = &http.Client{Jar: jar, Timeout: 10 * time.Second}
	b.c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if b.stop && strings.HasPrefix(req.URL.String(), e.app.URL+"/callback") {
			return http.ErrUseLastResponse
		}
		if len(via) > 10 {
			return http.ErrUseLastResponse
		}
		return nil
	}
	return b
}

// get fetches path (relative to the app, or absolute) and returns status,
// body and the final URL.
func (b *browser) get(path string, header ...string) (int, string, *url.URL) {
	b.t.Helper()
	u := path
	if strings.HasPrefix(path, "/") {
		u = b.e.app.URL + path
	}
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Request.URL
}

// startLogin follows /login to the provider and stops at the callback,
// returning its URL.
func (b *browser) startLogin(path string) *url.URL {
	b.t.Helper()
	b.stop = true
	defer func() { b.stop = false }()
	req, _ := http.NewRequest(http.MethodGet, b.e.app.URL+path, nil)
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("GET %s: %v", path, err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil || !strings.HasPrefix(loc.String(), b.e.app.URL+"/callback") {
		b.t.Fatalf("login did not end at the callback: status %d, location %v", resp.StatusCode, loc)
	}
	return loc
}

// login logs in fully and checks that the protected page answers.
func (b *browser) login() {
	b.t.Helper()
	status, body, _ := b.get("/login?return_to=/private")
	if status != 200 || body != "hello alice" {
		b.t.Fatalf("login: status %d body %q", status, body)
	}
}

// cookies returns the browser's cookies for the app.
func (b *browser) cookies() []*http.Cookie {
	u, _ := url.Parse(b.e.app.URL + "/")
	return b.c.Jar.Cookies(u)
}

func (b *browser) cookie(name string) *http.Cookie {
	for _, c := range b.cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// noRedirect returns a client with b's cookies that follows no redirect.
func (b *browser) noRedirect() *http.Client {
	return &http.Client{Jar: b.c.Jar, Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func httptestRecorder(h http.Handler, target string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec
}

func httptestRecorderCtx(t *testing.T, h http.Handler, target string, d time.Duration) *httptest.ResponseRecorder {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil).WithContext(ctx))
	return rec
}

func mustListen(t *testing.T) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func copyN(w io.Writer, resp *http.Response) (int64, error) {
	return io.Copy(w, io.LimitReader(resp.Body, 1<<20))
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }
