package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/internal/httpx"
	"github.com/oidcrp/oidcrp/internal/hydra"
)

func TestPublicURL(t *testing.T) {
	tests := []struct {
		name  string
		addr  string
		bound net.Addr
		want  string
	}{
		{"localhost", "localhost:8080", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}, "http://localhost:8080"},
		{"free port", "localhost:0", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 41234}, "http://localhost:41234"},
		{"no host", ":8080", &net.TCPAddr{IP: net.IPv6unspecified, Port: 8080}, "http://localhost:8080"},
		{"unspecified IPv4", "0.0.0.0:9000", &net.TCPAddr{IP: net.IPv4zero, Port: 9000}, "http://localhost:9000"},
		{"loopback IP", "127.0.0.1:9000", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9000}, "http://127.0.0.1:9000"},
		{"IPv6 loopback", "[::1]:9000", &net.TCPAddr{IP: net.IPv6loopback, Port: 9000}, "http://[::1]:9000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := publicURL(tc.addr, tc.bound); got != tc.want {
				t.Errorf("publicURL(%q) = %q, want %q", tc.addr, got, tc.want)
			}
		})
	}
}

// TestStartBadAddr checks that an unusable -addr fails before Hydra is
// started, with a message that names the flag.
func TestStartBadAddr(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	tests := []struct {
		name    string
		addr    string
		wantErr error
	}{
		{"port in use", taken.Addr().String(), syscall.EADDRINUSE},
		{"no port", "localhost", nil},
		{"bad port", "localhost:99999", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			var out bytes.Buffer
			d, err := start(ctx, options{addr: tc.addr, out: &out, logger: slog.New(slog.DiscardHandler)})
			if err == nil {
				d.stop()
				t.Fatalf("start(%q) succeeded", tc.addr)
			}
			if !strings.Contains(err.Error(), "-addr") {
				t.Errorf("error %q does not name the -addr flag", err)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error %v is not %v", err, tc.wantErr)
			}
			if out.Len() != 0 {
				t.Errorf("start printed %q before failing; Hydra must not be started", out.String())
			}
		})
	}
}

// startDemo runs the whole demo on free ports (Hydra enabled only) and
// stops it when t ends.
func startDemo(t *testing.T) *demo {
	t.Helper()
	hydra.SkipIfUnavailable(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(t.Output(), nil))
	d, err := start(ctx, options{addr: "localhost:0", out: t.Output(), logger: logger})
	if err != nil {
		t.Fatalf("start the demo: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("Hydra log (last 40 lines):\n%s", d.hydra.LogTail(40))
		}
		if err := d.stop(); err != nil {
			t.Errorf("stop the demo: %v", err)
		}
	})
	return d
}

var (
	metaRefresh = regexp.MustCompile(`(?i)<meta[^>]+http-equiv="refresh"[^>]+content="\d+;\s*URL=([^"]+)"`)
	iframeSrc   = regexp.MustCompile(`(?i)<iframe[^>]+src="([^"]+)"`)
)

func TestDemoHTTP(t *testing.T) {
	d := startDemo(t)
	app, _ := url.Parse(d.appURL)
	provider, _ := url.Parse(d.hydra.Issuer)
	if app.Hostname() != "localhost" || provider.Hostname() != "127.0.0.1" {
		t.Fatalf("app on %s and provider on %s: want localhost and 127.0.0.1 (two sites)", app.Host, provider.Host)
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, c: &http.Client{Jar: jar, Timeout: 15 * time.Second}}

	// Log in through the real pages: app → Hydra → login form.
	p := b.get(d.appURL + "/login")
	p.want(http.StatusOK, "/login", "Sign in")
	if p.url.Host == app.Host {
		t.Fatalf("GET /login stayed on the app: %s", p.url)
	}
	login := p.form("login")
	login.fields.Set("username", "alice")
	login.fields.Set("password", "alice-password")
	login.fields.Set("action", "login")

	// Consent page.
	p = b.submit(login)
	p.want(http.StatusOK, "/consent", "Allow access?")
	consent := p.form("consent")
	consent.fields.Set("action", "allow")

	// Back at the application's home page, logged in.
	p = b.submit(consent)
	p.want(http.StatusOK, "/", "Alice Example")
	if p.url.Host != app.Host {
		t.Fatalf("after consent the browser is at %s, want the app at %s", p.url, app.Host)
	}

	// /me shows the ID token's claims.
	var me struct {
		Sub    string         `json:"sub"`
		Claims map[string]any `json:"id_token_claims"`
	}
	b.getJSON(d.appURL+"/me", http.StatusOK, &me)
	checks := []struct {
		name      string
		got, want any
	}{
		{"sub", me.Sub, "alice"},
		{"id_token_claims.sub", me.Claims["sub"], "alice"},
		{"id_token_claims.email", me.Claims["email"], "alice@example.com"},
		{"id_token_claims.name", me.Claims["name"], "Alice Example"},
		{"id_token_claims.iss", me.Claims["iss"], d.hydra.Issuer},
	}
	for _, c := range checks {
		t.Run("me/"+c.name, func(t *testing.T) {
			if c.got != c.want {
				t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
			}
		})
	}
	var who struct {
		Sub string `json:"sub"`
	}
	b.getJSON(d.appURL+"/api/whoami", http.StatusOK, &who)
	if who.Sub != "alice" {
		t.Errorf("/api/whoami sub = %q, want alice", who.Sub)
	}

	// Log out with the home page's form and its CSRF token: the app ends
	// its session and sends the browser to Hydra's logout (RP-initiated
	// logout), whose page asks for confirmation.
	p = b.get(d.appURL + "/")
	logout := p.form("/logout")
	if logout.fields.Get("csrf_token") == "" {
		t.Fatalf("the logout form has no csrf_token:\n%s", p.body)
	}
	p = b.submit(logout)
	p.want(http.StatusOK, "/logout", "Sign out?")
	if p.url.Host == app.Host {
		t.Fatalf("POST /logout stayed on the app: %s", p.url)
	}
	confirm := p.form("logout")
	confirm.fields.Set("action", "yes")
	p = b.submit(confirm)
	// The app registered a front-channel logout URI, so Hydra ends with a
	// page that loads it in an iframe and moves on by a meta refresh, as a
	// browser would.
	if m := metaRefresh.FindStringSubmatch(p.body); m != nil && p.url.Host != app.Host {
		for _, f := range iframeSrc.FindAllStringSubmatch(p.body, -1) {
			b.get(html.UnescapeString(f[1]))
		}
		p = b.get(html.UnescapeString(m[1]))
	}
	p.want(http.StatusOK, "/logout/done", "You are logged out")
	if p.url.Host != app.Host {
		t.Fatalf("after logout the browser is at %s, want the app at %s", p.url, app.Host)
	}
	b.getJSON(d.appURL+"/api/whoami", http.StatusUnauthorized, nil)
	// Hydra's login session ended too: logging in asks for the password.
	p = b.get(d.appURL + "/login")
	p.want(http.StatusOK, "/login", "Sign in")

	// stop leaves nothing running.
	if err := d.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if !d.hydra.Exited() {
		t.Error("Hydra still runs after stop")
	}
	for _, u := range []string{d.appURL + "/healthz", d.hydra.PublicURL + "/health/alive", "http://" + d.loginLn.Addr().String() + "/logged-out"} {
		if resp, err := b.c.Get(u); err == nil {
			resp.Body.Close()
			t.Errorf("GET %s after stop answered %d", u, resp.StatusCode)
		}
	}
}

// browser drives the demo's pages with a cookie-jar HTTP client that
// follows redirects, as a browser would.
type browser struct {
	t *testing.T
	c *http.Client
}

// page is a fetched HTML page.
type page struct {
	t      *testing.T
	url    *url.URL
	status int
	body   string
}

// htmlForm is a form of a page: where it posts and its hidden fields.
type htmlForm struct {
	action *url.URL
	fields url.Values
}

func (b *browser) get(u string) *page {
	b.t.Helper()
	resp, err := b.c.Get(u)
	if err != nil {
		b.t.Fatalf("GET %s: %v", u, err)
	}
	return b.page(resp)
}

func (b *browser) submit(f htmlForm) *page {
	b.t.Helper()
	resp, err := b.c.PostForm(f.action.String(), f.fields)
	if err != nil {
		b.t.Fatalf("POST %s: %v", f.action, err)
	}
	return b.page(resp)
}

func (b *browser) page(resp *http.Response) *page {
	b.t.Helper()
	defer resp.Body.Close()
	body, err := httpx.ReadBody(resp.Body, 0)
	if err != nil {
		b.t.Fatalf("read %s: %v", resp.Request.URL, err)
	}
	return &page{t: b.t, url: resp.Request.URL, status: resp.StatusCode, body: string(body)}
}

// getJSON fetches u, checks the status and decodes the body into v
// (when v is not nil).
func (b *browser) getJSON(u string, status int, v any) {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	// An API client: a missing session gets 401, not a redirect to login.
	req.Header.Set("Accept", "application/json")
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		b.t.Fatalf("GET %s: status %d, want %d: %s", u, resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		b.t.Fatalf("GET %s: Content-Type %q, want JSON", u, ct)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			b.t.Fatalf("GET %s: %v: %s", u, err, body)
		}
	}
}

// want checks the page's status, path and that it shows text.
func (p *page) want(status int, path, text string) {
	p.t.Helper()
	if p.status != status || p.url.Path != path || !strings.Contains(p.body, text) {
		p.t.Fatalf("at %s: status %d, want %d at path %s showing %q; the page:\n%s", p.url, p.status, status, path, text, p.body)
	}
}

var (
	formRE  = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	inputRE = regexp.MustCompile(`(?i)<input\b([^>]*)>`)
	attrRE  = regexp.MustCompile(`([a-zA-Z_:-]+)="([^"]*)"`)
)

// form returns the page's form whose action attribute is action, with its
// hidden inputs, the action resolved against the page's URL.
func (p *page) form(action string) htmlForm {
	p.t.Helper()
	for _, m := range formRE.FindAllStringSubmatch(p.body, -1) {
		attrs := attributes(m[1])
		if attrs["action"] != action {
			continue
		}
		if !strings.EqualFold(attrs["method"], "post") {
			p.t.Fatalf("at %s: form %q has method %q, want post", p.url, action, attrs["method"])
		}
		ref, err := url.Parse(action)
		if err != nil {
			p.t.Fatalf("at %s: form action %q: %v", p.url, action, err)
		}
		f := htmlForm{action: p.url.ResolveReference(ref), fields: url.Values{}}
		for _, in := range inputRE.FindAllStringSubmatch(m[2], -1) {
			a := attributes(in[1])
			if strings.EqualFold(a["type"], "hidden") && a["name"] != "" {
				f.fields.Set(a["name"], a["value"])
			}
		}
		return f
	}
	p.t.Fatalf("at %s: no form with action %q in:\n%s", p.url, action, p.body)
	return htmlForm{}
}

// attributes parses the double-quoted attributes of a tag.
func attributes(s string) map[string]string {
	out := map[string]string{}
	for _, m := range attrRE.FindAllStringSubmatch(s, -1) {
		out[strings.ToLower(m[1])] = html.UnescapeString(m[2])
	}
	return out
}
