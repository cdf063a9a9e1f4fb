package discovery

import (
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/internal/httpx"
	"github.com/oidcrp/oidcrp/internal/leaktest"
)

// trickle answers 200 at once, then one byte every 20 ms until the client
// goes away or stop is closed: a slow-loris answer.
func trickle(stop <-chan struct{}) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
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
			case <-stop:
				return
			case <-tick.C:
				if _, err := w.Write([]byte(" ")); err != nil {
					return
				}
				w.(http.Flusher).Flush()
			}
		}
	}
}

// TestSlowLorisProvider: a provider that trickles its metadata or JWKS
// answer costs the HTTP client's timeout, not the caller's patience, and
// once the Provider is closed no goroutine is left behind.
func TestSlowLorisProvider(t *testing.T) {
	for _, tc := range []struct {
		name string
		slow func(op *fakeOP, stop chan struct{})
		call func(p *Provider) error
	}{
		{"metadata", func(op *fakeOP, stop chan struct{}) { op.setMD(trickle(stop)) }, func(p *Provider) error {
			_, err := p.Metadata(ctxTimeout(t, 5*time.Second))
			return err
		}},
		{"JWKS", func(op *fakeOP, stop chan struct{}) { op.setJWKS(trickle(stop)) }, func(p *Provider) error {
			_, err := p.KeySet().Keys(ctxTimeout(t, 5*time.Second))
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			baseline := runtime.NumGoroutine()
			stop := make(chan struct{})
			op := newFakeOP(t, testKey(t, "rsa", "k1"))
			tc.slow(op, stop)
			client := httpx.NewClient(200*time.Millisecond, 0)
			p, err := New(Config{Issuer: op.srv.URL, HTTPClient: client, Logger: quietLogger,
				RetryBackoff: 50 * time.Millisecond, MaxRetryBackoff: 100 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			err = tc.call(p)
			if err == nil {
				t.Error("a trickled answer was accepted")
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("the caller waited %v; the client's timeout is 200ms", d)
			}
			p.Close()
			close(stop)
			client.CloseIdleConnections()
			op.srv.Close()
			leaktest.WaitGoroutines(t, baseline)
		})
	}
}
