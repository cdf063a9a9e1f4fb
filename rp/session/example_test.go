package session_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/oidcrp/oidcrp/rp/session"
)

// A cookie store seals the whole session into the browser's cookies.
func ExampleCookieStore() {
	newSecret := bytes.Repeat([]byte{1}, 32) // use 32 random bytes
	oldSecret := bytes.Repeat([]byte{2}, 32) // still opens cookies it sealed
	codec, err := session.NewCodec(newSecret, oldSecret)
	if err != nil {
		panic(err)
	}
	store := session.NewCookieStore(codec, session.CookieOptions{Secure: true})

	// At the end of the login callback.
	id, _ := session.NewID()
	s := &session.Session{ID: id, Issuer: "https://id.example.com/", Subject: "alice",
		AccessToken: "at", TokenType: "Bearer", IDToken: "eyJhbGciOi..."}
	w := httptest.NewRecorder()
	if err := store.Save(w, nil, s); err != nil {
		panic(err)
	}

	// On a later request the browser sends the cookies back.
	r := httptest.NewRequest(http.MethodGet, "https://rp.example/me", nil)
	for _, c := range w.Result().Cookies() {
		if c.Path == "/" {
			r.AddCookie(c)
		}
	}
	loaded, err := store.Load(r)
	if err != nil {
		panic(err) // a system failure; a missing or tampered session is (nil, nil)
	}
	fmt.Println(loaded.Subject, loaded.IDToken == "")
	// Output: alice true
}

// A server store keeps the record in a backend and only the ID in the
// cookie; a back-channel logout can end sessions by the provider's sid.
func ExampleServerStore() {
	store := session.NewServerStore(session.NewMemoryBackend(), session.CookieOptions{})
	id, _ := session.NewID()
	s := &session.Session{ID: id, Issuer: "https://id.example.com/", Subject: "alice", SID: "sid-1"}
	if err := store.Save(httptest.NewRecorder(), nil, s); err != nil {
		panic(err)
	}
	if ix, ok := session.IndexerOf(store); ok {
		n, err := ix.DeleteBySID(context.Background(), "https://id.example.com/", "sid-1")
		fmt.Println(n, err)
	}
	// Output: 1 <nil>
}

// Revocations let stateless cookie sessions be ended by a back-channel
// logout: refuse a session created before its sid was revoked.
func ExampleMemoryRevocations() {
	revoked := session.NewMemoryRevocations(0, nil)
	ctx := context.Background()
	created := time.Now().Add(-time.Minute)
	_ = revoked.Revoke(ctx, "https://id.example.com/\x00sid-1", time.Now(), 12*time.Hour)

	at, ok, _ := revoked.RevokedAt(ctx, "https://id.example.com/\x00sid-1")
	fmt.Println(ok && !created.After(at))
	// Output: true
}
