package session_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/rp/session"
)

func TestServerStoreSaveID(t *testing.T) {
	st := session.NewServerStore(session.NewMemoryBackend(), session.CookieOptions{})
	id, _ := session.NewID()
	now := time.Now()
	s := &session.Session{ID: id, Issuer: "https://id", Subject: "alice", AccessToken: "a1", CreatedAt: now, LastSeen: now}
	if err := st.SaveID(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	got, err := st.LoadID(t.Context(), id)
	if err != nil || got == nil || got.AccessToken != "a1" {
		t.Fatalf("LoadID after SaveID = %v, %v", got, err)
	}
	s.AccessToken = "a2"
	if err := st.SaveID(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.LoadID(t.Context(), id); got == nil || got.AccessToken != "a2" {
		t.Fatalf("second SaveID not visible: %v", got)
	}
	// It sets no cookie: nothing to write to.
	w := httptest.NewRecorder()
	if len(w.Header()) != 0 {
		t.Fatal("unexpected header")
	}
	if err := st.SaveID(t.Context(), &session.Session{ID: "bad id"}); err == nil {
		t.Error("SaveID accepted a malformed ID")
	}
	old := &session.Session{ID: id, Issuer: "https://id", Subject: "alice", CreatedAt: now.Add(-48 * time.Hour), LastSeen: now}
	if err := st.SaveID(t.Context(), old); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.LoadID(t.Context(), id); got != nil {
		t.Error("SaveID of a session past its lifetime kept the record")
	}
}
