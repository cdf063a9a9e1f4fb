package userinfo_test

import (
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/internal/httpx"
	"github.com/oidcrp/oidcrp/internal/leaktest"
	"github.com/oidcrp/oidcrp/rp/rptest"
	"github.com/oidcrp/oidcrp/userinfo"
)

// TestSlowLorisUserinfo: a userinfo endpoint that answers 200 at once and
// then trickles its body forever costs the HTTP client's timeout, and
// leaves no goroutine behind.
func TestSlowLorisUserinfo(t *testing.T) {
	baseline := runtime.NumGoroutine()
	t.Run("fetch", func(t *testing.T) {
		stop := make(chan struct{})
		s := newScripted(t, func(_ *rptest.Provider, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			w.Write([]byte(`{"sub":"alice"`))
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
		}, nil)
		t.Cleanup(func() { close(stop) })
		client := httpx.NewClient(200*time.Millisecond, 0)
		t.Cleanup(client.CloseIdleConnections)
		uic := newClient(t, s.op.Issuer(), func(c *userinfo.Config) { c.HTTPClient = client })
		start := time.Now()
		if _, err := uic.Fetch(ctxTimeout(t), testToken, "alice"); err == nil {
			t.Fatal("a trickled answer was accepted")
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Fetch took %v; the client's timeout is 200ms", d)
		}
	})
	leaktest.WaitGoroutines(t, baseline)
}
