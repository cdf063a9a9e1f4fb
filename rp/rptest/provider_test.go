package rptest_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/oidcrp/oidcrp/rp/rptest"
)

func TestCodeFlow(t *testing.T) {
	tests := []struct {
		name       string
		alg        string
		method     string
		secret     string
		wantHeader bool // client authenticates with HTTP Basic
	}{
		{name: "RS256 client_secret_basic", alg: "RS256", method: "", secret: secret, wantHeader: true},
		{name: "ES256 client_secret_post", alg: "ES256", method: rptest.AuthClientSecretPost, secret: secret},
		{name: "RS256 public client", alg: "RS256", method: rptest.AuthNone},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := testClient()
			c.AuthMethod, c.Secret = tc.method, tc.secret
			p := rptest.NewProvider(t,
				rptest.WithClient(c),
				rptest.WithSigningAlg(tc.alg),
				rptest.WithSubject("bob"),
				rptest.WithClaims(map[string]any{"email": "bob@example.com", "email_verified": true}),
			)
			f := newFlow(t, p, &c)

			cb := browse(t, p, f.authURL())
			if cb.Scheme+"://"+cb.Host+cb.Path != "https://rp.example/callback" || cb.Query().Get("tenant") != "1" {
				t.Fatalf("callback %s does not keep the registered redirect URI", cb)
			}
			if cb.Query().Get("state") != f.state || cb.Query().Has("iss") {
				t.Fatalf("callback query %v: want our state and no iss", cb.Query())
			}
			tok, err := f.exchange(cb.Query().Get("code"))
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}

			idt, err := f.verify(tok)
			if err != nil {
				t.Fatalf("go-oidc rejects the ID token: %v", err)
			}
			if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
				t.Errorf("at_hash: %v", err)
			}
			if idt.Subject != "bob" || idt.Nonce != f.nonce {
				t.Errorf("sub, nonce = %q, %q; want bob, %q", idt.Subject, idt.Nonce, f.nonce)
			}
			header, claims := jwtParts(t, idToken(t, tok))
			if header["alg"] != tc.alg || header["kid"] == "" || header["typ"] != "JWT" {
				t.Errorf("ID token header %v", header)
			}
			for _, k := range []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "sid", "at_hash", "acr", "amr", "jti", "email"} {
				if _, ok := claims[k]; !ok {
					t.Errorf("ID token lacks %s: %v", k, claims)
				}
			}
			if claims["sid"] != p.SessionID() {
				t.Errorf("sid = %v, want the login session's %q", claims["sid"], p.SessionID())
			}
			if tok.RefreshToken == "" || tok.TokenType != "bearer" || tok.Extra("scope") != "openid offline_access email" {
				t.Errorf("token response: refresh %q, type %q, scope %v", tok.RefreshToken, tok.TokenType, tok.Extra("scope"))
			}
			if !p.TokenActive(tok.AccessToken) || !p.TokenActive(tok.RefreshToken) {
				t.Error("issued tokens are not active")
			}

			ui, err := f.op.UserInfo(f.ctx, oauth2.StaticTokenSource(tok))
			if err != nil {
				t.Fatalf("userinfo: %v", err)
			}
			if ui.Subject != "bob" || ui.Email != "bob@example.com" {
				t.Errorf("userinfo %+v", ui)
			}

			// What the provider received.
			ar := p.LastAuthorizeRequest()
			if ar.Get("code_challenge_method") != "S256" || ar.Get("nonce") != f.nonce || ar.Get("client_id") != c.ID {
				t.Errorf("authorization request %v", ar)
			}
			form, hdr := p.LastTokenRequest()
			if form.Get("code_verifier") != f.verifier || form.Get("redirect_uri") != redirectURI {
				t.Errorf("token request form %v", form)
			}
			if got := strings.HasPrefix(hdr.Get("Authorization"), "Basic "); got != tc.wantHeader {
				t.Errorf("token request Authorization %q, want Basic: %v", hdr.Get("Authorization"), tc.wantHeader)
			}
			for name, want := range map[string]int{"discovery": 1, "jwks": 1, "authorize": 1, "token": 1, "refresh": 0, "userinfo": 1} {
				if got := p.Count(name); got != want {
					t.Errorf("Count(%s) = %d, want %d", name, got, want)
				}
			}
		})
	}
}

func TestDiscoveryDocument(t *testing.T) {
	tests := []struct {
		name  string
		opts  []rptest.Option
		check func(t *testing.T, m map[string]any)
	}{
		{
			name: "defaults",
			check: func(t *testing.T, m map[string]any) {
				if _, ok := m["authorization_response_iss_parameter_supported"]; ok {
					t.Error("iss parameter advertised without WithISSParameter")
				}
			},
		},
		{
			name: "iss parameter",
			opts: []rptest.Option{rptest.WithISSParameter()},
			check: func(t *testing.T, m map[string]any) {
				if m["authorization_response_iss_parameter_supported"] != true {
					t.Error("iss parameter not advertised")
				}
			},
		},
		{
			name: "edited",
			opts: []rptest.Option{rptest.WithMetadata(func(m map[string]any) {
				delete(m, "end_session_endpoint")
				m["registration_endpoint"] = "https://op.example/oauth2/register"
			})},
			check: func(t *testing.T, m map[string]any) {
				if _, ok := m["end_session_endpoint"]; ok || m["registration_endpoint"] != "https://op.example/oauth2/register" {
					t.Errorf("edits not applied: %v", m)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := rptest.NewProvider(t, tc.opts...)
			resp, err := p.Client().Get(p.Issuer() + rptest.DiscoveryPath)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.Header.Get("Cache-Control") != "max-age=300" {
				t.Errorf("Cache-Control %q", resp.Header.Get("Cache-Control"))
			}
			m := p.Metadata()
			if m["issuer"] != p.Issuer() || strings.HasSuffix(p.Issuer(), "/") {
				t.Errorf("issuer %v vs %s", m["issuer"], p.Issuer())
			}
			for k, path := range map[string]string{
				"authorization_endpoint": "/oauth2/auth", "token_endpoint": "/oauth2/token", "userinfo_endpoint": "/userinfo",
				"jwks_uri": "/.well-known/jwks.json", "revocation_endpoint": "/oauth2/revoke",
			} {
				if m[k] != p.Issuer()+path {
					t.Errorf("%s = %v", k, m[k])
				}
			}
			tc.check(t, m)
		})
	}
}

func TestAuthorizeRejects(t *testing.T) {
	p := rptest.NewProvider(t, rptest.WithClient(testClient()), rptest.WithISSParameter())
	good := func() url.Values {
		return url.Values{
			"client_id": {clientID}, "redirect_uri": {redirectURI}, "response_type": {"code"},
			"scope": {"openid email"}, "state": {"state-1234"}, "nonce": {"nonce-1234"},
			"code_challenge":        {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())},
			"code_challenge_method": {"S256"},
		}
	}
	tests := []struct {
		name       string
		edit       func(url.Values)
		wantStatus int    // when the provider must not redirect
		wantError  string // error= in the redirect
	}{
		{name: "unknown client", edit: func(v url.Values) { v.Set("client_id", "mallory") }, wantStatus: http.StatusBadRequest},
		{name: "missing client", edit: func(v url.Values) { v.Del("client_id") }, wantStatus: http.StatusBadRequest},
		{name: "unregistered redirect_uri", edit: func(v url.Values) { v.Set("redirect_uri", "https://evil.example/cb") }, wantStatus: http.StatusBadRequest},
		{name: "redirect_uri prefix", edit: func(v url.Values) { v.Set("redirect_uri", "https://rp.example/callback") }, wantStatus: http.StatusBadRequest},
		{name: "missing redirect_uri", edit: func(v url.Values) { v.Del("redirect_uri") }, wantStatus: http.StatusBadRequest},
		{name: "implicit", edit: func(v url.Values) { v.Set("response_type", "id_token") }, wantError: "unsupported_response_type"},
		{name: "no openid scope", edit: func(v url.Values) { v.Set("scope", "email") }, wantError: "invalid_scope"},
		{name: "unknown scope", edit: func(v url.Values) { v.Set("scope", "openid admin") }, wantError: "invalid_scope"},
		{name: "no state", edit: func(v url.Values) { v.Del("state") }, wantError: "invalid_state"},
		{name: "short state", edit: func(v url.Values) { v.Set("state", "1234567") }, wantError: "invalid_state"},
		{name: "no nonce", edit: func(v url.Values) { v.Del("nonce") }, wantError: "invalid_request"},
		{name: "no PKCE", edit: func(v url.Values) { v.Del("code_challenge"); v.Del("code_challenge_method") }, wantError: "invalid_request"},
		{name: "plain PKCE", edit: func(v url.Values) { v.Set("code_challenge_method", "plain") }, wantError: "invalid_request"},
		{name: "malformed challenge", edit: func(v url.Values) { v.Set("code_challenge", "short") }, wantError: "invalid_request"},
		{name: "repeated parameter", edit: func(v url.Values) { v.Add("scope", "openid") }, wantError: "invalid_request"},
		{name: "request object", edit: func(v url.Values) { v.Set("request", "eyJ.eyJ.") }, wantError: "request_not_supported"},
		{name: "prompt none with login", edit: func(v url.Values) { v.Set("prompt", "none login") }, wantError: "invalid_request"},
		{name: "prompt none signed out", edit: func(v url.Values) { v.Set("prompt", "none") }, wantError: "login_required"},
		{name: "form_post", edit: func(v url.Values) { v.Set("response_mode", "form_post") }, wantError: "invalid_request"},
	}
	hc := &http.Client{Transport: p.Client().Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := good()
			tc.edit(v)
			resp, err := hc.Get(p.Issuer() + rptest.AuthorizePath + "?" + v.Encode())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if tc.wantStatus != 0 {
				if resp.StatusCode != tc.wantStatus || resp.Header.Get("Location") != "" {
					t.Fatalf("got %s to %q, want %d without redirect", resp.Status, resp.Header.Get("Location"), tc.wantStatus)
				}
				return
			}
			loc, err := resp.Location()
			if resp.StatusCode != http.StatusSeeOther || err != nil {
				t.Fatalf("got %s, want 303: %v", resp.Status, err)
			}
			q := loc.Query()
			if q.Get("error") != tc.wantError || q.Has("code") {
				t.Errorf("redirect query %v, want error=%s", q, tc.wantError)
			}
			if q.Get("iss") != p.Issuer() {
				t.Errorf("iss = %q, want the issuer in error responses too (RFC 9207)", q.Get("iss"))
			}
			if v.Has("state") && q.Get("state") != v.Get("state") {
				t.Errorf("state %q not echoed", q.Get("state"))
			}
		})
	}
	if p.Count(rptest.EndpointAuthorize) != len(tests) {
		t.Errorf("Count(authorize) = %d, want %d", p.Count(rptest.EndpointAuthorize), len(tests))
	}
}

func TestAuthorizePost(t *testing.T) {
	p := rptest.NewProvider(t, rptest.WithClient(testClient()))
	f := newFlow(t, p, nil)
	u, _ := url.Parse(f.authURL())
	hc := &http.Client{Transport: p.Client().Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.PostForm(p.Issuer()+rptest.AuthorizePath, u.Query())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("POST authorization: %s, %v", resp.Status, err)
	}
	if _, err := f.exchange(loc.Query().Get("code")); err != nil {
		t.Errorf("exchange: %v", err)
	}
}

func TestClientAuthentication(t *testing.T) {
	post := testClient()
	post.ID, post.AuthMethod = "post-client", rptest.AuthClientSecretPost
	public := testClient()
	public.ID, public.Secret, public.AuthMethod = "public-client", "", rptest.AuthNone
	p := rptest.NewProvider(t, rptest.WithClient(testClient()), rptest.WithClient(post), rptest.WithClient(public))
	enc := url.QueryEscape
	tests := []struct {
		name       string
		user, pass string // HTTP Basic, sent as given
		form       url.Values
		wantStatus int
		wantError  string
	}{
		// A bogus code passes authentication and fails with invalid_grant.
		{name: "basic, encoded", user: enc(clientID), pass: enc(secret), wantStatus: 400, wantError: "invalid_grant"},
		{name: "basic, not encoded", user: clientID, pass: secret, wantStatus: 401, wantError: "invalid_client"},
		{name: "basic, wrong secret", user: clientID, pass: "wrong", wantStatus: 401, wantError: "invalid_client"},
		{name: "basic client posts secret", form: url.Values{"client_id": {clientID}, "client_secret": {secret}}, wantStatus: 401, wantError: "invalid_client"},
		{name: "two methods", user: enc(clientID), pass: enc(secret), form: url.Values{"client_secret": {secret}}, wantStatus: 400, wantError: "invalid_request"},
		{name: "basic and other client_id", user: enc(clientID), pass: enc(secret), form: url.Values{"client_id": {"post-client"}}, wantStatus: 401, wantError: "invalid_client"},
		{name: "unknown client", user: "mallory", pass: "x", wantStatus: 401, wantError: "invalid_client"},
		{name: "no authentication", wantStatus: 401, wantError: "invalid_client"},
		{name: "post", form: url.Values{"client_id": {"post-client"}, "client_secret": {secret}}, wantStatus: 400, wantError: "invalid_grant"},
		{name: "post client uses basic", user: "post-client", pass: enc(secret), wantStatus: 401, wantError: "invalid_client"},
		{name: "post, wrong secret", form: url.Values{"client_id": {"post-client"}, "client_secret": {"x"}}, wantStatus: 401, wantError: "invalid_client"},
		{name: "public", form: url.Values{"client_id": {"public-client"}}, wantStatus: 400, wantError: "invalid_grant"},
		{name: "public with empty secret", form: url.Values{"client_id": {"public-client"}, "client_secret": {""}}, wantStatus: 401, wantError: "invalid_client"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{"grant_type": {"authorization_code"}, "code": {"bogus"}, "redirect_uri": {redirectURI}, "code_verifier": {oauth2.GenerateVerifier()}}
			for k, v := range tc.form {
				form[k] = v
			}
			resp, body := postForm(t, p, rptest.TokenPath, form, tc.user, tc.pass)
			if resp.StatusCode != tc.wantStatus || body["error"] != tc.wantError {
				t.Fatalf("got %d %v, want %d %s", resp.StatusCode, body, tc.wantStatus, tc.wantError)
			}
			if resp.StatusCode == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
				t.Errorf("401 without a Basic challenge: %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

func TestTokenRequestShape(t *testing.T) {
	p := rptest.NewProvider(t, rptest.WithClient(testClient()))
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(clientID)+":"+url.QueryEscape(secret)))
	tests := []struct {
		name        string
		path        string
		contentType string
		body        string
		wantStatus  int
		wantError   string
	}{
		{name: "JSON body", path: rptest.TokenPath, contentType: "application/json", body: `{"grant_type":"authorization_code"}`, wantStatus: 400, wantError: "invalid_request"},
		{name: "secret in query", path: rptest.TokenPath + "?client_secret=x", contentType: "application/x-www-form-urlencoded", body: "grant_type=authorization_code", wantStatus: 400, wantError: "invalid_request"},
		{name: "repeated code", path: rptest.TokenPath, contentType: "application/x-www-form-urlencoded", body: "grant_type=authorization_code&code=a&code=b", wantStatus: 400, wantError: "invalid_request"},
		{name: "no grant_type", path: rptest.TokenPath, contentType: "application/x-www-form-urlencoded", body: "code=a", wantStatus: 400, wantError: "invalid_request"},
		{name: "client credentials", path: rptest.TokenPath, contentType: "application/x-www-form-urlencoded", body: "grant_type=client_credentials", wantStatus: 400, wantError: "unsupported_grant_type"},
		{name: "no code", path: rptest.TokenPath, contentType: "application/x-www-form-urlencoded", body: "grant_type=authorization_code", wantStatus: 400, wantError: "invalid_request"},
		{name: "no refresh token", path: rptest.TokenPath, contentType: "application/x-www-form-urlencoded", body: "grant_type=refresh_token", wantStatus: 400, wantError: "invalid_request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, p.Issuer()+tc.path, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", tc.contentType)
			req.Header.Set("Authorization", auth)
			resp, err := p.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("error response Cache-Control %q", resp.Header.Get("Cache-Control"))
			}
		})
	}
	resp, err := p.Client().Get(p.Issuer() + rptest.TokenPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET token endpoint: %s, want 405", resp.Status)
	}
}

func TestCodeExchangeRules(t *testing.T) {
	other := testClient()
	other.ID = "other"
	tests := []struct {
		name string
		// run exchanges the code of f in some wrong way and returns the
		// error; codeLives says whether a later correct exchange must work.
		run       func(t *testing.T, f *flow, code string, clk *fakeClock) error
		wantError string
		codeLives bool
	}{
		{
			name: "wrong verifier",
			run: func(t *testing.T, f *flow, code string, clk *fakeClock) error {
				_, err := f.cfg.Exchange(f.ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
				return err
			},
			wantError: "invalid_grant", codeLives: true,
		},
		{
			name: "no verifier",
			run: func(t *testing.T, f *flow, code string, clk *fakeClock) error {
				_, err := f.cfg.Exchange(f.ctx, code)
				return err
			},
			wantError: "invalid_grant", codeLives: true,
		},
		{
			name: "short verifier",
			run: func(t *testing.T, f *flow, code string, clk *fakeClock) error {
				_, err := f.cfg.Exchange(f.ctx, code, oauth2.VerifierOption("abc"))
				return err
			},
			wantError: "invalid_grant", codeLives: true,
		},
		{
			name: "other redirect_uri",
			run: func(t *testing.T, f *flow, code string, clk *fakeClock) error {
				cfg := f.cfg
				cfg.RedirectURL = "https://rp.example/callback"
				_, err := cfg.Exchange(f.ctx, code, oauth2.VerifierOption(f.verifier))
				return err
			},
			wantError: "invalid_grant", codeLives: true,
		},
		{
			name: "other client",
			run: func(t *testing.T, f *flow, code string, clk *fakeClock) error {
				cfg := f.cfg
				cfg.ClientID = other.ID
				_, err := cfg.Exchange(f.ctx, code, oauth2.VerifierOption(f.verifier))
				return err
			},
			wantError: "invalid_grant", codeLives: true,
		},
		{
			name: "expired code",
			run: func(t *testing.T, f *flow, code string, clk *fakeClock) error {
				clk.Advance(rptest.CodeTTL)
				_, err := f.exchange(code)
				return err
			},
			wantError: "invalid_grant",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := &fakeClock{now: time.Unix(1_800_000_000, 0)}
			p := rptest.NewProvider(t, rptest.WithClient(testClient()), rptest.WithClient(other), rptest.WithClock(clk.Now))
			f := newFlow(t, p, nil)
			code := f.code(t)
			err := tc.run(t, f, code, clk)
			if got, _ := retrieveError(err); got != tc.wantError {
				t.Fatalf("error %v, want %s", err, tc.wantError)
			}
			_, err = f.exchange(code)
			if (err == nil) != tc.codeLives {
				t.Errorf("correct exchange afterwards: %v, want success %v", err, tc.codeLives)
			}
		})
	}
}

func TestCodeReuseRevokesTokens(t *testing.T) {
	p := rptest.NewProvider(t, rptest.WithClient(testClient()))
	f := newFlow(t, p, nil)
	code := f.code(t)
	tok, err := f.exchange(code)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.exchange(code)
	if got, status := retrieveError(err); got != "invalid_grant" || status != 400 {
		t.Fatalf("replayed code: %v, want 400 invalid_grant", err)
	}
	if p.TokenActive(tok.AccessToken) || p.TokenActive(tok.RefreshToken) {
		t.Error("tokens of a replayed code stay active")
	}
	if _, err := f.refresh(tok.RefreshToken); err == nil {
		t.Error("refresh with a token of a replayed code works")
	}
}

func TestRefreshRotation(t *testing.T) {
	p := rptest.NewProvider(t, rptest.WithClient(testClient()))
	f := newFlow(t, p, nil)
	first := f.login(t)
	_, firstClaims := jwtParts(t, idToken(t, first))

	second, err := f.refresh(first.RefreshToken)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken {
		t.Fatal("refresh did not rotate the tokens")
	}
	if p.TokenActive(first.RefreshToken) || p.TokenActive(first.AccessToken) {
		t.Error("old tokens stay active after a refresh")
	}
	idt, err := f.verify(second)
	if err != nil {
		t.Fatalf("refreshed ID token: %v", err)
	}
	if err := idt.VerifyAccessToken(second.AccessToken); err != nil {
		t.Errorf("refreshed at_hash: %v", err)
	}
	_, claims := jwtParts(t, idToken(t, second))
	for _, k := range []string{"sub", "sid", "auth_time", "nonce"} {
		if claims[k] != firstClaims[k] {
			t.Errorf("refreshed %s = %v, want %v", k, claims[k], firstClaims[k])
		}
	}
	if p.Count(rptest.EndpointRefresh) != 1 || p.Count(rptest.EndpointToken) != 2 {
		t.Errorf("counts refresh %d token %d", p.Count(rptest.EndpointRefresh), p.Count(rptest.EndpointToken))
	}

	// Replaying the old refresh token revokes the whole chain.
	_, err = f.refresh(first.RefreshToken)
	if got, _ := retrieveError(err); got != "invalid_grant" {
		t.Fatalf("replayed refresh token: %v, want invalid_grant", err)
	}
	if p.TokenActive(second.AccessToken) || p.TokenActive(second.RefreshToken) {
		t.Error("the chain stays active after a refresh-token replay")
	}
	_, err = f.refresh(second.RefreshToken)
	if got, _ := retrieveError(err); got != "invalid_grant" {
		t.Errorf("newest refresh token after replay: %v, want invalid_grant", err)
	}
}

func TestRefreshRules(t *testing.T) {
	tests := []struct {
		name      string
		scopes    []string
		run       func(t *testing.T, p *rptest.Provider, f *flow, tok *oauth2.Token) error
		wantError string
	}{
		{
			name:   "no offline_access, no refresh token",
			scopes: []string{"openid"},
			run: func(t *testing.T, p *rptest.Provider, f *flow, tok *oauth2.Token) error {
				if tok.RefreshToken != "" {
					t.Error("refresh token without offline_access")
				}
				_, err := f.refresh("rptest_rt_unknown")
				return err
			},
			wantError: "invalid_grant",
		},
		{
			name: "wider scope",
			run: func(t *testing.T, p *rptest.Provider, f *flow, tok *oauth2.Token) error {
				_, err := f.cfg.Exchange(f.ctx, "", oauth2.SetAuthURLParam("grant_type", "refresh_token"), oauth2.SetAuthURLParam("refresh_token", tok.RefreshToken), oauth2.SetAuthURLParam("scope", "openid profile"))
				return err
			},
			wantError: "invalid_scope",
		},
		{
			name: "other client",
			run: func(t *testing.T, p *rptest.Provider, f *flow, tok *oauth2.Token) error {
				o := testClient()
				o.ID = "other"
				p.RegisterClient(o)
				cfg := f.cfg
				cfg.ClientID = o.ID
				_, err := cfg.TokenSource(f.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
				if !p.TokenActive(tok.RefreshToken) {
					t.Error("another client's attempt burnt the refresh token")
				}
				return err
			},
			wantError: "invalid_grant",
		},
		{
			name: "revoked",
			run: func(t *testing.T, p *rptest.Provider, f *flow, tok *oauth2.Token) error {
				resp, _ := postForm(t, p, rptest.RevokePath, url.Values{"token": {tok.RefreshToken}}, url.QueryEscape(clientID), url.QueryEscape(secret))
				if resp.StatusCode != 200 {
					t.Fatalf("revoke: %s", resp.Status)
				}
				_, err := f.refresh(tok.RefreshToken)
				return err
			},
			wantError: "invalid_grant",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := rptest.NewProvider(t, rptest.WithClient(testClient()))
			f := newFlow(t, p, nil, tc.scopes...)
			tok := f.login(t)
			err := tc.run(t, p, f, tok)
			if got, _ := retrieveError(err); got != tc.wantError {
				t.Errorf("error %v, want %s", err, tc.wantError)
			}
		})
	}
}

func TestUserinfo(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	p := rptest.NewProvider(t, rptest.WithClient(testClient()), rptest.WithClock(clk.Now), rptest.WithAccessTokenTTL(time.Minute),
		rptest.WithClaims(map[string]any{"name": "Alice"}))
	f := newFlow(t, p, nil)
	tok := f.login(t)
	revoked := f.login(t)
	resp, _ := postForm(t, p, rptest.RevokePath, url.Values{"token": {revoked.AccessToken}}, url.QueryEscape(clientID), url.QueryEscape(secret))
	if resp.StatusCode != 200 {
		t.Fatalf("revoke: %s", resp.Status)
	}
	tests := []struct {
		name       string
		auth       string
		advance    time.Duration
		wantStatus int
		wantHeader string
	}{
		{name: "valid", auth: "Bearer " + tok.AccessToken, wantStatus: 200},
		{name: "lower-case scheme", auth: "bearer " + tok.AccessToken, wantStatus: 200},
		{name: "no token", wantStatus: 401, wantHeader: `Bearer realm="rptest"`},
		{name: "basic", auth: "Basic eDp5", wantStatus: 401, wantHeader: `Bearer realm="rptest"`},
		{name: "unknown token", auth: "Bearer nope", wantStatus: 401, wantHeader: `Bearer error="invalid_token"`},
		{name: "revoked token", auth: "Bearer " + revoked.AccessToken, wantStatus: 401, wantHeader: `Bearer error="invalid_token"`},
		{name: "expired token", auth: "Bearer " + tok.AccessToken, advance: time.Minute, wantStatus: 401, wantHeader: `Bearer error="invalid_token"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk.Advance(tc.advance)
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, p.Issuer()+rptest.UserinfoPath, nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := p.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), tc.wantHeader) {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), tc.wantStatus, tc.wantHeader)
			}
		})
	}
}

func TestRevoke(t *testing.T) {
	other := testClient()
	other.ID = "other"
	tests := []struct {
		name       string
		token      func(tok *oauth2.Token) string
		user, pass string
		wantStatus int
		wantAT     bool // access token still active
		wantRT     bool // refresh token still active
	}{
		{name: "access token", token: func(tok *oauth2.Token) string { return tok.AccessToken }, user: clientID, pass: secret, wantStatus: 200, wantRT: true},
		{name: "refresh token revokes the grant", token: func(tok *oauth2.Token) string { return tok.RefreshToken }, user: clientID, pass: secret, wantStatus: 200},
		{name: "unknown token", token: func(*oauth2.Token) string { return "nope" }, user: clientID, pass: secret, wantStatus: 200, wantAT: true, wantRT: true},
		{name: "other client's token", token: func(tok *oauth2.Token) string { return tok.RefreshToken }, user: "other", pass: secret, wantStatus: 200, wantAT: true, wantRT: true},
		{name: "wrong secret", token: func(tok *oauth2.Token) string { return tok.RefreshToken }, user: clientID, pass: "x", wantStatus: 401, wantAT: true, wantRT: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := rptest.NewProvider(t, rptest.WithClient(testClient()), rptest.WithClient(other))
			tok := newFlow(t, p, nil).login(t)
			resp, _ := postForm(t, p, rptest.RevokePath, url.Values{"token": {tc.token(tok)}}, url.QueryEscape(tc.user), url.QueryEscape(tc.pass))
			if resp.StatusCode != tc.wantStatus {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if p.TokenActive(tok.AccessToken) != tc.wantAT || p.TokenActive(tok.RefreshToken) != tc.wantRT {
				t.Errorf("active AT %v RT %v, want %v %v", p.TokenActive(tok.AccessToken), p.TokenActive(tok.RefreshToken), tc.wantAT, tc.wantRT)
			}
			if p.Count(rptest.EndpointRevoke) != 1 {
				t.Errorf("Count(revoke) = %d", p.Count(rptest.EndpointRevoke))
			}
		})
	}
}

func TestSessionAndReauthentication(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	p := rptest.NewProvider(t, rptest.WithClient(testClient()), rptest.WithClock(clk.Now))
	f := newFlow(t, p, nil)
	authTime := func(opts ...oauth2.AuthCodeOption) (sid string, at float64) {
		cb := p.Authorize(t, f.authURL(opts...))
		tok, err := f.exchange(cb.Query().Get("code"))
		if err != nil {
			t.Fatal(err)
		}
		_, c := jwtParts(t, idToken(t, tok))
		return c["sid"].(string), c["auth_time"].(float64)
	}
	sid1, at1 := authTime()
	clk.Advance(time.Minute)
	tests := []struct {
		name       string
		opts       []oauth2.AuthCodeOption
		wantReauth bool
	}{
		{name: "SSO", wantReauth: false},
		{name: "prompt=none", opts: []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("prompt", "none")}, wantReauth: false},
		{name: "max_age not reached", opts: []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("max_age", "3600")}, wantReauth: false},
		{name: "max_age passed", opts: []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("max_age", "30")}, wantReauth: true},
		{name: "prompt=login", opts: []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("prompt", "login")}, wantReauth: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sid, at := authTime(tc.opts...)
			if sid != sid1 {
				t.Errorf("sid changed within the login session")
			}
			if (at != at1) != tc.wantReauth {
				t.Errorf("auth_time %v (first %v), want re-authentication %v", at, at1, tc.wantReauth)
			}
			at1 = at
			clk.Advance(time.Minute)
		})
	}
	p.SetSubject("carol")
	if p.SessionID() != "" {
		t.Error("SetSubject kept the old login session")
	}
	cb := p.Authorize(t, f.authURL(oauth2.SetAuthURLParam("acr_values", "urn:mfa pwd")))
	tok, err := f.exchange(cb.Query().Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	_, c := jwtParts(t, idToken(t, tok))
	if c["sub"] != "carol" || c["sid"] == sid1 || c["acr"] != "urn:mfa" {
		t.Errorf("after SetSubject: %v", c)
	}
}

func TestIDTokenClaimsAndSign(t *testing.T) {
	p := rptest.NewProvider(t, rptest.WithClient(testClient()), rptest.WithClaims(map[string]any{"email": "a@example.com", "iss": "ignored", "acr": "urn:gold"}))
	f := newFlow(t, p, nil)
	claims := p.IDTokenClaims("n-12345678")
	if claims["iss"] != p.Issuer() || !slices.Equal(claims["aud"].([]string), []string{clientID}) || claims["nonce"] != "n-12345678" ||
		claims["sid"] != p.SessionID() || claims["email"] != "a@example.com" || claims["acr"] != "urn:gold" {
		t.Fatalf("IDTokenClaims = %v", claims)
	}
	if _, ok := claims["at_hash"]; ok {
		t.Error("IDTokenClaims has at_hash")
	}
	v := f.op.Verifier(&oidc.Config{ClientID: clientID})
	if _, err := v.Verify(f.ctx, p.SignIDToken(claims)); err != nil {
		t.Errorf("signed default claims do not verify: %v", err)
	}
	if _, err := v.Verify(f.ctx, p.SignIDToken(claims, rptest.WithAlg("ES256"))); err != nil {
		t.Errorf("ES256 claims do not verify: %v", err)
	}
	h, _ := jwtParts(t, p.SignIDToken(claims, rptest.WithHeader("typ", "logout+jwt"), rptest.WithHeader("x-extra", "1"), rptest.WithKID("")))
	if h["typ"] != "logout+jwt" || h["x-extra"] != "1" || h["kid"] != nil {
		t.Errorf("header options not applied: %v", h)
	}
	h, _ = jwtParts(t, p.SignIDToken(claims, rptest.WithHeader("typ", nil)))
	if _, ok := h["typ"]; ok {
		t.Errorf("WithHeader(typ, nil) kept typ: %v", h)
	}
	if _, err := p.Sign(claims, rptest.WithAlg("HS256")); err == nil {
		t.Error("HS256 without a key signed")
	}
	claims["aud"] = "not-our-client"
	if _, err := v.Verify(f.ctx, p.SignIDToken(claims)); err == nil {
		t.Error("edited claims verified")
	}
	if got := rptest.AccessTokenHash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"); got != "77QmUPtjPfzWtF2AnpK9RQ" {
		t.Errorf("AccessTokenHash = %s, want the value of OpenID Connect Core 1.0 Appendix A.3", got)
	}
}
