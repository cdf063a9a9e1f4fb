package rp_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/rp"
	"github.com/oidcrp/oidcrp/rp/rptest"
	"github.com/oidcrp/oidcrp/rp/session"
)

// logoutEnv is an env whose client registered back- and front-channel
// logout URIs.
func logoutEnv(t *testing.T, opt envOption) *env {
	opt.client = func(c *rptest.Client) {
		base := strings.TrimSuffix(c.RedirectURIs[0], "/callback")
		c.BackchannelLogoutURI = base + "/backchannel-logout"
		c.FrontchannelLogoutURI = base + "/frontchannel-logout"
	}
	return newEnv(t, opt)
}

// postLogout posts the logout form of b's session and returns the answer.
func (b *browser) postLogout() *http.Response {
	b.t.Helper()
	_, csrf, _ := b.get("/csrf")
	req, _ := http.NewRequest(http.MethodPost, b.e.app.URL+"/logout", strings.NewReader(url.Values{"csrf_token": {csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.noRedirect().Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestRPInitiatedLogout(t *testing.T) {
	e := newEnv(t, envOption{})
	b := e.browser()
	b.login()
	resp := b.postLogout()
	loc, _ := resp.Location()
	if resp.StatusCode != http.StatusSeeOther || loc == nil {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	q := loc.Query()
	if !strings.HasPrefix(loc.String(), e.op.Issuer()+"/oauth2/sessions/logout?") {
		t.Errorf("not sent to the end-session endpoint: %s", loc)
	}
	if q.Get("id_token_hint") == "" || q.Get("client_id") != testClientID || q.Get("post_logout_redirect_uri") != e.app.URL+"/logout/done" || len(q.Get("state")) < 43 {
		t.Errorf("end-session parameters: %v", q)
	}
	if e.op.Count("revoke") != 1 {
		t.Errorf("refresh token revoked %d times, want 1", e.op.Count("revoke"))
	}
	if b.loggedIn() {
		t.Error("session survived the logout")
	}
	// The provider sends the browser back with the state.
	status, body, final := b.get(loc.String())
	if status != 200 || final.Path != "/logout/done" || !strings.Contains(body, "You are logged out") {
		t.Errorf("post-logout page: %d %s %q", status, final, body)
	}
	// The state is single-use: replaying the return shows a neutral page.
	status, body, _ = b.get(final.String())
	if status != 200 || strings.Contains(body, "You are logged out") {
		t.Errorf("replayed post-logout state: %d %q", status, body)
	}
}

func TestLogoutDoneForgedState(t *testing.T) {
	e := newEnv(t, envOption{})
	for _, q := range []string{"", "?state=forged-state-value-0123456789"} {
		status, body, _ := e.browser().get("/logout/done" + q)
		if status != 200 || strings.Contains(body, "You are logged out") || !strings.Contains(body, "nothing to do") {
			t.Errorf("/logout/done%s: %d %q", q, status, body)
		}
	}
}

func TestLocalLogoutWithoutEndSession(t *testing.T) {
	e := newEnv(t, envOption{provider: []rptest.Option{rptest.WithMetadata(func(m map[string]any) { delete(m, "end_session_endpoint") })}})
	b := e.browser()
	b.login()
	resp := b.postLogout()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/logout/done?state=") {
		t.Fatalf("local logout: %d %q", resp.StatusCode, loc)
	}
	if _, body, _ := b.get(loc); !strings.Contains(body, "You are logged out") {
		t.Errorf("post-logout page: %q", body)
	}
	if b.loggedIn() {
		t.Error("still logged in")
	}
}

func TestBackchannelLogout(t *testing.T) {
	stores := []struct {
		name  string
		store func() session.Store
	}{
		{"cookie", func() session.Store { return nil }},
		{"server", func() session.Store {
			return session.NewServerStore(session.NewMemoryBackend(), session.CookieOptions{})
		}},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			e := logoutEnv(t, envOption{config: func(c *rp.Config) { c.Store = st.store() }})
			one, two := e.browser(), e.browser()
			one.login()
			two.login() // the same provider session (SSO): the same sid
			if err := e.op.LogoutSession(context.Background()); err != nil {
				t.Fatalf("back-channel delivery: %v", err)
			}
			if one.loggedIn() || two.loggedIn() {
				t.Error("a session of the logged-out provider session still works")
			}
			// A later login starts a new provider session and works.
			three := e.browser()
			three.login()
			if !three.loggedIn() {
				t.Error("new login after back-channel logout refused")
			}
		})
	}
}

// postLogoutToken posts a logout token to the back-channel endpoint.
func (e *env) postLogoutToken(token string) (int, http.Header) {
	e.t.Helper()
	resp, err := http.PostForm(e.app.URL+"/backchannel-logout", url.Values{"logout_token": {token}})
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

func TestBackchannelLogoutTokens(t *testing.T) {
	e := logoutEnv(t, envOption{})
	b := e.browser()
	b.login()
	sid := e.op.SessionID()
	sign := func(c map[string]any, opts ...rptest.SignOption) string {
		tok, err := e.op.Sign(c, append([]rptest.SignOption{rptest.WithHeader("typ", "logout+jwt")}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tests := []struct {
		name string
		edit func(map[string]any)
		opts []rptest.SignOption
	}{
		{"wrong issuer", func(c map[string]any) { c["iss"] = rptest.WrongValue }, nil},
		{"another client", func(c map[string]any) { c["aud"] = []string{"other"} }, nil},
		{"no events", func(c map[string]any) { delete(c, "events") }, nil},
		{"nonce (an ID token)", func(c map[string]any) { c["nonce"] = "n" }, nil},
		{"expired", func(c map[string]any) { c["exp"] = e.clock.Now().Add(-5 * time.Minute).Unix() }, nil},
		{"no jti", func(c map[string]any) { delete(c, "jti") }, nil},
		{"no sid and no sub", func(c map[string]any) { delete(c, "sid"); delete(c, "sub") }, nil},
		{"alg none", func(map[string]any) {}, []rptest.SignOption{rptest.WithAlg("none")}},
		{"unknown kid", func(map[string]any) {}, []rptest.SignOption{rptest.WithKID("unknown-kid")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := e.op.LogoutTokenClaims(testClientID, sid)
			tc.edit(c)
			if status, _ := e.postLogoutToken(sign(c, tc.opts...)); status != http.StatusBadRequest {
				t.Errorf("status %d, want 400", status)
			}
			if !b.loggedIn() {
				t.Fatal("a rejected logout token ended the session")
			}
		})
	}
	t.Run("wrong method", func(t *testing.T) {
		resp, err := http.Get(e.app.URL + "/backchannel-logout")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET: %d", resp.StatusCode)
		}
	})
	t.Run("JSON body", func(t *testing.T) {
		resp, err := http.Post(e.app.URL+"/backchannel-logout", "application/json", strings.NewReader(`{"logout_token":"x"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("JSON: %d", resp.StatusCode)
		}
	})
	t.Run("oversize body", func(t *testing.T) {
		resp, err := http.Post(e.app.URL+"/backchannel-logout", "application/x-www-form-urlencoded", strings.NewReader("logout_token="+strings.Repeat("a", 1<<20)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("1 MiB body: %d", resp.StatusCode)
		}
	})
	t.Run("random kid flood", func(t *testing.T) {
		before := e.op.Count("jwks")
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 50; i++ {
					kid := make([]byte, 8)
					rand.Read(kid)
					e.postLogoutToken(sign(e.op.LogoutTokenClaims(testClientID, sid), rptest.WithKID(hex.EncodeToString(kid))))
				}
			}()
		}
		wg.Wait()
		if n := e.op.Count("jwks") - before; n > 2 {
			t.Errorf("400 random-kid tokens caused %d JWKS fetches, want at most 2", n)
		}
	})
	t.Run("valid, then replayed", func(t *testing.T) {
		tok := sign(e.op.LogoutTokenClaims(testClientID, sid))
		status, h := e.postLogoutToken(tok)
		if status != 200 || h.Get("Cache-Control") != "no-store" {
			t.Fatalf("valid token: %d %v", status, h)
		}
		if b.loggedIn() {
			t.Error("session survived")
		}
		if status, _ := e.postLogoutToken(tok); status != http.StatusBadRequest {
			t.Errorf("replayed token: %d", status)
		}
	})
}

func TestBackchannelLogoutBySubject(t *testing.T) {
	e := logoutEnv(t, envOption{})
	one, two := e.browser(), e.browser()
	one.login()
	two.login()
	c := e.op.LogoutTokenClaims(testClientID, "") // sub only: every session of alice
	tok, err := e.op.Sign(c, rptest.WithHeader("typ", "logout+jwt"))
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := e.postLogoutToken(tok); status != 200 {
		t.Fatalf("status %d", status)
	}
	if one.loggedIn() || two.loggedIn() {
		t.Error("a session of the logged-out subject still works")
	}
	e.clock.Advance(time.Second)
	three := e.browser()
	three.login()
	if !three.loggedIn() {
		t.Error("a login after the logout is refused")
	}
}

func TestBackchannelHydraShapedTokens(t *testing.T) {
	claims := func(e *env) map[string]any {
		c := e.op.LogoutTokenClaims(testClientID, e.op.SessionID())
		delete(c, "exp")
		delete(c, "sub")
		return c
	}
	t.Run("accepted by default", func(t *testing.T) {
		e := logoutEnv(t, envOption{})
		b := e.browser()
		b.login()
		tok, _ := e.op.Sign(claims(e), rptest.WithHeader("typ", "JWT"))
		if status, _ := e.postLogoutToken(tok); status != 200 {
			t.Fatalf("status %d", status)
		}
		if b.loggedIn() {
			t.Error("session survived")
		}
	})
	t.Run("too old without exp", func(t *testing.T) {
		e := logoutEnv(t, envOption{})
		b := e.browser()
		b.login()
		c := claims(e)
		c["iat"] = e.clock.Now().Add(-10 * time.Minute).Unix()
		tok, _ := e.op.Sign(c, rptest.WithHeader("typ", "JWT"))
		if status, _ := e.postLogoutToken(tok); status != http.StatusBadRequest {
			t.Errorf("status %d", status)
		}
	})
	t.Run("refused when strict", func(t *testing.T) {
		e := logoutEnv(t, envOption{config: func(c *rp.Config) { c.StrictLogoutTokens = true }})
		b := e.browser()
		b.login()
		tok, _ := e.op.Sign(claims(e), rptest.WithHeader("typ", "JWT"))
		if status, _ := e.postLogoutToken(tok); status != http.StatusBadRequest {
			t.Errorf("status %d", status)
		}
		if !b.loggedIn() {
			t.Error("strict mode accepted a token without exp")
		}
	})
}

func TestFrontchannelLogout(t *testing.T) {
	e := logoutEnv(t, envOption{})
	b := e.browser()
	b.login()
	sid := e.op.SessionID()
	anon := e.browser() // the provider's iframe: no cookie of ours
	tests := []struct {
		name   string
		query  url.Values
		status int
	}{
		{"wrong issuer", url.Values{"iss": {rptest.WrongValue}, "sid": {sid}}, http.StatusBadRequest},
		{"sid without iss", url.Values{"sid": {sid}}, http.StatusBadRequest},
		{"non-printable sid", url.Values{"iss": {e.op.Issuer()}, "sid": {"a\x01b"}}, http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if status, _, _ := anon.get("/frontchannel-logout?" + tc.query.Encode()); status != tc.status {
				t.Errorf("status %d, want %d", status, tc.status)
			}
			if !b.loggedIn() {
				t.Fatal("a rejected front-channel request ended the session")
			}
		})
	}
	req, _ := http.NewRequest(http.MethodGet, e.app.URL+"/frontchannel-logout?"+url.Values{"iss": {e.op.Issuer()}, "sid": {sid}}.Encode(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Cache-Control"), "no-store") ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors "+e.op.Issuer()) {
		t.Errorf("front-channel answer: %d %v", resp.StatusCode, resp.Header)
	}
	if b.loggedIn() {
		t.Error("session survived front-channel logout")
	}
}

// TestLogoutDuringRefresh: a back-channel logout that arrives while a
// refresh of the same session is in flight must not be undone when the
// refresh writes the session back (server-side store, whose loads rely on
// deleted records rather than on the revocation list).
func TestLogoutDuringRefresh(t *testing.T) {
	e := logoutEnv(t, envOption{
		config: func(c *rp.Config) {
			c.Store = session.NewServerStore(session.NewMemoryBackend(), session.CookieOptions{})
		},
		provider: []rptest.Option{rptest.WithAccessTokenTTL(10 * time.Minute)},
	})
	b := e.browser()
	b.login()
	sid := e.op.SessionID()
	e.op.SetMisbehaviour(rptest.Misbehaviour{TokenDelay: 400 * time.Millisecond})
	e.clock.Advance(11 * time.Minute)
	done := make(chan int, 1)
	go func() {
		status, _, _ := b.get("/private", "Accept", "application/json")
		done <- status
	}()
	time.Sleep(100 * time.Millisecond) // the refresh is waiting on the token endpoint
	tok, err := e.op.Sign(e.op.LogoutTokenClaims(testClientID, sid), rptest.WithHeader("typ", "logout+jwt"))
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := e.postLogoutToken(tok); status != 200 {
		t.Fatalf("back-channel logout: %d", status)
	}
	<-done
	if b.loggedIn() {
		t.Error("the refresh brought a logged-out session back")
	}
}

// TestFrontchannelLogoutByCookieInFrame: a provider that sends neither iss
// nor sid loads the URI in an iframe; the browser's cookie then names the
// session to end.
func TestFrontchannelLogoutByCookieInFrame(t *testing.T) {
	e := logoutEnv(t, envOption{})
	b := e.browser()
	b.login()
	if status, _, _ := b.get("/frontchannel-logout", "Sec-Fetch-Dest", "iframe", "Sec-Fetch-Site", "cross-site"); status != 200 {
		t.Fatalf("status %d", status)
	}
	if b.loggedIn() {
		t.Error("session survived a front-channel logout in a frame")
	}
}
