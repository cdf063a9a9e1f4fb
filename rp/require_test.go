package rp_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/rp"
	"github.com/oidcrp/oidcrp/rp/rptest"
)

func TestSessionLifetimes(t *testing.T) {
	tests := []struct {
		name    string
		advance []time.Duration
		alive   bool
	}{
		{"fresh", nil, true},
		{"used within idle timeout", []time.Duration{50 * time.Minute, 50 * time.Minute, 50 * time.Minute}, true},
		{"idle too long", []time.Duration{61 * time.Minute}, false},
		{"past absolute lifetime though active", []time.Duration{50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOption{
				config:   func(c *rp.Config) { c.SessionIdleTimeout = time.Hour; c.SessionMaxAge = 3 * time.Hour },
				provider: []rptest.Option{rptest.WithAccessTokenTTL(24 * time.Hour), rptest.WithRefreshTokenTTL(48 * time.Hour)},
			})
			b := e.browser()
			b.login()
			for _, d := range tc.advance {
				e.clock.Advance(d)
				b.get("/public")
			}
			if got := b.loggedIn(); got != tc.alive {
				t.Errorf("logged in = %v, want %v", got, tc.alive)
			}
		})
	}
}

func TestTamperedSessionCookie(t *testing.T) {
	e := newEnv(t, envOption{})
	b := e.browser()
	b.login()
	c := b.cookie("oidcrp_session")
	u, _ := url.Parse(e.app.URL)
	for i := 0; i < len(c.Value); i += len(c.Value) / 7 {
		v := []byte(c.Value)
		if v[i] == 'A' {
			v[i] = 'B'
		} else {
			v[i] = 'A'
		}
		thief := e.browser()
		thief.c.Jar.SetCookies(u, []*http.Cookie{{Name: c.Name, Value: string(v), Path: "/"}})
		if status, body, _ := thief.get("/public"); status != 200 || body != "anonymous" {
			t.Errorf("byte %d flipped: %d %q", i, status, body)
		}
	}
}

func TestLogout(t *testing.T) {
	e := newEnv(t, envOption{})
	b := e.browser()
	b.login()
	_, csrf, _ := b.get("/csrf")
	saved := b.cookie("oidcrp_session")

	post := func(b *browser, form url.Values, origin string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, e.app.URL+"/logout", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := b.noRedirect().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}

	t.Run("GET does not log out", func(t *testing.T) {
		if status, _, _ := b.get("/logout"); status != http.StatusMethodNotAllowed {
			t.Errorf("GET /logout: %d", status)
		}
		if !b.loggedIn() {
			t.Error("logged out by GET")
		}
	})
	t.Run("no CSRF token", func(t *testing.T) {
		if resp := post(b, url.Values{}, ""); resp.StatusCode != http.StatusForbidden {
			t.Errorf("status %d", resp.StatusCode)
		}
		if !b.loggedIn() {
			t.Error("logged out without a CSRF token")
		}
	})
	t.Run("wrong CSRF token", func(t *testing.T) {
		if resp := post(b, url.Values{"csrf_token": {csrf[:len(csrf)-2] + "xx"}}, ""); resp.StatusCode != http.StatusForbidden {
			t.Errorf("status %d", resp.StatusCode)
		}
	})
	t.Run("cross-site origin", func(t *testing.T) {
		if resp := post(b, url.Values{"csrf_token": {csrf}}, "https://evil.example"); resp.StatusCode != http.StatusForbidden {
			t.Errorf("status %d", resp.StatusCode)
		}
		if !b.loggedIn() {
			t.Error("logged out from another origin")
		}
	})
	t.Run("logout", func(t *testing.T) {
		resp := post(b, url.Values{"csrf_token": {csrf}}, e.app.URL)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), e.op.Issuer()+"/oauth2/sessions/logout?") {
			t.Errorf("logout: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		if b.loggedIn() {
			t.Error("still logged in")
		}
	})
	t.Run("saved cookie refused afterwards", func(t *testing.T) {
		thief := e.browser()
		u, _ := url.Parse(e.app.URL)
		thief.c.Jar.SetCookies(u, []*http.Cookie{{Name: saved.Name, Value: saved.Value, Path: "/"}})
		if thief.loggedIn() {
			t.Error("a copy of the logged-out session's cookie still works")
		}
	})
}

// refreshEnv is an env whose access tokens live 10 minutes.
func refreshEnv(t *testing.T) *env {
	return newEnv(t, envOption{provider: []rptest.Option{rptest.WithAccessTokenTTL(10 * time.Minute)}})
}

func TestRefresh(t *testing.T) {
	e := refreshEnv(t)
	b := e.browser()
	b.login()
	before := b.cookie("oidcrp_session")
	e.clock.Advance(9*time.Minute + 30*time.Second) // inside the refresh margin
	if !b.loggedIn() {
		t.Fatal("not logged in after refresh")
	}
	if n := e.op.Count("refresh"); n != 1 {
		t.Fatalf("%d refreshes, want 1", n)
	}
	after := b.cookie("oidcrp_session")
	if after.Value == before.Value {
		t.Fatal("session cookie not rewritten with the new tokens")
	}
	// A request still carrying the pre-refresh cookie reuses the new tokens
	// instead of redeeming the rotated refresh token again (which makes
	// the provider revoke the whole chain).
	old := e.browser()
	u, _ := url.Parse(e.app.URL)
	old.c.Jar.SetCookies(u, []*http.Cookie{{Name: before.Name, Value: before.Value, Path: "/"}})
	if !old.loggedIn() {
		t.Error("pre-refresh cookie refused")
	}
	if n := e.op.Count("refresh"); n != 1 {
		t.Errorf("pre-refresh cookie caused another refresh: %d", n)
	}
	if !b.loggedIn() {
		t.Error("the refreshed session stopped working")
	}
}

func TestConcurrentRefresh(t *testing.T) {
	e := refreshEnv(t)
	b := e.browser()
	b.login()
	e.clock.Advance(11 * time.Minute) // expired
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, e.app.URL+"/private", nil)
			req.Header.Set("Accept", "application/json")
			resp, err := b.noRedirect().Do(req)
			if err != nil {
				errs <- err
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				errs <- fmt.Errorf("status %d", resp.StatusCode)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := e.op.Count("refresh"); n != 1 {
		t.Errorf("%d refresh calls for 100 concurrent requests, want 1", n)
	}
}

func TestRefreshFailures(t *testing.T) {
	t.Run("invalid_grant ends the session", func(t *testing.T) {
		e := refreshEnv(t)
		b := e.browser()
		b.login()
		e.op.SetMisbehaviour(rptest.Misbehaviour{RefreshError: "invalid_grant"})
		e.clock.Advance(11 * time.Minute)
		resp, err := b.noRedirect().Get(e.app.URL + "/private")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
			t.Errorf("after invalid_grant: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		e.op.SetMisbehaviour(rptest.Misbehaviour{})
		if b.loggedIn() {
			t.Error("session survived invalid_grant")
		}
	})
	t.Run("provider down keeps the session", func(t *testing.T) {
		e := refreshEnv(t)
		b := e.browser()
		b.login()
		e.op.SetMisbehaviour(rptest.Misbehaviour{TokenStatus: http.StatusInternalServerError})
		e.clock.Advance(11 * time.Minute)
		for i := 0; i < 5; i++ {
			status, _, _ := b.get("/private", "Accept", "application/json")
			if status != http.StatusServiceUnavailable {
				t.Errorf("request %d with provider down: %d, want 503", i, status)
			}
		}
		if n := e.op.Count("refresh"); n != 1 {
			t.Errorf("%d refresh attempts while the provider is down, want 1 (no retry storm)", n)
		}
		e.op.SetMisbehaviour(rptest.Misbehaviour{})
		e.clock.Advance(10 * time.Second)
		if !b.loggedIn() {
			t.Error("session lost after the provider came back")
		}
	})
	t.Run("provider down before expiry serves the current token", func(t *testing.T) {
		e := refreshEnv(t)
		b := e.browser()
		b.login()
		e.op.SetMisbehaviour(rptest.Misbehaviour{TokenStatus: http.StatusBadGateway})
		e.clock.Advance(9*time.Minute + 30*time.Second)
		if !b.loggedIn() {
			t.Error("request failed although the access token is still valid")
		}
	})
	t.Run("refresh that changes the subject", func(t *testing.T) {
		e := refreshEnv(t)
		b := e.browser()
		b.login()
		e.op.SetMisbehaviour(rptest.Misbehaviour{ChangeSubjectOnRefresh: true})
		e.clock.Advance(11 * time.Minute)
		if status, body, _ := b.get("/public"); body != "anonymous" {
			t.Errorf("identity switched by refresh: %d %q", status, body)
		}
	})
}

func TestSessionTokenSource(t *testing.T) {
	e := refreshEnv(t)
	var got []string
	var mu sync.Mutex
	h := e.rp.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := rp.SessionFrom(r.Context())
		tok, err := s.TokenSource(r.Context()).Token()
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		mu.Lock()
		got = append(got, tok.AccessToken)
		mu.Unlock()
	}))
	b := e.browser()
	b.login()
	for i := 0; i < 2; i++ {
		if i > 0 {
			e.clock.Advance(11 * time.Minute)
		}
		req, _ := http.NewRequest(http.MethodGet, e.app.URL+"/private", nil)
		for _, c := range b.cookies() {
			req.AddCookie(c)
		}
		rec := newRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("status %d", rec.Code)
		}
	}
	if len(got) != 2 || got[0] == got[1] {
		t.Fatalf("tokens %v", got)
	}
	if !e.op.TokenActive(got[1]) {
		t.Error("token source handed out an inactive token")
	}
}
