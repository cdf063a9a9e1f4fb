package rp_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/sessions"

	"github.com/oidcrp/oidcrp/discovery"
	"github.com/oidcrp/oidcrp/rp"
	"github.com/oidcrp/oidcrp/rp/session"
)

// benchTokens are realistic sizes: a JWT access token, an opaque refresh
// token and an ID-token claim set, about 2 KB together.
func benchRecord(now time.Time) *session.Session {
	return &session.Session{
		ID:           strings.Repeat("i", 43),
		Issuer:       "https://127.0.0.1:9",
		Subject:      "248289761001",
		SID:          "0b1c3d2e-5f4a-4b6c-8d7e-9f0a1b2c3d4e",
		AccessToken:  "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0." + strings.Repeat("a", 700) + "." + strings.Repeat("s", 342),
		TokenType:    "bearer",
		RefreshToken: "ory_rt_" + strings.Repeat("r", 180),
		Expiry:       now.Add(time.Hour),
		ClaimsJSON:   `{"iss":"https://127.0.0.1:9","sub":"248289761001","aud":["app"],"exp":1795452296,"iat":1795448696,"auth_time":1795448690,"nonce":"` + strings.Repeat("n", 43) + `","sid":"0b1c3d2e-5f4a-4b6c-8d7e-9f0a1b2c3d4e","at_hash":"` + strings.Repeat("h", 22) + `","acr":"0","amr":["pwd"],"email":"jane.doe@example.com","email_verified":true,"name":"Jane Doe","preferred_username":"jane","given_name":"Jane","family_name":"Doe","locale":"en-US","picture":"https://example.com/avatars/jane.png","rat":1795448680}`,
		CreatedAt:    now,
		LastSeen:     now,
		TokenIssued:  now,
	}
}

// benchRP returns an RP over static metadata (no network) and a request
// carrying a valid session cookie.
func benchRP(b *testing.B) (*rp.RP, *http.Request) {
	md := &discovery.Metadata{
		Issuer:                           "https://127.0.0.1:9",
		AuthorizationEndpoint:            "https://127.0.0.1:9/oauth2/auth",
		TokenEndpoint:                    "https://127.0.0.1:9/oauth2/token",
		JWKSURI:                          "https://127.0.0.1:9/.well-known/jwks.json",
		ResponseTypesSupported:           []string{"code"},
		SubjectTypesSupported:            []string{"public"},
		IDTokenSigningAlgValuesSupported: []string{"RS256"},
	}
	p, err := discovery.New(discovery.Config{Issuer: md.Issuer, Metadata: md, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Close() })
	codec, err := session.NewCodec(testKey)
	if err != nil {
		b.Fatal(err)
	}
	store := session.NewCookieStore(codec, session.CookieOptions{Name: "oidcrp_session", Secure: true})
	r, err := rp.New(context.Background(), rp.Config{
		Provider:    p,
		ClientID:    "app",
		RedirectURL: "https://app.example.com/callback",
		SessionKeys: [][]byte{testKey},
		Store:       store,
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "https://app.example.com/api/whoami", nil)
	if err := store.Save(rec, req, benchRecord(time.Now())); err != nil {
		b.Fatal(err)
	}
	req = httptest.NewRequest(http.MethodGet, "https://app.example.com/api/whoami", nil)
	for _, c := range rec.Result().Cookies() {
		req.AddCookie(c)
	}
	return r, req
}

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })

// discardWriter is a ResponseWriter that allocates nothing.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

// BenchmarkBareHandler is the baseline: the handler alone.
func BenchmarkBareHandler(b *testing.B) {
	_, req := benchRP(b)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		okHandler.ServeHTTP(w, req)
	}
}

// BenchmarkRequireAuth is an authenticated request through RequireAuth with
// a sealed-cookie session of about 2 KB.
func BenchmarkRequireAuth(b *testing.B) {
	r, req := benchRP(b)
	h := r.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if _, ok := rp.SessionFrom(req.Context()); !ok {
			b.Fatal("no session")
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	w := &discardWriter{h: http.Header{}}
	h.ServeHTTP(w, req)
	if len(w.h["Set-Cookie"]) != 0 {
		b.Fatalf("steady-state request wrote cookies: %v", w.h)
	}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}

// BenchmarkGorillaCookieStoreLoad loads the same tokens from a default
// gorilla/sessions CookieStore, for comparison.
func BenchmarkGorillaCookieStoreLoad(b *testing.B) {
	rec := benchRecord(time.Now())
	store := sessions.NewCookieStore(testKey[:32])
	req := httptest.NewRequest(http.MethodGet, "https://app.example.com/api/whoami", nil)
	s, _ := store.New(req, "session")
	s.Values["id"] = rec.ID
	s.Values["iss"] = rec.Issuer
	s.Values["sub"] = rec.Subject
	s.Values["sid"] = rec.SID
	s.Values["access_token"] = rec.AccessToken
	s.Values["token_type"] = rec.TokenType
	s.Values["refresh_token"] = rec.RefreshToken
	s.Values["expiry"] = rec.Expiry.Unix()
	s.Values["claims"] = rec.ClaimsJSON
	s.Values["created"] = rec.CreatedAt.Unix()
	s.Values["last_seen"] = rec.LastSeen.Unix()
	w := httptest.NewRecorder()
	if err := s.Save(req, w); err != nil {
		b.Fatal(err)
	}
	req = httptest.NewRequest(http.MethodGet, "https://app.example.com/api/whoami", nil)
	req.AddCookie(w.Result().Cookies()[0])
	b.ReportAllocs()
	for b.Loop() {
		fresh := *req // gorilla caches decoded sessions in the request
		s, err := store.Get(&fresh, "session")
		if err != nil || s.IsNew {
			b.Fatal("gorilla load failed", err)
		}
	}
}
