package credentials_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/oidcrp/oidcrp/discovery"
	"github.com/oidcrp/oidcrp/internal/httpx"
	"github.com/oidcrp/oidcrp/rp/rptest"
	"github.com/oidcrp/oidcrp/userinfo/credentials"
)

func TestRequestFlow(t *testing.T) {
	f := newFakeVCI(t, nil)
	holder, err := credentials.GenerateHolderKey()
	if err != nil {
		t.Fatal(err)
	}
	vc := newClient(t, f, holder, nil)
	before := time.Now().Truncate(time.Second)

	cred, err := vc.Request(ctxTimeout(t), tokenA, "")
	if err != nil {
		t.Fatal(err)
	}
	if req, primes := f.counts(); req != 2 || primes != 1 {
		t.Errorf("first request: %d requests, %d primes; want 2, 1", req, primes)
	}
	did, err := credentials.DIDJWK(holder.Public())
	if err != nil {
		t.Fatal(err)
	}
	if cred.Format != "jwt_vc_json" || cred.Issuer != f.op.Issuer() || cred.Subject != did || cred.ID != "vc-1" {
		t.Errorf("credential = %+v", cred)
	}
	if cred.IssuedAt.Before(before) || cred.Expiry.Sub(cred.IssuedAt) != time.Hour || !cred.NotBefore.Equal(cred.IssuedAt) {
		t.Errorf("times iat %v nbf %v exp %v", cred.IssuedAt, cred.NotBefore, cred.Expiry)
	}
	if cred.CredentialSubject["sub"] != "alice" || cred.CredentialSubject["email"] != "alice@example.com" {
		t.Errorf("credentialSubject = %v", cred.CredentialSubject)
	}
	if len(cred.Types) != 2 || cred.Types[1] != "UserInfoCredential" || cred.Claims["jti"] != "vc-1" {
		t.Errorf("types %v, claims %v", cred.Types, cred.Claims)
	}
	if strings.Count(cred.Raw, ".") != 2 {
		t.Errorf("Raw = %q", cred.Raw)
	}

	// What the endpoint received.
	f.mu.Lock()
	hdr, claims, body, auth := f.lastProofHeader, f.lastProofClaims, f.lastRequest, f.lastAuth
	f.mu.Unlock()
	if hdr.Algorithm().String() != "ES256" || hdr.Type() != "openid4vci-proof+jwt" {
		t.Errorf("proof header alg %s typ %q", hdr.Algorithm(), hdr.Type())
	}
	if k := hdr.JWK(); k == nil {
		t.Error("proof header has no jwk")
	} else {
		if ak, ok := k.(jwk.AsymmetricKey); !ok || ak.IsPrivate() {
			t.Error("proof header's jwk is not a public key")
		}
		got, _ := k.Thumbprint(crypto.SHA256)
		pub, _ := jwk.FromRaw(holder.Public())
		want, _ := pub.Thumbprint(crypto.SHA256)
		if string(got) != string(want) {
			t.Error("proof header's jwk is not the holder key")
		}
	}
	if claims["nonce"] != f.nonceFor(tokenA) || claims["aud"] != f.op.Issuer() {
		t.Errorf("proof claims = %v", claims)
	}
	if iat, _ := claims["iat"].(float64); time.Unix(int64(iat), 0).Before(before) {
		t.Errorf("proof iat = %v", claims["iat"])
	}
	if body["format"] != "jwt_vc_json" || len(body["types"].([]any)) != 2 {
		t.Errorf("request body = %v", body)
	}
	if p, _ := body["proof"].(map[string]any); p["proof_type"] != "jwt" {
		t.Errorf("proof = %v", body["proof"])
	}
	if auth != "Bearer "+tokenA {
		t.Errorf("Authorization = %q", auth)
	}

	// The nonce is cached for this token only.
	if _, err := vc.Request(ctxTimeout(t), tokenA, ""); err != nil {
		t.Fatal(err)
	}
	if req, primes := f.counts(); req != 3 || primes != 1 {
		t.Errorf("with a cached nonce: %d requests, %d primes; want 3, 1", req, primes)
	}
	if _, err := vc.Request(ctxTimeout(t), tokenB, ""); err != nil {
		t.Fatal(err)
	}
	if req, primes := f.counts(); req != 5 || primes != 2 {
		t.Errorf("another token: %d requests, %d primes; want 5, 2", req, primes)
	}
}

func TestRequestNonces(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(f *fakeVCI)
		nonce      func(f *fakeVCI) string
		warm       bool // a first Request caches a nonce
		between    func(f *fakeVCI)
		wantErr    bool
		wantReq    int // requests made by the Request under test
		wantPrimes int
	}{
		{name: "caller's nonce, no priming", nonce: func(f *fakeVCI) string { return f.nonceFor(tokenA) }, wantReq: 1},
		{name: "caller's nonce sealed to another token: one fresh try",
			nonce: func(f *fakeVCI) string { return f.nonceFor(tokenB) }, wantReq: 3, wantPrimes: 1},
		{name: "cached nonce gone stale: one fresh try", warm: true,
			between: func(f *fakeVCI) { f.secret = "secret-2" }, wantReq: 3, wantPrimes: 1},
		{name: "every nonce refused: no loop", setup: func(f *fakeVCI) { f.rejectNonces = true },
			wantErr: true, wantReq: 2, wantPrimes: 1},
		{name: "every nonce refused, caller's nonce: one retry only", setup: func(f *fakeVCI) { f.rejectNonces = true },
			nonce: func(f *fakeVCI) string { return f.nonceFor(tokenA) }, wantErr: true, wantReq: 3, wantPrimes: 1},
		{name: "caller's nonce refused, priming fails",
			nonce:   func(f *fakeVCI) string { return "stale" },
			setup:   func(f *fakeVCI) { f.primeAnswer = func() (int, string) { return 500, "" } },
			wantErr: true, wantReq: 2, wantPrimes: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeVCI(t, nil)
			vc := newClient(t, f, nil, nil)
			if tc.warm {
				if _, err := vc.Request(ctxTimeout(t), tokenA, ""); err != nil {
					t.Fatal(err)
				}
			}
			if tc.setup != nil {
				f.set(tc.setup)
			}
			if tc.between != nil {
				f.set(tc.between)
			}
			nonce := ""
			if tc.nonce != nil {
				nonce = tc.nonce(f)
			}
			r0, p0 := f.counts()
			cred, err := vc.Request(ctxTimeout(t), tokenA, nonce)
			if tc.wantErr {
				var e *credentials.Error
				var se *credentials.ServerError
				if err == nil || (!errors.As(err, &e) && !errors.As(err, &se)) || cred != nil {
					t.Errorf("Request = %v, %v; want an endpoint error", cred, err)
				}
			} else if err != nil {
				t.Fatalf("Request: %v", err)
			}
			r1, p1 := f.counts()
			if r1-r0 != tc.wantReq || p1-p0 != tc.wantPrimes {
				t.Errorf("%d requests, %d primes; want %d, %d", r1-r0, p1-p0, tc.wantReq, tc.wantPrimes)
			}
		})
	}
}

// TestRequestUsesNonceFromRefusal: an OpenID4VCI provider may send a new
// c_nonce with its refusal; it is used at once.
func TestRequestUsesNonceFromRefusal(t *testing.T) {
	f := newFakeVCI(t, nil)
	vc := newClient(t, f, nil, nil)
	calls := 0
	f.set(func(f *fakeVCI) {
		f.answer = func(cred string) (int, string) {
			calls++
			if calls == 1 {
				return 400, `{"error":"invalid_proof","c_nonce":"` + f.nonceLocked(tokenA) + `","c_nonce_expires_in":60}`
			}
			return 200, `{"format":"jwt_vc_json","credential_draft_00":"` + cred + `"}`
		}
	})
	if _, err := vc.Request(ctxTimeout(t), tokenA, f.nonceFor(tokenA)); err != nil {
		t.Fatal(err)
	}
	if req, primes := f.counts(); req != 2 || primes != 0 {
		t.Errorf("%d requests, %d primes; want 2, 0", req, primes)
	}
}

func TestRequestNonceExpiry(t *testing.T) {
	f := newFakeVCI(t, nil)
	f.set(func(f *fakeVCI) { f.nonceTTL = 60 })
	var mu sync.Mutex // guards now
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	vc := newClient(t, f, nil, func(c *credentials.Config) { c.Now = clock })
	for i, step := range []struct {
		advance    time.Duration
		wantPrimes int
	}{{0, 1}, {30 * time.Second, 1}, {31 * time.Second, 2}} {
		mu.Lock()
		now = now.Add(step.advance)
		mu.Unlock()
		if _, err := vc.Request(ctxTimeout(t), tokenA, ""); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if _, primes := f.counts(); primes != step.wantPrimes {
			t.Errorf("step %d: %d primes, want %d", i, primes, step.wantPrimes)
		}
	}
}

func TestRequestRejections(t *testing.T) {
	const secretMarker = "SECRET-BODY-5e5e"
	attacker, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	attackerJWK, _ := jwk.FromRaw(attacker)
	attackerJWK.Set(jwk.KeyIDKey, "attacker")
	tests := []struct {
		name    string
		setup   func(t *testing.T, f *fakeVCI)
		meta    func(map[string]any)
		cfg     func(*credentials.Config)
		token   string
		wantErr error
		check   func(*testing.T, error)
	}{
		{name: "attacker: tampered credential", setup: func(t *testing.T, f *fakeVCI) {
			f.answer = func(cred string) (int, string) {
				parts := strings.Split(cred, ".")
				var m map[string]any
				b, _ := base64.RawURLEncoding.DecodeString(parts[1])
				json.Unmarshal(b, &m)
				m["vc"].(map[string]any)["credentialSubject"].(map[string]any)["email"] = "mallory@example.com"
				b, _ = json.Marshal(m)
				parts[1] = base64.RawURLEncoding.EncodeToString(b)
				return 200, `{"format":"jwt_vc_json","credential_draft_00":"` + strings.Join(parts, ".") + `"}`
			}
		}, wantErr: discovery.ErrInvalidSignature},
		{name: "attacker: signed with their own key", setup: func(t *testing.T, f *fakeVCI) {
			f.sign = func(c map[string]any) string { s, _ := f.op.Sign(c, rptest.WithKey(attackerJWK)); return s }
		}, wantErr: credentials.ErrInvalidCredential},
		{name: "attacker: alg none", setup: func(t *testing.T, f *fakeVCI) {
			f.sign = func(c map[string]any) string { s, _ := f.op.Sign(c, rptest.WithAlg("none")); return s }
		}, wantErr: discovery.ErrAlgNotAllowed},
		{name: "algorithm outside id_token_signing_alg_values_supported",
			meta:    func(m map[string]any) { m["id_token_signing_alg_values_supported"] = []string{"ES256"} },
			wantErr: discovery.ErrAlgNotAllowed},
		{name: "attacker: wrong holder binding", setup: func(t *testing.T, f *fakeVCI) {
			other, _ := json.Marshal(otherJWK(t))
			did := "did:jwk:" + base64.RawURLEncoding.EncodeToString(other)
			f.edit = func(c map[string]any) {
				c["sub"] = did
				c["vc"].(map[string]any)["credentialSubject"].(map[string]any)["id"] = did
			}
		}, wantErr: credentials.ErrHolderMismatch},
		{name: "credentialSubject.id of another key", setup: func(t *testing.T, f *fakeVCI) {
			f.edit = func(c map[string]any) {
				c["vc"].(map[string]any)["credentialSubject"].(map[string]any)["id"] = "did:jwk:other"
			}
		}, wantErr: credentials.ErrHolderMismatch},
		{name: "sub not a did:jwk", setup: func(t *testing.T, f *fakeVCI) {
			f.edit = func(c map[string]any) { c["sub"] = "alice"; delete(c, "vc") }
		}, wantErr: credentials.ErrHolderMismatch},
		{name: "did:jwk that is not base64url", setup: func(t *testing.T, f *fakeVCI) {
			f.edit = func(c map[string]any) { c["sub"] = "did:jwk:%%%" }
		}, wantErr: credentials.ErrHolderMismatch},
		{name: "no sub", setup: func(t *testing.T, f *fakeVCI) {
			f.edit = func(c map[string]any) { delete(c, "sub") }
		}, wantErr: credentials.ErrHolderMismatch},
		{name: "wrong issuer", setup: func(t *testing.T, f *fakeVCI) {
			f.edit = func(c map[string]any) { c["iss"] = rptest.WrongValue }
		}, wantErr: credentials.ErrInvalidCredential},
		{name: "no issuer", setup: func(t *testing.T, f *fakeVCI) {
			f.edit = func(c map[string]any) { delete(c, "iss") }
		}, wantErr: credentials.ErrInvalidCredential},
		{name: "expired", setup: func(t *testing.T, f *fakeVCI) {
			f.edit = func(c map[string]any) { c["exp"] = floatTime(time.Now().Add(-time.Second)) }
		}, wantErr: credentials.ErrExpired},
		{name: "not yet valid", setup: func(t *testing.T, f *fakeVCI) {
			f.edit = func(c map[string]any) { c["nbf"] = floatTime(time.Now().Add(time.Hour)) }
		}, wantErr: credentials.ErrInvalidCredential},
		{name: "exp of a wrong type", setup: func(t *testing.T, f *fakeVCI) {
			f.edit = func(c map[string]any) { c["exp"] = "tomorrow" }
		}, wantErr: credentials.ErrInvalidCredential},
		{name: "no vc claim", setup: func(t *testing.T, f *fakeVCI) {
			f.edit = func(c map[string]any) { delete(c, "vc") }
		}, wantErr: credentials.ErrInvalidCredential},
		{name: "vc.type without VerifiableCredential", setup: func(t *testing.T, f *fakeVCI) {
			f.edit = func(c map[string]any) { c["vc"].(map[string]any)["type"] = []string{"Other"} }
		}, wantErr: credentials.ErrInvalidCredential},
		{name: "unknown format", setup: func(t *testing.T, f *fakeVCI) {
			f.answer = func(cred string) (int, string) {
				return 200, `{"format":"ldp_vc","credential_draft_00":"` + cred + `"}`
			}
		}, wantErr: credentials.ErrInvalidCredential},
		{name: "no credential in the answer", setup: func(t *testing.T, f *fakeVCI) {
			f.answer = func(string) (int, string) { return 200, `{"format":"jwt_vc_json"}` }
		}, wantErr: credentials.ErrInvalidCredential},
		{name: "answer not JSON", setup: func(t *testing.T, f *fakeVCI) {
			f.answer = func(string) (int, string) { return 200, "<html>" + secretMarker }
		}, wantErr: credentials.ErrInvalidCredential},
		{name: "500 with an HTML body", setup: func(t *testing.T, f *fakeVCI) {
			f.answer = func(string) (int, string) { return 500, "<html><pre>" + secretMarker + "</pre>" }
		}, check: func(t *testing.T, err error) {
			var se *credentials.ServerError
			if !errors.As(err, &se) || se.Status != 500 {
				t.Errorf("error = %#v, want *ServerError 500", err)
			}
		}},
		{name: "oversize answer", setup: func(t *testing.T, f *fakeVCI) {
			f.answer = func(string) (int, string) { return 200, `{"x":"` + strings.Repeat("a", 1<<20) + `"}` }
		}, wantErr: httpx.ErrBodyTooLarge},
		{name: "400 explained", setup: func(t *testing.T, f *fakeVCI) {
			f.answer = func(string) (int, string) {
				return 400, `{"error":"invalid_request","error_description":"The format 'x' is not supported."}`
			}
		}, check: func(t *testing.T, err error) {
			var e *credentials.Error
			if !errors.As(err, &e) || e.Status != 400 || e.Code != "invalid_request" || !strings.Contains(e.Description, "format") {
				t.Errorf("error = %#v", err)
			}
		}},
		{name: "token refused", token: "ory_at_unknown", wantErr: credentials.ErrTokenRejected, check: func(t *testing.T, err error) {
			var e *credentials.Error
			if !errors.As(err, &e) || e.Status != 401 || e.Code != "request_unauthorized" {
				t.Errorf("error = %#v", err)
			}
		}},
		{name: "priming answered without nonce", setup: func(t *testing.T, f *fakeVCI) {
			f.primeAnswer = func() (int, string) { return 400, `{"error":"missing_proof"}` }
		}, wantErr: credentials.ErrNoNonce},
		{name: "attacker: priming answered with success", setup: func(t *testing.T, f *fakeVCI) {
			f.primeAnswer = func() (int, string) { return 200, `{"format":"jwt_vc_json","credential_draft_00":"a.b.c"}` }
		}, wantErr: credentials.ErrNoNonce},
		{name: "holder algorithm not offered",
			meta: func(m map[string]any) {
				m["credentials_supported_draft_00"] = []map[string]any{{"format": "jwt_vc_json", "cryptographic_suites_supported": []string{"RS256"}}}
			},
			wantErr: credentials.ErrUnsupportedKey},
		{name: "no endpoint",
			meta:    func(m map[string]any) { delete(m, "credentials_endpoint_draft_00") },
			wantErr: credentials.ErrNoEndpoint},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeVCI(t, tc.meta)
			if tc.setup != nil {
				f.set(func(f *fakeVCI) { tc.setup(t, f) })
			}
			vc := newClient(t, f, nil, tc.cfg)
			token := tokenA
			if tc.token != "" {
				token = tc.token
			}
			cred, err := vc.Request(ctxTimeout(t), token, "")
			if err == nil || cred != nil {
				t.Fatalf("Request = %+v, %v; want an error", cred, err)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("Request error = %v, want %v", err, tc.wantErr)
			}
			if tc.check != nil {
				tc.check(t, err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "credentials: ") {
				t.Errorf("error %q lacks the package prefix", msg)
			}
			if strings.Contains(msg, token) || strings.Contains(msg, secretMarker) || strings.Contains(msg, f.nonceFor(tokenA)) {
				t.Errorf("error message leaks the token, a nonce or the body: %s", msg)
			}
		})
	}
}

// opaqueSigner hides the concrete key type, like an HSM or KMS signer.
type opaqueSigner struct{ s crypto.Signer }

func (o opaqueSigner) Public() crypto.PublicKey { return o.s.Public() }
func (o opaqueSigner) Sign(r io.Reader, d []byte, opts crypto.SignerOpts) ([]byte, error) {
	return o.s.Sign(r, d, opts)
}

func TestHolderKeyTypes(t *testing.T) {
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	rsa2048, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	p256, _ := credentials.GenerateHolderKey()
	tests := []struct {
		name    string
		key     crypto.Signer
		wantAlg string // "" means New must refuse the key
	}{
		{"P-256", p256, "ES256"},
		{"P-256 behind crypto.Signer", opaqueSigner{p256}, "ES256"},
		{"P-384", p384, "ES384"},
		{"P-521", p521, "ES512"},
		{"Ed25519", ed, "EdDSA"},
		{"Ed25519 behind crypto.Signer", opaqueSigner{ed}, "EdDSA"},
		{"RSA 2048", rsa2048, "RS256"},
		{"RSA 2048 behind crypto.Signer", opaqueSigner{rsa2048}, "RS256"},
		{"P-224", p224, ""},
		{"RSA 1024", rsa1024, ""},
	}
	f := newFakeVCI(t, nil)
	p := newDiscovery(t, f.op.Issuer())
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vc, err := credentials.New(credentials.Config{Provider: p, Holder: tc.key})
			if tc.wantAlg == "" {
				if !errors.Is(err, credentials.ErrUnsupportedKey) {
					t.Errorf("New = %v, want ErrUnsupportedKey", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cred, err := vc.Request(ctxTimeout(t), tokenA, "")
			if err != nil {
				t.Fatal(err)
			}
			f.mu.Lock()
			alg := f.lastProofHeader.Algorithm().String()
			f.mu.Unlock()
			bound, err := credentials.ParseDIDJWK(cred.Subject)
			if err != nil || !bound.(publicKeyEqualer).Equal(tc.key.Public()) {
				t.Errorf("credential subject %q is not the holder key (%v)", cred.Subject, err)
			}
			if alg != tc.wantAlg {
				t.Errorf("proof alg %s, want %s", alg, tc.wantAlg)
			}
		})
	}
}

func TestEndpointOverride(t *testing.T) {
	f := newFakeVCI(t, func(m map[string]any) { delete(m, "credentials_endpoint_draft_00") })
	vc := newClient(t, f, nil, func(c *credentials.Config) { c.Endpoint = f.srv.URL + "/credentials" })
	if _, err := vc.Request(ctxTimeout(t), tokenA, ""); err != nil {
		t.Fatal(err)
	}
}

func TestNew(t *testing.T) {
	p := newDiscovery(t, "https://127.0.0.1:9") // unreachable loopback: no lookups
	k, _ := credentials.GenerateHolderKey()
	tests := []struct {
		name string
		cfg  credentials.Config
		ok   bool
	}{
		{"minimal", credentials.Config{Provider: p, Holder: k}, true},
		{"https endpoint", credentials.Config{Provider: p, Holder: k, Endpoint: "https://vc.example.com/credentials"}, true},
		{"no provider", credentials.Config{Holder: k}, false},
		{"no holder", credentials.Config{Provider: p}, false},
		{"http endpoint", credentials.Config{Provider: p, Holder: k, Endpoint: "http://vc.example.com/credentials"}, false},
		{"relative endpoint", credentials.Config{Provider: p, Holder: k, Endpoint: "/credentials"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := credentials.New(tc.cfg)
			if (err == nil) != tc.ok || (c != nil) != tc.ok {
				t.Errorf("New = %v, %v; want ok=%v", c, err, tc.ok)
			}
		})
	}
}

func TestRequestArguments(t *testing.T) {
	f := newFakeVCI(t, nil)
	vc := newClient(t, f, nil, nil)
	for _, token := range []string{"", "a b", "a\r\nX-Evil: 1"} {
		if _, err := vc.Request(ctxTimeout(t), token, ""); err == nil {
			t.Errorf("Request with token %q succeeded", token)
		}
	}
	if req, _ := f.counts(); req != 0 {
		t.Errorf("%d requests sent for bad tokens", req)
	}
}
