package session

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is an injectable clock.
type fakeClock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func newClock() *fakeClock {
	// Real time, so cookie jars (which use the real clock) agree.
	return &fakeClock{t: time.Now().UTC().Truncate(time.Second)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// secret returns a deterministic 32-byte secret.
func secret(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func mustCodec(t testing.TB, secrets ...[]byte) *Codec {
	t.Helper()
	c, err := NewCodec(secrets...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustID(t testing.TB) string {
	t.Helper()
	id, err := NewID()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// randText returns n characters of random base64url text (incompressible).
func randText(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

// jwtLike returns a three-part token of about n bytes.
func jwtLike(n int) string {
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","kid":"k1","typ":"JWT"}`))
	sig := randText(342)
	return h + "." + randText(max(1, n-len(h)-len(sig)-2)) + "." + sig
}

// claimsJSON returns an ID-token claims object of about 600 bytes.
func claimsJSON() string {
	return `{"iss":"https://id.example.com/","sub":"248289761001","aud":["client-1234567890"],` +
		`"exp":1900000000,"iat":1700000000,"auth_time":1700000000,"nonce":"n-0S6_WzA2Mj",` +
		`"sid":"08a5019c-17e1-4977-8f42-65a12843ea02","at_hash":"77QmUPtjPfzWtF2AnpK9RQ",` +
		`"acr":"urn:mace:incommon:iap:silver","amr":["pwd","otp"],"azp":"client-1234567890",` +
		`"name":"Jane Doe","given_name":"Jane","family_name":"Doe","email":"janedoe@example.com",` +
		`"email_verified":true,"locale":"en-US","zoneinfo":"Europe/Paris",` +
		`"picture":"https://id.example.com/janedoe/me.jpg","updated_at":1690000000,` +
		`"preferred_username":"j.doe","ext":{"tenant":"acme"}}`
}

// sampleSession is a realistic logged-in session: about 2 KB of tokens and
// claims in the session cookie, plus an ID token.
func sampleSession(t testing.TB, now time.Time) *Session {
	return &Session{
		ID:           mustID(t),
		Issuer:       "https://id.example.com/",
		Subject:      "248289761001",
		SID:          "08a5019c-17e1-4977-8f42-65a12843ea02",
		IDToken:      jwtLike(900),
		AccessToken:  jwtLike(900),
		TokenType:    "Bearer",
		RefreshToken: jwtLike(500),
		Expiry:       now.Add(time.Hour),
		TokenIssued:  now,
		ClaimsJSON:   claimsJSON(),
		CreatedAt:    now,
		LastSeen:     now,
	}
}

// browser is a cookie jar standing in for a browser: it applies path
// scoping, Max-Age deletion and Secure like a real one.
type browser struct {
	t   testing.TB
	jar *cookiejar.Jar
}

func newBrowser(t testing.TB) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, jar: jar}
}

func (b *browser) url(raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		b.t.Fatal(err)
	}
	return u
}

// receive stores the cookies a response sets, as if served from rawURL.
func (b *browser) receive(rawURL string, rec *httptest.ResponseRecorder) {
	b.jar.SetCookies(b.url(rawURL), rec.Result().Cookies())
}

// request builds a request to rawURL carrying the cookies the browser
// would send there.
func (b *browser) request(rawURL string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, rawURL, nil)
	for _, c := range b.jar.Cookies(b.url(rawURL)) {
		r.AddCookie(c)
	}
	return r
}

// cookieNames returns the names of the cookies the browser would send.
func (b *browser) cookieNames(rawURL string) []string {
	var names []string
	for _, c := range b.jar.Cookies(b.url(rawURL)) {
		names = append(names, c.Name)
	}
	return names
}

// requestWithCookies builds a request with the given name=value pairs in
// one Cookie header, in order.
func requestWithCookies(pairs ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "https://rp.example/", nil)
	if len(pairs) > 0 {
		r.Header.Set("Cookie", strings.Join(pairs, "; "))
	}
	return r
}

// setCookies returns the cookies a recorder's response sets, by name.
func setCookies(rec *httptest.ResponseRecorder) map[string]*http.Cookie {
	m := map[string]*http.Cookie{}
	for _, c := range rec.Result().Cookies() {
		m[c.Name] = c
	}
	return m
}

// sameSession compares every field, times with Equal.
func sameSession(t testing.TB, got, want *Session) {
	t.Helper()
	if got == nil || want == nil {
		t.Fatalf("got %v, want %v", got, want)
	}
	g, w := *got, *want
	for _, p := range []struct {
		name string
		a, b time.Time
	}{{"Expiry", g.Expiry, w.Expiry}, {"TokenIssued", g.TokenIssued, w.TokenIssued}, {"CreatedAt", g.CreatedAt, w.CreatedAt}, {"LastSeen", g.LastSeen, w.LastSeen}} {
		if !p.a.Equal(p.b) {
			t.Errorf("%s = %v, want %v", p.name, p.a, p.b)
		}
	}
	g.Expiry, g.TokenIssued, g.CreatedAt, g.LastSeen = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	w.Expiry, w.TokenIssued, w.CreatedAt, w.LastSeen = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if g != w {
		t.Errorf("session mismatch:\n got %+v\nwant %+v", g, w)
	}
}
