package registration

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/internal/httpx"
)

// TestAnswerBodyCap: a registration answer is read up to 1 MiB, even
// through a caller's HTTP client that has no limit of its own.
func TestAnswerBodyCap(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{"client_id":"c1","client_secret":"s","x":"` + strings.Repeat("a", 2<<20) + `"}`))
	}))
	defer srv.Close()
	c, err := NewClient(Config{Endpoint: srv.URL + "/register", HTTPClient: &http.Client{Timeout: 5 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Register(context.Background(), &Metadata{RedirectURIs: []string{"http://127.0.0.1/cb"}})
	if !errors.Is(err, httpx.ErrBodyTooLarge) {
		t.Errorf("Register with a 2 MiB answer: %v, want ErrBodyTooLarge", err)
	}
}
