package rp

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/rp/rptest"
)

// fuzzKey seals the cookies of the fuzz targets' RPs. It is fixed so that
// sealed seeds made by one fuzzing process open in the others.
var fuzzKey = []byte("fuzz-key-0123456789abcdef0123456789abcdef")

// fuzzRP returns an RP in front of an in-process provider, its RedirectURL
// being http://127.0.0.1/callback.
func fuzzRP(f *testing.F) *RP {
	f.Helper()
	op := rptest.NewProvider(f)
	op.RegisterClient(rptest.Client{ID: "app", Secret: "s", RedirectURIs: []string{"http://127.0.0.1/callback"}})
	r, err := New(context.Background(), Config{
		Issuer: op.Issuer(), ClientID: "app", ClientSecret: "s", RedirectURL: "http://127.0.0.1/callback",
		SessionKeys: [][]byte{fuzzKey}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { r.Close() })
	return r
}

// fuzzFlowCookie seals a login flow with the given state, as saveFlow does.
func fuzzFlowCookie(f *testing.F, r *RP, state string) string {
	f.Helper()
	rec := httptest.NewRecorder()
	fl := &loginFlow{State: state, Nonce: "n-0123456789", Verifier: strings.Repeat("v", 43), ReturnTo: "/", Created: time.Now().Unix(), MaxAge: -1}
	if err := r.saveFlow(rec, httptest.NewRequest(http.MethodGet, "/login", nil), fl); err != nil {
		f.Fatal(err)
	}
	c := rec.Result().Cookies()[0]
	return c.Name + "=" + c.Value
}

// request builds a GET (or other method) request for path with a raw
// query and Cookie header that httptest.NewRequest might refuse.
func fuzzRequest(method, path, rawQuery, cookie string) *http.Request {
	req := &http.Request{
		Method:     method,
		URL:        &url.URL{Scheme: "http", Host: "127.0.0.1", Path: path, RawQuery: rawQuery},
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     http.Header{},
		Host:       "127.0.0.1",
		RemoteAddr: "192.0.2.1:1234",
		RequestURI: path,
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	return req.WithContext(context.Background())
}

// FuzzCleanReturnTo: whatever return_to a browser sends, what is accepted
// is a path on this site — also once http.Redirect has written it and a
// URL parser has resolved it — and cleaning it again changes nothing.
func FuzzCleanReturnTo(f *testing.F) {
	for _, s := range []string{
		"/", "/a/b?c=d#frag", "//evil.example", "/\\evil.example", "https://evil.example",
		"/%2F%2Fevil.example", "/%5Cevil.example", "a", "/\x00", "/\x7f", "/x\r\nSet-Cookie: a=b",
		"/@evil.example", "/.//evil.example", "/..//evil.example", "/%2e%2e//evil.example",
		"javascript:alert(1)", "/\tevil", "/private?x=1", "/a?next=//evil.example", "/%0d%0aLocation:%20//evil",
	} {
		f.Add(s)
	}
	base, _ := url.Parse("https://app.example/some/page")
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := cleanReturnTo(s)
		if !ok {
			if got != "" {
				t.Fatalf("refused %q but returned %q", s, got)
			}
			return
		}
		if got == "" || got[0] != '/' || len(got) > maxReturnTo {
			t.Fatalf("cleanReturnTo(%q) = %q: not a rooted path", s, got)
		}
		if len(got) > 1 && (got[1] == '/' || got[1] == '\\') {
			t.Fatalf("cleanReturnTo(%q) = %q: scheme-relative", s, got)
		}
		for i := 0; i < len(got); i++ {
			if c := got[i]; c < 0x20 || c == 0x7f || c == '\\' {
				t.Fatalf("cleanReturnTo(%q) = %q: byte %#x", s, got, c)
			}
		}
		if again, ok := cleanReturnTo(got); !ok || again != got {
			t.Fatalf("cleaning %q again gives %q, %v", got, again, ok)
		}
		// As written by http.Redirect and resolved by a client.
		rec := httptest.NewRecorder()
		http.Redirect(rec, httptest.NewRequest(http.MethodGet, "https://app.example/callback", nil), got, http.StatusSeeOther)
		loc := rec.Header().Get("Location")
		u, err := url.Parse(loc)
		if err != nil {
			t.Fatalf("Location %q for %q does not parse: %v", loc, got, err)
		}
		if r := base.ResolveReference(u); r.Scheme != "https" || r.Host != "app.example" || r.User != nil {
			t.Fatalf("return_to %q → Location %q resolves to %s", s, loc, r)
		}
		if strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, "/\\") {
			t.Fatalf("return_to %q → scheme-relative Location %q", s, loc)
		}
	})
}

// FuzzCallback: no query string or cookie an attacker can make up gets
// past the callback. Every answer is an error page (never a session
// cookie, never a redirect), and provider-supplied text is escaped.
func FuzzCallback(f *testing.F) {
	r := fuzzRP(f)
	state := "fuzz-state-0123456789abcdefghijklmnopqrstuvwxyz"
	flow := fuzzFlowCookie(f, r, state)
	for _, s := range []struct{ q, c string }{
		{"code=x&state=" + state, flow},
		{"code=x&state=" + state + "&iss=https%3A%2F%2Fattacker.example", flow},
		{"code=x&state=" + state[:20], flow},
		{"code=x&state=" + state, ""},
		{"state=" + state, flow},
		{"error=access_denied&error_description=%3Cscript%3Ealert(1)%3C%2Fscript%3E&state=" + state, flow},
		{"error=%3Cimg+src%3Dx+onerror%3Dalert(1)%3E&error_uri=javascript%3Aalert(1)", ""},
		{"error=access_denied&error_description=account+locked+call+5550100&state=forged", flow},
		{"error=access_denied&error_description=account+locked+call+5550100&state=" + state, ""},
		{"code=a&code=b&state=x&state=y", "oidcrp_flow_x=y"},
		{"%zz=%", "oidcrp_flow_=;oidcrp_flow_fuzz-state-012345=garbage"},
		{"", ""},
	} {
		f.Add("GET", s.q, s.c)
	}
	f.Add("POST", "code=x&state="+state, flow)
	// The page for a callback of no login in progress, as it reads
	// without any provider text.
	page := httptest.NewRecorder()
	r.CallbackHandler().ServeHTTP(page, fuzzRequest(http.MethodGet, "/callback", "state=none", ""))
	fixed := strings.ToLower(page.Body.String())
	f.Fuzz(func(t *testing.T, method, query, cookie string) {
		if method != http.MethodGet && method != http.MethodPost && method != http.MethodHead {
			method = http.MethodGet
		}
		rec := httptest.NewRecorder()
		r.CallbackHandler().ServeHTTP(rec, fuzzRequest(method, "/callback", query, cookie))
		res := rec.Result()
		if res.StatusCode < 400 || res.StatusCode > 599 {
			t.Fatalf("callback ?%s with Cookie %q answered %d", query, cookie, res.StatusCode)
		}
		if loc := res.Header.Get("Location"); loc != "" {
			t.Fatalf("callback ?%s redirected to %q", query, loc)
		}
		for _, c := range res.Cookies() {
			if strings.HasPrefix(c.Name, "oidcrp_session") && c.Value != "" {
				t.Fatalf("callback ?%s set %s", query, c.Name)
			}
		}
		// Provider text may be shown, escaped, as text; it must never
		// become markup or a URL the page links to.
		body := strings.ToLower(rec.Body.String())
		// And only for the login this browser started: the text of an
		// error link for no such login is not shown (content spoofing).
		q, _ := url.ParseQuery(query)
		desc := strings.ToLower(q.Get("error_description"))
		ownFlow := q.Get("state") == state && strings.Contains(cookie, flow)
		if q.Get("error") != "" && !ownFlow && plainText(desc) && !strings.Contains(fixed, desc) && strings.Contains(body, desc) {
			t.Fatalf("callback ?%s showed the provider text %q for no login in progress", query, desc)
		}
		for _, tag := range []string{"<script", "<img", "<svg", "<iframe", `="javascript:`, `='javascript:`, `href="data:`} {
			if strings.Contains(body, tag) {
				t.Fatalf("callback ?%s echoed %s unescaped: %s", query, tag, body)
			}
		}
	})
}

// plainText reports whether s is at least 12 characters of lower-case
// letters, digits and spaces with at least three words: text that HTML
// escaping leaves alone.
func plainText(s string) bool {
	if len(s) < 12 || len(strings.Fields(s)) < 3 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == ' ') {
			return false
		}
	}
	return true
}

// FuzzLoginStateCookies: whatever login-state cookies a browser sends,
// the login handler answers with a redirect to the provider, sets exactly
// one new flow cookie, and leaves the browser with at most MaxLoginFlows
// of them.
func FuzzLoginStateCookies(f *testing.F) {
	r := fuzzRP(f)
	var valid []string
	for i := range 7 {
		valid = append(valid, fuzzFlowCookie(f, r, strings.Repeat(string(rune('a'+i)), 16)+"-state-0123456789"))
	}
	f.Add(strings.Join(valid, "; "))
	f.Add(strings.Join(valid[:3], "; ") + "; oidcrp_flow_tampered=AAAA; oidcrp_session=x")
	f.Add(valid[0] + "; " + valid[0] + "; " + valid[1])
	f.Add("oidcrp_flow_=; oidcrp_flow_a=" + strings.Repeat("A", 5000))
	f.Add("")
	f.Fuzz(func(t *testing.T, cookie string) {
		req := fuzzRequest(http.MethodGet, "/login", "return_to=/private", cookie)
		rec := httptest.NewRecorder()
		r.LoginHandler().ServeHTTP(rec, req)
		res := rec.Result()
		if res.StatusCode != http.StatusFound || !strings.HasPrefix(res.Header.Get("Location"), r.cfg.Issuer) {
			t.Fatalf("login with Cookie %q: %d to %q", cookie, res.StatusCode, res.Header.Get("Location"))
		}
		live := map[string]bool{}
		for _, c := range req.Cookies() {
			if strings.HasPrefix(c.Name, flowCookiePrefix) {
				live[c.Name] = true
			}
		}
		added := 0
		for _, c := range res.Cookies() {
			if !strings.HasPrefix(c.Name, flowCookiePrefix) {
				continue
			}
			if c.MaxAge < 0 {
				delete(live, c.Name)
				continue
			}
			added++
			live[c.Name] = true
		}
		if added != 1 {
			t.Fatalf("login with Cookie %q set %d flow cookies", cookie, added)
		}
		if len(live) > r.cfg.MaxLoginFlows {
			t.Fatalf("login with Cookie %q leaves %d flow cookies, cap %d", cookie, len(live), r.cfg.MaxLoginFlows)
		}
		// The flow cookie opens and names its own state.
		for _, c := range res.Cookies() {
			if strings.HasPrefix(c.Name, flowCookiePrefix) && c.MaxAge > 0 {
				fl, ok := r.openFlow(c)
				if !ok || fl.ReturnTo != "/private" {
					t.Fatalf("new flow cookie does not open: %+v", fl)
				}
				if b, _ := json.Marshal(fl); len(b) == 0 {
					t.Fatal("flow does not marshal")
				}
			}
		}
	})
}
