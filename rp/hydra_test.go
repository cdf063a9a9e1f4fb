package rp_test

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/internal/hydra"
	"github.com/oidcrp/oidcrp/internal/loginapp"
	"github.com/oidcrp/oidcrp/rp"
)

// TestHydraRequireACR runs RequireACR against a real Ory Hydra (with
// OIDCRP_HYDRA=1 or CI=true). The login app authenticates with a password
// (acr loginapp.DefaultACR), whatever acr_values asks for: a login that
// requires that class succeeds, one that requires a stronger class is
// refused and leaves no session.
func TestHydraRequireACR(t *testing.T) {
	hs := hydra.StartWithLoginApp(t, &loginapp.Identity{Subject: "alice"}, hydra.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	client, err := hs.CreateClient(t.Context(), map[string]any{
		"redirect_uris":              []string{base + "/callback"},
		"grant_types":                []string{"authorization_code"},
		"response_types":             []string{"code"},
		"scope":                      "openid",
		"token_endpoint_auth_method": "client_secret_basic",
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := rp.New(t.Context(), rp.Config{
		Issuer: hs.Issuer, ClientID: client["client_id"].(string), ClientSecret: client["client_secret"].(string),
		RedirectURL: base + "/callback", Scopes: []string{"openid"}, SessionKeys: [][]byte{[]byte("hydra-acr-test-key-0123456789abcd")},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	mux := http.NewServeMux()
	mux.Handle("/callback", r.CallbackHandler())
	mux.Handle("/login-password", r.LoginHandler(rp.RequireACR(loginapp.DefaultACR)))
	mux.Handle("/login-mfa", r.LoginHandler(rp.RequireACR("urn:example:mfa")))
	mux.Handle("/me", r.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s, _ := rp.SessionFrom(req.Context())
		io.WriteString(w, "user "+s.Subject())
	})))
	app := httptest.NewUnstartedServer(mux)
	app.Listener.Close()
	app.Listener = ln
	app.Start()
	t.Cleanup(app.Close)

	get := func(c *http.Client, path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Header.Set("Accept", "text/html")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	browser := func() *http.Client {
		jar, _ := cookiejar.New(nil)
		return &http.Client{Jar: jar, Timeout: 20 * time.Second}
	}

	t.Run("required class granted", func(t *testing.T) {
		c := browser()
		if status, body := get(c, "/login-password?return_to=/me"); status != http.StatusOK || body != "user alice" {
			t.Fatalf("login: %d %q", status, body)
		}
	})
	t.Run("stronger class required", func(t *testing.T) {
		c := browser()
		status, body := get(c, "/login-mfa?return_to=/me")
		if status != http.StatusForbidden || !strings.Contains(body, "Stronger login needed") {
			t.Fatalf("login: %d %q", status, body)
		}
		if status, _ := get(c, "/me"); status == http.StatusOK {
			t.Fatal("the refused login left a session")
		}
	})
}
