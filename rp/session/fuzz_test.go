package session

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// recordingBackend is a MemoryBackend that records the IDs it is asked
// for.
type recordingBackend struct {
	*MemoryBackend
	mu  sync.Mutex // guards ids
	ids []string
}

func (b *recordingBackend) Get(ctx context.Context, id string) (*Session, error) {
	b.mu.Lock()
	b.ids = append(b.ids, id)
	b.mu.Unlock()
	return b.MemoryBackend.Get(ctx, id)
}

// FuzzServerStoreLoad: whatever Cookie header a browser sends, the server
// store looks up only well-formed session IDs, never fails, and returns
// only the session stored under the ID the cookie names.
func FuzzServerStoreLoad(f *testing.F) {
	b := &recordingBackend{MemoryBackend: NewMemoryBackend()}
	st := NewServerStore(b, CookieOptions{})
	const id = "fuzz-session-id-0123456789abcdefABCDEF_-xyz"
	if err := b.Set(context.Background(), &Session{ID: id, Issuer: "https://op.example", Subject: "alice", CreatedAt: time.Now()}, time.Now().Add(time.Hour)); err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		"oidcrp_session=" + id, "oidcrp_session=" + id + "; oidcrp_session=other-id-0123456789abcdef",
		`oidcrp_session="` + id + `"`, "oidcrp_session=../../etc/passwd", "oidcrp_session=" + id + "%00",
		"oidcrp_session.1=" + id, "oidcrp_session_idt=" + id, "oidcrp_session=short", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		b.mu.Lock()
		b.ids = b.ids[:0]
		b.mu.Unlock()
		r := httptest.NewRequest(http.MethodGet, "https://rp.example/", nil)
		r.Header.Set("Cookie", header)
		got, err := st.Load(r)
		if err != nil {
			t.Fatalf("Load(%q): %v", header, err)
		}
		b.mu.Lock()
		asked := append([]string(nil), b.ids...)
		b.mu.Unlock()
		for _, a := range asked {
			if !validID(a) {
				t.Fatalf("Cookie %q made the backend look up %q", header, a)
			}
		}
		if got != nil && (got.ID != id || len(asked) != 1 || asked[0] != id) {
			t.Fatalf("Cookie %q loaded %+v after looking up %q", header, got, asked)
		}
	})
}
