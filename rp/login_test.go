package rp_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/sessions"
	"github.com/oidcrp/oidcrp/rp"
	"github.com/oidcrp/oidcrp/rp/rptest"
	"github.com/oidcrp/oidcrp/rp/session"
)

func TestLoginFlow(t *testing.T) {
	e := newEnv(t, envOption{})
	b := e.browser()
	b.login()

	auth := e.op.LastAuthorizeRequest()
	for _, p := range []string{"state", "nonce", "code_challenge"} {
		if len(auth.Get(p)) < 43 {
			t.Errorf("authorization request %s = %q, want at least 43 characters of randomness", p, auth.Get(p))
		}
	}
	if got := auth.Get("code_challenge_method"); got != "S256" {
		t.Errorf("code_challenge_method = %q, want S256", got)
	}
	if got := auth.Get("redirect_uri"); got != e.app.URL+"/callback" {
		t.Errorf("redirect_uri = %q", got)
	}
	form, header := e.op.LastTokenRequest()
	if form.Get("code_verifier") == "" {
		t.Error("token request carried no code_verifier")
	}
	if !strings.HasPrefix(header.Get("Authorization"), "Basic ") {
		t.Errorf("token request authenticated with %q, want client_secret_basic", header.Get("Authorization"))
	}
	if form.Get("client_secret") != "" {
		t.Error("client secret sent in the form as well")
	}
	// The session cookie carries no ID token; the login-state cookie is gone.
	for _, c := range b.cookies() {
		if strings.HasPrefix(c.Name, "oidcrp_flow_") {
			t.Errorf("login-state cookie %s left behind", c.Name)
		}
	}
	if status, body, _ := b.get("/public"); status != 200 || body != "user alice" {
		t.Errorf("LoadSession: %d %q", status, body)
	}
}

func TestLoginClientSecretPost(t *testing.T) {
	e := newEnv(t, envOption{client: func(c *rptest.Client) { c.AuthMethod = rptest.AuthClientSecretPost }, config: func(c *rp.Config) { c.TokenEndpointAuthMethod = rp.AuthMethodClientSecretPost }})
	e.browser().login()
	form, header := e.op.LastTokenRequest()
	if form.Get("client_secret") != testClientSecret || header.Get("Authorization") != "" {
		t.Errorf("client_secret_post not used: form %v, Authorization %q", form, header.Get("Authorization"))
	}
}

func TestLoginOptions(t *testing.T) {
	e := newEnv(t, envOption{config: func(c *rp.Config) {}})
	r := e.rp
	h := r.LoginHandler(rp.Prompt("login"), rp.LoginHint("alice@example.com"), rp.ACRValues("urn:a", "urn:b"), rp.UILocales("de", "en"),
		rp.Param("state", "attacker-chosen"), rp.Param("nonce", "fixed"), rp.Param("redirect_uri", "https://evil.example/cb"),
		rp.Param("client_id", "other"), rp.Param("code_challenge", "x"), rp.Param("audience", "api"))
	rec := httptestRecorder(h, "/login")
	loc, err := url.Parse(rec.Header().Get("Location"))
	if err != nil || rec.Code != http.StatusFound {
		t.Fatalf("login: %d %v", rec.Code, err)
	}
	q := loc.Query()
	want := map[string]string{"prompt": "login", "login_hint": "alice@example.com", "acr_values": "urn:a urn:b", "ui_locales": "de en", "audience": "api", "client_id": testClientID, "redirect_uri": e.app.URL + "/callback"}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, q.Get(k), v)
		}
	}
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if q.Get(k) == "attacker-chosen" || q.Get(k) == "fixed" || q.Get(k) == "x" {
			t.Errorf("option overrode %s", k)
		}
	}
}

func TestParallelTabs(t *testing.T) {
	e := newEnv(t, envOption{})
	b := e.browser()
	first := b.startLogin("/login?return_to=/private?tab=1")
	second := b.startLogin("/login?return_to=/private?tab=2")
	// Completed in the opposite order, both succeed and land where asked.
	for _, cb := range []*url.URL{second, first} {
		status, body, final := b.get(cb.String())
		if status != 200 || body != "hello alice" {
			t.Fatalf("callback %s: %d %q", cb, status, body)
		}
		if final.Path != "/private" {
			t.Errorf("landed on %s", final)
		}
	}
}

func TestLoginFlowCap(t *testing.T) {
	e := newEnv(t, envOption{})
	b := e.browser()
	c := b.noRedirect()
	for i := 0; i < 50; i++ {
		resp, err := c.Get(e.app.URL + "/login")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	n := 0
	for _, ck := range b.cookies() {
		if strings.HasPrefix(ck.Name, "oidcrp_flow_") {
			n++
		}
	}
	if n > 5 {
		t.Errorf("%d login-state cookies after 50 logins, want at most 5", n)
	}
}

func TestReturnTo(t *testing.T) {
	tests := []struct {
		name, returnTo, want string
	}{
		{"local path", "/private?x=1", "/private?x=1"},
		{"empty", "", "/"},
		{"absolute URL", "https://evil.example/", "/"},
		{"scheme-relative", "//evil.example/", "/"},
		{"backslash", "/\\evil.example/", "/"},
		{"encoded slashes", "/%2F%2Fevil.example", "/"},
		{"javascript", "javascript:alert(1)", "/"},
		{"relative", "private", "/"},
		{"control character", "/\tevil", "/"},
		{"newline header injection", "/x\r\nSet-Cookie: a=b", "/"},
		{"user info trick", "/@evil.example", "/@evil.example"},
	}
	e := newEnv(t, envOption{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := e.browser()
			cb := b.startLogin("/login?return_to=" + url.QueryEscape(tc.returnTo))
			resp, err := b.noRedirect().Get(cb.String())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || got != tc.want {
				t.Errorf("after login: %d to %q, want 303 to %q", resp.StatusCode, got, tc.want)
			}
		})
	}
}

func TestRequireAuthWithoutSession(t *testing.T) {
	e := newEnv(t, envOption{})
	tests := []struct {
		name       string
		path       string
		method     string
		header     []string
		wantStatus int
	}{
		{"browser navigation", "/private", http.MethodGet, nil, http.StatusFound},
		{"navigate mode", "/private", http.MethodGet, []string{"Sec-Fetch-Mode", "navigate"}, http.StatusFound},
		{"json accept", "/private", http.MethodGet, []string{"Accept", "application/json"}, http.StatusUnauthorized},
		{"xhr", "/private", http.MethodGet, []string{"X-Requested-With", "XMLHttpRequest"}, http.StatusUnauthorized},
		{"fetch cors", "/private", http.MethodGet, []string{"Sec-Fetch-Mode", "cors"}, http.StatusUnauthorized},
		{"post", "/private", http.MethodPost, nil, http.StatusUnauthorized},
		// RequireAuthAPI never redirects, whatever the client sends.
		{"api route, curl", "/api/private", http.MethodGet, []string{"Accept", "*/*"}, http.StatusUnauthorized},
		{"api route, browser navigation", "/api/private", http.MethodGet, []string{"Accept", "text/html", "Sec-Fetch-Mode", "navigate"}, http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, e.app.URL+tc.path+"?a=b", nil)
			for i := 0; i+1 < len(tc.header); i += 2 {
				req.Header.Set(tc.header[i], tc.header[i+1])
			}
			resp, err := e.browser().noRedirect().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			switch tc.wantStatus {
			case http.StatusFound:
				if got := resp.Header.Get("Location"); got != "/login?return_to=%2Fprivate%3Fa%3Db" {
					t.Errorf("Location %q", got)
				}
			case http.StatusUnauthorized:
				if resp.Header.Get("WWW-Authenticate") == "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
					t.Errorf("401 without WWW-Authenticate or JSON: %v", resp.Header)
				}
			}
		})
	}
}

func TestRequireAuthAPIWithSession(t *testing.T) {
	e := newEnv(t, envOption{})
	b := e.browser()
	b.login()
	if status, body, _ := b.get("/api/private", "Accept", "*/*"); status != http.StatusOK || body != `{"sub":"alice"}` {
		t.Fatalf("logged in: %d %q", status, body)
	}
}

func TestProviderDownAtStart(t *testing.T) {
	// The app starts while the provider is unreachable; login then answers
	// 503 instead of hanging or crashing.
	ln := mustListen(t)
	addr := "http://" + ln.Addr().String()
	ln.Close()
	start := time.Now()
	r, err := rp.New(t.Context(), rp.Config{Issuer: addr, ClientID: "c", RedirectURL: "http://127.0.0.1:1/callback", SessionKeys: [][]byte{testKey}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if d := time.Since(start); d > time.Second {
		t.Errorf("New blocked for %s", d)
	}
	if r.Ready() {
		t.Error("Ready with the provider down")
	}
	rec := httptestRecorderCtx(t, r.LoginHandler(), "/login", 300*time.Millisecond)
	if rec.Code != http.StatusServiceUnavailable && rec.Code != http.StatusGatewayTimeout {
		t.Errorf("login with provider down: %d", rec.Code)
	}
}

func TestConfigValidation(t *testing.T) {
	good := rp.Config{Issuer: "https://127.0.0.1:9", ClientID: "c", RedirectURL: "https://app.example.com/cb", SessionKeys: [][]byte{testKey}}
	tests := []struct {
		name string
		edit func(*rp.Config)
		want string
	}{
		{"no issuer", func(c *rp.Config) { c.Issuer = "" }, "Issuer"},
		{"http issuer", func(c *rp.Config) { c.Issuer = "http://id.example.com" }, "https"},
		{"no client", func(c *rp.Config) { c.ClientID = "" }, "ClientID"},
		{"no redirect", func(c *rp.Config) { c.RedirectURL = "" }, "RedirectURL"},
		{"relative redirect", func(c *rp.Config) { c.RedirectURL = "/cb" }, "RedirectURL"},
		{"no keys", func(c *rp.Config) { c.SessionKeys = nil }, "SessionKeys"},
		{"short key", func(c *rp.Config) { c.SessionKeys = [][]byte{[]byte("short")} }, "SessionKeys"},
		{"bad auth method", func(c *rp.Config) { c.TokenEndpointAuthMethod = "private_key_jwt" }, "TokenEndpointAuthMethod"},
		{"none with secret", func(c *rp.Config) { c.TokenEndpointAuthMethod = "none"; c.ClientSecret = "s" }, "none"},
		{"absolute login path", func(c *rp.Config) { c.LoginPath = "https://evil.example/login" }, "LoginPath"},
		{"cookie store without Secure on https", func(c *rp.Config) {
			c.Store = session.NewCookieStore(testCodec(t), session.CookieOptions{})
		}, "Secure"},
		{"server store without Secure on https", func(c *rp.Config) {
			c.Store = session.NewServerStore(session.NewMemoryBackend(), session.CookieOptions{})
		}, "Secure"},
		{"gorilla store without Secure on https", func(c *rp.Config) {
			gs := sessions.NewCookieStore(testKey)
			gs.Options.Secure = false
			c.Store = session.NewGorillaStore(gs, "gsess")
		}, "Secure"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.edit(&c)
			r, err := rp.New(t.Context(), c)
			if err == nil {
				r.Close()
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
	for name, edit := range map[string]func(*rp.Config){
		"defaults": func(*rp.Config) {},
		"gorilla store with its default options on https": func(c *rp.Config) {
			c.Store = session.NewGorillaStore(sessions.NewCookieStore(testKey), "gsess")
		},
		"Secure server store on https": func(c *rp.Config) {
			c.Store = session.NewServerStore(session.NewMemoryBackend(), session.CookieOptions{Secure: true})
		},
		"cookie store without Secure on http": func(c *rp.Config) {
			c.RedirectURL = "http://127.0.0.1:8080/cb"
			c.Store = session.NewCookieStore(testCodec(t), session.CookieOptions{})
		},
	} {
		c := good
		edit(&c)
		r, err := rp.New(t.Context(), c)
		if err != nil {
			t.Fatalf("%s: good config refused: %v", name, err)
		}
		r.Close()
	}
}

func testCodec(t *testing.T) *session.Codec {
	t.Helper()
	codec, err := session.NewCodec(testKey)
	if err != nil {
		t.Fatal(err)
	}
	return codec
}

func TestConcurrentColdLogins(t *testing.T) {
	e := newEnv(t, envOption{})
	var wg sync.WaitGroup
	failures := make(chan string, 100)
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := e.browser()
			req, _ := http.NewRequest(http.MethodGet, e.app.URL+"/login?return_to=/private", nil)
			resp, err := b.c.Do(req)
			if err != nil {
				failures <- err.Error()
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				failures <- resp.Status
			}
		}()
	}
	wg.Wait()
	close(failures)
	for f := range failures {
		t.Error(f)
	}
	if n := e.op.Count("discovery"); n != 1 {
		t.Errorf("%d discovery fetches, want 1", n)
	}
	if n := e.op.Count("jwks"); n != 1 {
		t.Errorf("%d JWKS fetches, want 1", n)
	}
}
