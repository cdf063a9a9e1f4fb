package app_test

import (
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/examples/webapp/app"
	"github.com/oidcrp/oidcrp/internal/hydra"
	"github.com/oidcrp/oidcrp/internal/redistest"
	"github.com/oidcrp/oidcrp/rp/session"
	"github.com/oidcrp/oidcrp/rp/session/redisstore"
)

// The tests in this file run the reference application as two replicas
// over one Redis against a real Ory Hydra (see internal/hydra); they run
// with OIDCRP_HYDRA=1 or CI=true.

// hydraReplicas is Hydra, Redis and two replicas A and B of the reference
// app sharing one Hydra client, whose back-channel logout URI is B's.
type hydraReplicas struct {
	hydra *hydra.Server
	redis *redistest.Server
	a, b  *hydraApp
	rs    *redisstore.Store
}

func startHydraReplicas(t *testing.T, opt hydra.Options) *hydraReplicas {
	t.Helper()
	hs := hydra.StartWithLoginApp(t, &alice, opt) // skips unless enabled
	h := &hydraReplicas{hydra: hs, redis: redistest.Start(t)}
	h.rs = recordReader(t, h.redis)
	lnA, lnB := listenLoopback(t), listenLoopback(t)
	baseA, baseB := "http://"+lnA.Addr().String(), "http://"+lnB.Addr().String()
	client, err := hs.CreateClient(t.Context(), map[string]any{
		"client_name":                         "oidcrp replicas",
		"redirect_uris":                       []string{baseA + "/callback", baseB + "/callback"},
		"post_logout_redirect_uris":           []string{baseA + "/logout/done", baseB + "/logout/done"},
		"backchannel_logout_uri":              baseB + "/backchannel-logout",
		"backchannel_logout_session_required": true,
		"grant_types":                         []string{"authorization_code", "refresh_token"},
		"response_types":                      []string{"code"},
		"scope":                               "openid offline_access profile email",
		"token_endpoint_auth_method":          "client_secret_basic",
	})
	if err != nil {
		t.Fatalf("create client: %v", err)
	}
	lw := &replicaLog{tb: t}
	t.Cleanup(lw.stop) // runs after the replicas' cleanups
	logger := slog.New(slog.NewTextHandler(lw, &slog.HandlerOptions{Level: slog.LevelWarn}))
	start := func(name string, ln net.Listener) *hydraApp {
		vars := map[string]string{
			"LISTEN_ADDR":          ln.Addr().String(),
			"OIDC_ISSUER":          hs.Issuer,
			"OIDC_CLIENT_ID":       client["client_id"].(string),
			"OIDC_CLIENT_SECRET":   client["client_secret"].(string),
			"SESSION_STORE":        "redis",
			"REDIS_URL":            h.redis.URL(),
			"SESSION_KEYS":         replicaKey,
			"OIDC_HOLDER_KEY_FILE": t.TempDir() + "/holder.pem",
		}
		cfg, err := app.LoadConfig(func(k string) string { return vars[k] })
		if err != nil {
			t.Fatal(err)
		}
		a, handler, err := app.New(t.Context(), cfg, logger.With("replica", name))
		if err != nil {
			t.Fatalf("replica %s: %v", name, err)
		}
		srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(ln)
		t.Cleanup(func() {
			srv.Close()
			a.Close()
		})
		return &hydraApp{t: t, hydra: hs, app: a, base: "http://" + ln.Addr().String(), env: vars}
	}
	h.a = start("A", lnA)
	h.b = start("B", lnB)
	return h
}

// record returns the session record in Redis of c's session cookie, or nil.
func (h *hydraReplicas) record(t *testing.T, c *http.Client) *session.Session {
	t.Helper()
	u, _ := url.Parse(h.a.base + "/")
	return storedRecord(t, h.rs, c.Jar.Cookies(u))
}

// meAPI returns /me on r for an already logged-in browser, as an API call.
func meAPI(t *testing.T, r *hydraApp, c *http.Client) (int, string) {
	t.Helper()
	status, body := r.get(c, "/me", "Accept", "application/json")
	return status, string(body)
}

// logoutThrough logs c out with the home page's form on r and follows
// Hydra's answer to r's post-logout page: a plain redirect, or (with
// front-channel clients) a page with iframes and a meta refresh.
func logoutThrough(t *testing.T, r *hydraApp, c *http.Client) {
	t.Helper()
	_, home := r.get(c, "/")
	m := csrfInput.FindSubmatch(home)
	if m == nil {
		t.Fatalf("no logout form on the home page: %s", home)
	}
	resp, err := c.PostForm(r.base+"/logout", url.Values{"csrf_token": {html.UnescapeString(string(m[1]))}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK && strings.HasPrefix(resp.Request.URL.String(), r.hydra.PublicURL) {
		for _, f := range iframeSrc.FindAllSubmatch(page, -1) {
			fr, err := c.Get(html.UnescapeString(string(f[1])))
			if err != nil {
				t.Fatal(err)
			}
			fr.Body.Close()
		}
		next := metaRefresh.FindSubmatch(page)
		if next == nil {
			t.Fatalf("no meta refresh in Hydra's logout page: %s", page)
		}
		if resp, err = c.Get(html.UnescapeString(string(next[1]))); err != nil {
			t.Fatal(err)
		}
		page, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if resp.Request.URL.String() != r.base+"/logout/done" && !strings.HasPrefix(resp.Request.URL.String(), r.base+"/logout/done?") {
		t.Fatalf("logout ended at %s (%d): %s", resp.Request.URL, resp.StatusCode, page)
	}
	if !strings.Contains(string(page), "You are logged out") {
		t.Errorf("post-logout page on %s does not confirm the logout: %s", r.base, page)
	}
}

func TestHydraReplicasLoginAndLogout(t *testing.T) {
	h := startHydraReplicas(t, hydra.Options{})
	c := h.a.browser()
	meA := h.a.me(c) // login through Hydra via A
	sid, _ := meA["sid"].(string)
	if meA["sub"] != "alice" || sid == "" {
		t.Fatalf("/me on A = %v", meA)
	}
	// B serves the session A made.
	status, body := meAPI(t, h.b, c)
	if status != http.StatusOK || !strings.Contains(body, `"sub":"alice"`) || !strings.Contains(body, sid) {
		t.Fatalf("/me on B after login on A: %d %s", status, body)
	}
	rec := h.record(t, c)
	if rec == nil || rec.SID != sid || rec.RefreshToken == "" {
		t.Fatalf("record in Redis = %+v", rec)
	}
	// A second app session of the same Hydra login session (SSO), made
	// on B, and a copy of the first browser's cookies.
	other := h.b.sameProviderSession(c)
	if meB := h.b.me(other); meB["sid"] != sid {
		t.Fatalf("second app session has sid %v, want %v", meB["sid"], sid)
	}
	stale := h.a.browser()
	u, _ := url.Parse(h.a.base + "/")
	stale.Jar.SetCookies(u, c.Jar.Cookies(u))

	// RP-initiated logout on A.
	logoutThrough(t, h.a, c)

	for _, r := range []*hydraApp{h.a, h.b} {
		if st := r.whoami(c); st != http.StatusUnauthorized {
			t.Errorf("logged-out browser on %s: %d", r.base, st)
		}
		if st := r.whoami(stale); st != http.StatusUnauthorized {
			t.Errorf("copy of the logged-out cookie on %s: %d", r.base, st)
		}
	}
	if got := h.record(t, stale); got != nil {
		t.Errorf("the record survived the logout: %+v", got)
	}
	// Hydra's back-channel call reaches B and ends the other app session
	// of that login session, on both replicas.
	if !waitFor(func() bool { return h.b.whoami(other) == http.StatusUnauthorized }) {
		t.Error("the other session of the logged-out Hydra session still works on B")
	}
	if st := h.a.whoami(other); st != http.StatusUnauthorized {
		t.Errorf("the other session of the logged-out Hydra session on A: %d", st)
	}
	// A revoked its tokens at Hydra.
	if active, _ := h.hydra.Introspect(t.Context(), rec.RefreshToken); active {
		t.Error("refresh token still active after logout")
	}
	// Logging in again through B works, in a new Hydra session.
	if me := h.b.me(c); me["sub"] != "alice" || me["sid"] == sid {
		t.Errorf("login on B after logout: %v", me)
	}
	if st := h.a.whoami(c); st != http.StatusOK {
		t.Errorf("/api/whoami on A after a new login on B: %d", st)
	}
}

func TestHydraReplicasRefresh(t *testing.T) {
	// Access tokens live 4 s, so the refresh margin is 1 s.
	h := startHydraReplicas(t, hydra.Options{AccessTokenTTL: 4 * time.Second})
	ctx := t.Context()
	c := h.a.browser()
	h.a.me(c) // login via A
	first := h.record(t, c)

	// The refresh happens on B.
	time.Sleep(time.Until(first.Expiry.Add(-500 * time.Millisecond)))
	if st := h.b.whoami(c); st != http.StatusOK {
		t.Fatalf("/api/whoami on B inside the refresh margin: %d", st)
	}
	second := h.record(t, c)
	if second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken {
		t.Fatal("B did not refresh the tokens in Redis")
	}
	if active, _ := h.hydra.Introspect(ctx, second.RefreshToken); !active {
		t.Error("rotated refresh token is not active")
	}
	if active, _ := h.hydra.Introspect(ctx, first.RefreshToken); active {
		t.Error("old refresh token still active")
	}
	// A uses B's tokens without a refresh of its own.
	if st := h.a.whoami(c); st != http.StatusOK {
		t.Fatalf("/api/whoami on A after B's refresh: %d", st)
	}
	if now := h.record(t, c); now.RefreshToken != second.RefreshToken {
		t.Error("A refreshed again after B's refresh")
	}

	// Concurrent requests on both replicas inside the next margin make one
	// refresh: a second redemption of the same refresh token would make
	// Hydra revoke the whole chain.
	time.Sleep(time.Until(second.Expiry.Add(-500 * time.Millisecond)))
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	begin := make(chan struct{})
	for i := range n {
		r := h.a
		if i%2 == 1 {
			r = h.b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-begin
			req, _ := http.NewRequest(http.MethodGet, r.base+"/api/whoami", nil)
			req.Header.Set("Accept", "application/json")
			resp, err := c.Do(req)
			if err != nil {
				errs <- err
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				errs <- fmt.Errorf("request %d on %s: %d", i, r.base, resp.StatusCode)
			}
		}()
	}
	close(begin)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	third := h.record(t, c)
	if third.RefreshToken == second.RefreshToken {
		t.Fatal("the concurrent requests did not refresh")
	}
	if active, _ := h.hydra.Introspect(ctx, third.RefreshToken); !active {
		t.Error("refresh token after the concurrent refresh is not active: Hydra saw a reuse and revoked the chain")
	}
	if active, _ := h.hydra.Introspect(ctx, third.AccessToken); !active {
		t.Error("access token after the concurrent refresh is not active")
	}
}
