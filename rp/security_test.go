package rp_test

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/rp"
	"github.com/oidcrp/oidcrp/rp/rptest"
	"github.com/oidcrp/oidcrp/rp/session"
)

// errorRecorder is an ErrorHandler that remembers the errors it rendered.
type errorRecorder struct {
	mu   sync.Mutex // guards errs
	errs []error
}

func (er *errorRecorder) handle(w http.ResponseWriter, _ *http.Request, err error) {
	er.mu.Lock()
	er.errs = append(er.errs, err)
	er.mu.Unlock()
	http.Error(w, "refused", rp.HTTPStatus(err))
}

func (er *errorRecorder) last() error {
	er.mu.Lock()
	defer er.mu.Unlock()
	if len(er.errs) == 0 {
		return nil
	}
	return er.errs[len(er.errs)-1]
}

// TestCodeInjection (RFC 9700 §4.5, RFC 7636 §1): an authorization code
// stolen from the victim and injected into the attacker's own login flow
// is refused by the token endpoint, because it was issued for the
// victim's PKCE challenge and the attacker's flow holds another verifier.
func TestCodeInjection(t *testing.T) {
	er := &errorRecorder{}
	e := newEnv(t, envOption{config: func(c *rp.Config) { c.ErrorHandler = er.handle }})
	victim := e.browser()
	stolen := victim.startLogin("/login") // the victim's code, leaked before it is redeemed
	attacker := e.browser()
	cb := attacker.startLogin("/login")
	q := cb.Query()
	q.Set("code", stolen.Query().Get("code"))
	cb.RawQuery = q.Encode()
	if status, _ := attacker.callback(cb); status != http.StatusBadRequest {
		t.Errorf("injected code: status %d, want 400", status)
	}
	if err := er.last(); !errors.Is(err, rp.ErrCodeExchange) {
		t.Errorf("injected code refused with %v, want the token endpoint to refuse it (ErrCodeExchange)", err)
	}
	if attacker.loggedIn() {
		t.Error("the attacker is logged in with the victim's code")
	}
}

// TestPKCEAndAuthorizationRequest checks the authorization request against
// RFC 7636 and RFC 9700 §2.1: the code flow only, a fresh S256 challenge
// per flow whose verifier goes to the token endpoint, fresh state and
// nonce per flow, the configured redirect_uri.
func TestPKCEAndAuthorizationRequest(t *testing.T) {
	e := newEnv(t, envOption{})
	type flow struct{ challenge, verifier, state, nonce string }
	var flows []flow
	for range 2 {
		e.browser().login()
		auth := e.op.LastAuthorizeRequest()
		form, _ := e.op.LastTokenRequest()
		if got := auth.Get("response_type"); got != "code" {
			t.Errorf("response_type = %q, want code (no implicit or hybrid flow)", got)
		}
		if auth.Has("response_mode") {
			t.Errorf("response_mode = %q, want the default (query)", auth.Get("response_mode"))
		}
		if got := auth.Get("code_challenge_method"); got != "S256" {
			t.Errorf("code_challenge_method = %q, want S256", got)
		}
		if got := auth.Get("redirect_uri"); got != e.cfg.RedirectURL {
			t.Errorf("redirect_uri = %q, want %q", got, e.cfg.RedirectURL)
		}
		v := form.Get("code_verifier")
		sum := sha256.Sum256([]byte(v))
		if len(v) < 43 || base64.RawURLEncoding.EncodeToString(sum[:]) != auth.Get("code_challenge") {
			t.Errorf("code_verifier %q does not match code_challenge %q", v, auth.Get("code_challenge"))
		}
		flows = append(flows, flow{auth.Get("code_challenge"), v, auth.Get("state"), auth.Get("nonce")})
	}
	a, b := flows[0], flows[1]
	if a.challenge == b.challenge || a.verifier == b.verifier || a.state == b.state || a.nonce == b.nonce {
		t.Errorf("two flows share a value: %+v %+v", a, b)
	}
}

// spoof sets the headers an attacker (or a misconfigured proxy) controls
// and by which a careless application derives its own URL.
func spoof(req *http.Request) {
	req.Host = "evil.example"
	req.Header.Set("X-Forwarded-Host", "evil.example")
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("X-Forwarded-Port", "443")
	req.Header.Set("Forwarded", "host=evil.example;proto=https")
	req.Header.Set("X-Original-URL", "https://evil.example/")
}

// spoofed sends a request with spoofed headers through b's cookie jar
// without following redirects. The jar files cookies under the spoofed
// Host, as a browser reaching the application by that name would. The
// body is kept readable: see bodyOf.
func (b *browser) spoofed(method, path string, form url.Values, header ...string) *http.Response {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.e.app.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	spoof(req)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := b.noRedirect().Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(strings.NewReader(string(got)))
	return resp
}

// bodyOf returns the body of a response from spoofed.
func bodyOf(resp *http.Response) string {
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// checkHostOnly checks that the cookies of resp are host-only and,
// the RedirectURL being http, not Secure.
func checkHostOnly(t *testing.T, resp *http.Response) {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Domain != "" || strings.Contains(strings.ToLower(c.Raw), "domain=") {
			t.Errorf("cookie %s has a Domain: %s", c.Name, c.Raw)
		}
		if c.Secure {
			t.Errorf("cookie %s became Secure from a forwarded header: %s", c.Name, c.Raw)
		}
	}
}

// TestForwardedHeadersIgnored: redirect_uri, cookie attributes, the
// post-login redirect, the login redirect of RequireAuth, the logout
// origin check and post_logout_redirect_uri all come from the
// configuration, never from Host, X-Forwarded-Host, X-Forwarded-Proto or
// Forwarded.
func TestForwardedHeadersIgnored(t *testing.T) {
	e := newEnv(t, envOption{})
	b := e.browser()

	resp := b.spoofed(http.MethodGet, "/login?return_to=/private", nil)
	loc, err := resp.Location()
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("login: %d %v", resp.StatusCode, err)
	}
	if got := loc.Query().Get("redirect_uri"); got != e.cfg.RedirectURL {
		t.Errorf("redirect_uri = %q, want %q", got, e.cfg.RedirectURL)
	}
	if loc.Host == "evil.example" {
		t.Errorf("sent to %s", loc)
	}
	checkHostOnly(t, resp)

	cb := e.op.Authorize(t, loc.String())
	if cb.Host != strings.TrimPrefix(e.app.URL, "http://") {
		t.Fatalf("the provider redirected to %s", cb)
	}
	resp = b.spoofed(http.MethodGet, cb.RequestURI(), nil)
	if got := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || got != "/private" {
		t.Errorf("after login: %d to %q, want 303 to /private", resp.StatusCode, got)
	}
	checkHostOnly(t, resp)
	if body := bodyOf(b.spoofed(http.MethodGet, "/public", nil)); body != "user alice" {
		t.Fatalf("not logged in: %q", body)
	}

	anon := e.browser()
	resp = anon.spoofed(http.MethodGet, "/private", nil)
	if got := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || got != "/login?return_to=%2Fprivate" {
		t.Errorf("RequireAuth: %d to %q", resp.StatusCode, got)
	}

	csrf := bodyOf(b.spoofed(http.MethodGet, "/csrf", nil))
	resp = b.spoofed(http.MethodPost, "/logout", url.Values{"csrf_token": {csrf}}, "Origin", "https://evil.example")
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("logout from https://evil.example with matching forwarded headers: %d, want 403", resp.StatusCode)
	}
	resp = b.spoofed(http.MethodPost, "/logout", url.Values{"csrf_token": {csrf}}, "Origin", e.app.URL)
	loc, err = resp.Location()
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d %v", resp.StatusCode, err)
	}
	if got := loc.Query().Get("post_logout_redirect_uri"); got != e.app.URL+"/logout/done" {
		t.Errorf("post_logout_redirect_uri = %q", got)
	}
	checkHostOnly(t, resp)
}

// TestSessionFixation: a session cookie planted in the victim's browser
// (here: the attacker's own valid session, on a server-side store where
// the cookie is just the session ID) is replaced at login by a fresh ID,
// so the attacker's copy never becomes the victim's session; it is
// revoked instead.
func TestSessionFixation(t *testing.T) {
	e := newEnv(t, envOption{config: func(c *rp.Config) {
		c.Store = session.NewServerStore(session.NewMemoryBackend(), session.CookieOptions{})
	}})
	attacker := e.browser()
	e.op.SetSubject("mallory")
	if _, body, _ := attacker.get("/login?return_to=/private"); body != "hello mallory" {
		t.Fatalf("attacker login: %q", body)
	}
	planted := attacker.cookie("oidcrp_session")

	victim := e.browser()
	u, _ := url.Parse(e.app.URL)
	victim.c.Jar.SetCookies(u, []*http.Cookie{{Name: planted.Name, Value: planted.Value, Path: "/"}})
	e.op.SetSubject("alice")
	victim.login()
	if got := victim.cookie("oidcrp_session"); got == nil || got.Value == planted.Value {
		t.Fatal("the planted session ID survived the login")
	}
	if _, body, _ := attacker.get("/public"); body == "user alice" {
		t.Fatal("the attacker's planted cookie now holds the victim's session")
	} else if body != "anonymous" {
		t.Errorf("the planted session was not ended at login: %q", body)
	}
}

// cookieRP builds an RP whose RedirectURL is base+"/callback", driven by
// handlers directly (no network listener for the app).
func cookieRP(t *testing.T, base string) (*rptest.Provider, *rp.RP) {
	t.Helper()
	op := rptest.NewProvider(t)
	op.RegisterClient(rptest.Client{ID: testClientID, Secret: testClientSecret,
		RedirectURIs: []string{base + "/callback"}, PostLogoutRedirectURIs: []string{base + "/logout/done"}})
	r, err := rp.New(t.Context(), rp.Config{
		Issuer: op.Issuer(), ClientID: testClientID, ClientSecret: testClientSecret,
		RedirectURL: base + "/callback", SessionKeys: [][]byte{testKey},
		Scopes: []string{"openid", "offline_access"},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return op, r
}

// TestCookieAttributes: every cookie the RP sets — login state, session
// (chunks and ID-token cookie), logout state, and their deletions — is
// HttpOnly, SameSite=Lax, host-only, and Secure exactly when the
// RedirectURL is https.
func TestCookieAttributes(t *testing.T) {
	for _, tc := range []struct {
		base   string
		secure bool
	}{
		{"https://app.example", true},
		{"http://app.example", false},
	} {
		t.Run(tc.base, func(t *testing.T) {
			op, r := cookieRP(t, tc.base)
			jar := map[string]*http.Cookie{}
			seen := 0
			run := func(h http.Handler, req *http.Request) *http.Response {
				t.Helper()
				for _, c := range jar {
					req.AddCookie(c)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				resp := rec.Result()
				for _, c := range resp.Cookies() {
					seen++
					if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Domain != "" || c.Secure != tc.secure {
						t.Errorf("cookie %s: HttpOnly=%v SameSite=%v Domain=%q Secure=%v; want HttpOnly, Lax, host-only, Secure=%v (%s)",
							c.Name, c.HttpOnly, c.SameSite, c.Domain, c.Secure, tc.secure, c.Raw)
					}
					if c.MaxAge < 0 {
						delete(jar, c.Name)
					} else {
						jar[c.Name] = c
					}
				}
				return resp
			}
			resp := run(r.LoginHandler(), httptest.NewRequest(http.MethodGet, tc.base+"/login", nil))
			cb := op.Authorize(t, resp.Header.Get("Location"))
			if resp = run(r.CallbackHandler(), httptest.NewRequest(http.MethodGet, cb.String(), nil)); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("callback: %d", resp.StatusCode)
			}
			var csrf string
			run(r.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				s, _ := rp.SessionFrom(req.Context())
				csrf = s.CSRFToken()
			})), httptest.NewRequest(http.MethodGet, tc.base+"/private", nil))
			if csrf == "" {
				t.Fatal("no session after the callback")
			}
			req := httptest.NewRequest(http.MethodPost, tc.base+"/logout", strings.NewReader(url.Values{"csrf_token": {csrf}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if resp = run(r.LogoutHandler(), req); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("logout: %d", resp.StatusCode)
			}
			if seen < 5 {
				t.Errorf("only %d cookies seen over login, callback and logout", seen)
			}
		})
	}
}

// TestRefreshCannotSwitchIdentity (OpenID Connect Core §12.2): a refresh
// whose new ID token names another subject, issuer, audience or
// authorized party ends the session instead of switching it to that
// identity.
func TestRefreshCannotSwitchIdentity(t *testing.T) {
	for _, tc := range []struct {
		name string
		mis  rptest.Misbehaviour
	}{
		{"sub", rptest.Misbehaviour{ChangeSubjectOnRefresh: true}},
		{"iss", rptest.Misbehaviour{WrongIssuer: true}},
		{"aud", rptest.Misbehaviour{WrongAudience: true}},
		{"extra aud without azp", rptest.Misbehaviour{ExtraAudienceNoAzp: true}},
		{"azp", rptest.Misbehaviour{WrongAzp: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := refreshEnv(t)
			b := e.browser()
			b.login()
			saved := b.cookie("oidcrp_session")
			e.op.SetMisbehaviour(tc.mis)
			e.clock.Advance(11 * time.Minute)
			if _, body, _ := b.get("/public"); body != "anonymous" {
				t.Fatalf("after a refresh with another %s: %q, want the session ended", tc.name, body)
			}
			if e.op.Count("refresh") != 1 {
				t.Errorf("%d refreshes", e.op.Count("refresh"))
			}
			e.op.SetMisbehaviour(rptest.Misbehaviour{})
			thief := e.browser()
			u, _ := url.Parse(e.app.URL)
			thief.c.Jar.SetCookies(u, []*http.Cookie{{Name: saved.Name, Value: saved.Value, Path: "/"}})
			if _, body, _ := thief.get("/public"); body != "anonymous" {
				t.Errorf("the ended session's cookie still works: %q", body)
			}
		})
	}
}

// TestFrontchannelLogoutCrossSiteNavigation: the front-channel logout URI
// is a GET that, without iss and sid, ends the session whose cookie came
// with the request. A cross-site page that navigates the browser there
// (SameSite=Lax cookies are sent on top-level navigations) must not be
// able to log the user out: that is logout CSRF.
func TestFrontchannelLogoutCrossSiteNavigation(t *testing.T) {
	e := logoutEnv(t, envOption{})
	b := e.browser()
	b.login()
	status, _, _ := b.get("/frontchannel-logout", "Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document")
	if !b.loggedIn() {
		t.Errorf("a cross-site navigation to the front-channel logout URI (answered %d) ended the session", status)
	}
}

// TestLoginFlowLifetime: a callback that arrives after LoginFlowTTL is
// refused before the code is redeemed, even while the provider would still
// accept the code.
func TestLoginFlowLifetime(t *testing.T) {
	er := &errorRecorder{}
	e := newEnv(t, envOption{config: func(c *rp.Config) { c.LoginFlowTTL = 2 * time.Minute; c.ErrorHandler = er.handle }})
	b := e.browser()
	cb := b.startLogin("/login")
	e.clock.Advance(3 * time.Minute) // rptest.CodeTTL is 10 minutes
	tokens := e.op.Count("token")
	if status, _ := b.callback(cb); status != http.StatusBadRequest {
		t.Errorf("expired flow: %d, want 400", status)
	}
	if !errors.Is(er.last(), rp.ErrLoginExpired) || e.op.Count("token") != tokens {
		t.Errorf("expired flow: %v after %d token requests, want ErrLoginExpired and none", er.last(), e.op.Count("token")-tokens)
	}
	if b.loggedIn() {
		t.Error("logged in by an expired flow")
	}
}

// TestStateMustMatchExactly: the login-state cookie is named after the
// first characters of the state, but the whole state must match: a
// callback whose state only starts like the flow's is refused before the
// code is redeemed.
func TestStateMustMatchExactly(t *testing.T) {
	e := newEnv(t, envOption{})
	b := e.browser()
	cb := b.startLogin("/login")
	q := cb.Query()
	state := q.Get("state")
	q.Set("state", state[:20]+strings.Repeat("A", len(state)-20))
	cb.RawQuery = q.Encode()
	tokens := e.op.Count("token")
	if status, _ := b.callback(cb); status != http.StatusBadRequest {
		t.Errorf("state with the flow's prefix: %d, want 400", status)
	}
	if e.op.Count("token") != tokens || b.loggedIn() {
		t.Error("a state that only shares the flow's prefix reached the token endpoint")
	}
}
