package discovery

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/internal/httpx"
)

func TestNewConfigErrors(t *testing.T) {
	valid := testMetadata("https://id.example.com")
	invalid := testMetadata("https://id.example.com")
	invalid.JWKSURI = ""
	tests := []struct {
		name   string
		cfg    Config
		wantIn string
	}{
		{"no issuer", Config{}, "Issuer is required"},
		{"http non-loopback issuer", Config{Issuer: "http://id.example.com"}, "must use https"},
		{"relative issuer", Config{Issuer: "id.example.com"}, "absolute"},
		{"issuer with query", Config{Issuer: "https://id.example.com?x=1"}, "must not have a query"},
		{"issuer with fragment", Config{Issuer: "https://id.example.com#x"}, "fragment"},
		{"http non-loopback DiscoveryURL", Config{Issuer: "https://id.example.com", DiscoveryURL: "http://hydra:4444"}, "DiscoveryURL"},
		{"MinTTL above MaxTTL", Config{Issuer: "https://id.example.com", MinTTL: time.Hour, MaxTTL: time.Minute}, "exceeds MaxTTL"},
		{"negative MinTTL", Config{Issuer: "https://id.example.com", MinTTL: -1}, "MinTTL must not be negative"},
		{"negative interval", Config{Issuer: "https://id.example.com", JWKSRefetchInterval: -time.Second}, "JWKSRefetchInterval"},
		{"negative burst", Config{Issuer: "https://id.example.com", JWKSRefetchBurst: -1}, "JWKSRefetchBurst"},
		{"backoff above max", Config{Issuer: "https://id.example.com", RetryBackoff: time.Minute, MaxRetryBackoff: time.Second}, "RetryBackoff"},
		{"invalid static metadata", Config{Issuer: "https://id.example.com", Metadata: invalid}, "jwks_uri is missing"},
		{"static metadata of another issuer", Config{Issuer: "https://other.example.com", Metadata: valid}, "issuer mismatch"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := New(tc.cfg)
			if err == nil {
				p.Close()
				t.Fatal("New accepted a bad config")
			}
			if !strings.Contains(err.Error(), tc.wantIn) || !strings.HasPrefix(err.Error(), "discovery: config: ") {
				t.Errorf("error %q, want it to contain %q", err, tc.wantIn)
			}
		})
	}

	t.Run("http DiscoveryURL with InsecureAllowHTTP", func(t *testing.T) {
		p, err := New(Config{Issuer: "https://id.example.com", DiscoveryURL: "http://hydra:4444", InsecureAllowHTTP: true,
			Logger: quietLogger, HTTPClient: &http.Client{Transport: failingTransport{}}})
		if err != nil {
			t.Fatal(err)
		}
		p.Close()
	})
}

// failingTransport fails every request without touching the network.
type failingTransport struct{}

func (failingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("no network in this test")
}

// reservePort returns a loopback address nothing listens on (yet).
func reservePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestProviderDownThenUp(t *testing.T) {
	base := runtime.NumGoroutine()
	addr := reservePort(t)
	issuer := "http://" + addr

	start := time.Now()
	p, err := New(Config{Issuer: issuer, Logger: quietLogger, RetryBackoff: 5 * time.Millisecond, MaxRetryBackoff: 40 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("New took %v; it must not wait for the network", d)
	}
	if p.Ready() {
		t.Fatal("Ready before anything was fetched")
	}
	if _, ok := p.Current(); ok {
		t.Fatal("Current returned metadata before anything was fetched")
	}
	eventually(t, 2*time.Second, "a failed attempt", func() bool { return p.LastError() != nil })

	_, err = p.Metadata(ctxTimeout(t, 20*time.Millisecond))
	if !errors.Is(err, ErrNotReady) {
		t.Errorf("Metadata with provider down: %v, want ErrNotReady", err)
	}

	// The provider comes up on the address the issuer names.
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s was taken meanwhile: %v", addr, err)
	}
	op := &fakeOP{}
	srv := httptest.NewUnstartedServer(op.handler())
	srv.Listener.Close()
	srv.Listener = l
	op.srv = srv
	op.setMetadata(testMetadata(issuer), "")
	op.setKeys(t, testKey(t, "rsa", "k1"))
	srv.Start()
	defer srv.Close()

	eventually(t, 3*time.Second, "Ready after the provider came up", p.Ready)
	md, err := p.Metadata(context.Background())
	if err != nil || md.Issuer != issuer {
		t.Fatalf("Metadata = %v, %v", md, err)
	}
	if p.LastError() != nil {
		t.Errorf("LastError = %v after success", p.LastError())
	}

	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	default:
		t.Fatal("background goroutine still running after Close")
	}
	srv.Close()
	http.DefaultClient.CloseIdleConnections()
	httpx.Default.CloseIdleConnections()
	eventually(t, 2*time.Second, "goroutines to wind down", func() bool { return runtime.NumGoroutine() <= base })
}

func TestColdCacheSharesOneFetch(t *testing.T) {
	op := newFakeOP(t, testKey(t, "rsa", "k1"))
	release := make(chan struct{})
	good := op.md
	op.setMD(func(w http.ResponseWriter, r *http.Request) {
		<-release
		good(w, r)
	})
	p := newTestProvider(t, op, nil)

	// A caller whose context ends gives up alone.
	ctx, cancel := context.WithCancel(context.Background())
	quitter := make(chan error, 1)
	go func() {
		_, err := p.Metadata(ctx)
		quitter <- err
	}()
	eventually(t, 2*time.Second, "the fetch to start", func() bool { return op.mdHits.Load() == 1 })

	const callers = 100
	results := make(chan *Metadata, callers)
	errs := make(chan error, callers)
	var wg sync.WaitGroup
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			md, err := p.Metadata(ctxTimeout(t, 5*time.Second))
			if err != nil {
				errs <- err
				return
			}
			results <- md
		}()
	}
	cancel()
	if err := <-quitter; !errors.Is(err, context.Canceled) || !errors.Is(err, ErrNotReady) {
		t.Errorf("cancelled caller got %v, want context.Canceled and ErrNotReady", err)
	}
	close(release)
	wg.Wait()
	close(results)
	close(errs)
	for err := range errs {
		t.Errorf("caller failed: %v", err)
	}
	var first *Metadata
	n := 0
	for md := range results {
		n++
		if first == nil {
			first = md
		}
		if md != first {
			t.Error("callers got different metadata values")
		}
	}
	if n != callers {
		t.Errorf("%d callers got metadata, want %d", n, callers)
	}
	if got := op.mdHits.Load(); got != 1 {
		t.Errorf("discovery requests = %d, want exactly 1", got)
	}
}

func TestStaleIfError(t *testing.T) {
	wrongIssuer := testMetadata("https://evil.example.com")
	noJWKS := (*Metadata)(nil)
	tests := []struct {
		name    string
		serve   func(op *fakeOP)
		wantErr error  // matched with errors.Is, when set
		wantIn  string // substring of the error
	}{
		{"status 500", func(op *fakeOP) {
			op.setMD(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) })
		}, nil, "500"},
		{"redirect is not followed", func(op *fakeOP) {
			op.setMD(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "https://evil.example.com/", http.StatusFound)
			})
		}, nil, "302"},
		{"oversize body", func(op *fakeOP) {
			op.setMD(serveBytes([]byte(`{"issuer":"`+strings.Repeat("a", 2<<20)+`"}`), ""))
		}, httpx.ErrBodyTooLarge, "too large"},
		{"oversize chunked body", func(op *fakeOP) {
			op.setMD(func(w http.ResponseWriter, _ *http.Request) {
				chunk := []byte(strings.Repeat(" ", 64<<10))
				for range 20 {
					w.Write(chunk)
					w.(http.Flusher).Flush()
				}
			})
		}, httpx.ErrBodyTooLarge, "too large"},
		{"bad JSON", func(op *fakeOP) { op.setMD(serveBytes([]byte(`{"issuer":`), "")) }, nil, "unexpected end of JSON"},
		{"wrong issuer", func(op *fakeOP) { op.setMetadata(wrongIssuer, "") }, ErrIssuerMismatch, `"https://evil.example.com"`},
		{"issuer with trailing slash", func(op *fakeOP) {
			op.setMetadata(testMetadata(op.srv.URL+"/"), "")
		}, ErrIssuerMismatch, "issuer mismatch"},
		{"invalid metadata", func(op *fakeOP) {
			md := testMetadata(op.srv.URL)
			md.JWKSURI = ""
			noJWKS = md
			op.setMetadata(noJWKS, "")
		}, ErrInvalidMetadata, "jwks_uri is missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			op := newFakeOP(t, testKey(t, "rsa", "k1"))
			p := newTestProvider(t, op, nil)
			if err := p.Refresh(ctxTimeout(t, 5*time.Second)); err != nil {
				t.Fatal(err)
			}
			good, _ := p.Current()

			tc.serve(op)
			err := p.Refresh(ctxTimeout(t, 5*time.Second))
			if err == nil {
				t.Fatal("Refresh succeeded against a broken provider")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("Refresh error %v, want %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantIn) || !strings.HasPrefix(err.Error(), "discovery: ") {
				t.Errorf("Refresh error %q, want it to contain %q", err, tc.wantIn)
			}
			if p.LastError() == nil {
				t.Error("LastError is nil after a failed refresh")
			}
			md, err := p.Metadata(ctxTimeout(t, time.Second))
			if err != nil || md != good {
				t.Errorf("Metadata after failed refresh = %p, %v; want the last good value %p", md, err, good)
			}
			if !p.Ready() {
				t.Error("Ready turned false after a failed refresh")
			}

			op.setMetadata(testMetadata(op.srv.URL), "")
			if err := p.Refresh(ctxTimeout(t, 5*time.Second)); err != nil {
				t.Fatalf("Refresh after recovery: %v", err)
			}
			if p.LastError() != nil {
				t.Errorf("LastError = %v after recovery", p.LastError())
			}
		})
	}
}

func TestCacheTTL(t *testing.T) {
	const minTTL, maxTTL = 5 * time.Minute, 24 * time.Hour
	tests := []struct {
		name string
		hdr  map[string]string
		want time.Duration
	}{
		{"no header", nil, minTTL},
		{"max-age in range", map[string]string{"Cache-Control": "max-age=3600"}, time.Hour},
		{"with other directives", map[string]string{"Cache-Control": "public, max-age=600, must-revalidate"}, 10 * time.Minute},
		{"upper case", map[string]string{"Cache-Control": "Public, MAX-AGE=600"}, 10 * time.Minute},
		{"quoted", map[string]string{"Cache-Control": `max-age="600"`}, 10 * time.Minute},
		{"below minimum", map[string]string{"Cache-Control": "max-age=10"}, minTTL},
		{"zero", map[string]string{"Cache-Control": "max-age=0"}, minTTL},
		{"above maximum", map[string]string{"Cache-Control": "max-age=31536000"}, maxTTL},
		{"overflowing", map[string]string{"Cache-Control": "max-age=99999999999999999"}, maxTTL},
		{"beyond int64", map[string]string{"Cache-Control": "max-age=999999999999999999999999"}, minTTL},
		{"negative", map[string]string{"Cache-Control": "max-age=-5"}, minTTL},
		{"garbage", map[string]string{"Cache-Control": "max-age=soon"}, minTTL},
		{"no-store", map[string]string{"Cache-Control": "no-store, max-age=3600"}, minTTL},
		{"no-cache", map[string]string{"Cache-Control": "max-age=3600, no-cache"}, minTTL},
		{"age subtracted", map[string]string{"Cache-Control": "max-age=3600", "Age": "600"}, 50 * time.Minute},
		{"age beyond max-age", map[string]string{"Cache-Control": "max-age=3600", "Age": "7200"}, minTTL},
		{"age without max-age", map[string]string{"Age": "60"}, minTTL},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tc.hdr {
				h.Set(k, v)
			}
			if got := cacheTTL(h, minTTL, maxTTL); got != tc.want {
				t.Errorf("cacheTTL = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestExpiryFollowsClockAndClamp(t *testing.T) {
	tests := []struct {
		name           string
		cacheControl   string
		minTTL, maxTTL time.Duration
		want           time.Duration
	}{
		{"default minimum without header", "", 0, 0, DefaultMinTTL},
		{"max-age used", "max-age=7200", 0, 0, 2 * time.Hour},
		{"clamped to MaxTTL", "max-age=7200", 10 * time.Minute, 30 * time.Minute, 30 * time.Minute},
		{"clamped to MinTTL", "max-age=60", 10 * time.Minute, 30 * time.Minute, 10 * time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			op := newFakeOP(t, testKey(t, "rsa", "k1"))
			op.setMetadata(testMetadata(op.srv.URL), tc.cacheControl)
			clock := newFakeClock()
			p := newTestProvider(t, op, func(c *Config) { c.Now = clock.Now; c.MinTTL = tc.minTTL; c.MaxTTL = tc.maxTTL })
			if err := p.Refresh(ctxTimeout(t, 5*time.Second)); err != nil {
				t.Fatal(err)
			}
			p.mu.RLock()
			fetched, expires := p.fetched, p.expires
			p.mu.RUnlock()
			if !fetched.Equal(clock.Now()) {
				t.Errorf("fetched at %v, want the injected clock's %v", fetched, clock.Now())
			}
			if got := expires.Sub(fetched); got != tc.want {
				t.Errorf("lifetime %v, want %v", got, tc.want)
			}
		})
	}
}

func TestBackgroundRefresh(t *testing.T) {
	op := newFakeOP(t, testKey(t, "rsa", "k1"))
	p := newTestProvider(t, op, func(c *Config) { c.MinTTL = 20 * time.Millisecond; c.MaxTTL = 20 * time.Millisecond })
	eventually(t, 2*time.Second, "first load", p.Ready)
	eventually(t, 2*time.Second, "background refreshes", func() bool { return op.mdHits.Load() >= 3 })

	// A failing provider keeps the last value; recovery is picked up.
	op.setMD(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) })
	eventually(t, 2*time.Second, "a failed refresh", func() bool { return p.LastError() != nil })
	if md, ok := p.Current(); !ok || md.Issuer != op.srv.URL {
		t.Fatalf("Current during outage = %v, %v", md, ok)
	}
	next := testMetadata(op.srv.URL)
	next.ScopesSupported = []string{"openid", "email"}
	op.setMetadata(next, "")
	eventually(t, 2*time.Second, "refreshed metadata", func() bool {
		md, _ := p.Current()
		return len(md.ScopesSupported) == 2 && p.LastError() == nil
	})

	// Keys are refreshed in the background too.
	eventually(t, 2*time.Second, "background JWKS refreshes", func() bool { return op.jwksHits.Load() >= 2 })
}

func TestDiscoveryURL(t *testing.T) {
	const public = "https://id.example.com"
	key := testKey(t, "rsa", "k1")
	tests := []struct {
		name   string
		mount  string // path prefix the internal server serves under
		issuer string
	}{
		{"root", "", public},
		{"path prefix", "/hydra", public},
		{"issuer with path", "/realms/main", public + "/realms/main"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			op := &fakeOP{}
			mux := http.NewServeMux()
			var hostSeen sync.Map
			inner := op.handler()
			mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hostSeen.Store(r.URL.Path, true)
				http.StripPrefix(tc.mount, inner).ServeHTTP(w, r)
			}))
			op.srv = httptest.NewServer(mux)
			t.Cleanup(op.srv.Close)
			md := testMetadata(tc.issuer)
			op.setMetadata(md, "")
			op.setKeys(t, key)

			p, err := New(Config{Issuer: tc.issuer, DiscoveryURL: op.srv.URL + tc.mount + "/", Logger: quietLogger})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { p.Close() })
			got, err := p.Metadata(ctxTimeout(t, 5*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			if got.Issuer != tc.issuer || p.Issuer() != tc.issuer {
				t.Errorf("issuer %q, want the public %q", got.Issuer, tc.issuer)
			}
			if got.AuthorizationEndpoint != tc.issuer+"/oauth2/auth" {
				t.Errorf("browser endpoint changed to %q", got.AuthorizationEndpoint)
			}
			tok := sign(t, key, []byte(`{"sub":"alice"}`), nil)
			if _, err := p.KeySet().Verify(ctxTimeout(t, 5*time.Second), tok, nil); err != nil {
				t.Fatalf("Verify via internal JWKS: %v", err)
			}
			if op.mdHits.Load() == 0 || op.jwksHits.Load() == 0 {
				t.Errorf("internal server saw %d discovery and %d JWKS requests", op.mdHits.Load(), op.jwksHits.Load())
			}
			if _, ok := hostSeen.Load(tc.mount + WellKnownPath); !ok {
				t.Errorf("discovery not fetched at %s", tc.mount+WellKnownPath)
			}
		})
	}
}

func TestBackchannelURL(t *testing.T) {
	tests := []struct {
		name, issuer, discovery, endpoint, want string
	}{
		{"no DiscoveryURL", "https://id.example.com", "", "https://id.example.com/oauth2/token", "https://id.example.com/oauth2/token"},
		{"same origin", "https://id.example.com", "http://hydra:4444", "https://id.example.com/oauth2/token", "http://hydra:4444/oauth2/token"},
		{"query kept", "https://id.example.com", "http://hydra:4444", "https://id.example.com/oauth2/token?a=b%20c", "http://hydra:4444/oauth2/token?a=b%20c"},
		{"explicit default port", "https://id.example.com", "http://hydra:4444", "https://id.example.com:443/userinfo", "http://hydra:4444/userinfo"},
		{"host case", "https://id.example.com", "http://hydra:4444", "https://ID.Example.com/userinfo", "http://hydra:4444/userinfo"},
		{"other host", "https://id.example.com", "http://hydra:4444", "https://cdn.example.com/jwks", "https://cdn.example.com/jwks"},
		{"other port", "https://id.example.com", "http://hydra:4444", "https://id.example.com:8443/token", "https://id.example.com:8443/token"},
		{"other scheme", "https://id.example.com", "http://hydra:4444", "http://id.example.com/token", "http://id.example.com/token"},
		{"DiscoveryURL path prefix", "https://id.example.com", "http://gw:8080/hydra/", "https://id.example.com/oauth2/token", "http://gw:8080/hydra/oauth2/token"},
		{"issuer path mapped", "https://id.example.com/realms/a", "http://kc:8080/realms/a", "https://id.example.com/realms/a/protocol/token", "http://kc:8080/realms/a/protocol/token"},
		{"issuer path stripped", "https://example.com/auth", "http://internal:9000", "https://example.com/auth/token", "http://internal:9000/token"},
		{"path outside issuer path", "https://example.com/auth", "http://internal:9000/x", "https://example.com/other/token", "http://internal:9000/other/token"},
		{"path only sharing a prefix", "https://example.com/auth", "http://internal:9000/x", "https://example.com/authz/token", "http://internal:9000/authz/token"},
		{"escaped path kept", "https://id.example.com", "http://hydra:4444", "https://id.example.com/a%2Fb/c", "http://hydra:4444/a%2Fb/c"},
		{"not a URL", "https://id.example.com", "http://127.0.0.1:4444", "https://id.example.com/%zz", "https://id.example.com/%zz"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := New(Config{Issuer: tc.issuer, DiscoveryURL: tc.discovery, InsecureAllowHTTP: true,
				Logger: quietLogger, HTTPClient: &http.Client{Transport: failingTransport{}}})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if got := p.BackchannelURL(tc.endpoint); got != tc.want {
				t.Errorf("BackchannelURL(%q) = %q, want %q", tc.endpoint, got, tc.want)
			}
		})
	}
}

func TestStaticMetadata(t *testing.T) {
	op := newFakeOP(t, testKey(t, "rsa", "k1"))
	static := testMetadata(op.srv.URL)
	p := newTestProvider(t, op, func(c *Config) { c.Metadata = static })
	if !p.Ready() {
		t.Error("not Ready with static metadata")
	}
	md, err := p.Metadata(context.Background())
	if err != nil || md != static {
		t.Fatalf("Metadata = %p, %v; want the static value", md, err)
	}
	if err := p.Refresh(context.Background()); err != nil {
		t.Errorf("Refresh with static metadata: %v", err)
	}
	tok := sign(t, testKey(t, "rsa", "k1"), []byte(`{"sub":"a"}`), nil)
	if _, err := p.KeySet().Verify(ctxTimeout(t, 5*time.Second), tok, nil); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if n := op.mdHits.Load(); n != 0 {
		t.Errorf("%d discovery requests with static metadata, want 0", n)
	}
}

func TestClose(t *testing.T) {
	op := newFakeOP(t, testKey(t, "rsa", "k1"))
	release := make(chan struct{})
	op.setMD(func(w http.ResponseWriter, r *http.Request) { <-release })
	defer close(release)
	p := newTestProvider(t, op, nil)
	eventually(t, 2*time.Second, "a fetch in flight", func() bool { return op.mdHits.Load() == 1 })

	waiting := make(chan error, 1)
	go func() {
		_, err := p.Metadata(context.Background())
		waiting <- err
	}()

	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.Close(); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	select {
	case <-p.done:
	default:
		t.Fatal("background goroutine still running after Close")
	}
	select {
	case err := <-waiting:
		if err == nil || !errors.Is(err, ErrNotReady) {
			t.Errorf("waiter got %v after Close, want ErrNotReady", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("a waiter was left hanging by Close")
	}
	if _, err := p.Metadata(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Metadata after Close = %v, want ErrClosed", err)
	}
	if err := p.Refresh(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Refresh after Close = %v, want ErrClosed", err)
	}
	if err := p.KeySet().Refresh(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("KeySet.Refresh after Close = %v, want ErrClosed", err)
	}
}
