package httpx

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestCheckURLSchemes: provider URLs must be absolute https, or http to a
// loopback host; user info and fragments are refused (RFC 9700 §2.6 asks
// for TLS on every endpoint).
func TestCheckURLSchemes(t *testing.T) {
	tests := []struct {
		name      string
		raw       string
		allowHTTP bool
		ok        bool
	}{
		{"https", "https://id.example.com/path?q=1", false, true},
		{"http 127.0.0.1", "http://127.0.0.1:4444/", false, true},
		{"http 127.1.2.3", "http://127.1.2.3/", false, true},
		{"http localhost", "http://localhost:4444", false, true},
		{"http sub.localhost", "http://id.localhost", false, true},
		{"http [::1]", "http://[::1]:4444/", false, true},
		{"http public host", "http://id.example.com/", false, false},
		{"http cloud metadata address", "http://169.254.169.254/latest/meta-data", false, false},
		{"http private address", "http://10.0.0.8/token", false, false},
		{"http localhost lookalike", "http://localhost.example.com/", false, false},
		{"http 127.0.0.1 lookalike", "http://127.0.0.1.nip.io/", false, false},
		{"http public host with InsecureAllowHTTP", "http://id.example.com/", true, true},
		{"user info", "https://user:pass@id.example.com/", false, false},
		{"fragment", "https://id.example.com/#x", false, false},
		{"relative", "/token", false, false},
		{"scheme-relative", "//id.example.com/token", false, false},
		{"javascript", "javascript:alert(1)", false, false},
		{"file", "file:///etc/passwd", false, false},
		{"gopher", "gopher://127.0.0.1:6379/_FLUSHALL", false, false},
		{"not a URL", "https://id.example.com/%zz", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CheckURL("endpoint", tc.raw, tc.allowHTTP)
			if (err == nil) != tc.ok {
				t.Errorf("CheckURL(%q, allowHTTP=%v) = %v, want ok=%v", tc.raw, tc.allowHTTP, err, tc.ok)
			}
		})
	}
}

// TestLimitTransportCap: no response body is read past the cap, whether the
// provider announces its length or streams it.
func TestLimitTransportCap(t *testing.T) {
	const max = 1024
	tests := []struct {
		name    string
		size    int
		chunked bool
		wantErr bool
	}{
		{"under the cap", max - 1, false, false},
		{"exactly the cap", max, false, false},
		{"exactly the cap, chunked", max, true, false},
		{"one byte over, Content-Length", max + 1, false, true},
		{"one byte over, chunked", max + 1, true, true},
		{"far over, chunked", 64 * max, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body := strings.Repeat("a", tc.size)
				if !tc.chunked {
					w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				}
				w.WriteHeader(http.StatusOK)
				if tc.chunked {
					// Two writes with a flush force chunked encoding.
					half := len(body) / 2
					w.Write([]byte(body[:half]))
					w.(http.Flusher).Flush()
					w.Write([]byte(body[half:]))
					return
				}
				w.Write([]byte(body))
			}))
			defer srv.Close()
			c := NewClient(5*time.Second, max)
			defer c.CloseIdleConnections()
			resp, err := c.Get(srv.URL)
			var n int64
			if err == nil {
				n, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			if tc.wantErr {
				if !errors.Is(err, ErrBodyTooLarge) {
					t.Fatalf("read %d bytes, error %v; want ErrBodyTooLarge", n, err)
				}
				if n > max {
					t.Errorf("read %d bytes past the cap of %d", n, max)
				}
				return
			}
			if err != nil || n != int64(tc.size) {
				t.Fatalf("read %d bytes, error %v; want %d bytes", n, err, tc.size)
			}
		})
	}
	t.Run("default cap is 1 MiB", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(strings.Repeat("a", int(DefaultMaxBody)+1)))
		}))
		defer srv.Close()
		resp, err := Default.Get(srv.URL)
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		if !errors.Is(err, ErrBodyTooLarge) {
			t.Errorf("1 MiB + 1 byte through Default: %v, want ErrBodyTooLarge", err)
		}
	})
}

// TestReadBodyCap: the cap of ReadBody holds for any reader.
func TestReadBodyCap(t *testing.T) {
	tests := []struct {
		name    string
		size    int
		max     int64
		wantErr bool
	}{
		{"empty", 0, 10, false},
		{"at the cap", 10, 10, false},
		{"over the cap", 11, 10, true},
		{"default cap", int(DefaultMaxBody) + 1, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := ReadBody(strings.NewReader(strings.Repeat("x", tc.size)), tc.max)
			if tc.wantErr != errors.Is(err, ErrBodyTooLarge) || (!tc.wantErr && len(b) != tc.size) {
				t.Errorf("ReadBody = %d bytes, %v; want error %v", len(b), err, tc.wantErr)
			}
		})
	}
}

// TestNewClientDoesNotFollowRedirects: a provider endpoint that redirects
// cannot send a request (with its credentials) to a host nobody
// configured.
func TestNewClientDoesNotFollowRedirects(t *testing.T) {
	var elsewhere atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
	}))
	defer target.Close()
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, target.URL+"/steal", status)
			}))
			defer srv.Close()
			req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader("client_secret=s"))
			req.Header.Set("Authorization", "Bearer secret-token")
			resp, err := Default.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != status {
				t.Errorf("status %d, want the redirect itself (%d)", resp.StatusCode, status)
			}
		})
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("the redirect target received %d requests", n)
	}
}
