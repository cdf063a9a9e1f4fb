package discovery

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/oidcrp/oidcrp/internal/httpx"
)

const fuzzIssuer = "https://op.example"

// fuzzKeys are private keys derived from fixed seeds, so that tokens
// signed by one fuzzing process verify in the others.
func fuzzKeys(f *testing.F) []jwk.Key {
	f.Helper()
	seed := sha256.Sum256([]byte("oidcrp discovery fuzz key"))
	ed, err := jwk.FromRaw(ed25519.NewKeyFromSeed(seed[:]))
	if err != nil {
		f.Fatal(err)
	}
	ed.Set(jwk.KeyIDKey, "ed")
	ed.Set(jwk.AlgorithmKey, jwa.EdDSA)
	ecRaw, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), seed[:])
	if err != nil {
		f.Fatal(err)
	}
	ec, err := jwk.FromRaw(ecRaw)
	if err != nil {
		f.Fatal(err)
	}
	ec.Set(jwk.KeyIDKey, "ec")
	ec.Set(jwk.AlgorithmKey, jwa.ES256)
	return []jwk.Key{ed, ec}
}

// fuzzMetadata is valid static metadata of fuzzIssuer.
func fuzzMetadata() *Metadata {
	md := testMetadata(fuzzIssuer)
	md.IDTokenSigningAlgValuesSupported = []string{"EdDSA", "ES256"}
	return md
}

// FuzzMetadata: a metadata document that passes Validate has the
// configured issuer and only safe endpoint URLs, and every document that
// decodes encodes again to a fixed point.
func FuzzMetadata(f *testing.F) {
	good, _ := json.Marshal(fuzzMetadata())
	f.Add(good)
	for _, edit := range []func(*Metadata){
		func(md *Metadata) { md.Issuer += "/" },
		func(md *Metadata) { md.JWKSURI = "http://169.254.169.254/latest/meta-data" },
		func(md *Metadata) { md.EndSessionEndpoint = "javascript:alert(1)" },
		func(md *Metadata) {
			md.MTLSEndpointAliases = map[string]string{"token_endpoint": "http://mtls.example.com/token"}
		},
		func(md *Metadata) { md.IDTokenSigningAlgValuesSupported = []string{"none"} },
	} {
		md := fuzzMetadata()
		edit(md)
		b, _ := json.Marshal(md)
		f.Add(b)
	}
	f.Add([]byte(`{"issuer":"https://op.example","ISSUER":"https://attacker.example","x-ext":{"a":[1,2]},"request_uri_parameter_supported":false}`))
	f.Add([]byte(`{"issuer":"https://op.example","issuer":"https://attacker.example"}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var md Metadata
		if json.Unmarshal(data, &md) != nil {
			return
		}
		if err := md.Validate(fuzzIssuer, false); err == nil {
			if md.Issuer != fuzzIssuer {
				t.Fatalf("validated issuer %q", md.Issuer)
			}
			for _, e := range md.endpoints() {
				if e.url == "" {
					continue
				}
				u, err := httpx.CheckURL(e.name, e.url, false)
				if err != nil || (u.Scheme != "https" && !httpx.IsLoopbackHost(u.Hostname())) {
					t.Fatalf("validated %s %q: %v", e.name, e.url, err)
				}
			}
			if !slices.ContainsFunc(md.IDTokenSigningAlgValuesSupported, func(a string) bool { return a != "none" }) {
				t.Fatalf("validated ID token algorithms %q", md.IDTokenSigningAlgValuesSupported)
			}
		}
		once, err := json.Marshal(md)
		if err != nil {
			t.Fatalf("decoded metadata does not encode: %v", err)
		}
		var again Metadata
		if err := json.Unmarshal(once, &again); err != nil {
			t.Fatalf("encoded metadata %s does not decode: %v", once, err)
		}
		twice, err := json.Marshal(again)
		if err != nil || !bytes.Equal(once, twice) {
			t.Fatalf("no fixed point:\n%s\n%s (%v)", once, twice, err)
		}
	})
}

// jwksServer answers every request with body, which the fuzz function
// replaces for each input.
type jwksServer struct {
	mu   sync.Mutex // guards body
	body []byte
}

func (s *jwksServer) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	b := s.body
	s.mu.Unlock()
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(b)), ContentLength: int64(len(b)), Request: r}, nil
}

// FuzzJWKS: whatever the jwks_uri answers, a key set that loads holds only
// public signature keys of the accepted types and sizes.
func FuzzJWKS(f *testing.F) {
	keys := fuzzKeys(f)
	pubs := jwk.NewSet()
	for _, k := range keys {
		pub, _ := k.PublicKey()
		pubs.AddKey(pub)
	}
	good, _ := json.Marshal(pubs)
	f.Add(good)
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"hmac"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"not base64!","e":"AQAB","kid":"bad"},{"kty":"XYZ"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"Juen2gRmxbMwmV8r4hBIfZPyRV08h_edSWcYozwSbn8","y":"BKonh7M8F6MFms4Q5V9ngiY3oNIlStiezFP-bB_5Abw","use":"enc"}]}`))
	priv, _ := json.Marshal(keys[0])
	f.Add([]byte(`{"keys":[` + string(priv) + `]}`))
	f.Add([]byte(`{"keys":null}`))
	f.Add([]byte(`{}`))
	srv := &jwksServer{}
	p, err := New(Config{Issuer: fuzzIssuer, Metadata: fuzzMetadata(), HTTPClient: &http.Client{Transport: srv}, Logger: quietLogger})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { p.Close() })
	f.Fuzz(func(t *testing.T, body []byte) {
		srv.mu.Lock()
		srv.body = body
		srv.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if p.KeySet().Refresh(ctx) != nil {
			return
		}
		set, err := p.KeySet().Keys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i := range set.Len() {
			k, _ := set.Key(i)
			if ak, ok := k.(jwk.AsymmetricKey); !ok || ak.IsPrivate() {
				t.Fatalf("key %d of %s is private or symmetric", i, body)
			}
			if use := k.KeyUsage(); use != "" && use != "sig" {
				t.Fatalf("key %d of %s has use %q", i, body, use)
			}
			var raw any
			if err := k.Raw(&raw); err != nil {
				t.Fatal(err)
			}
			if r, ok := raw.(*rsa.PublicKey); ok && r.N.BitLen() < minRSABits {
				t.Fatalf("key %d of %s is RSA-%d", i, body, r.N.BitLen())
			}
		}
	})
}

// FuzzVerifyJWS: KeySet.Verify accepts a token only when jwx, given the
// key the token names and the algorithm in its header, verifies it too;
// "none", HMAC and keys carried in the token never count.
func FuzzVerifyJWS(f *testing.F) {
	keys := fuzzKeys(f)
	pubs := jwk.NewSet()
	for _, k := range keys {
		pub, _ := k.PublicKey()
		pubs.AddKey(pub)
	}
	ks := NewStaticKeySet(pubs)
	payload := []byte(`{"iss":"https://op.example","sub":"alice"}`)
	f.Add(sign(f, keys[0], payload, nil))
	f.Add(sign(f, keys[1], payload, nil))
	f.Add(sign(f, keys[1], payload, map[string]any{"kid": nil}))
	f.Add(sign(f, keys[0], payload, map[string]any{"jku": "https://attacker.example/jwks", "crit": []string{"exp"}, "exp": 1}))
	f.Add([]byte("eyJhbGciOiJub25lIiwia2lkIjoiZWQifQ.eyJzdWIiOiJhbGljZSJ9."))
	f.Add([]byte("eyJhbGciOiJIUzI1NiIsImtpZCI6ImVkIn0.eyJzdWIiOiJhbGljZSJ9.c2ln"))
	f.Add([]byte("a.b.c"))
	f.Fuzz(func(t *testing.T, token []byte) {
		got, err := ks.Verify(context.Background(), token, nil)
		if err != nil {
			return
		}
		msg, perr := jws.Parse(token, jws.WithCompact())
		if perr != nil || len(msg.Signatures()) != 1 {
			t.Fatalf("accepted %q, which jwx does not parse: %v", token, perr)
		}
		h := msg.Signatures()[0].ProtectedHeaders()
		alg := h.Algorithm()
		if _, ok := verifiers[alg]; !ok {
			t.Fatalf("accepted %q with alg %q", token, alg)
		}
		for _, k := range keys {
			if h.KeyID() != "" && h.KeyID() != k.KeyID() {
				continue
			}
			pub, _ := k.PublicKey()
			if out, err := jws.Verify(token, jws.WithKey(alg, pub)); err == nil && bytes.Equal(out, got) {
				return
			}
		}
		t.Fatalf("accepted %q, which no provider key verifies with jwx", token)
	})
}

// FuzzCacheTTL: whatever Cache-Control and Age a provider sends, the
// lifetime stays within [MinTTL, MaxTTL].
func FuzzCacheTTL(f *testing.F) {
	for _, s := range []struct{ cc, age string }{
		{"max-age=3600", ""}, {"public, max-age=86400", "100"}, {"no-store", ""}, {`max-age="60"`, "-5"},
		{"max-age=99999999999999999999", "99999999999999999999"}, {"max-age=-1", ""}, {"MAX-AGE=10, no-cache", ""},
	} {
		f.Add(s.cc, s.age)
	}
	f.Fuzz(func(t *testing.T, cc, age string) {
		h := http.Header{}
		h.Set("Cache-Control", cc)
		h.Set("Age", age)
		if ttl := cacheTTL(h, DefaultMinTTL, DefaultMaxTTL); ttl < DefaultMinTTL || ttl > DefaultMaxTTL {
			t.Fatalf("Cache-Control %q Age %q: ttl %v outside [%v, %v]", cc, age, ttl, DefaultMinTTL, DefaultMaxTTL)
		}
	})
}
