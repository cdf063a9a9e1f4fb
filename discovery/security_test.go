package discovery

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/internal/httpx"
)

// TestBodyCapWithAnyClient: metadata and JWKS answers are read up to
// 1 MiB even through a caller's HTTP client that has no limit of its own.
func TestBodyCapWithAnyClient(t *testing.T) {
	big := `{"issuer":"` + strings.Repeat("a", 2<<20) + `"}`
	t.Run("metadata", func(t *testing.T) {
		op := newFakeOP(t, testKey(t, "rsa", "k1"))
		op.setMD(serveBytes([]byte(big), ""))
		p := newTestProvider(t, op, func(c *Config) { c.HTTPClient = &http.Client{Timeout: 5 * time.Second} })
		err := p.Refresh(ctxTimeout(t, 5*time.Second))
		if !errors.Is(err, httpx.ErrBodyTooLarge) {
			t.Errorf("Refresh = %v, want ErrBodyTooLarge", err)
		}
	})
	t.Run("JWKS", func(t *testing.T) {
		op := newFakeOP(t, testKey(t, "rsa", "k1"))
		op.setJWKS(serveBytes([]byte(`{"keys":[],"x":"`+strings.Repeat("a", 2<<20)+`"}`), ""))
		p := newTestProvider(t, op, func(c *Config) { c.HTTPClient = &http.Client{Timeout: 5 * time.Second} })
		err := p.KeySet().Refresh(ctxTimeout(t, 5*time.Second))
		if !errors.Is(err, httpx.ErrBodyTooLarge) {
			t.Errorf("KeySet.Refresh = %v, want ErrBodyTooLarge", err)
		}
	})
}

// recordingTransport forwards requests to loopback hosts and records
// every host asked for; it refuses to dial anywhere else.
type recordingTransport struct {
	mu    sync.Mutex // guards hosts
	hosts []string
}

func (rt *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.mu.Lock()
	rt.hosts = append(rt.hosts, r.URL.Host)
	rt.mu.Unlock()
	if !httpx.IsLoopbackHost(r.URL.Hostname()) {
		return nil, errors.New("test transport: refusing to dial " + r.URL.Host)
	}
	return http.DefaultTransport.RoundTrip(r)
}

func (rt *recordingTransport) nonLoopback() []string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	var out []string
	for _, h := range rt.hosts {
		if !strings.HasPrefix(h, "127.0.0.1:") {
			out = append(out, h)
		}
	}
	return out
}

// TestProviderSuppliedURLsAreChecked: the metadata names the URLs the
// application will call (jwks_uri, token, userinfo …). One that is not
// https (or loopback http) — a cloud metadata address, an internal host —
// makes the whole document invalid, so nothing is ever fetched from it
// (SSRF); the last good metadata stays in use.
func TestProviderSuppliedURLsAreChecked(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Metadata)
	}{
		{"jwks_uri at the cloud metadata address", func(md *Metadata) { md.JWKSURI = "http://169.254.169.254/latest/meta-data/iam" }},
		{"jwks_uri on an internal host", func(md *Metadata) { md.JWKSURI = "http://10.0.0.8/jwks" }},
		{"token_endpoint over http", func(md *Metadata) { md.TokenEndpoint = "http://internal.example/token" }},
		{"userinfo_endpoint with file scheme", func(md *Metadata) { md.UserinfoEndpoint = "file:///etc/passwd" }},
		{"revocation_endpoint with gopher scheme", func(md *Metadata) { md.RevocationEndpoint = "gopher://127.0.0.1:6379/_FLUSHALL" }},
		{"end_session_endpoint with javascript", func(md *Metadata) { md.EndSessionEndpoint = "javascript:alert(document.cookie)" }},
		{"registration_endpoint with user info", func(md *Metadata) { md.RegistrationEndpoint = "https://attacker:x@id.example.com/register" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rt := &recordingTransport{}
			op := newFakeOP(t, testKey(t, "rsa", "k1"))
			p := newTestProvider(t, op, func(c *Config) { c.HTTPClient = &http.Client{Transport: rt, Timeout: 5 * time.Second} })
			if err := p.Refresh(ctxTimeout(t, 5*time.Second)); err != nil {
				t.Fatal(err)
			}
			good, _ := p.Current()
			md := testMetadata(op.srv.URL)
			tc.edit(md)
			op.setMetadata(md, "")
			err := p.Refresh(ctxTimeout(t, 5*time.Second))
			if !errors.Is(err, ErrInvalidMetadata) {
				t.Fatalf("Refresh = %v, want ErrInvalidMetadata", err)
			}
			if cur, _ := p.Current(); cur != good {
				t.Error("the invalid metadata replaced the good one")
			}
			// Keys are fetched from the jwks_uri of the metadata in use.
			if err := p.KeySet().Refresh(ctxTimeout(t, 5*time.Second)); err != nil {
				t.Fatal(err)
			}
			if hosts := rt.nonLoopback(); len(hosts) > 0 {
				t.Errorf("requests went to %v", hosts)
			}
		})
	}
}
