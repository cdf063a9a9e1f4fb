package loginapp_test

import (
	"crypto/rand"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/oidcrp/oidcrp/internal/hydra"
	"github.com/oidcrp/oidcrp/internal/loginapp"
)

// TestInteractiveAgainstHydra drives the demo pages with plain HTTP
// through a real Ory Hydra.
func TestInteractiveAgainstHydra(t *testing.T) {
	hydra.SkipIfUnavailable(t)
	ctx := t.Context()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	srv := hydra.StartForTest(t, hydra.Options{
		LoginURL: base + "/login", ConsentURL: base + "/consent", LogoutURL: base + "/logout",
		ErrorURL: base + "/error", PostLogoutURL: base + "/logged-out",
	})
	app, err := loginapp.New(loginapp.Config{AdminURL: srv.AdminURL})
	if err != nil {
		t.Fatal(err)
	}
	appSrv := &http.Server{Handler: app, ReadHeaderTimeout: 5 * time.Second}
	go appSrv.Serve(ln)
	t.Cleanup(func() { appSrv.Close() })

	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "rp "+r.URL.Path)
	}))
	t.Cleanup(rp.Close)
	created, err := srv.CreateClient(ctx, map[string]any{
		"client_name":               "Demo RP",
		"client_secret":             "demo-rp-secret-0123456789abcdef",
		"redirect_uris":             []string{rp.URL + "/callback"},
		"post_logout_redirect_uris": []string{rp.URL + "/post-logout"},
		"grant_types":               []string{"authorization_code", "refresh_token"},
		"response_types":            []string{"code"},
		"scope":                     "openid offline_access email profile",
	})
	if err != nil {
		t.Fatal(err)
	}
	provider, err := oidc.NewProvider(ctx, srv.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	conf := oauth2.Config{
		ClientID: created["client_id"].(string), ClientSecret: "demo-rp-secret-0123456789abcdef",
		Endpoint: provider.Endpoint(), RedirectURL: rp.URL + "/callback",
		Scopes: []string{oidc.ScopeOpenID, "email", "profile"},
	}
	authorize := func(t *testing.T, b *http.Client) (string, string, string) {
		t.Helper()
		state, verifier := random(), oauth2.GenerateVerifier()
		resp, page := get(t, b, conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(random())))
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/login" {
			t.Fatalf("authorize ended at %s (%d), want the login page", resp.Request.URL, resp.StatusCode)
		}
		return state, verifier, page
	}

	b := browserClient(t)
	var idToken string
	t.Run("login page, wrong password, consent, allow", func(t *testing.T) {
		state, verifier, page := authorize(t, b)
		for _, want := range []string{`<form method="post" action="login">`, "to continue to <strong>Demo RP</strong>", "<code>alice</code> / <code>alice-password</code>"} {
			if !strings.Contains(page, want) {
				t.Errorf("login page lacks %q", want)
			}
		}
		form := hidden(page)
		form.Set("username", "alice")
		form.Set("password", "wrong")
		resp, page := post(t, b, base+"/login", form)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "Wrong username or password.") {
			t.Fatalf("wrong password: status %d", resp.StatusCode)
		}
		form = hidden(page)
		form.Set("username", "alice")
		form.Set("password", "alice-password")
		form.Set("action", "login")
		resp, page = post(t, b, base+"/login", form)
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/consent" {
			t.Fatalf("after login: %s (%d), want the consent page", resp.Request.URL, resp.StatusCode)
		}
		for _, want := range []string{"<strong>Demo RP</strong> wants to access your account (<strong>alice</strong>)", "<strong>email</strong>", "<strong>profile</strong>"} {
			if !strings.Contains(page, want) {
				t.Errorf("consent page lacks %q", want)
			}
		}
		form = hidden(page)
		form.Set("action", "allow")
		resp, _ = post(t, b, base+"/consent", form)
		q := resp.Request.URL.Query()
		if resp.Request.URL.Path != "/callback" || q.Get("state") != state || q.Get("code") == "" {
			t.Fatalf("after consent: %s, want the callback with a code", resp.Request.URL)
		}
		tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		idToken, _ = tok.Extra("id_token").(string)
		idt, err := provider.Verifier(&oidc.Config{ClientID: conf.ClientID}).Verify(ctx, idToken)
		if err != nil {
			t.Fatal(err)
		}
		var c struct {
			Name  string `json:"name"`
			Email string `json:"email"`
		}
		if err := idt.Claims(&c); err != nil || idt.Subject != "alice" || c.Name != "Alice Example" || c.Email != "alice@example.com" {
			t.Errorf("ID token sub %q claims %+v (%v)", idt.Subject, c, err)
		}
	})

	t.Run("deny consent", func(t *testing.T) {
		b2 := browserClient(t)
		state, _, page := authorize(t, b2)
		form := hidden(page)
		form.Set("username", "bob")
		form.Set("password", "bob-password")
		form.Set("action", "login")
		_, page = post(t, b2, base+"/login", form)
		form = hidden(page)
		form.Set("action", "deny")
		resp, _ := post(t, b2, base+"/consent", form)
		q := resp.Request.URL.Query()
		if resp.Request.URL.Path != "/callback" || q.Get("error") != "access_denied" || q.Get("state") != state || q.Get("code") != "" {
			t.Fatalf("after deny: %s, want the callback with error=access_denied", resp.Request.URL)
		}
	})

	t.Run("Hydra error reaches the error page", func(t *testing.T) {
		u := provider.Endpoint().AuthURL + "?" + url.Values{"client_id": {"no-such-client"}, "response_type": {"code"},
			"scope": {"openid"}, "state": {random()}, "redirect_uri": {"http://127.0.0.1:9/cb"}}.Encode()
		resp, page := get(t, browserClient(t), u)
		if resp.Request.URL.Path != "/error" || !strings.Contains(page, "invalid_client") {
			t.Fatalf("ended at %s:\n%s", resp.Request.URL, page)
		}
	})

	t.Run("logout: no keeps the session, yes ends it", func(t *testing.T) {
		if idToken == "" {
			t.Skip("no ID token from the login subtest")
		}
		state := random()
		var meta struct {
			EndSession string `json:"end_session_endpoint"`
		}
		if err := provider.Claims(&meta); err != nil {
			t.Fatal(err)
		}
		logout := meta.EndSession + "?" + url.Values{"id_token_hint": {idToken},
			"post_logout_redirect_uri": {rp.URL + "/post-logout"}, "state": {state}}.Encode()

		resp, page := get(t, b, logout)
		if resp.Request.URL.Path != "/logout" || !strings.Contains(page, "signed in as <strong>alice</strong>") {
			t.Fatalf("logout ended at %s, want the confirmation page", resp.Request.URL)
		}
		form := hidden(page)
		form.Set("action", "no")
		if _, page = post(t, b, base+"/logout", form); !strings.Contains(page, "You stayed signed in.") {
			t.Fatalf("after No:\n%s", page)
		}
		// Still signed in: the next authorization skips the login form.
		resp, _ = get(t, b, conf.AuthCodeURL(random(), oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		if resp.Request.URL.Path != "/callback" {
			t.Fatalf("authorize after No ended at %s, want the callback (SSO)", resp.Request.URL)
		}

		_, page = get(t, b, logout)
		form = hidden(page)
		form.Set("action", "yes")
		resp, _ = post(t, b, base+"/logout", form)
		if resp.Request.URL.Path != "/post-logout" || resp.Request.URL.Query().Get("state") != state {
			t.Fatalf("after Yes: %s, want the post-logout URI with state", resp.Request.URL)
		}
		// Signed out: the next authorization shows the login form again.
		authorize(t, b)
	})
}

// browserClient follows redirects and keeps cookies, like a browser.
func browserClient(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 20 * time.Second}
}

func random() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
