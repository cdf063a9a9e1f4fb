package rp

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/discovery"
	"github.com/oidcrp/oidcrp/rp/session"
	"github.com/oidcrp/oidcrp/userinfo"
)

type nopWriter struct{ h http.Header }

func (d *nopWriter) Header() http.Header         { return d.h }
func (d *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *nopWriter) WriteHeader(int)             {}

// benchmarkRequireAuthUserInfo measures RequireAuth with userinfo
// enrichment on or off; with it on, the answer is already cached, as it
// is on every request but the first after login, a refresh or the TTL.
func benchmarkRequireAuthUserInfo(b *testing.B, enrich bool) {
	md := &discovery.Metadata{
		Issuer:                           "https://127.0.0.1:9",
		AuthorizationEndpoint:            "https://127.0.0.1:9/oauth2/auth",
		TokenEndpoint:                    "https://127.0.0.1:9/oauth2/token",
		UserinfoEndpoint:                 "https://127.0.0.1:9/userinfo",
		JWKSURI:                          "https://127.0.0.1:9/.well-known/jwks.json",
		ResponseTypesSupported:           []string{"code"},
		SubjectTypesSupported:            []string{"public"},
		IDTokenSigningAlgValuesSupported: []string{"RS256"},
	}
	p, err := discovery.New(discovery.Config{Issuer: md.Issuer, Metadata: md, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	key := []byte("0123456789abcdef0123456789abcdef-bench")
	r, err := New(context.Background(), Config{
		Provider: p, ClientID: "app", RedirectURL: "https://app.example.com/callback",
		SessionKeys: [][]byte{key}, UserInfo: enrich,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	now := time.Now()
	rec := &session.Session{
		ID: strings.Repeat("i", 43), Issuer: md.Issuer, Subject: "248289761001", SID: "sid-1",
		AccessToken: strings.Repeat("a", 1000), TokenType: "bearer", RefreshToken: strings.Repeat("r", 200),
		Expiry: now.Add(time.Hour), TokenIssued: now, CreatedAt: now, LastSeen: now,
		ClaimsJSON: `{"iss":"https://127.0.0.1:9","sub":"248289761001","aud":["app"],"email":"jane@example.com","name":"Jane Doe"}`,
	}
	if enrich {
		info, err := userinfo.ParseInfo([]byte(`{"sub":"248289761001","email":"jane@example.com","name":"Jane Doe","locale":"en-US","picture":"https://example.com/jane.png"}`))
		if err != nil {
			b.Fatal(err)
		}
		r.uiCache.put(rec.ID, userInfoEntry{info: info, fetched: now, tokenIssued: now})
	}
	w := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "https://app.example.com/api/whoami", nil)
	if err := r.store.Save(w, req, rec); err != nil {
		b.Fatal(err)
	}
	req = httptest.NewRequest(http.MethodGet, "https://app.example.com/api/whoami", nil)
	for _, c := range w.Result().Cookies() {
		req.AddCookie(c)
	}
	h := r.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s, ok := SessionFrom(req.Context())
		if !ok {
			b.Fatal("no session")
		}
		if _, ok := s.UserInfo(); ok != enrich {
			b.Fatal("userinfo not served from the cache")
		}
	}))
	nw := &nopWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(nw, req)
	}
}

func BenchmarkRequireAuthWithoutUserInfo(b *testing.B) { benchmarkRequireAuthUserInfo(b, false) }

func BenchmarkRequireAuthCachedUserInfo(b *testing.B) { benchmarkRequireAuthUserInfo(b, true) }
