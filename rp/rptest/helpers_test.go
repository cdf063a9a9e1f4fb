package rptest_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/oidcrp/oidcrp/rp/rptest"
)

const (
	clientID    = "app"
	secret      = "s3cr3t/+:%&=x" // needs form-urlencoding in HTTP Basic
	redirectURI = "https://rp.example/callback?tenant=1"
	rpHost      = "rp.example"
)

// testClient is the confidential client most tests use.
func testClient() rptest.Client {
	return rptest.Client{
		ID:                     clientID,
		Secret:                 secret,
		RedirectURIs:           []string{redirectURI},
		PostLogoutRedirectURIs: []string{"https://rp.example/logged-out"},
	}
}

// flow is one login driven by x/oauth2 and verified by go-oidc.
type flow struct {
	p        *rptest.Provider
	ctx      context.Context
	op       *oidc.Provider
	cfg      oauth2.Config
	verifier string
	state    string
	nonce    string
}

// newFlow discovers p with go-oidc and prepares a login for c (nil means
// testClient), asking for scopes (nil means openid, offline_access, email).
func newFlow(t testing.TB, p *rptest.Provider, c *rptest.Client, scopes ...string) *flow {
	t.Helper()
	if c == nil {
		tc := testClient()
		c = &tc
	}
	if scopes == nil {
		scopes = []string{oidc.ScopeOpenID, oidc.ScopeOfflineAccess, "email"}
	}
	ctx := oidc.ClientContext(t.Context(), p.Client())
	op, err := oidc.NewProvider(ctx, p.Issuer())
	if err != nil {
		t.Fatalf("oidc.NewProvider: %v", err)
	}
	style := oauth2.AuthStyleInHeader
	if c.AuthMethod == rptest.AuthClientSecretPost || c.AuthMethod == rptest.AuthNone {
		style = oauth2.AuthStyleInParams
	}
	ep := op.Endpoint()
	ep.AuthStyle = style
	return &flow{
		p:        p,
		ctx:      ctx,
		op:       op,
		cfg:      oauth2.Config{ClientID: c.ID, ClientSecret: c.Secret, Endpoint: ep, RedirectURL: c.RedirectURIs[0], Scopes: scopes},
		verifier: oauth2.GenerateVerifier(),
		state:    "state-" + rand8(),
		nonce:    "nonce-" + rand8(),
	}
}

func rand8() string { return strings.ToLower(oauth2.GenerateVerifier()[:8]) }

// authURL is the authorization request of the flow.
func (f *flow) authURL(opts ...oauth2.AuthCodeOption) string {
	opts = append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(f.verifier), oidc.Nonce(f.nonce)}, opts...)
	return f.cfg.AuthCodeURL(f.state, opts...)
}

// browse follows redirects from authURL with a cookie-jar client until
// the relying party's host, and returns that callback URL.
func browse(t *testing.T, p *rptest.Provider, authURL string) *url.URL {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{
		Jar:       jar,
		Transport: p.Client().Transport,
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if req.URL.Host == rpHost {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
	resp, err := hc.Get(authURL)
	if err != nil {
		t.Fatalf("browse: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("browse: %s %s", resp.Status, body)
	}
	loc, err := resp.Location()
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// code runs the authorization and returns the code, checking state.
func (f *flow) code(t *testing.T) string {
	t.Helper()
	cb := f.p.Authorize(t, f.authURL())
	q := cb.Query()
	if e := q.Get("error"); e != "" {
		t.Fatalf("authorization error %s: %s", e, q.Get("error_description"))
	}
	if q.Get("state") != f.state {
		t.Fatalf("state = %q, want %q", q.Get("state"), f.state)
	}
	return q.Get("code")
}

// exchange redeems code with the flow's verifier.
func (f *flow) exchange(code string) (*oauth2.Token, error) {
	return f.cfg.Exchange(f.ctx, code, oauth2.VerifierOption(f.verifier))
}

// login runs authorization and exchange and fails the test on error.
func (f *flow) login(t *testing.T) *oauth2.Token {
	t.Helper()
	tok, err := f.exchange(f.code(t))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	return tok
}

// refresh redeems a refresh token.
func (f *flow) refresh(rt string) (*oauth2.Token, error) {
	return f.cfg.TokenSource(f.ctx, &oauth2.Token{RefreshToken: rt}).Token()
}

// verify verifies the ID token of tok with go-oidc.
func (f *flow) verify(tok *oauth2.Token) (*oidc.IDToken, error) {
	raw, _ := tok.Extra("id_token").(string)
	return f.op.Verifier(&oidc.Config{ClientID: f.cfg.ClientID}).Verify(f.ctx, raw)
}

// idToken returns the raw ID token of tok.
func idToken(t *testing.T, tok *oauth2.Token) string {
	t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		t.Fatal("no id_token in the token response")
	}
	return raw
}

// jwtParts decodes the header and claims of a compact JWT without
// verifying it.
func jwtParts(t *testing.T, raw string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("JWT has %d parts", len(parts))
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("JWT part %d: %v", i, err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatalf("JWT part %d: %v", i, err)
		}
	}
	return header, claims
}

// retrieveError returns the OAuth error code of err, or "".
func retrieveError(err error) (code string, status int) {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return re.ErrorCode, re.Response.StatusCode
	}
	return "", 0
}

// postForm posts form to the provider's path with optional basic
// credentials (user and password sent as given).
func postForm(t *testing.T, p *rptest.Provider, path string, form url.Values, basicUser, basicPass string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, p.Issuer()+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicUser != "" {
		req.SetBasicAuth(basicUser, basicPass)
	}
	resp, err := p.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	b, _ := io.ReadAll(resp.Body)
	if len(b) > 0 {
		json.Unmarshal(b, &body)
	}
	return resp, body
}

// fakeClock is a settable clock for WithClock.
type fakeClock struct {
	mu  sync.Mutex // guards now
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
