package httpx

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/internal/leaktest"
)

// slowLorisServer answers every request slowly: with headersFirst it sends the
// status at once and then one byte every 20 ms forever (a slow-loris
// answer); otherwise it never sends anything. Either way it stops when the
// client goes away or stop is closed.
func slowLorisServer(t *testing.T, headersFirst bool) (*httptest.Server, func()) {
	t.Helper()
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if headersFirst {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			w.Write([]byte("{"))
			w.(http.Flusher).Flush()
		}
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-r.Context().Done():
				return
			case <-stop:
				return
			case <-tick.C:
				if headersFirst {
					if _, err := w.Write([]byte(" ")); err != nil {
						return
					}
					w.(http.Flusher).Flush()
				}
			}
		}
	}))
	return srv, func() {
		close(stop)
		srv.Close()
	}
}

// TestNewClientSlowLoris: a provider that never answers, or trickles its
// answer forever, costs a bounded time and leaves no goroutine behind.
func TestNewClientSlowLoris(t *testing.T) {
	for _, tc := range []struct {
		name         string
		headersFirst bool
	}{
		{"no headers", false},
		{"trickled body", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			baseline := runtime.NumGoroutine()
			srv, stop := slowLorisServer(t, tc.headersFirst)
			c := NewClient(300*time.Millisecond, 0)
			// A safety net, so that a client without timeouts fails the
			// test instead of hanging it.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
			start := time.Now()
			resp, err := c.Do(req)
			if err == nil {
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			elapsed := time.Since(start)
			if err == nil {
				t.Error("the slow answer was read to its end")
			}
			if elapsed > 3*time.Second {
				t.Errorf("gave up after %v, want about 300ms", elapsed)
			}
			c.CloseIdleConnections()
			stop()
			leaktest.WaitGoroutines(t, baseline)
		})
	}
}
