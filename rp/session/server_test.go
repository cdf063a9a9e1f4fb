package session

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// backendCase builds a backend for the shared ServerStore tests.
type backendCase struct {
	name string
	new  func(t *testing.T, clk *fakeClock) Backend
}

func backendCases() []backendCase {
	return []backendCase{
		{name: "memory", new: func(t *testing.T, clk *fakeClock) Backend {
			m := NewMemoryBackend()
			m.now = clk.Now
			return m
		}},
		{name: "file", new: func(t *testing.T, clk *fakeClock) Backend {
			f, err := NewFileStore(t.TempDir(), mustCodec(t, secret(1)), FileOptions{Now: clk.Now})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = f.Close() })
			return f
		}},
	}
}

// countingBackend counts calls to the backend it wraps.
type countingBackend struct {
	Backend
	gets atomic.Int64
}

func (c *countingBackend) Get(ctx context.Context, id string) (*Session, error) {
	c.gets.Add(1)
	return c.Backend.Get(ctx, id)
}

// failingBackend fails every call.
type failingBackend struct{}

var errBackendDown = errors.New("backend down")

func (failingBackend) Get(context.Context, string) (*Session, error)  { return nil, errBackendDown }
func (failingBackend) Set(context.Context, *Session, time.Time) error { return errBackendDown }
func (failingBackend) Delete(context.Context, string) error           { return errBackendDown }

func TestServerStore(t *testing.T) {
	for _, bc := range backendCases() {
		t.Run(bc.name, func(t *testing.T) {
			clk := newClock()
			backend := &countingBackend{Backend: bc.new(t, clk)}
			st := NewServerStore(backend, CookieOptions{Secure: true, MaxAge: time.Hour, Now: clk.Now})
			b := newBrowser(t)
			want := sampleSession(t, clk.Now())
			rec := saveTo(t, st, b, nil, want)

			t.Run("cookie holds only the ID", func(t *testing.T) {
				c := setCookies(rec)["oidcrp_session"]
				if c == nil || c.Value != want.ID || !c.HttpOnly || !c.Secure || c.Domain != "" || c.MaxAge != 3600 {
					t.Fatalf("cookie = %+v", c)
				}
				if len(rec.Header()["Set-Cookie"]) != 1 {
					t.Errorf("Set-Cookie = %v, want one cookie", rec.Header()["Set-Cookie"])
				}
			})
			t.Run("load with ID token on any path", func(t *testing.T) {
				sameSession(t, mustLoad(t, st, b.request(site+"/any")), want)
			})
			t.Run("unknown ID", func(t *testing.T) {
				if s := mustLoad(t, st, requestWithCookies("oidcrp_session="+mustID(t))); s != nil {
					t.Errorf("Load = %+v", s)
				}
			})
			t.Run("malformed ID never reaches the backend", func(t *testing.T) {
				before := backend.gets.Load()
				for _, v := range []string{"short", "../../../etc/passwd-aaaaaaaaaaaa", want.ID + "=", ""} {
					if s := mustLoad(t, st, requestWithCookies("oidcrp_session="+v)); s != nil {
						t.Errorf("Load(%q) = %+v", v, s)
					}
				}
				if n := backend.gets.Load() - before; n != 0 {
					t.Errorf("backend was asked %d times", n)
				}
			})
			t.Run("update keeps one record", func(t *testing.T) {
				s := mustLoad(t, st, b.request(site+"/"))
				s.AccessToken = "rotated"
				saveTo(t, st, b, b.request(site+"/"), s)
				if got := mustLoad(t, st, b.request(site+"/")); got == nil || got.AccessToken != "rotated" {
					t.Errorf("Load after update = %+v", got)
				}
			})
			t.Run("new login deletes the previous record", func(t *testing.T) {
				next := sampleSession(t, clk.Now())
				saveTo(t, st, b, b.request(site+"/callback"), next)
				if s, _ := backend.Get(context.Background(), want.ID); s != nil {
					t.Error("previous session still in the backend")
				}
				if s := mustLoad(t, st, requestWithCookies("oidcrp_session="+want.ID)); s != nil {
					t.Error("previous session ID still loads")
				}
				if got := mustLoad(t, st, b.request(site+"/")); got == nil || got.ID != next.ID {
					t.Errorf("Load = %+v, want the new session", got)
				}
				want = next
			})
			t.Run("absolute expiry", func(t *testing.T) {
				clk.Add(time.Hour)
				defer clk.Add(-time.Hour)
				if s := mustLoad(t, st, b.request(site+"/")); s != nil {
					t.Errorf("Load after MaxAge = %+v", s)
				}
			})
			t.Run("delete", func(t *testing.T) {
				del := httptest.NewRecorder()
				if err := st.Delete(del, b.request(site+"/"), want); err != nil {
					t.Fatal(err)
				}
				b.receive(site+"/", del)
				if names := b.cookieNames(site + "/"); len(names) != 0 {
					t.Errorf("cookies left: %v", names)
				}
				if s := mustLoad(t, st, requestWithCookies("oidcrp_session="+want.ID)); s != nil {
					t.Error("deleted session loads")
				}
			})
			t.Run("DeleteID", func(t *testing.T) {
				s := sampleSession(t, clk.Now())
				saveTo(t, st, b, nil, s)
				if err := st.DeleteID(context.Background(), s.ID); err != nil {
					t.Fatal(err)
				}
				if got := mustLoad(t, st, b.request(site+"/")); got != nil {
					t.Error("session survives DeleteID")
				}
			})
			t.Run("save rejects a malformed ID", func(t *testing.T) {
				if err := st.Save(httptest.NewRecorder(), nil, &Session{ID: "x"}); err == nil {
					t.Error("Save accepted ID \"x\"")
				}
			})
		})
	}
}

func TestServerStoreIndex(t *testing.T) {
	for _, bc := range backendCases() {
		t.Run(bc.name, func(t *testing.T) {
			clk := newClock()
			st := NewServerStore(bc.new(t, clk), CookieOptions{Now: clk.Now})
			ix, ok := IndexerOf(st)
			if !ok {
				t.Fatal("IndexerOf = false")
			}
			const iss, other = "https://id.example.com/", "https://other.example/"
			mk := func(issuer, sub, sid string) *Session {
				s := sampleSession(t, clk.Now())
				s.Issuer, s.Subject, s.SID = issuer, sub, sid
				if err := st.Save(httptest.NewRecorder(), nil, s); err != nil {
					t.Fatal(err)
				}
				return s
			}
			a1 := mk(iss, "alice", "sid-1")
			a2 := mk(iss, "alice", "sid-1") // second device, same provider session
			a3 := mk(iss, "alice", "sid-2")
			b1 := mk(iss, "bob", "sid-3")
			o1 := mk(other, "alice", "sid-1") // same values, other issuer
			nosid := mk(iss, "carol", "")
			loads := func(s *Session) bool {
				return mustLoad(t, st, requestWithCookies("oidcrp_session="+s.ID)) != nil
			}
			ctx := context.Background()

			n, err := ix.DeleteBySID(ctx, iss, "sid-1")
			if err != nil || n != 2 {
				t.Fatalf("DeleteBySID = %d, %v; want 2", n, err)
			}
			for _, c := range []struct {
				name string
				s    *Session
				want bool
			}{{"a1", a1, false}, {"a2", a2, false}, {"a3", a3, true}, {"b1", b1, true}, {"other issuer", o1, true}, {"no sid", nosid, true}} {
				if got := loads(c.s); got != c.want {
					t.Errorf("after DeleteBySID %s loads = %v, want %v", c.name, got, c.want)
				}
			}
			if n, err := ix.DeleteBySID(ctx, iss, ""); err != nil || n != 0 {
				t.Errorf("DeleteBySID(empty sid) = %d, %v", n, err)
			}
			n, err = ix.DeleteBySubject(ctx, iss, "alice")
			if err != nil || n != 1 {
				t.Fatalf("DeleteBySubject = %d, %v; want 1", n, err)
			}
			if loads(a3) || !loads(o1) || !loads(b1) {
				t.Error("DeleteBySubject removed the wrong sessions")
			}
			if n, _ := ix.DeleteBySubject(ctx, iss, "alice"); n != 0 {
				t.Errorf("second DeleteBySubject = %d", n)
			}
			// Updating a session's sid moves it in the index.
			b1.SID = "sid-9"
			if err := st.Save(httptest.NewRecorder(), nil, b1); err != nil {
				t.Fatal(err)
			}
			if n, _ := ix.DeleteBySID(ctx, iss, "sid-3"); n != 0 {
				t.Errorf("old sid still indexed: %d", n)
			}
			if n, _ := ix.DeleteBySID(ctx, iss, "sid-9"); n != 1 {
				t.Errorf("new sid not indexed: %d", n)
			}
		})
	}
}

func TestServerStoreWithoutIndex(t *testing.T) {
	st := NewServerStore(failingBackend{}, CookieOptions{})
	if _, ok := IndexerOf(st); ok {
		t.Error("IndexerOf reports an index the backend does not have")
	}
	if _, err := st.DeleteBySID(context.Background(), "i", "s"); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("DeleteBySID = %v, want ErrUnsupported", err)
	}
	if _, err := st.DeleteBySubject(context.Background(), "i", "s"); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("DeleteBySubject = %v, want ErrUnsupported", err)
	}
	if _, ok := IndexerOf(NewCookieStore(mustCodec(t, secret(1)), CookieOptions{})); ok {
		t.Error("cookie store reported as Indexer")
	}
	if _, ok := IndexerOf(NewServerStore(NewMemoryBackend(), CookieOptions{})); !ok {
		t.Error("server store over memory backend not reported as Indexer")
	}
}

func TestServerStoreBackendFailure(t *testing.T) {
	st := NewServerStore(failingBackend{}, CookieOptions{})
	if _, err := st.Load(requestWithCookies("oidcrp_session=" + mustID(t))); !errors.Is(err, errBackendDown) {
		t.Errorf("Load = %v, want the backend error", err)
	}
	if err := st.Save(httptest.NewRecorder(), nil, &Session{ID: mustID(t)}); !errors.Is(err, errBackendDown) {
		t.Errorf("Save = %v, want the backend error", err)
	}
	if err := st.Delete(httptest.NewRecorder(), nil, &Session{ID: mustID(t)}); !errors.Is(err, errBackendDown) {
		t.Errorf("Delete = %v, want the backend error", err)
	}
	if s, err := st.Load(requestWithCookies()); s != nil || err != nil {
		t.Errorf("Load without cookie = %v, %v; want nil, nil (no backend call)", s, err)
	}
	if err := NewServerStore(nil, CookieOptions{}).Save(httptest.NewRecorder(), nil, &Session{ID: mustID(t)}); err == nil {
		t.Error("nil backend accepted")
	}
}

func TestMemoryBackend(t *testing.T) {
	clk := newClock()
	m := NewMemoryBackend()
	m.now = clk.Now
	ctx := context.Background()
	s := sampleSession(t, clk.Now())
	if err := m.Set(ctx, s, clk.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	t.Run("returns copies", func(t *testing.T) {
		got, _ := m.Get(ctx, s.ID)
		got.Subject = "changed"
		s.Subject = "changed too"
		again, _ := m.Get(ctx, s.ID)
		if again.Subject != "248289761001" {
			t.Errorf("stored record changed through a pointer: %q", again.Subject)
		}
		s.Subject = "248289761001"
	})
	t.Run("expiry", func(t *testing.T) {
		clk.Add(time.Minute)
		if got, _ := m.Get(ctx, s.ID); got != nil {
			t.Error("expired record returned")
		}
		if n, _ := m.DeleteBySID(ctx, s.Issuer, s.SID); n != 0 {
			t.Errorf("DeleteBySID counted %d expired records", n)
		}
	})
	t.Run("set in the past deletes", func(t *testing.T) {
		if err := m.Set(ctx, s, clk.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := m.Set(ctx, s, clk.Now()); err != nil {
			t.Fatal(err)
		}
		if got, _ := m.Get(ctx, s.ID); got != nil {
			t.Error("record set with a past expiry is returned")
		}
	})
	t.Run("sweep bounds memory", func(t *testing.T) {
		for range 3 * minSweep {
			x := &Session{ID: mustID(t), Issuer: "i", Subject: "s", SID: "d"}
			if err := m.Set(ctx, x, clk.Now().Add(time.Second)); err != nil {
				t.Fatal(err)
			}
			clk.Add(time.Second)
		}
		m.mu.RLock()
		n, subs := len(m.items), len(m.idx.bySub[indexKey("i", "s")])
		m.mu.RUnlock()
		if n > minSweep || subs > minSweep {
			t.Errorf("%d records and %d index entries held, want at most %d", n, subs, minSweep)
		}
	})
	t.Run("concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 100 {
					x := &Session{ID: mustID(t), Issuer: "i", Subject: "c", SID: "c"}
					_ = m.Set(ctx, x, clk.Now().Add(time.Hour))
					if got, _ := m.Get(ctx, x.ID); got == nil {
						t.Error("lost a record")
					}
					_, _ = m.DeleteBySubject(ctx, "i", "nobody")
					_ = m.Delete(ctx, x.ID)
				}
			})
		}
		wg.Wait()
	})
}
