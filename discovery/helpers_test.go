package discovery

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

func TestMain(m *testing.M) {
	// Background timers may fire quickly in tests with tiny lifetimes.
	minBackgroundDelay = 5 * time.Millisecond
	os.Exit(m.Run())
}

// quietLogger discards everything.
var quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// fakeOP is an in-process provider serving discovery and a JWKS, counting
// the requests it receives. Handlers can be swapped at any time.
type fakeOP struct {
	srv      *httptest.Server
	mdHits   atomic.Int64
	jwksHits atomic.Int64

	mu     sync.Mutex // guards md, jwks and issuer
	md     http.HandlerFunc
	jwks   http.HandlerFunc
	issuer string
}

// newFakeOP starts a provider whose issuer is its own URL, serving
// testMetadata and the public part of keys.
func newFakeOP(t *testing.T, keys ...jwk.Key) *fakeOP {
	t.Helper()
	op := &fakeOP{}
	op.srv = httptest.NewServer(op.handler())
	t.Cleanup(op.srv.Close)
	op.issuer = op.srv.URL
	op.setMetadata(testMetadata(op.srv.URL), "")
	op.setKeys(t, keys...)
	return op
}

func (op *fakeOP) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+WellKnownPath, func(w http.ResponseWriter, r *http.Request) {
		op.mdHits.Add(1)
		op.mu.Lock()
		h := op.md
		op.mu.Unlock()
		h(w, r)
	})
	mux.HandleFunc("GET /.well-known/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		op.jwksHits.Add(1)
		op.mu.Lock()
		h := op.jwks
		op.mu.Unlock()
		h(w, r)
	})
	return mux
}

func (op *fakeOP) setMD(h http.HandlerFunc) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.md = h
}

func (op *fakeOP) setJWKS(h http.HandlerFunc) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.jwks = h
}

// setMetadata serves md as JSON with the given Cache-Control ("" for none).
func (op *fakeOP) setMetadata(md *Metadata, cacheControl string) {
	b, err := json.Marshal(md)
	if err != nil {
		panic(err)
	}
	op.setMD(serveBytes(b, cacheControl))
}

// setKeys serves the public parts of keys as the JWKS.
func (op *fakeOP) setKeys(t *testing.T, keys ...jwk.Key) {
	t.Helper()
	op.setJWKS(serveBytes(jwksJSON(t, keys...), ""))
}

func serveBytes(b []byte, cacheControl string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if cacheControl != "" {
			w.Header().Set("Cache-Control", cacheControl)
		}
		w.Write(b)
	}
}

// jwksJSON renders the public parts of keys as a JWKS document.
func jwksJSON(t *testing.T, keys ...jwk.Key) []byte {
	t.Helper()
	set := jwk.NewSet()
	for _, k := range keys {
		pub, err := k.PublicKey()
		if err != nil {
			t.Fatal(err)
		}
		if err := set.AddKey(pub); err != nil {
			t.Fatal(err)
		}
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testMetadata is valid metadata for issuer, shaped like Ory Hydra's.
func testMetadata(issuer string) *Metadata {
	return &Metadata{
		Issuer:                            issuer,
		AuthorizationEndpoint:             issuer + "/oauth2/auth",
		TokenEndpoint:                     issuer + "/oauth2/token",
		UserinfoEndpoint:                  issuer + "/userinfo",
		JWKSURI:                           issuer + "/.well-known/jwks.json",
		RevocationEndpoint:                issuer + "/oauth2/revoke",
		EndSessionEndpoint:                issuer + "/oauth2/sessions/logout",
		ScopesSupported:                   []string{"offline_access", "offline", "openid"},
		ResponseTypesSupported:            []string{"code", "code id_token", "id_token", "token id_token", "token", "token id_token code"},
		SubjectTypesSupported:             []string{"public"},
		IDTokenSigningAlgValuesSupported:  []string{"RS256"},
		TokenEndpointAuthMethodsSupported: []string{"client_secret_post", "client_secret_basic", "private_key_jwt", "none"},
		CodeChallengeMethodsSupported:     []string{"plain", "S256"},
		BackchannelLogoutSupported:        true,
		BackchannelLogoutSessionSupported: true,
	}
}

var (
	keyCacheMu sync.Mutex // guards keyCache
	keyCache   = map[string]jwk.Key{}
)

// testKey returns a private JWK of the given kind ("rsa", "rsa1024",
// "p256", "p384", "ed25519") with kid and alg set; keys are generated
// once per (kind, kid).
func testKey(t testing.TB, kind, kid string) jwk.Key {
	t.Helper()
	keyCacheMu.Lock()
	defer keyCacheMu.Unlock()
	if k, ok := keyCache[kind+"/"+kid]; ok {
		return k
	}
	var (
		raw any
		alg jwa.SignatureAlgorithm
		err error
	)
	switch kind {
	case "rsa":
		raw, err = rsa.GenerateKey(rand.Reader, 2048)
		alg = jwa.RS256
	case "rsa1024":
		raw, err = rsa.GenerateKey(rand.Reader, 1024)
		alg = jwa.RS256
	case "p256":
		raw, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		alg = jwa.ES256
	case "p384":
		raw, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		alg = jwa.ES384
	case "ed25519":
		_, raw, err = ed25519.GenerateKey(rand.Reader)
		alg = jwa.EdDSA
	default:
		t.Fatalf("unknown key kind %q", kind)
	}
	if err != nil {
		t.Fatal(err)
	}
	k, err := jwk.FromRaw(raw)
	if err != nil {
		t.Fatal(err)
	}
	if kid != "" {
		k.Set(jwk.KeyIDKey, kid)
	}
	k.Set(jwk.AlgorithmKey, alg)
	k.Set(jwk.KeyUsageKey, "sig")
	keyCache[kind+"/"+kid] = k
	return k
}

// sign makes a compact JWS of payload with key. The header carries the
// key's alg and kid unless hdr overrides them ("alg" as a
// jwa.SignatureAlgorithm); a nil value in hdr removes that parameter.
func sign(t testing.TB, key jwk.Key, payload []byte, hdr map[string]any) []byte {
	t.Helper()
	alg := key.Algorithm().(jwa.SignatureAlgorithm)
	if a, ok := hdr["alg"].(jwa.SignatureAlgorithm); ok {
		alg = a
	}
	h := jws.NewHeaders()
	if kid := key.KeyID(); kid != "" {
		h.Set(jws.KeyIDKey, kid)
	}
	for name, v := range hdr {
		if name == "alg" {
			continue
		}
		if v == nil {
			h.Remove(name)
			continue
		}
		if err := h.Set(name, v); err != nil {
			t.Fatal(err)
		}
	}
	// A raw key keeps jwx from adding the JWK's own kid.
	var raw any
	if err := key.Raw(&raw); err != nil {
		t.Fatal(err)
	}
	tok, err := jws.Sign(payload, jws.WithKey(alg, raw, jws.WithProtectedHeaders(h)))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// newTestProvider starts a Provider for op with quick retries and quiet
// logs, closed at the end of the test; cfg may adjust the config.
func newTestProvider(t *testing.T, op *fakeOP, cfg func(*Config)) *Provider {
	t.Helper()
	c := Config{
		Issuer:          op.srv.URL,
		Logger:          quietLogger,
		RetryBackoff:    5 * time.Millisecond,
		MaxRetryBackoff: 50 * time.Millisecond,
	}
	if cfg != nil {
		cfg(&c)
	}
	p, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
