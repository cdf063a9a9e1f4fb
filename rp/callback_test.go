package rp_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/rp/rptest"
)

// callbackStatus follows a callback URL and reports the status, body and
// whether a session resulted.
func (b *browser) callback(u *url.URL) (int, string) {
	b.t.Helper()
	resp, err := b.noRedirect().Get(u.String())
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := new(strings.Builder)
	_, _ = copyN(buf, resp)
	return resp.StatusCode, buf.String()
}

func (b *browser) loggedIn() bool {
	status, body, _ := b.get("/public")
	return status == 200 && body == "user alice"
}

func TestCallbackReplayAndForgery(t *testing.T) {
	e := newEnv(t, envOption{})

	t.Run("replayed callback", func(t *testing.T) {
		b := e.browser()
		cb := b.startLogin("/login")
		if status, _ := b.callback(cb); status != http.StatusSeeOther {
			t.Fatalf("first callback: %d", status)
		}
		tokens := e.op.Count("token")
		// The back button, a bookmark, or an attacker holding the old flow cookie.
		status, body := b.callback(cb)
		if status != http.StatusBadRequest || !strings.Contains(body, "Log in again") {
			t.Errorf("replay: %d %q", status, body)
		}
		if e.op.Count("token") != tokens {
			t.Error("replayed callback reached the token endpoint")
		}
	})

	t.Run("replay with a saved flow cookie", func(t *testing.T) {
		b := e.browser()
		cb := b.startLogin("/login")
		saved := b.cookies()
		if status, _ := b.callback(cb); status != http.StatusSeeOther {
			t.Fatalf("first callback: %d", status)
		}
		thief := e.browser()
		u, _ := url.Parse(e.app.URL)
		thief.c.Jar.SetCookies(u, saved)
		tokens := e.op.Count("token")
		if status, _ := thief.callback(cb); status != http.StatusBadRequest {
			t.Errorf("replay with copied cookies: %d", status)
		}
		if e.op.Count("token") != tokens {
			t.Error("replay reached the token endpoint")
		}
	})

	t.Run("login CSRF: callback in another browser", func(t *testing.T) {
		attacker := e.browser()
		cb := attacker.startLogin("/login")
		victim := e.browser()
		tokens := e.op.Count("token")
		if status, _ := victim.callback(cb); status != http.StatusBadRequest {
			t.Errorf("foreign callback: %d", status)
		}
		if victim.loggedIn() || e.op.Count("token") != tokens {
			t.Error("victim got logged in to the attacker's account")
		}
	})

	t.Run("state from another flow", func(t *testing.T) {
		b := e.browser()
		one := b.startLogin("/login")
		two := b.startLogin("/login")
		q := one.Query()
		q.Set("state", two.Query().Get("state")[:20]+one.Query().Get("state")[20:])
		one.RawQuery = q.Encode()
		if status, _ := b.callback(one); status != http.StatusBadRequest {
			t.Errorf("spliced state: %d", status)
		}
	})

	t.Run("missing state", func(t *testing.T) {
		b := e.browser()
		cb := b.startLogin("/login")
		q := cb.Query()
		q.Del("state")
		cb.RawQuery = q.Encode()
		if status, _ := b.callback(cb); status != http.StatusBadRequest {
			t.Errorf("no state: %d", status)
		}
	})

	t.Run("tampered flow cookie", func(t *testing.T) {
		b := e.browser()
		cb := b.startLogin("/login")
		u, _ := url.Parse(e.app.URL)
		for _, c := range b.cookies() {
			if strings.HasPrefix(c.Name, "oidcrp_flow_") {
				v := []byte(c.Value)
				v[len(v)/2] ^= 1
				if v[len(v)/2] == c.Value[len(v)/2] {
					v[len(v)/2] = 'A'
				}
				b.c.Jar.SetCookies(u, []*http.Cookie{{Name: c.Name, Value: string(v), Path: "/"}})
			}
		}
		if status, _ := b.callback(cb); status != http.StatusBadRequest {
			t.Errorf("tampered cookie: %d", status)
		}
	})

	t.Run("expired flow", func(t *testing.T) {
		b := e.browser()
		cb := b.startLogin("/login")
		e.clock.Advance(11 * time.Minute)
		defer e.clock.Advance(-11 * time.Minute)
		if status, _ := b.callback(cb); status != http.StatusBadRequest {
			t.Errorf("expired flow: %d", status)
		}
	})

	t.Run("no code", func(t *testing.T) {
		b := e.browser()
		cb := b.startLogin("/login")
		q := cb.Query()
		q.Del("code")
		cb.RawQuery = q.Encode()
		if status, _ := b.callback(cb); status != http.StatusBadRequest {
			t.Errorf("no code: %d", status)
		}
	})

	t.Run("injected code", func(t *testing.T) {
		b := e.browser()
		cb := b.startLogin("/login")
		q := cb.Query()
		q.Set("code", "attacker-code")
		cb.RawQuery = q.Encode()
		if status, _ := b.callback(cb); status != http.StatusBadRequest {
			t.Errorf("injected code: %d", status)
		}
		if b.loggedIn() {
			t.Error("logged in with an injected code")
		}
	})
}

func TestCallbackProviderError(t *testing.T) {
	const spoof = "Your account is locked, call 555 0100"
	tests := []struct {
		name string
		// edit turns the state of this browser's login (and the iss the
		// provider sent) into the callback query.
		edit     func(q url.Values, other string)
		provider []rptest.Option
		status   int
		shown    bool // the provider's text is on the page
	}{
		{"this browser's login", func(url.Values, string) {}, nil, http.StatusForbidden, true},
		{"this browser's login, iss right", func(url.Values, string) {}, []rptest.Option{rptest.WithISSParameter()}, http.StatusForbidden, true},
		// Anyone can write an error link to the callback; the site must
		// not show its text as if the provider had said it.
		{"attacker: forged state", func(q url.Values, _ string) { q.Set("state", "forged-state-forged-state-forged-state-0000") }, nil, http.StatusBadRequest, false},
		{"attacker: no state", func(q url.Values, _ string) { q.Del("state") }, nil, http.StatusBadRequest, false},
		{"attacker: another browser's login", func(q url.Values, other string) { q.Set("state", other) }, nil, http.StatusBadRequest, false},
		// RFC 9207 §2.4: an error response from another authorization
		// server (mix-up) is not reported as this provider's.
		{"attacker: iss of another server", func(q url.Values, _ string) { q.Set("iss", "https://attacker.example") }, []rptest.Option{rptest.WithISSParameter()}, http.StatusBadRequest, false},
		{"attacker: iss missing though advertised", func(q url.Values, _ string) { q.Del("iss") }, []rptest.Option{rptest.WithISSParameter()}, http.StatusBadRequest, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOption{provider: tc.provider})
			other := e.browser().startLogin("/login").Query().Get("state")
			b := e.browser()
			cb := b.startLogin("/login")
			q := cb.Query()
			q.Del("code")
			q.Set("error", "access_denied")
			q.Set("error_description", `<script>alert("x")</script> `+spoof)
			tc.edit(q, other)
			cb.RawQuery = q.Encode()
			status, body := b.callback(cb)
			if status != tc.status {
				t.Errorf("status %d, want %d", status, tc.status)
			}
			if strings.Contains(body, "<script>") {
				t.Errorf("provider text not escaped: %s", body)
			}
			if got := strings.Contains(body, spoof); got != tc.shown {
				t.Errorf("provider text shown = %v, want %v: %s", got, tc.shown, body)
			}
			if b.loggedIn() {
				t.Error("a session was created")
			}
		})
	}
}

func TestCallbackIssuerParameter(t *testing.T) {
	tests := []struct {
		name  string
		opts  []rptest.Option
		mis   rptest.Misbehaviour
		strip bool
		want  int
	}{
		{"iss sent and right", []rptest.Option{rptest.WithISSParameter()}, rptest.Misbehaviour{}, false, http.StatusSeeOther},
		{"iss wrong (mix-up)", []rptest.Option{rptest.WithISSParameter()}, rptest.Misbehaviour{WrongISSParam: true}, false, http.StatusBadRequest},
		{"iss wrong, not advertised", nil, rptest.Misbehaviour{WrongISSParam: true}, false, http.StatusBadRequest},
		{"iss advertised but missing", []rptest.Option{rptest.WithISSParameter()}, rptest.Misbehaviour{}, true, http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOption{provider: tc.opts})
			e.op.SetMisbehaviour(tc.mis)
			b := e.browser()
			cb := b.startLogin("/login")
			if tc.strip {
				q := cb.Query()
				q.Del("iss")
				cb.RawQuery = q.Encode()
			}
			tokens := e.op.Count("token")
			status, _ := b.callback(cb)
			if status != tc.want {
				t.Errorf("status %d, want %d", status, tc.want)
			}
			if tc.want != http.StatusSeeOther && e.op.Count("token") != tokens {
				t.Error("code exchanged despite the issuer mismatch")
			}
		})
	}
}

func TestCallbackRejectsBadIDTokens(t *testing.T) {
	tests := []struct {
		name string
		mis  rptest.Misbehaviour
	}{
		{"wrong issuer", rptest.Misbehaviour{WrongIssuer: true}},
		{"wrong audience", rptest.Misbehaviour{WrongAudience: true}},
		{"wrong nonce", rptest.Misbehaviour{WrongNonce: true}},
		{"expired", rptest.Misbehaviour{ExpiredIDToken: true}},
		{"iat in the future", rptest.Misbehaviour{FutureIAT: true}},
		{"no sub", rptest.Misbehaviour{MissingSub: true}},
		{"bad signature", rptest.Misbehaviour{BadSignature: true}},
		{"unknown kid", rptest.Misbehaviour{UnknownKID: true}},
		{"alg none", rptest.Misbehaviour{AlgNone: true}},
		{"wrong at_hash", rptest.Misbehaviour{WrongAtHash: true}},
		{"extra audience without azp", rptest.Misbehaviour{ExtraAudienceNoAzp: true}},
		{"wrong azp", rptest.Misbehaviour{WrongAzp: true}},
		{"token endpoint error", rptest.Misbehaviour{TokenStatus: http.StatusBadRequest}},
		{"oversize token response", rptest.Misbehaviour{OversizeBody: "token"}},
	}
	e := newEnv(t, envOption{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.op.SetMisbehaviour(tc.mis)
			defer e.op.SetMisbehaviour(rptest.Misbehaviour{})
			b := e.browser()
			cb := b.startLogin("/login")
			status, body := b.callback(cb)
			if status < 400 || status >= 600 {
				t.Errorf("status %d, want an error", status)
			}
			if status == 500 {
				t.Errorf("bare 500: %s", body)
			}
			e.op.SetMisbehaviour(rptest.Misbehaviour{})
			if b.loggedIn() {
				t.Error("a session was created")
			}
		})
	}
	t.Run("at_hash is optional", func(t *testing.T) {
		e.op.SetMisbehaviour(rptest.Misbehaviour{MissingAtHash: true})
		defer e.op.SetMisbehaviour(rptest.Misbehaviour{})
		b := e.browser()
		if status, _ := b.callback(b.startLogin("/login")); status != http.StatusSeeOther {
			t.Errorf("status %d", status)
		}
	})
}

func TestCallbackMaxAge(t *testing.T) {
	e := newEnv(t, envOption{})
	b := e.browser()
	b.login() // the provider's login session starts now
	e.clock.Advance(2 * time.Hour)
	cb := b.startLogin("/login-maxage")
	if got := e.op.LastAuthorizeRequest().Get("max_age"); got != "3600" {
		t.Fatalf("max_age sent = %q", got)
	}
	// The provider honours max_age by authenticating again, so auth_time is
	// fresh and the login succeeds; stale auth_time values are refused in
	// TestVerifyIDToken.
	if status, _ := b.callback(cb); status != http.StatusSeeOther {
		t.Errorf("status %d", status)
	}
}

func TestCallbackRequireACR(t *testing.T) {
	t.Run("provider grants a required class", func(t *testing.T) {
		e := newEnv(t, envOption{})
		b := e.browser()
		cb := b.startLogin("/login-mfa")
		if got := e.op.LastAuthorizeRequest().Get("acr_values"); got != "urn:example:mfa urn:example:hwk" {
			t.Fatalf("acr_values sent = %q", got)
		}
		if status, _ := b.callback(cb); status != http.StatusSeeOther {
			t.Fatalf("status %d", status)
		}
		if !b.loggedIn() {
			t.Fatal("no session")
		}
	})
	// A provider that authenticates by a weaker method than required (or
	// names none) must not give the application a session it believes
	// to be strongly authenticated.
	for _, tc := range []struct {
		name string
		acr  any
	}{
		{"weaker class", "urn:example:pwd"},
		{"empty acr", ""},
		{"no acr", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOption{provider: []rptest.Option{rptest.WithClaims(map[string]any{"acr": tc.acr})}})
			b := e.browser()
			status, body := b.callback(b.startLogin("/login-mfa"))
			if status != http.StatusForbidden {
				t.Errorf("status %d, want 403: %s", status, body)
			}
			if !strings.Contains(body, "Stronger login needed") {
				t.Errorf("error page does not say why: %s", body)
			}
			if b.loggedIn() {
				t.Error("a session was created")
			}
		})
	}
	t.Run("ACRValues alone stays voluntary", func(t *testing.T) {
		e := newEnv(t, envOption{provider: []rptest.Option{rptest.WithClaims(map[string]any{"acr": "urn:example:pwd"})}})
		b := e.browser()
		if status, _ := b.callback(b.startLogin("/login-voluntary-acr")); status != http.StatusSeeOther {
			t.Fatalf("status %d", status)
		}
	})
}

func TestNewSessionOnLogin(t *testing.T) {
	// Logging in again replaces the session ID (no fixation) and the old
	// session cookie stops working.
	e := newEnv(t, envOption{})
	b := e.browser()
	b.login()
	old := b.cookie("oidcrp_session")
	if old == nil {
		t.Fatal("no session cookie")
	}
	b.login()
	fresh := b.cookie("oidcrp_session")
	if fresh == nil || fresh.Value == old.Value {
		t.Fatal("session cookie not replaced on login")
	}
	thief := e.browser()
	u, _ := url.Parse(e.app.URL)
	thief.c.Jar.SetCookies(u, []*http.Cookie{{Name: old.Name, Value: old.Value, Path: "/"}})
	if thief.loggedIn() {
		t.Error("the replaced session's cookie still works")
	}
}
