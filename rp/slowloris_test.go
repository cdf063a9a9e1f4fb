package rp_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/internal/httpx"
	"github.com/oidcrp/oidcrp/internal/leaktest"
	"github.com/oidcrp/oidcrp/rp"
	"github.com/oidcrp/oidcrp/rp/rptest"
)

// slowTokenEndpoint stands in front of the provider's token endpoint: it
// passes requests through, or, while slow is set, answers 200 at once and
// then trickles one byte every 20 ms (a slow-loris answer).
type slowTokenEndpoint struct {
	srv   *httptest.Server
	slow  atomic.Bool
	proxy atomic.Pointer[httputil.ReverseProxy]
	stop  chan struct{}
}

// newSlowTokenEndpoint starts the endpoint; target sets the provider it
// passes requests to.
func newSlowTokenEndpoint(t *testing.T) *slowTokenEndpoint {
	t.Helper()
	s := &slowTokenEndpoint{stop: make(chan struct{})}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.slow.Load() {
			s.proxy.Load().ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte("{"))
		w.(http.Flusher).Flush()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-r.Context().Done():
				return
			case <-s.stop:
				return
			case <-tick.C:
				if _, err := w.Write([]byte(" ")); err != nil {
					return
				}
				w.(http.Flusher).Flush()
			}
		}
	}))
	t.Cleanup(func() {
		close(s.stop)
		s.srv.Close()
	})
	return s
}

func (s *slowTokenEndpoint) target(op *rptest.Provider) {
	u, _ := url.Parse(op.URL)
	s.proxy.Store(httputil.NewSingleHostReverseProxy(u))
}

// TestSlowLorisTokenEndpoint: a token endpoint that trickles its answer
// makes the callback and a refresh fail with 503 after the HTTP client's
// timeout, instead of holding the request; no goroutine is left behind.
func TestSlowLorisTokenEndpoint(t *testing.T) {
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	baseline := runtime.NumGoroutine()
	client := httpx.NewClient(300*time.Millisecond, 0)
	// slowEnv is an env whose token endpoint is behind a slowTokenEndpoint
	// and whose RP calls the provider with client.
	slowEnv := func(t *testing.T) (*env, *slowTokenEndpoint) {
		slow := newSlowTokenEndpoint(t)
		e := newEnv(t, envOption{
			provider: []rptest.Option{rptest.WithAccessTokenTTL(10 * time.Minute), rptest.WithMetadata(func(m map[string]any) {
				m["token_endpoint"] = slow.srv.URL + rptest.TokenPath
			})},
			config: func(c *rp.Config) { c.HTTPClient = client },
		})
		slow.target(e.op)
		return e, slow
	}
	t.Run("code exchange", func(t *testing.T) {
		e, slow := slowEnv(t)
		slow.slow.Store(true)
		b := e.browser()
		cb := b.startLogin("/login")
		start := time.Now()
		status, _ := b.callback(cb)
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("callback took %v; the client's timeout is 300ms", d)
		}
		if status != http.StatusServiceUnavailable {
			t.Errorf("callback with a slow token endpoint: %d, want 503", status)
		}
		b.c.CloseIdleConnections()
	})
	t.Run("refresh", func(t *testing.T) {
		e, slow := slowEnv(t)
		b := e.browser()
		b.login()
		slow.slow.Store(true)
		e.clock.Advance(11 * time.Minute)
		start := time.Now()
		status, _, _ := b.get("/private", "Accept", "application/json")
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("refresh took %v; the client's timeout is 300ms", d)
		}
		if status != http.StatusServiceUnavailable {
			t.Errorf("request needing a refresh from a slow token endpoint: %d, want 503", status)
		}
		b.c.CloseIdleConnections()
	})
	client.CloseIdleConnections()
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	leaktest.WaitGoroutines(t, baseline)
}
