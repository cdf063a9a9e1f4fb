package logout_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/discovery"
	"github.com/oidcrp/oidcrp/logout"
	"github.com/oidcrp/oidcrp/rp/rptest"
)

const (
	clientID    = "app"
	redirectURI = "http://127.0.0.1:9/callback"
)

// clock is a settable clock shared by the fake provider, the discovery
// cache and the verifier.
type clock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().Truncate(time.Second)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a fake provider with a discovery cache in front of it.
type env struct {
	op  *rptest.Provider
	dp  *discovery.Provider
	clk *clock
}

// newEnv starts a provider with the test client (and opts) and a
// discovery.Provider for it whose clock is frozen unless the test moves
// it, so that the JWKS refetch budget does not refill.
func newEnv(t *testing.T, opts ...rptest.Option) *env {
	t.Helper()
	clk := newClock()
	opts = append([]rptest.Option{rptest.WithClock(clk.Now), rptest.WithClient(rptest.Client{
		ID: clientID, Secret: "secret", RedirectURIs: []string{redirectURI},
	})}, opts...)
	op := rptest.NewProvider(t, opts...)
	dp, err := discovery.New(discovery.Config{
		Issuer: op.Issuer(),
		Now:    clk.Now,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dp.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := dp.KeySet().Keys(ctx); err != nil {
		t.Fatal(err)
	}
	return &env{op: op, dp: dp, clk: clk}
}

// newEnvWithMetadata is newEnv with the discovery document edited.
func newEnvWithMetadata(t *testing.T, edit func(map[string]any)) *env {
	t.Helper()
	return newEnv(t, rptest.WithMetadata(edit))
}

// verifier returns a Verifier for the test client; edit changes the
// config first.
func (e *env) verifier(t *testing.T, edit func(*logout.VerifierConfig)) *logout.Verifier {
	t.Helper()
	cfg := logout.VerifierConfig{Provider: e.dp, ClientID: clientID, Now: e.clk.Now}
	if edit != nil {
		edit(&cfg)
	}
	v, err := logout.NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// login signs the user agent in at the provider for client id, so that
// the client takes part in the provider's login session.
func (e *env) login(t *testing.T, id, redirect string) {
	t.Helper()
	sum := sha256.Sum256([]byte("verifier-verifier-verifier-verifier-verifier"))
	q := url.Values{
		"client_id":             {id},
		"redirect_uri":          {redirect},
		"response_type":         {"code"},
		"scope":                 {"openid"},
		"state":                 {"state-12345678"},
		"nonce":                 {"nonce-12345678"},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	cb := e.op.Authorize(t, e.op.Issuer()+rptest.AuthorizePath+"?"+q.Encode())
	if cb.Query().Get("code") == "" {
		t.Fatalf("login failed: %s", cb)
	}
}

// sign signs claims with the provider's key, failing the test on error.
func (e *env) sign(t *testing.T, claims map[string]any, opts ...rptest.SignOption) string {
	t.Helper()
	tok, err := e.op.Sign(claims, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// formRequest builds a back-channel logout POST.
func formRequest(body string) *http.Request {
	r, _ := http.NewRequest(http.MethodPost, "http://rp.example/backchannel-logout", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// recordingCache is a ReplayCache that records the TTLs it is given.
type recordingCache struct {
	mu   sync.Mutex // guards ttls and seen
	ttls []time.Duration
	seen map[string]bool
	err  error
}

func (c *recordingCache) Seen(_ context.Context, key string, ttl time.Duration) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return false, c.err
	}
	c.ttls = append(c.ttls, ttl)
	if c.seen == nil {
		c.seen = map[string]bool{}
	}
	was := c.seen[key]
	c.seen[key] = true
	return was, nil
}

func (c *recordingCache) calls() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.ttls...)
}
