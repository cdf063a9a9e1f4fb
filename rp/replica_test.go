package rp_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/rp"
	"github.com/oidcrp/oidcrp/rp/rptest"
	"github.com/oidcrp/oidcrp/rp/session"
)

// memLocker is a session.Locker shared by the replicas of a test, as a
// Redis lock would be.
type memLocker struct {
	mu    sync.Mutex // guards held
	held  map[string]chan struct{}
	locks int
}

func (l *memLocker) Lock(ctx context.Context, key string, ttl time.Duration) (func(), error) {
	for {
		l.mu.Lock()
		if l.held == nil {
			l.held = map[string]chan struct{}{}
		}
		ch, busy := l.held[key]
		if !busy {
			done := make(chan struct{})
			l.held[key] = done
			l.locks++
			l.mu.Unlock()
			return func() {
				l.mu.Lock()
				delete(l.held, key)
				l.mu.Unlock()
				close(done)
			}, nil
		}
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// TestRefreshAcrossReplicas runs two RPs over one server-side store and
// one lock: concurrent requests of one session on both make exactly one
// refresh, and both end up with the rotated tokens.
func TestRefreshAcrossReplicas(t *testing.T) {
	backend := session.NewMemoryBackend()
	locker := &memLocker{}
	e := newEnv(t, envOption{
		config: func(c *rp.Config) {
			c.Store = session.NewServerStore(backend, session.CookieOptions{})
			c.Locker = locker
		},
		provider: []rptest.Option{rptest.WithAccessTokenTTL(10 * time.Minute)},
	})
	cfg := e.cfg
	cfg.Store = session.NewServerStore(backend, session.CookieOptions{})
	cfg.Locker = locker
	r2, err := rp.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	replica := httptest.NewServer(r2.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s, _ := rp.SessionFrom(req.Context())
		io.WriteString(w, "hello "+s.Subject())
	})))
	defer replica.Close()

	b := e.browser()
	b.login()
	// A slow token endpoint makes both replicas load the expired session
	// before either refresh is done.
	e.op.SetMisbehaviour(rptest.Misbehaviour{TokenDelay: 300 * time.Millisecond})
	e.clock.Advance(11 * time.Minute)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := 0; i < 100; i++ {
		target := e.app.URL + "/private"
		if i%2 == 1 {
			target = replica.URL + "/private"
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, target, nil)
			req.Header.Set("Accept", "application/json")
			resp, err := b.noRedirect().Do(req)
			if err != nil {
				errs <- err
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				errs <- fmt.Errorf("%s: %d", target, resp.StatusCode)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := e.op.Count("refresh"); n != 1 {
		t.Errorf("%d refresh calls from two replicas, want 1", n)
	}
	if locker.locks < 2 {
		t.Errorf("the refresh lock was taken %d times; both replicas should have waited on it", locker.locks)
	}
}
