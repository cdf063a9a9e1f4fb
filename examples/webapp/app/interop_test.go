package app_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/examples/webapp/app"
	"github.com/oidcrp/oidcrp/internal/hydra"
	"github.com/oidcrp/oidcrp/internal/loginapp"
	"github.com/oidcrp/oidcrp/rp/session"
)

// The tests in this file run the reference application against a real
// Ory Hydra (see internal/hydra); they run with OIDCRP_HYDRA=1 or CI=true.

var alice = loginapp.Identity{
	Subject: "alice",
	Claims: map[string]any{
		"email":              "alice@example.com",
		"email_verified":     true,
		"name":               "Alice Example",
		"preferred_username": "alice",
	},
}

const sessionKey = "interop-session-key-0123456789abcdef"

// hydraApp is the reference app wired to a real Hydra.
type hydraApp struct {
	t     *testing.T
	hydra *hydra.Server
	app   *app.App
	base  string
	env   map[string]string
}

func startHydraApp(t *testing.T, opt hydra.Options, env map[string]string) *hydraApp {
	t.Helper()
	hs := hydra.StartWithLoginApp(t, &alice, opt)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx := t.Context()
	vars := map[string]string{
		"LISTEN_ADDR":          ln.Addr().String(),
		"OIDC_ISSUER":          hs.Issuer,
		"SESSION_KEYS":         sessionKey,
		"SESSION_DIR":          t.TempDir() + "/sessions",
		"OIDC_HOLDER_KEY_FILE": t.TempDir() + "/holder.pem",
	}
	for k, v := range env {
		vars[k] = v
	}
	if vars["OIDC_REGISTER"] != "1" {
		client, err := hs.CreateClient(ctx, map[string]any{
			"client_name":                          "oidcrp interop",
			"redirect_uris":                        []string{base + "/callback"},
			"post_logout_redirect_uris":            []string{base + "/logout/done"},
			"backchannel_logout_uri":               base + "/backchannel-logout",
			"frontchannel_logout_uri":              base + "/frontchannel-logout",
			"backchannel_logout_session_required":  true,
			"frontchannel_logout_session_required": true,
			"grant_types":                          []string{"authorization_code", "refresh_token"},
			"response_types":                       []string{"code"},
			"scope":                                "openid offline_access profile email",
			"token_endpoint_auth_method":           "client_secret_basic",
		})
		if err != nil {
			t.Fatalf("create client: %v", err)
		}
		vars["OIDC_CLIENT_ID"] = client["client_id"].(string)
		vars["OIDC_CLIENT_SECRET"] = client["client_secret"].(string)
	}
	cfg, err := app.LoadConfig(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, h, err := app.New(ctx, cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Close()
		a.Close()
	})
	return &hydraApp{t: t, hydra: hs, app: a, base: base, env: vars}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// browser returns a cookie-jar client that follows every redirect: the
// login app in auto mode accepts login and consent at once.
func (h *hydraApp) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 20 * time.Second}
}

func (h *hydraApp) get(c *http.Client, path string, header ...string) (int, []byte) {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.base+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		h.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// me logs in if needed and returns /me.
func (h *hydraApp) me(c *http.Client) map[string]any {
	h.t.Helper()
	status, body := h.get(c, "/login?return_to=/me")
	if status != 200 {
		h.t.Fatalf("login: %d %s", status, body)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		h.t.Fatalf("/me is not JSON: %v: %s", err, body)
	}
	return m
}

// sessionRecord decodes the browser's session cookie.
func (h *hydraApp) sessionRecord(c *http.Client) *session.Session {
	h.t.Helper()
	codec, err := session.NewCodec([]byte(sessionKey))
	if err != nil {
		h.t.Fatal(err)
	}
	store := session.NewCookieStore(codec, session.CookieOptions{})
	req, _ := http.NewRequest(http.MethodGet, h.base+"/", nil)
	u, _ := url.Parse(h.base + "/")
	for _, ck := range c.Jar.Cookies(u) {
		req.AddCookie(ck)
	}
	rec, err := store.Load(req)
	if err != nil || rec == nil {
		h.t.Fatalf("no session in the browser: %v", err)
	}
	return rec
}

func TestHydraLogin(t *testing.T) {
	for _, store := range []string{"cookie", "file"} {
		t.Run(store, func(t *testing.T) {
			h := startHydraApp(t, hydra.Options{}, map[string]string{"SESSION_STORE": store})
			md, err := h.app.RP().Provider().Metadata(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if md.Issuer != h.hydra.Issuer || md.EndSessionEndpoint == "" || md.JWKSURI == "" {
				t.Errorf("discovery: issuer %q end_session %q jwks %q", md.Issuer, md.EndSessionEndpoint, md.JWKSURI)
			}
			c := h.browser()
			me := h.me(c)
			claims, _ := me["id_token_claims"].(map[string]any)
			if me["sub"] != "alice" || me["sid"] == "" || claims["email"] != "alice@example.com" || claims["name"] != "Alice Example" {
				t.Errorf("/me = %v", me)
			}
			if status, body := h.get(c, "/api/whoami"); status != 200 || !strings.Contains(string(body), `"sub":"alice"`) {
				t.Errorf("/api/whoami: %d %s", status, body)
			}
			// Another client is not logged in: the API route answers 401
			// JSON to any of them, never a login redirect.
			for _, accept := range []string{"application/json", "*/*", "text/html"} {
				status, body := h.get(h.browser(), "/api/whoami", "Accept", accept)
				if status != http.StatusUnauthorized || !strings.Contains(string(body), `"not_authenticated"`) {
					t.Errorf("anonymous /api/whoami (Accept %s): %d %s", accept, status, body)
				}
			}
		})
	}
}

func TestHydraRefresh(t *testing.T) {
	// Access tokens live 4 s, so the refresh margin is 1 s.
	h := startHydraApp(t, hydra.Options{AccessTokenTTL: 4 * time.Second}, nil)
	c := h.browser()
	h.me(c)
	first := h.sessionRecord(c)
	u, _ := url.Parse(h.base + "/")
	preRefresh := c.Jar.Cookies(u)

	time.Sleep(time.Until(first.Expiry.Add(-500 * time.Millisecond)))
	if status, body := h.get(c, "/api/whoami"); status != 200 {
		t.Fatalf("after expiry: %d %s", status, body)
	}
	second := h.sessionRecord(c)
	if second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken {
		t.Fatal("tokens were not refreshed")
	}
	ctx := t.Context()
	if active, _ := h.hydra.Introspect(ctx, second.RefreshToken); !active {
		t.Error("rotated refresh token is not active")
	}
	if active, _ := h.hydra.Introspect(ctx, first.RefreshToken); active {
		t.Error("old refresh token still active")
	}

	// A request still carrying the pre-refresh cookie (another tab, a
	// request in flight) must not redeem the old refresh token: Hydra would
	// revoke the whole chain.
	old := h.browser()
	old.Jar.SetCookies(u, preRefresh)
	if status, _ := h.get(old, "/api/whoami"); status != 200 {
		t.Errorf("pre-refresh cookie: %d", status)
	}
	if active, _ := h.hydra.Introspect(ctx, second.RefreshToken); !active {
		t.Error("the pre-refresh cookie made Hydra revoke the token chain")
	}

	// The rotated refresh token works for the next refresh too.
	time.Sleep(time.Until(second.Expiry.Add(-500 * time.Millisecond)))
	if status, _ := h.get(c, "/api/whoami"); status != 200 {
		t.Fatalf("second refresh: %d", status)
	}
	third := h.sessionRecord(c)
	if third.RefreshToken == second.RefreshToken {
		t.Error("second refresh did not rotate")
	}
	if active, _ := h.hydra.Introspect(context.WithoutCancel(ctx), third.AccessToken); !active {
		t.Error("access token after the second refresh is not active")
	}
}

func TestHydraUserInfoAndCredential(t *testing.T) {
	h := startHydraApp(t, hydra.Options{}, nil)
	c := h.browser()
	me := h.me(c)
	ui, _ := me["userinfo_claims"].(map[string]any)
	if ui["email"] != "alice@example.com" || ui["name"] != "Alice Example" || ui["sub"] != "alice" {
		t.Errorf("/me userinfo_claims = %v", me["userinfo_claims"])
	}
	merged, _ := me["claims"].(map[string]any)
	if merged["email"] != "alice@example.com" || merged["sid"] == nil {
		t.Errorf("/me claims = %v", merged)
	}

	resp, err := c.Post(h.base+"/credential", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	var cred map[string]any
	json.NewDecoder(resp.Body).Decode(&cred)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST /credential: %d %v", resp.StatusCode, cred)
	}
	subject, _ := cred["subject"].(string)
	cs, _ := cred["credential_subject"].(map[string]any)
	if cred["issuer"] != h.hydra.Issuer || !strings.HasPrefix(subject, "did:jwk:") || cs["sub"] != "alice" || cred["format"] != "jwt_vc_json" {
		t.Errorf("credential = %v", cred)
	}

	// Cross-site pages cannot make the app ask for credentials.
	req, _ := http.NewRequest(http.MethodPost, h.base+"/credential", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "https://evil.example")
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST /credential: %d", resp.StatusCode)
	}
	// Without a session: 401, no credential.
	if status, _ := h.get(h.browser(), "/credential"); status != http.StatusMethodNotAllowed {
		t.Errorf("GET /credential: %d", status)
	}
	anon, err := h.browser().Post(h.base+"/credential", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	anon.Body.Close()
	if anon.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous POST /credential: %d", anon.StatusCode)
	}
}

func TestHydraSelfRegistration(t *testing.T) {
	creds := t.TempDir() + "/client.json"
	h := startHydraApp(t, hydra.Options{}, map[string]string{"OIDC_REGISTER": "1", "OIDC_CREDENTIALS_FILE": creds})
	c := h.browser()
	if me := h.me(c); me["sub"] != "alice" {
		t.Fatalf("/me = %v", me)
	}
	var stored struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	b, err := os.ReadFile(creds)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &stored); err != nil || stored.ClientID == "" || stored.ClientSecret == "" {
		t.Fatalf("credentials file: %v %s", err, b)
	}
	if fi, _ := os.Stat(creds); fi.Mode().Perm() != 0o600 {
		t.Errorf("credentials file mode %v", fi.Mode().Perm())
	}
	// A restart reuses the stored client instead of registering another.
	cfg, err := app.LoadConfig(func(k string) string { return h.env[k] })
	if err != nil {
		t.Fatal(err)
	}
	a2, _, err := app.New(t.Context(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a2.Close()
	b2, _ := os.ReadFile(creds)
	var again struct {
		ClientID string `json:"client_id"`
	}
	json.Unmarshal(b2, &again)
	if again.ClientID != stored.ClientID {
		t.Errorf("restart registered a new client %s (was %s)", again.ClientID, stored.ClientID)
	}
}
