// Package hydratest drives an authorization-code login with PKCE against
// a real Ory Hydra started by package internal/hydra (with its login app
// in Auto mode), for the interoperability tests of userinfo and
// userinfo/credentials.
package hydratest

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/oidcrp/oidcrp/internal/hydra"
)

// RedirectURL is the redirect URI of the clients Register creates. Nothing
// listens there: the login stops at the redirect.
const RedirectURL = "http://127.0.0.1:9/callback"

// Client is an OAuth 2.0 client registered with a Hydra server.
type Client struct {
	// ID is the client_id.
	ID string
	// Config exchanges codes for this client.
	Config oauth2.Config
}

// Register creates a confidential client through Hydra's admin API, with
// the given scope (space-separated) and extra client metadata (for
// example userinfo_signed_response_alg), deleted when t ends.
func Register(t testing.TB, srv *hydra.Server, scope string, extra map[string]any) *Client {
	t.Helper()
	secret := rand.Text()
	c := map[string]any{
		"client_name":                "oidcrp userinfo test",
		"client_secret":              secret,
		"redirect_uris":              []string{RedirectURL},
		"grant_types":                []string{"authorization_code", "refresh_token"},
		"response_types":             []string{"code"},
		"scope":                      scope,
		"token_endpoint_auth_method": "client_secret_basic",
	}
	for k, v := range extra {
		c[k] = v
	}
	created, err := srv.CreateClient(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := created["client_id"].(string)
	if id == "" {
		t.Fatalf("hydratest: CreateClient answered without client_id: %v", created)
	}
	t.Cleanup(func() {
		if err := srv.DeleteClient(context.Background(), id); err != nil && !srv.Exited() {
			t.Errorf("hydratest: DeleteClient: %v", err)
		}
	})
	return &Client{
		ID: id,
		Config: oauth2.Config{
			ClientID:     id,
			ClientSecret: secret,
			RedirectURL:  RedirectURL,
			Endpoint: oauth2.Endpoint{
				AuthURL:   srv.PublicURL + "/oauth2/auth",
				TokenURL:  srv.PublicURL + "/oauth2/token",
				AuthStyle: oauth2.AuthStyleInHeader,
			},
			Scopes: strings.Fields(scope),
		},
	}
}

// Login runs the authorization-code flow with PKCE for c in a fresh
// cookie-jar browser and returns the tokens (with id_token and any
// c_nonce_draft_00 in Extra). It fails t when the flow does not end with a
// code at RedirectURL.
func (c *Client) Login(t testing.TB) *oauth2.Token {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	var callback string
	browser := &http.Client{
		Jar:     jar,
		Timeout: 20 * time.Second,
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if strings.HasPrefix(req.URL.String(), RedirectURL) {
				callback = req.URL.String()
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
	state, nonce, verifier := rand.Text(), rand.Text(), oauth2.GenerateVerifier()
	authURL := c.Config.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", nonce))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := browser.Do(req)
	if err != nil {
		t.Fatalf("hydratest: authorization: %v", err)
	}
	resp.Body.Close()
	if callback == "" {
		t.Fatalf("hydratest: authorization ended at %s with status %d, not at the redirect URI", resp.Request.URL, resp.StatusCode)
	}
	cb, err := url.Parse(callback)
	if err != nil {
		t.Fatal(err)
	}
	q := cb.Query()
	if q.Get("state") != state || q.Get("code") == "" {
		t.Fatalf("hydratest: callback without code or with a wrong state: error=%q", q.Get("error"))
	}
	tok, err := c.Config.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("hydratest: exchange: %v", err)
	}
	return tok
}
