package session

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
)

// benchSession is the realistic session of the benchmarks: an access token
// and a refresh token (JWT-like, 900 and 500 bytes) and about 600 bytes of
// ID-token claims, about 2 KB in the session cookie. The ID token (900
// bytes) travels in its path-scoped cookie and is not part of a Load.
func benchSession(b *testing.B, now time.Time) *Session {
	return sampleSession(b, now)
}

// benchRequest returns a request carrying the cookies rec sets, after a
// few unrelated cookies as a browser would send them.
func benchRequest(rec *httptest.ResponseRecorder, skip string) *http.Request {
	pairs := []string{"_ga=GA1.1.1234567890.1700000000", "theme=dark"}
	for _, c := range rec.Result().Cookies() {
		if c.Name != skip {
			pairs = append(pairs, c.Name+"="+c.Value)
		}
	}
	return requestWithCookies(pairs...)
}

func BenchmarkCookieStoreLoad(b *testing.B) {
	st := NewCookieStore(mustCodec(b, secret(1)), CookieOptions{})
	rec := httptest.NewRecorder()
	if err := st.Save(rec, nil, benchSession(b, time.Now())); err != nil {
		b.Fatal(err)
	}
	r := benchRequest(rec, "oidcrp_session_idt")
	b.SetBytes(int64(len(r.Header.Get("Cookie"))))
	b.ReportAllocs()
	for b.Loop() {
		s, err := st.Load(r)
		if err != nil || s == nil {
			b.Fatal("no session", err)
		}
	}
}

func BenchmarkCookieStoreLoadParallel(b *testing.B) {
	st := NewCookieStore(mustCodec(b, secret(1)), CookieOptions{})
	rec := httptest.NewRecorder()
	if err := st.Save(rec, nil, benchSession(b, time.Now())); err != nil {
		b.Fatal(err)
	}
	r := benchRequest(rec, "oidcrp_session_idt")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if s, _ := st.Load(r); s == nil {
				b.Error("no session")
				return
			}
		}
	})
}

func BenchmarkCookieStoreSave(b *testing.B) {
	st := NewCookieStore(mustCodec(b, secret(1)), CookieOptions{})
	s := benchSession(b, time.Now())
	s.IDToken = "" // a save after a refresh: the ID-token cookie is untouched
	r := requestWithCookies()
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		if err := st.Save(w, r, s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCookieStoreSaveWithIDToken(b *testing.B) {
	st := NewCookieStore(mustCodec(b, secret(1)), CookieOptions{})
	s := benchSession(b, time.Now())
	r := requestWithCookies()
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		if err := st.Save(w, r, s); err != nil {
			b.Fatal(err)
		}
	}
}

// gorillaBench is a gorilla/sessions CookieStore (authenticated and
// encrypted) holding the same data as strings in Values.
func gorillaBench(b *testing.B) (*sessions.CookieStore, *http.Request) {
	cs := sessions.NewCookieStore(secret(3), secret(4))
	for _, c := range cs.Codecs {
		c.(*securecookie.SecureCookie).MaxLength(0) // the value exceeds 4096 bytes
	}
	s := benchSession(b, time.Now())
	g := sessions.NewSession(cs, "gsess")
	g.Options = &sessions.Options{Path: "/", MaxAge: 3600, HttpOnly: true}
	for k, v := range map[string]string{
		"id": s.ID, "iss": s.Issuer, "sub": s.Subject, "sid": s.SID,
		"access_token": s.AccessToken, "token_type": s.TokenType, "refresh_token": s.RefreshToken,
		"expiry": s.Expiry.Format(time.RFC3339Nano), "claims": s.ClaimsJSON,
		"created_at": s.CreatedAt.Format(time.RFC3339Nano), "last_seen": s.LastSeen.Format(time.RFC3339Nano),
	} {
		g.Values[k] = v
	}
	rec := httptest.NewRecorder()
	if err := cs.Save(requestWithCookies(), rec, g); err != nil {
		b.Fatal(err)
	}
	return cs, benchRequest(rec, "")
}

func BenchmarkGorillaCookieStoreLoad(b *testing.B) {
	cs, r := gorillaBench(b)
	b.SetBytes(int64(len(r.Header.Get("Cookie"))))
	b.ReportAllocs()
	for b.Loop() {
		g, err := cs.New(r, "gsess")
		if err != nil || g.IsNew {
			b.Fatal("no session", err)
		}
	}
}

func BenchmarkGorillaCookieStoreSave(b *testing.B) {
	cs, r := gorillaBench(b)
	g, err := cs.New(r, "gsess")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := cs.Save(r, httptest.NewRecorder(), g); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkServerStoreLoadMemory(b *testing.B) {
	st := NewServerStore(NewMemoryBackend(), CookieOptions{})
	rec := httptest.NewRecorder()
	if err := st.Save(rec, nil, benchSession(b, time.Now())); err != nil {
		b.Fatal(err)
	}
	r := benchRequest(rec, "")
	b.ReportAllocs()
	for b.Loop() {
		if s, _ := st.Load(r); s == nil {
			b.Fatal("no session")
		}
	}
}

func BenchmarkServerStoreLoadFileCached(b *testing.B) {
	f, err := NewFileStore(b.TempDir(), mustCodec(b, secret(1)), FileOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	st := NewServerStore(f, CookieOptions{})
	rec := httptest.NewRecorder()
	if err := st.Save(rec, nil, benchSession(b, time.Now())); err != nil {
		b.Fatal(err)
	}
	r := benchRequest(rec, "")
	b.ReportAllocs()
	for b.Loop() {
		if s, _ := st.Load(r); s == nil {
			b.Fatal("no session")
		}
	}
}

func BenchmarkFileStoreSet(b *testing.B) {
	f, err := NewFileStore(b.TempDir(), mustCodec(b, secret(1)), FileOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	s := benchSession(b, time.Now())
	exp := time.Now().Add(time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		if err := f.Set(b.Context(), s, exp); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshalBinary(b *testing.B) {
	data, err := benchSession(b, time.Now()).MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var s Session
		if err := s.UnmarshalBinary(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeBase64(b *testing.B) {
	s := strings.Repeat(randText(1000), 3)
	dst := make([]byte, len(s))
	b.SetBytes(int64(len(s)))
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := decodeBase64(dst, s); !ok {
			b.Fatal("decode failed")
		}
	}
}
