package app_test

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/internal/hydra"
)

var (
	csrfInput   = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	metaRefresh = regexp.MustCompile(`(?i)<meta[^>]+http-equiv="refresh"[^>]+content="\d+;\s*URL=([^"]+)"`)
	iframeSrc   = regexp.MustCompile(`(?i)<iframe[^>]+src="([^"]+)"`)
)

// waitFor polls cond for up to 5 s: Hydra delivers back-channel logout
// tokens asynchronously.
func waitFor(cond func() bool) bool {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return cond()
}

func (h *hydraApp) whoami(c *http.Client) int {
	status, _ := h.get(c, "/api/whoami", "Accept", "application/json")
	return status
}

// sameProviderSession returns a browser with none of the app's cookies but
// the provider's cookies of c: the same user with the same provider login
// session (SSO), in another app session.
func (h *hydraApp) sameProviderSession(c *http.Client) *http.Client {
	jar, _ := cookiejar.New(nil)
	hu, _ := url.Parse(h.hydra.PublicURL + "/")
	// Cookie jars key cookies by host, not port: take Hydra's own only.
	var provider []*http.Cookie
	for _, ck := range c.Jar.Cookies(hu) {
		if strings.HasPrefix(ck.Name, "ory_hydra") {
			provider = append(provider, ck)
		}
	}
	jar.SetCookies(hu, provider)
	return &http.Client{Jar: jar, Timeout: 20 * time.Second}
}

func TestHydraRPInitiatedLogout(t *testing.T) {
	h := startHydraApp(t, hydra.Options{}, nil)
	a := h.browser()
	me := h.me(a)
	sid, _ := me["sid"].(string)
	rec := h.sessionRecord(a)
	b := h.sameProviderSession(a)
	if meB := h.me(b); meB["sid"] != sid {
		t.Fatalf("second app session has sid %v, want %v (SSO)", meB["sid"], sid)
	}

	// Log out through the home page's form.
	_, home := h.get(a, "/")
	m := csrfInput.FindSubmatch(home)
	if m == nil {
		t.Fatalf("no logout form on the home page: %s", home)
	}
	resp, err := a.PostForm(h.base+"/logout", url.Values{"csrf_token": {html.UnescapeString(string(m[1]))}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// Hydra ends with a page holding the front-channel iframes and a meta
	// refresh to the post-logout URI; follow both, as a browser would.
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Request.URL.String(), h.hydra.PublicURL) {
		t.Fatalf("after logout: %d at %s: %s", resp.StatusCode, resp.Request.URL, page)
	}
	for _, f := range iframeSrc.FindAllSubmatch(page, -1) {
		fr, err := a.Get(html.UnescapeString(string(f[1])))
		if err != nil {
			t.Fatal(err)
		}
		fr.Body.Close()
		if fr.StatusCode != 200 {
			t.Errorf("front-channel logout iframe: %d", fr.StatusCode)
		}
	}
	next := metaRefresh.FindSubmatch(page)
	if next == nil {
		t.Fatalf("no meta refresh in Hydra's logout page: %s", page)
	}
	done, err := a.Get(html.UnescapeString(string(next[1])))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(done.Body)
	done.Body.Close()
	if done.Request.URL.Path != "/logout/done" || !strings.Contains(string(body), "You are logged out") {
		t.Errorf("post-logout page %s: %s", done.Request.URL, body)
	}

	if status := h.whoami(a); status != http.StatusUnauthorized {
		t.Errorf("logged-out browser: %d", status)
	}
	// Hydra's back-channel call ends the other app session of that
	// provider session.
	if !waitFor(func() bool { return h.whoami(b) == http.StatusUnauthorized }) {
		t.Error("the other session of the logged-out provider session still works")
	}
	// Hydra leaves tokens active after logout; the app revoked its own.
	if active, _ := h.hydra.Introspect(t.Context(), rec.RefreshToken); active {
		t.Error("refresh token still active after logout")
	}
	if active, _ := h.hydra.Introspect(t.Context(), rec.AccessToken); active {
		t.Error("access token still active after logout")
	}
	// Logging in again works and starts a new provider session.
	if me := h.me(a); me["sid"] == sid || me["sub"] != "alice" {
		t.Errorf("login after logout: %v", me)
	}
}

func TestHydraProviderInitiatedLogout(t *testing.T) {
	// An administrator (or another application's logout) ends the provider
	// session; Hydra's back-channel call must end ours.
	h := startHydraApp(t, hydra.Options{}, nil)
	a := h.browser()
	me := h.me(a)
	sid, _ := me["sid"].(string)
	if err := h.hydra.DeleteLoginSession(t.Context(), sid); err != nil {
		t.Fatal(err)
	}
	if !waitFor(func() bool { return h.whoami(a) == http.StatusUnauthorized }) {
		t.Error("session survived the provider-initiated logout")
	}
}
