package hydra_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"golang.org/x/oauth2"

	"github.com/oidcrp/oidcrp/internal/hydra"
	"github.com/oidcrp/oidcrp/internal/loginapp"
)

// alice is the identity the auto-mode login app signs in.
var alice = loginapp.Identity{
	Subject: "alice",
	Claims: map[string]any{
		"email":              "alice@example.com",
		"email_verified":     true,
		"name":               "Alice Example",
		"preferred_username": "alice",
	},
	AccessTokenClaims: map[string]any{"role": "tester"},
	ACR:               "urn:test:pwd",
}

// relyingParty is a tiny RP endpoint set that records what Hydra and the
// browser deliver to it.
type relyingParty struct {
	srv *httptest.Server
	// mu guards callbacks, frontchannel and postLogout.
	mu           sync.Mutex
	callbacks    []url.Values
	frontchannel []url.Values
	postLogout   []url.Values
	// logoutTokens receives every back-channel logout token.
	logoutTokens chan string
}

func newRelyingParty(t *testing.T) *relyingParty {
	rp := &relyingParty{logoutTokens: make(chan string, 16)}
	mux := http.NewServeMux()
	record := func(list *[]url.Values) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			rp.mu.Lock()
			*list = append(*list, r.URL.Query())
			rp.mu.Unlock()
			io.WriteString(w, "recorded")
		}
	}
	mux.HandleFunc("GET /callback", record(&rp.callbacks))
	mux.HandleFunc("GET /frontchannel", record(&rp.frontchannel))
	mux.HandleFunc("GET /post-logout", record(&rp.postLogout))
	mux.HandleFunc("POST /backchannel", func(w http.ResponseWriter, r *http.Request) {
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
			http.Error(w, "bad content type "+ct, http.StatusBadRequest)
			return
		}
		rp.logoutTokens <- r.PostFormValue("logout_token")
	})
	rp.srv = httptest.NewServer(mux)
	t.Cleanup(rp.srv.Close)
	return rp
}

func (rp *relyingParty) url(path string) string { return rp.srv.URL + path }

func (rp *relyingParty) lastCallback() url.Values {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if len(rp.callbacks) == 0 {
		return nil
	}
	return rp.callbacks[len(rp.callbacks)-1]
}

// waitLogoutToken returns the next back-channel logout token.
func (rp *relyingParty) waitLogoutToken(t *testing.T) string {
	t.Helper()
	select {
	case tok := <-rp.logoutTokens:
		return tok
	case <-time.After(10 * time.Second):
		t.Fatal("no back-channel logout token within 10s")
		return ""
	}
}

// browser is a cookie-jar client that follows redirects like a browser.
func browser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 20 * time.Second}
}

func randomString(t *testing.T) string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// env is one Hydra with an auto-mode login app, one recording RP and a
// client registered for it through the admin API.
type env struct {
	srv      *hydra.Server
	rp       *relyingParty
	provider *oidc.Provider
	conf     oauth2.Config
	clientID string
}

func newEnv(t *testing.T, srv *hydra.Server, frontchannel bool) *env {
	t.Helper()
	ctx := t.Context()
	rp := newRelyingParty(t)
	c := map[string]any{
		"client_name":                         "hydra harness test",
		"client_secret":                       "a-long-enough-test-secret-0123456789",
		"redirect_uris":                       []string{rp.url("/callback")},
		"grant_types":                         []string{"authorization_code", "refresh_token"},
		"response_types":                      []string{"code"},
		"scope":                               "openid offline_access email profile",
		"token_endpoint_auth_method":          "client_secret_basic",
		"post_logout_redirect_uris":           []string{rp.url("/post-logout")},
		"backchannel_logout_uri":              rp.url("/backchannel"),
		"backchannel_logout_session_required": true,
	}
	if frontchannel {
		c["frontchannel_logout_uri"] = rp.url("/frontchannel")
		c["frontchannel_logout_session_required"] = true
	}
	created, err := srv.CreateClient(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := created["client_id"].(string)
	if id == "" {
		t.Fatalf("CreateClient answered without client_id: %v", created)
	}
	t.Cleanup(func() {
		if err := srv.DeleteClient(context.Background(), id); err != nil && !srv.Exited() {
			t.Errorf("DeleteClient: %v", err)
		}
	})
	provider, err := oidc.NewProvider(ctx, srv.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	return &env{
		srv:      srv,
		rp:       rp,
		provider: provider,
		clientID: id,
		conf: oauth2.Config{
			ClientID:     id,
			ClientSecret: c["client_secret"].(string),
			Endpoint:     provider.Endpoint(),
			RedirectURL:  rp.url("/callback"),
			Scopes:       []string{oidc.ScopeOpenID, oidc.ScopeOfflineAccess, "email", "profile"},
		},
	}
}

// login runs the authorization-code flow with PKCE in b and returns the
// tokens and the verified ID token.
func (e *env) login(t *testing.T, b *http.Client) (*oauth2.Token, *oidc.IDToken) {
	t.Helper()
	ctx := t.Context()
	state, nonce, verifier := randomString(t), randomString(t), oauth2.GenerateVerifier()
	authURL := e.conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce))
	resp, err := b.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/callback" {
		t.Fatalf("authorization ended at %s with status %d, want the RP callback", resp.Request.URL, resp.StatusCode)
	}
	cb := e.rp.lastCallback()
	if cb.Get("state") != state {
		t.Fatalf("callback state = %q, want %q", cb.Get("state"), state)
	}
	if cb.Get("error") != "" || cb.Get("code") == "" {
		t.Fatalf("callback without code: %v", cb)
	}
	tok, err := e.conf.Exchange(ctx, cb.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := e.provider.Verifier(&oidc.Config{ClientID: e.clientID}).Verify(ctx, raw)
	if err != nil {
		t.Fatalf("verify ID token: %v", err)
	}
	if idt.Nonce != nonce {
		t.Fatalf("ID token nonce = %q, want %q", idt.Nonce, nonce)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Fatalf("at_hash: %v", err)
	}
	return tok, idt
}

// idClaims are the ID-token claims the tests look at.
type idClaims struct {
	Email         string   `json:"email"`
	EmailVerified bool     `json:"email_verified"`
	Name          string   `json:"name"`
	SID           string   `json:"sid"`
	ACR           string   `json:"acr"`
	AMR           []string `json:"amr"`
}

func claimsOf(t *testing.T, idt *oidc.IDToken) idClaims {
	t.Helper()
	var c idClaims
	if err := idt.Claims(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

// verifyLogoutToken checks a back-channel logout token's signature against
// Hydra's JWKS and returns its sid (OpenID Connect Back-Channel Logout 1.0
// §2.4).
func verifyLogoutToken(t *testing.T, e *env, raw string) string {
	t.Helper()
	set, err := jwk.Fetch(t.Context(), e.srv.PublicURL+"/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.ParseString(raw, jwt.WithKeySet(set), jwt.WithIssuer(e.srv.Issuer), jwt.WithAudience(e.clientID))
	if err != nil {
		t.Fatalf("logout token: %v", err)
	}
	events, _ := tok.Get("events")
	if m, _ := events.(map[string]any); m == nil || m["http://schemas.openid.net/event/backchannel-logout"] == nil {
		t.Fatalf("logout token events = %v", events)
	}
	sid, _ := tok.Get("sid")
	s, _ := sid.(string)
	return s
}

func TestHydra(t *testing.T) {
	hydra.SkipIfUnavailable(t)
	t0 := time.Now()
	srv := hydra.StartWithLoginApp(t, &alice, hydra.Options{AccessTokenTTL: 10 * time.Minute})
	t.Logf("Hydra started in %v (ready after %v, warm-up %v)", time.Since(t0), srv.ReadyAfter, srv.WarmUpTook)
	front := newEnv(t, srv, true)
	plain := newEnv(t, srv, false)

	t.Run("discovery", func(t *testing.T) {
		var meta struct {
			Issuer               string   `json:"issuer"`
			RegistrationEndpoint string   `json:"registration_endpoint"`
			ScopesSupported      []string `json:"scopes_supported"`
			ClaimsSupported      []string `json:"claims_supported"`
		}
		if err := front.provider.Claims(&meta); err != nil {
			t.Fatal(err)
		}
		if meta.Issuer != srv.Issuer || meta.Issuer != srv.PublicURL {
			t.Errorf("issuer = %q, want %q", meta.Issuer, srv.PublicURL)
		}
		if meta.RegistrationEndpoint != srv.PublicURL+"/oauth2/register" {
			t.Errorf("registration_endpoint = %q", meta.RegistrationEndpoint)
		}
		for _, s := range []string{"openid", "offline_access", "email", "profile"} {
			if !slices.Contains(meta.ScopesSupported, s) {
				t.Errorf("scopes_supported %v lacks %s", meta.ScopesSupported, s)
			}
		}
		if !slices.Contains(meta.ClaimsSupported, "email") {
			t.Errorf("claims_supported %v lacks email", meta.ClaimsSupported)
		}
	})

	t.Run("code flow with PKCE, SSO, userinfo, introspection", func(t *testing.T) {
		start := time.Now()
		b := browser(t)
		tok, idt := front.login(t, b)
		t.Logf("full login flow took %v", time.Since(start))
		c := claimsOf(t, idt)
		if idt.Subject != "alice" || c.Email != "alice@example.com" || !c.EmailVerified || c.Name != "Alice Example" {
			t.Errorf("ID token sub %q claims %+v", idt.Subject, c)
		}
		if c.SID == "" || c.ACR != "urn:test:pwd" || !slices.Equal(c.AMR, []string{"pwd"}) {
			t.Errorf("ID token sid/acr/amr = %q %q %v", c.SID, c.ACR, c.AMR)
		}
		if tok.RefreshToken == "" {
			t.Error("no refresh token despite offline_access")
		}
		ui, err := front.provider.UserInfo(t.Context(), oauth2.StaticTokenSource(tok))
		if err != nil {
			t.Fatal(err)
		}
		if ui.Subject != "alice" || ui.Email != "alice@example.com" {
			t.Errorf("userinfo sub %q email %q", ui.Subject, ui.Email)
		}
		intro, err := srv.IntrospectClaims(t.Context(), tok.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		ext, _ := intro["ext"].(map[string]any)
		if intro["active"] != true || ext["role"] != "tester" {
			t.Errorf("introspection = %v", intro)
		}

		// Same browser again: Hydra reports skip:true and the login app must
		// accept the same subject; the login session (sid) is shared.
		_, idt2 := front.login(t, b)
		c2 := claimsOf(t, idt2)
		if c2.SID != c.SID || c2.ACR != c.ACR || !slices.Equal(c2.AMR, c.AMR) {
			t.Errorf("SSO login: sid %q acr %q amr %v, want %q %q %v", c2.SID, c2.ACR, c2.AMR, c.SID, c.ACR, c.AMR)
		}
	})

	t.Run("attacker: wrong PKCE verifier", func(t *testing.T) {
		b := browser(t)
		state, verifier := randomString(t), oauth2.GenerateVerifier()
		resp, err := b.Get(front.conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(randomString(t))))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		cb := front.rp.lastCallback()
		if cb.Get("state") != state || cb.Get("code") == "" {
			t.Fatalf("callback = %v, want a code for state %q", cb, state)
		}
		code := cb.Get("code")
		_, err = front.conf.Exchange(t.Context(), code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
			t.Fatalf("exchange with a wrong verifier: %v, want invalid_grant", err)
		}
	})

	t.Run("refresh rotates and reuse revokes", func(t *testing.T) {
		ctx := t.Context()
		tok, idt := front.login(t, browser(t))
		old := *tok
		old.Expiry = time.Now().Add(-time.Minute)
		fresh, err := front.conf.TokenSource(ctx, &old).Token()
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if fresh.RefreshToken == "" || fresh.RefreshToken == tok.RefreshToken || fresh.AccessToken == tok.AccessToken {
			t.Fatal("refresh did not rotate the tokens")
		}
		raw, _ := fresh.Extra("id_token").(string)
		idt2, err := front.provider.Verifier(&oidc.Config{ClientID: front.clientID}).Verify(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		if claimsOf(t, idt2).SID != claimsOf(t, idt).SID {
			t.Error("refreshed ID token lost the sid")
		}
		for _, c := range []struct {
			name   string
			token  string
			active bool
		}{
			{"old access token", tok.AccessToken, false},
			{"old refresh token", tok.RefreshToken, false},
			{"new access token", fresh.AccessToken, true},
		} {
			if got, err := srv.Introspect(ctx, c.token); err != nil || got != c.active {
				t.Errorf("%s active = %v, %v; want %v", c.name, got, err, c.active)
			}
		}
		_, err = front.conf.TokenSource(ctx, &old).Token()
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
			t.Fatalf("reusing the old refresh token: %v, want invalid_grant", err)
		}
		if active, err := srv.Introspect(ctx, fresh.AccessToken); err != nil || active {
			t.Errorf("after reuse the new access token active = %v, %v; want the chain revoked", active, err)
		}
	})

	t.Run("RP-initiated logout with front-channel client", func(t *testing.T) {
		b := browser(t)
		tok, idt := front.login(t, b)
		sid := claimsOf(t, idt).SID
		state := randomString(t)
		u := endSession(t, front, tok, state)
		resp, err := b.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		// Hydra answers the last step with a page that loads every
		// front-channel logout URI in an iframe and then moves on.
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Request.URL.String(), srv.PublicURL+"/oauth2/sessions/logout") {
			t.Fatalf("logout ended at %s with %d", resp.Request.URL, resp.StatusCode)
		}
		page := html.UnescapeString(string(body))
		iframe := regexp.MustCompile(`<iframe[^>]+src="([^"]+)"`).FindStringSubmatch(page)
		if iframe == nil {
			t.Fatalf("no iframe in logout page:\n%s", body)
		}
		fc, err := url.Parse(iframe[1])
		if err != nil || !strings.HasPrefix(iframe[1], front.rp.url("/frontchannel")) || fc.Query().Get("sid") != sid || fc.Query().Get("iss") != srv.Issuer {
			t.Errorf("front-channel iframe src = %q, want sid %q", iframe[1], sid)
		}
		refresh := regexp.MustCompile(`(?i)<meta[^>]+http-equiv="refresh"[^>]+content="\d+;\s*URL=([^"]+)"`).FindStringSubmatch(page)
		if refresh == nil || refresh[1] != front.rp.url("/post-logout")+"?state="+state {
			t.Errorf("meta refresh = %v, want the post-logout URI with state", refresh)
		}
		if got := verifyLogoutToken(t, front, front.rp.waitLogoutToken(t)); got != sid {
			t.Errorf("back-channel logout sid = %q, want %q", got, sid)
		}
		// The session is gone: the next login is not skipped and gets a new sid.
		_, idt2 := front.login(t, b)
		if claimsOf(t, idt2).SID == sid {
			t.Error("login after logout reused the old sid")
		}
	})

	t.Run("RP-initiated logout without front-channel redirects", func(t *testing.T) {
		b := browser(t)
		tok, idt := plain.login(t, b)
		state := randomString(t)
		resp, err := b.Get(endSession(t, plain, tok, state))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Request.URL.Path != "/post-logout" || resp.Request.URL.Query().Get("state") != state {
			t.Fatalf("logout ended at %s, want the post-logout URI with state", resp.Request.URL)
		}
		if got := verifyLogoutToken(t, plain, plain.rp.waitLogoutToken(t)); got != claimsOf(t, idt).SID {
			t.Errorf("back-channel logout sid = %q", got)
		}
	})

	t.Run("admin session delete sends back-channel logout", func(t *testing.T) {
		_, idt := plain.login(t, browser(t))
		sid := claimsOf(t, idt).SID
		if err := srv.DeleteLoginSession(t.Context(), sid); err != nil {
			t.Fatal(err)
		}
		if got := verifyLogoutToken(t, plain, plain.rp.waitLogoutToken(t)); got != sid {
			t.Errorf("back-channel logout sid = %q, want %q", got, sid)
		}
		if err := srv.DeleteLoginSession(t.Context(), ""); err == nil {
			t.Error("DeleteLoginSession accepted an empty sid")
		}
	})

	t.Run("dynamic registration and read with the RAT", func(t *testing.T) {
		ctx := t.Context()
		body, _ := json.Marshal(map[string]any{
			"client_name":                "dynamic",
			"redirect_uris":              []string{"http://127.0.0.1:9/callback"},
			"grant_types":                []string{"authorization_code", "refresh_token"},
			"response_types":             []string{"code"},
			"token_endpoint_auth_method": "client_secret_basic",
		})
		var reg struct {
			ClientID                string `json:"client_id"`
			ClientSecret            string `json:"client_secret"`
			RegistrationAccessToken string `json:"registration_access_token"`
			RegistrationClientURI   string `json:"registration_client_uri"`
			Scope                   string `json:"scope"`
		}
		status := doJSON(t, ctx, http.MethodPost, srv.PublicURL+"/oauth2/register", "", body, &reg)
		if status != http.StatusCreated || reg.ClientID == "" || reg.ClientSecret == "" || reg.RegistrationAccessToken == "" {
			t.Fatalf("register: status %d, %+v", status, reg)
		}
		if reg.Scope != strings.Join(hydra.DefaultScopes, " ") {
			t.Errorf("default scope = %q", reg.Scope)
		}
		var read struct {
			ClientID     string `json:"client_id"`
			ClientName   string `json:"client_name"`
			ClientSecret string `json:"client_secret"`
		}
		for _, c := range []struct {
			name, rat string
			want      int
		}{
			{"no token", "", http.StatusUnauthorized},
			{"wrong token", "ory_at_wrong", http.StatusUnauthorized},
			{"the RAT", reg.RegistrationAccessToken, http.StatusOK},
		} {
			if got := doJSON(t, ctx, http.MethodGet, reg.RegistrationClientURI, c.rat, nil, &read); got != c.want {
				t.Errorf("%s: status %d, want %d", c.name, got, c.want)
			}
		}
		if read.ClientID != reg.ClientID || read.ClientName != "dynamic" || read.ClientSecret != "" {
			t.Errorf("read back %+v", read)
		}
	})

	t.Run("stop", func(t *testing.T) {
		start := time.Now()
		if err := srv.Stop(); err != nil {
			t.Fatal(err)
		}
		t.Logf("stopped in %v", time.Since(start))
		if !srv.Exited() {
			t.Error("process still running after Stop")
		}
		if _, err := os.Stat(srv.Dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Dir %s still exists: %v", srv.Dir, err)
		}
		if err := srv.Stop(); err != nil {
			t.Errorf("second Stop = %v", err)
		}
		if _, err := http.Get(srv.PublicURL + "/health/ready"); err == nil {
			t.Error("public port still answers after Stop")
		}
	})
}

// endSession builds the RP-initiated logout URL (OpenID Connect
// RP-Initiated Logout 1.0 §2).
func endSession(t *testing.T, e *env, tok *oauth2.Token, state string) string {
	t.Helper()
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := e.provider.Claims(&meta); err != nil || meta.EndSession == "" {
		t.Fatalf("no end_session_endpoint: %v", err)
	}
	hint, _ := tok.Extra("id_token").(string)
	return meta.EndSession + "?" + url.Values{
		"id_token_hint":            {hint},
		"post_logout_redirect_uri": {e.rp.url("/post-logout")},
		"state":                    {state},
	}.Encode()
}

// doJSON sends a request with an optional bearer token and decodes a JSON
// answer into out when the status is 2xx.
func doJSON(t *testing.T, ctx context.Context, method, u, bearer string, body []byte, out any) int {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 == 2 && out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, u, err, b)
		}
	}
	return resp.StatusCode
}

// TestIssuerBehindProxy runs Hydra behind a reverse proxy whose URL is the
// issuer: discovery must name the proxy for the issuer and every endpoint.
func TestIssuerBehindProxy(t *testing.T) {
	hydra.SkipIfUnavailable(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	proxyURL := "http://" + ln.Addr().String()
	srv := hydra.StartForTest(t, hydra.Options{IssuerURL: proxyURL})
	target, _ := url.Parse(srv.PublicURL)
	proxy := &http.Server{Handler: httputil.NewSingleHostReverseProxy(target), ReadHeaderTimeout: 5 * time.Second}
	go proxy.Serve(ln)
	t.Cleanup(func() { proxy.Close() })

	provider, err := oidc.NewProvider(t.Context(), proxyURL)
	if err != nil {
		t.Fatal(err)
	}
	var meta map[string]any
	if err := provider.Claims(&meta); err != nil {
		t.Fatal(err)
	}
	if srv.Issuer != proxyURL {
		t.Errorf("Server.Issuer = %q, want %q", srv.Issuer, proxyURL)
	}
	for _, k := range []string{"issuer", "authorization_endpoint", "token_endpoint", "jwks_uri", "registration_endpoint", "end_session_endpoint"} {
		v, _ := meta[k].(string)
		if !strings.HasPrefix(v, proxyURL) {
			t.Errorf("%s = %q, want it under %s", k, v, proxyURL)
		}
	}
}
