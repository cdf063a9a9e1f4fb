package session

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// cookiePairs returns the name=value pairs a recorder's response sets,
// with the names renamed by rename.
func cookiePairs(rec *httptest.ResponseRecorder, rename func(string) string) []string {
	var pairs []string
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge >= 0 && c.Value != "" {
			pairs = append(pairs, rename(c.Name)+"="+c.Value)
		}
	}
	return pairs
}

// TestCookieStoreNameBinding: two applications on one host that share
// their session keys (or one application with two cookie names) cannot
// use each other's session cookies: the cookie name is authenticated
// with the sealed value.
func TestCookieStoreNameBinding(t *testing.T) {
	clk := newClock()
	a := newTestCookieStore(t, clk, CookieOptions{Name: "app_a"})
	b := newTestCookieStore(t, clk, CookieOptions{Name: "app_b"})
	rec := httptest.NewRecorder()
	if err := a.Save(rec, nil, sampleSession(t, clk.Now())); err != nil {
		t.Fatal(err)
	}
	moved := cookiePairs(rec, func(n string) string { return "app_b" + strings.TrimPrefix(n, "app_a") })
	got, err := b.Load(requestWithCookies(moved...))
	if err != nil || got != nil {
		t.Errorf("app_b loaded app_a's session under its own name: %+v, %v", got, err)
	}
}

// TestCookieStoreChunkCountBound: a store refuses a value spread over
// more cookies than its MaxChunks, even one it could open, so that the
// work and header size per request stay bounded by its own setting.
func TestCookieStoreChunkCountBound(t *testing.T) {
	clk := newClock()
	wide := newTestCookieStore(t, clk, CookieOptions{MaxChunks: 8})
	narrow := newTestCookieStore(t, clk, CookieOptions{MaxChunks: 2})
	rec := httptest.NewRecorder()
	s := bigSession(t, clk.Now(), 12000)
	if err := wide.Save(rec, nil, s); err != nil {
		t.Fatal(err)
	}
	pairs := cookiePairs(rec, func(n string) string { return n })
	if len(pairs) < 3 {
		t.Fatalf("the session spans %d cookies, want more than 2", len(pairs))
	}
	if got, err := wide.Load(requestWithCookies(pairs...)); err != nil || got == nil {
		t.Fatalf("the store that sealed it does not load it: %v", err)
	}
	if got, err := narrow.Load(requestWithCookies(pairs...)); err != nil || got != nil {
		t.Errorf("a store with MaxChunks 2 loaded a %d-cookie session: %v", len(pairs), err)
	}
}
