package discovery

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

func TestVerifyAlgorithms(t *testing.T) {
	tests := []struct {
		name, kind string
	}{
		{"RS256", "rsa"},
		{"ES256", "p256"},
		{"ES384", "p384"},
		{"EdDSA", "ed25519"},
	}
	var keys []jwk.Key
	for _, tc := range tests {
		keys = append(keys, testKey(t, tc.kind, "kid-"+tc.kind))
	}
	op := newFakeOP(t, keys...)
	ks := newTestProvider(t, op, nil).KeySet()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := testKey(t, tc.kind, "kid-"+tc.kind)
			payload := []byte(`{"sub":"alice","n":"` + tc.name + `"}`)
			got, err := ks.Verify(ctxTimeout(t, 5*time.Second), sign(t, key, payload, nil), []string{tc.name})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !bytes.Equal(got, payload) {
				t.Errorf("payload %s, want %s", got, payload)
			}
			// Without kid, the key is found by type.
			got, err = ks.Verify(ctxTimeout(t, 5*time.Second), sign(t, key, payload, map[string]any{"kid": nil}), nil)
			if err != nil || !bytes.Equal(got, payload) {
				t.Errorf("Verify without kid: %s, %v", got, err)
			}
		})
	}
	if n := op.jwksHits.Load(); n != 1 {
		t.Errorf("JWKS fetched %d times, want 1", n)
	}
}

func TestBrokenKeysAreSkipped(t *testing.T) {
	good := testKey(t, "rsa", "good")
	small := testKey(t, "rsa1024", "small")
	pss := testKey(t, "rsa", "pss-only")
	rsaPub, _ := good.PublicKey()
	pubJSON, _ := json.Marshal(rsaPub)
	var goodMap map[string]any
	json.Unmarshal(pubJSON, &goodMap)
	variant := func(edit func(m map[string]any)) json.RawMessage {
		m := map[string]any{}
		for k, v := range goodMap {
			m[k] = v
		}
		edit(m)
		b, _ := json.Marshal(m)
		return b
	}
	priv, _ := json.Marshal(testKey(t, "p256", "private"))
	smallPub, _ := small.PublicKey()
	smallJSON, _ := json.Marshal(smallPub)
	pssPub, _ := pss.PublicKey()
	pssPub.Set(jwk.AlgorithmKey, jwa.PS256)
	pssJSON, _ := json.Marshal(pssPub)

	entries := []json.RawMessage{
		variant(func(m map[string]any) { m["kid"] = "bad-n"; m["n"] = "!!not base64!!" }),
		json.RawMessage(`{"kty":"XYZ","kid":"unknown-kty"}`),
		json.RawMessage(`"not an object"`),
		variant(func(m map[string]any) { m["kid"] = "enc"; m["use"] = "enc" }),
		variant(func(m map[string]any) { m["kid"] = "wrap"; delete(m, "use"); m["key_ops"] = []string{"wrapKey"} }),
		variant(func(m map[string]any) { m["kid"] = "oaep"; delete(m, "use"); m["alg"] = "RSA-OAEP" }),
		variant(func(m map[string]any) { m["kid"] = "es-on-rsa"; m["alg"] = "ES256" }),
		json.RawMessage(`{"kty":"oct","kid":"hmac","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0","alg":"HS256"}`),
		priv,
		smallJSON,
		pubJSON,
		pssJSON,
	}
	doc, _ := json.Marshal(map[string]any{"keys": entries})
	op := newFakeOP(t)
	op.setJWKS(serveBytes(doc, ""))
	ks := newTestProvider(t, op, nil).KeySet()

	set, err := ks.Keys(ctxTimeout(t, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var kids []string
	for i := range set.Len() {
		k, _ := set.Key(i)
		kids = append(kids, k.KeyID())
	}
	if strings.Join(kids, ",") != "good,pss-only" {
		t.Errorf("usable keys %v, want [good pss-only]", kids)
	}

	payload := []byte(`{"sub":"a"}`)
	if _, err := ks.Verify(ctxTimeout(t, 5*time.Second), sign(t, good, payload, nil), nil); err != nil {
		t.Errorf("good key no longer verifies: %v", err)
	}
	rejected := []struct {
		name string
		tok  []byte
		want error
	}{
		{"token of the 1024-bit key", sign(t, small, payload, nil), ErrUnknownKey},
		{"token of the published private key", sign(t, testKey(t, "p256", "private"), payload, nil), ErrUnknownKey},
		{"RS256 token for a PS256-only key", sign(t, pss, payload, nil), ErrAlgNotAllowed},
	}
	for _, tc := range rejected {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ks.Verify(ctxTimeout(t, 5*time.Second), tc.tok, nil); !errors.Is(err, tc.want) {
				t.Errorf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
	pssTok := sign(t, pss, payload, map[string]any{"alg": jwa.PS256})
	if _, err := ks.Verify(ctxTimeout(t, 5*time.Second), pssTok, nil); err != nil {
		t.Errorf("PS256 token for the PS256 key: %v", err)
	}
}

func TestJWKSWithoutUsableKeysKeepsPreviousSet(t *testing.T) {
	key := testKey(t, "rsa", "k1")
	op := newFakeOP(t, key)
	ks := newTestProvider(t, op, nil).KeySet()
	if err := ks.Refresh(ctxTimeout(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		body string
		want error
	}{
		{"no usable key", `{"keys":[{"kty":"oct","k":"AAAA"}]}`, ErrNoUsableKeys},
		{"no keys member", `{}`, ErrNoUsableKeys},
		{"not JSON", `<html>`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			op.setJWKS(serveBytes([]byte(tc.body), ""))
			err := ks.Refresh(ctxTimeout(t, 5*time.Second))
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Errorf("Refresh = %v, want %v", err, tc.want)
			}
			if _, err := ks.Verify(ctxTimeout(t, 5*time.Second), sign(t, key, []byte(`{"a":1}`), nil), nil); err != nil {
				t.Errorf("previous keys lost: %v", err)
			}
		})
	}
}

func TestUnknownKidPicksUpRotation(t *testing.T) {
	k1, k2, k3 := testKey(t, "rsa", "k1"), testKey(t, "p256", "k2"), testKey(t, "rsa", "k3")
	op := newFakeOP(t, k1)
	clock := newFakeClock()
	ks := newTestProvider(t, op, func(c *Config) { c.Now = clock.Now }).KeySet()
	ctx := ctxTimeout(t, 5*time.Second)
	payload := []byte(`{"sub":"a"}`)

	if _, err := ks.Verify(ctx, sign(t, k1, payload, nil), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ks.Verify(ctx, sign(t, k2, payload, nil), nil); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("k2 before rotation: %v, want ErrUnknownKey", err)
	}
	before := op.jwksHits.Load()

	// The provider rotates; a token signed with the new key arrives at
	// once (the clock has not moved).
	op.setKeys(t, k1, k2)
	if _, err := ks.Verify(ctx, sign(t, k2, payload, nil), nil); err != nil {
		t.Fatalf("k2 after rotation: %v", err)
	}
	if n := op.jwksHits.Load() - before; n != 1 {
		t.Errorf("%d JWKS fetches for the rotation, want 1", n)
	}

	// k1 is retired, k3 added; a k3 token refetches, and k1 stops verifying.
	clock.Add(time.Minute)
	op.setKeys(t, k2, k3)
	if _, err := ks.Verify(ctx, sign(t, k3, payload, nil), nil); err != nil {
		t.Fatalf("k3 after rotation: %v", err)
	}
	if _, err := ks.Verify(ctx, sign(t, k1, payload, nil), nil); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("removed key k1: %v, want ErrUnknownKey", err)
	}
	if _, err := ks.Verify(ctx, sign(t, k1, payload, map[string]any{"kid": nil}), nil); !errors.Is(err, ErrInvalidSignature) {
		t.Errorf("removed key k1 without kid: %v, want ErrInvalidSignature", err)
	}
}

func TestRandomKidSprayIsRateLimited(t *testing.T) {
	for _, concurrent := range []bool{false, true} {
		t.Run(fmt.Sprintf("concurrent=%v", concurrent), func(t *testing.T) {
			legit, attacker := testKey(t, "rsa", "legit"), testKey(t, "p256", "")
			op := newFakeOP(t, legit)
			clock := newFakeClock()
			const burst = 3
			ks := newTestProvider(t, op, func(c *Config) {
				c.Now = clock.Now
				c.JWKSRefetchBurst = burst
				c.JWKSRefetchInterval = 10 * time.Second
			}).KeySet()
			if err := ks.Refresh(ctxTimeout(t, 5*time.Second)); err != nil {
				t.Fatal(err)
			}
			before := op.jwksHits.Load()

			const tokens = 1000
			toks := make([][]byte, tokens)
			for i := range toks {
				toks[i] = sign(t, attacker, []byte(`{"sub":"mallory"}`), map[string]any{"kid": fmt.Sprintf("random-%d", i)})
			}
			var accepted, wrongErr atomic.Int64
			verify := func(tok []byte) {
				_, err := ks.Verify(ctxTimeout(t, 5*time.Second), tok, nil)
				switch {
				case err == nil:
					accepted.Add(1)
				case !errors.Is(err, ErrUnknownKey):
					wrongErr.Add(1)
				}
			}
			if concurrent {
				var wg sync.WaitGroup
				work := make(chan []byte)
				for range 32 {
					wg.Go(func() {
						for tok := range work {
							verify(tok)
						}
					})
				}
				for _, tok := range toks {
					work <- tok
				}
				close(work)
				wg.Wait()
			} else {
				for _, tok := range toks {
					verify(tok)
				}
			}
			if accepted.Load() != 0 || wrongErr.Load() != 0 {
				t.Errorf("%d accepted, %d with an error other than ErrUnknownKey", accepted.Load(), wrongErr.Load())
			}
			if n := op.jwksHits.Load() - before; n > burst || n < 1 {
				t.Errorf("%d JWKS fetches for %d random kids, want between 1 and %d", n, tokens, burst)
			}

			// Once the interval passed, a genuine rotation is picked up again.
			clock.Add(10 * time.Second)
			rotated := testKey(t, "rsa", "rotated")
			op.setKeys(t, legit, rotated)
			if _, err := ks.Verify(ctxTimeout(t, 5*time.Second), sign(t, rotated, []byte(`{"sub":"a"}`), nil), nil); err != nil {
				t.Errorf("rotation after the interval: %v", err)
			}
		})
	}
}

func TestConcurrentRefetchCollapsed(t *testing.T) {
	k1, k2 := testKey(t, "rsa", "k1"), testKey(t, "rsa", "k2")
	op := newFakeOP(t, k1)
	ks := newTestProvider(t, op, nil).KeySet()
	if err := ks.Refresh(ctxTimeout(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	before := op.jwksHits.Load()
	release := make(chan struct{})
	rotated := serveBytes(jwksJSON(t, k1, k2), "")
	op.setJWKS(func(w http.ResponseWriter, r *http.Request) {
		<-release
		rotated(w, r)
	})
	tok := sign(t, k2, []byte(`{"sub":"a"}`), nil)
	var wg sync.WaitGroup
	var failures atomic.Int64
	for range 50 {
		wg.Go(func() {
			if _, err := ks.Verify(ctxTimeout(t, 5*time.Second), tok, nil); err != nil {
				failures.Add(1)
			}
		})
	}
	eventually(t, 2*time.Second, "the refetch to start", func() bool { return op.jwksHits.Load() > before })
	time.Sleep(20 * time.Millisecond) // let the other callers join
	close(release)
	wg.Wait()
	if failures.Load() != 0 {
		t.Errorf("%d verifications failed", failures.Load())
	}
	if n := op.jwksHits.Load() - before; n != 1 {
		t.Errorf("%d JWKS fetches, want 1 shared fetch", n)
	}
}

// TestAlgorithmAndKeyConfusion plays the attacker: every token below is
// forged without the provider's private key and must be rejected.
func TestAlgorithmAndKeyConfusion(t *testing.T) {
	victim := testKey(t, "rsa", "k1")
	ecKey := testKey(t, "p256", "ec1")
	attacker := testKey(t, "rsa", "attacker")
	attackerEC := testKey(t, "p256", "attacker-ec")

	var attackerHits atomic.Int64
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		attackerHits.Add(1)
		w.Write(jwksJSON(t, attacker))
	}))
	defer evil.Close()

	op := newFakeOP(t, victim, ecKey)
	ks := newTestProvider(t, op, nil).KeySet()
	payload := []byte(`{"sub":"admin"}`)

	// HS256 with the victim's public key as HMAC secret, in the forms an
	// attacker would try.
	var victimRaw rsa.PublicKey
	pubKey, _ := victim.PublicKey()
	pubKey.Raw(&victimRaw)
	der := x509.MarshalPKCS1PublicKey(&victimRaw)
	pkix, _ := x509.MarshalPKIXPublicKey(&victimRaw)
	pubJSON, _ := json.Marshal(pubKey)
	hmacToken := func(secret []byte) []byte {
		h := jws.NewHeaders()
		h.Set(jws.KeyIDKey, "k1")
		tok, err := jws.Sign(payload, jws.WithKey(jwa.HS256, secret, jws.WithProtectedHeaders(h)))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	b64 := base64.RawURLEncoding.EncodeToString
	unsigned := func(header string) []byte {
		return []byte(b64([]byte(header)) + "." + b64(payload) + ".")
	}
	attackerPub, _ := attacker.PublicKey()
	valid := sign(t, victim, payload, nil)
	parts := strings.Split(string(valid), ".")
	tampered := []byte(parts[0] + "." + b64([]byte(`{"sub":"root"}`)) + "." + parts[2])

	tests := []struct {
		name    string
		tok     []byte
		allowed []string
		want    error
	}{
		{"HS256 keyed with PKCS#1 DER of the RSA key", hmacToken(der), nil, ErrAlgNotAllowed},
		{"HS256 keyed with PKIX DER of the RSA key", hmacToken(pkix), nil, ErrAlgNotAllowed},
		{"HS256 keyed with the JWK JSON", hmacToken(pubJSON), nil, ErrAlgNotAllowed},
		{"HS256 even when the allow-list names it", hmacToken(der), []string{"HS256", "RS256"}, ErrAlgNotAllowed},
		{"alg none", unsigned(`{"alg":"none","kid":"k1"}`), nil, ErrAlgNotAllowed},
		{"alg none allowed by list", unsigned(`{"alg":"none"}`), []string{"none"}, ErrAlgNotAllowed},
		{"alg NONE", unsigned(`{"alg":"NONE","kid":"k1"}`), nil, ErrAlgNotAllowed},
		{"alg not in allow-list", sign(t, ecKey, payload, nil), []string{"RS256"}, ErrAlgNotAllowed},
		{"RS256 header on an EC key's kid", sign(t, attacker, payload, map[string]any{"kid": "ec1"}), nil, ErrAlgNotAllowed},
		{"ES256 header on an RSA key's kid", sign(t, attackerEC, payload, map[string]any{"kid": "k1"}), nil, ErrAlgNotAllowed},
		{"embedded jwk with the attacker's kid", sign(t, attacker, payload, map[string]any{"jwk": attackerPub}), nil, ErrUnknownKey},
		{"embedded jwk claiming kid k1", sign(t, attacker, payload, map[string]any{"jwk": attackerPub, "kid": "k1"}), nil, ErrInvalidSignature},
		{"embedded jwk without kid", sign(t, attacker, payload, map[string]any{"jwk": attackerPub, "kid": nil}), nil, ErrInvalidSignature},
		{"jku pointing at the attacker", sign(t, attacker, payload, map[string]any{"jku": evil.URL}), nil, ErrUnknownKey},
		{"jku with the victim's kid", sign(t, attacker, payload, map[string]any{"jku": evil.URL, "kid": "k1"}), nil, ErrInvalidSignature},
		{"x5u pointing at the attacker", sign(t, attacker, payload, map[string]any{"x5u": evil.URL, "kid": "k1"}), nil, ErrInvalidSignature},
		{"tampered payload", tampered, nil, ErrInvalidSignature},
		{"critical header", sign(t, victim, payload, map[string]any{"crit": []string{"exp"}, "exp": 1}), nil, ErrMalformedToken},
		{"unencoded payload", sign(t, victim, payload, map[string]any{"b64": true}), nil, ErrMalformedToken},
		{"JSON serialization", []byte(`{"payload":"` + b64(payload) + `","signatures":[]}`), nil, ErrMalformedToken},
		{"two parts", []byte(parts[0] + "." + parts[1]), nil, ErrMalformedToken},
		{"garbage", []byte("a.b.c"), nil, ErrMalformedToken},
		{"empty payload", []byte(parts[0] + ".." + parts[2]), nil, ErrMalformedToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ks.Verify(ctxTimeout(t, 5*time.Second), tc.tok, tc.allowed)
			if err == nil {
				t.Fatalf("forged token accepted, payload %s", got)
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "discovery: verify: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
	if n := attackerHits.Load(); n != 0 {
		t.Errorf("the attacker's server was contacted %d times", n)
	}
	if _, err := ks.Verify(ctxTimeout(t, 5*time.Second), valid, nil); err != nil {
		t.Errorf("the genuine token fails: %v", err)
	}
}

func TestGoOIDCVerifier(t *testing.T) {
	key := testKey(t, "rsa", "k1")
	op := newFakeOP(t, key)
	p := newTestProvider(t, op, nil)
	const clientID = "client-1"
	idToken := func(claims map[string]any) string {
		b, err := json.Marshal(claims)
		if err != nil {
			t.Fatal(err)
		}
		return string(sign(t, key, b, map[string]any{"typ": "JWT"}))
	}
	now := time.Now()
	base := map[string]any{
		"iss": op.srv.URL, "aud": []string{clientID}, "sub": "alice", "nonce": "n-1",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "sid": "s-1",
	}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for a, b := range base {
			m[a] = b
		}
		m[k] = v
		return m
	}
	verifier := oidc.NewVerifier(p.Issuer(), p.KeySet(), &oidc.Config{ClientID: clientID})

	tok, err := verifier.Verify(ctxTimeout(t, 5*time.Second), idToken(base))
	if err != nil {
		t.Fatalf("go-oidc Verify: %v", err)
	}
	if tok.Subject != "alice" || tok.Nonce != "n-1" {
		t.Errorf("token subject %q nonce %q", tok.Subject, tok.Nonce)
	}

	stranger := testKey(t, "rsa", "stranger")
	forged, _ := json.Marshal(base)
	rejected := []struct {
		name string
		raw  string
	}{
		{"wrong audience", idToken(with("aud", []string{"other"}))},
		{"wrong issuer", idToken(with("iss", "https://evil.example.com"))},
		{"expired", idToken(with("exp", now.Add(-time.Hour).Unix()))},
		{"unknown signer", string(sign(t, stranger, forged, nil))},
	}
	for _, tc := range rejected {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := verifier.Verify(ctxTimeout(t, 5*time.Second), tc.raw); err == nil {
				t.Error("go-oidc accepted the token")
			}
		})
	}
}

func TestStaticKeySet(t *testing.T) {
	rsaKey, ecKey := testKey(t, "rsa", "s1"), testKey(t, "p256", "s2")
	set := jwk.NewSet()
	set.AddKey(rsaKey) // private: reduced to its public part
	ecPub, _ := ecKey.PublicKey()
	set.AddKey(ecPub)
	oct, _ := jwk.FromRaw([]byte("0123456789abcdef0123456789abcdef"))
	oct.Set(jwk.KeyIDKey, "hmac")
	set.AddKey(oct)

	ks := NewStaticKeySet(set)
	ctx := context.Background()
	for _, key := range []jwk.Key{rsaKey, ecKey} {
		if _, err := ks.Verify(ctx, sign(t, key, []byte(`{"a":1}`), nil), nil); err != nil {
			t.Errorf("Verify with %s: %v", key.KeyID(), err)
		}
	}
	got, err := ks.Keys(ctx)
	if err != nil || got.Len() != 2 {
		t.Fatalf("Keys = %v keys, %v; want the two asymmetric ones", got.Len(), err)
	}
	for i := range got.Len() {
		k, _ := got.Key(i)
		if ak, ok := k.(jwk.AsymmetricKey); ok && ak.IsPrivate() {
			t.Errorf("key %s is private", k.KeyID())
		}
	}
	other := testKey(t, "rsa", "other")
	if _, err := ks.Verify(ctx, sign(t, other, []byte(`{"a":1}`), nil), nil); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("unknown kid: %v, want ErrUnknownKey", err)
	}
	if err := ks.Refresh(ctx); err != nil {
		t.Errorf("Refresh of a static set: %v", err)
	}
	if _, err := NewStaticKeySet(nil).Verify(ctx, sign(t, other, []byte(`{"a":1}`), nil), nil); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("empty static set: %v, want ErrUnknownKey", err)
	}
}

func TestKeysWaitForMetadata(t *testing.T) {
	addr := reservePort(t)
	p, err := New(Config{Issuer: "http://" + addr, Logger: quietLogger, RetryBackoff: 5 * time.Millisecond, MaxRetryBackoff: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	_, err = p.KeySet().Keys(ctxTimeout(t, 30*time.Millisecond))
	if !errors.Is(err, ErrNotReady) {
		t.Errorf("Keys with the provider down: %v, want ErrNotReady", err)
	}
	tok := sign(t, testKey(t, "rsa", "k1"), []byte(`{"a":1}`), nil)
	if _, err := p.KeySet().VerifySignature(ctxTimeout(t, 30*time.Millisecond), string(tok)); !errors.Is(err, ErrNotReady) {
		t.Errorf("VerifySignature with the provider down: %v, want ErrNotReady", err)
	}
}

func TestTokenBucket(t *testing.T) {
	start := time.Unix(1000, 0)
	b := newTokenBucket(10*time.Second, 2, start)
	steps := []struct {
		at   time.Duration
		want bool
	}{
		{0, true}, {0, true}, {0, false}, {5 * time.Second, false},
		{10 * time.Second, true}, {10 * time.Second, false},
		{time.Hour, true}, {time.Hour, true}, {time.Hour, false},
		{time.Hour - time.Minute, false}, // a clock going back grants nothing
	}
	for i, s := range steps {
		if got := b.allow(start.Add(s.at)); got != s.want {
			t.Errorf("step %d at %v: allow = %v, want %v", i, s.at, got, s.want)
		}
	}
}

func BenchmarkVerifySignature(b *testing.B) {
	for _, kind := range []string{"rsa", "p256"} {
		b.Run(kind, func(b *testing.B) {
			key := testKey(b, kind, "bench-"+kind)
			pub, _ := key.PublicKey()
			set := jwk.NewSet()
			set.AddKey(pub)
			set.AddKey(testKey(b, "rsa", "bench-other"))
			ks := NewStaticKeySet(set)
			claims := `{"iss":"https://id.example.com","aud":["client"],"sub":"alice","exp":4102444800,"iat":1700000000,"nonce":"abc"}`
			tok := string(sign(b, key, []byte(claims), nil))
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ks.VerifySignature(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
