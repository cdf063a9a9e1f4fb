package rptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// signingKey is one key pair of the provider.
type signingKey struct {
	kid  string
	alg  string
	priv jwk.Key // private key with kid, alg and use
	pub  jwk.Key // its public half, as published
	raw  any     // the private key as a crypto type, for signing
}

// newSigningKey generates an RSA-2048 key for RS256 or a P-256 key for
// ES256, with its RFC 7638 thumbprint as kid.
func newSigningKey(alg string) (*signingKey, error) {
	var raw any
	var err error
	switch alg {
	case "RS256":
		raw, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		raw, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return nil, fmt.Errorf("rptest: no key type for algorithm %q (want RS256 or ES256)", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("rptest: generate %s key: %w", alg, err)
	}
	priv, err := jwk.FromRaw(raw)
	if err != nil {
		return nil, fmt.Errorf("rptest: %s key to JWK: %w", alg, err)
	}
	if err := jwk.AssignKeyID(priv); err != nil {
		return nil, fmt.Errorf("rptest: %s key ID: %w", alg, err)
	}
	if err := priv.Set(jwk.AlgorithmKey, jwa.SignatureAlgorithm(alg)); err != nil {
		return nil, fmt.Errorf("rptest: %s key alg: %w", alg, err)
	}
	if err := priv.Set(jwk.KeyUsageKey, jwk.ForSignature); err != nil {
		return nil, fmt.Errorf("rptest: %s key use: %w", alg, err)
	}
	pub, err := priv.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("rptest: %s public key: %w", alg, err)
	}
	return &signingKey{kid: priv.KeyID(), alg: alg, priv: priv, pub: pub, raw: raw}, nil
}

// RotateKeys replaces every key by a new RSA and a new EC key with new
// kids: the JWKS then lists only the new keys, and tokens signed before no
// longer verify. For a rotation with overlap, use AddKey and RemoveKey.
func (p *Provider) RotateKeys() {
	rsaKey, err := newSigningKey("RS256")
	if err != nil {
		p.reportf("%v", err)
		return
	}
	ecKey, err := newSigningKey("ES256")
	if err != nil {
		p.reportf("%v", err)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys = []*signingKey{rsaKey, ecKey}
	p.current = map[string]*signingKey{"RS256": rsaKey, "ES256": ecKey}
}

// AddKey generates a new key for alg ("RS256" or "ES256"), publishes it
// next to the existing ones and signs with it from now on. It returns the
// new kid, or "" (failing the test) for another alg.
func (p *Provider) AddKey(alg string) string {
	k, err := newSigningKey(alg)
	if err != nil {
		p.reportf("%v", err)
		return ""
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys = append(p.keys, k)
	p.current[alg] = k
	return k.kid
}

// RemoveKey removes the key kid from the JWKS and reports whether it was
// published. When it is a current signing key, the provider keeps signing
// with it, so new tokens name a kid the JWKS lacks until the next AddKey or
// RotateKeys.
func (p *Provider) RemoveKey(kid string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, k := range p.keys {
		if k.kid == kid {
			p.keys = append(p.keys[:i:i], p.keys[i+1:]...)
			return true
		}
	}
	return false
}

// KeyIDs returns the kids of the published keys, oldest first.
func (p *Provider) KeyIDs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	kids := make([]string, len(p.keys))
	for i, k := range p.keys {
		kids[i] = k.kid
	}
	return kids
}

// CurrentKID returns the kid of the key that signs new ID tokens.
func (p *Provider) CurrentKID() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.current[p.cfg.alg].kid
}

// PrivateKey returns the provider's private key kid (published or current),
// for use with WithKey.
func (p *Provider) PrivateKey(kid string) (jwk.Key, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, k := range p.keys {
		if k.kid == kid {
			return k.priv, true
		}
	}
	for _, k := range p.current {
		if k.kid == kid {
			return k.priv, true
		}
	}
	return nil, false
}

// publicKeySet returns the published keys as a set, for verifying
// id_token_hint.
func (p *Provider) publicKeySet() jwk.Set {
	p.mu.Lock()
	defer p.mu.Unlock()
	set := jwk.NewSet()
	for _, k := range p.keys {
		set.AddKey(k.pub)
	}
	return set
}

// A SignOption changes how SignIDToken and Sign sign. Options are made by
// WithKID, WithAlg, WithHeader and WithKey.
type SignOption interface {
	applySign(*signConfig)
}

type signOptionFunc func(*signConfig)

func (f signOptionFunc) applySign(c *signConfig) { f(c) }

type signConfig struct {
	kid     *string
	alg     string
	headers map[string]any
	key     jwk.Key
}

// WithKID sets the kid header to kid without changing the signing key; ""
// leaves the kid header out.
func WithKID(kid string) SignOption {
	return signOptionFunc(func(c *signConfig) { c.kid = &kid })
}

// WithAlg signs with alg: "RS256", "RS384", "RS512", "PS256", "PS384" or
// "PS512" use the provider's current RSA key, "ES256" its current EC key,
// "none" produces an unsigned token, and any other algorithm needs WithKey.
func WithAlg(alg string) SignOption {
	return signOptionFunc(func(c *signConfig) { c.alg = alg })
}

// WithHeader sets the protected header k to v; a nil v removes it. The alg
// header always names the algorithm actually used. The default headers are
// typ "JWT" and the kid of the signing key.
func WithHeader(k string, v any) SignOption {
	return signOptionFunc(func(c *signConfig) {
		if c.headers == nil {
			c.headers = map[string]any{}
		}
		c.headers[k] = v
	})
}

// WithKey signs with key, a private JWK that need not belong to the
// provider (an attacker's key, say). The algorithm is WithAlg's, else the
// key's alg, else RS256 for RSA and ES256 for EC keys; the kid header is
// the key's kid unless WithKID says otherwise.
func WithKey(key jwk.Key) SignOption {
	return signOptionFunc(func(c *signConfig) { c.key = key })
}

// SignIDToken signs claims as a JWT with the provider's current key
// (changed by opts) and returns its compact serialization. The claims are
// signed exactly as given; IDTokenClaims returns a valid set to start from.
// When signing fails, it fails the test (for providers made with New it
// just returns "") — use Sign to get the error.
func (p *Provider) SignIDToken(claims map[string]any, opts ...SignOption) string {
	s, err := p.Sign(claims, opts...)
	if err != nil {
		p.reportf("%v", err)
		return ""
	}
	return s
}

// Sign is SignIDToken returning an error instead of failing the test.
func (p *Provider) Sign(claims map[string]any, opts ...SignOption) (string, error) {
	var sc signConfig
	for _, o := range opts {
		o.applySign(&sc)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("rptest: encode claims: %w", err)
	}
	alg, kid, raw, err := p.signingKeyFor(sc)
	if err != nil {
		return "", err
	}
	if sc.kid != nil {
		kid = *sc.kid
	}
	hdr := jws.NewHeaders()
	if err := hdr.Set("typ", "JWT"); err != nil {
		return "", fmt.Errorf("rptest: set typ header: %w", err)
	}
	if kid != "" {
		if err := hdr.Set(jws.KeyIDKey, kid); err != nil {
			return "", fmt.Errorf("rptest: set kid header: %w", err)
		}
	}
	for k, v := range sc.headers {
		if v == nil {
			err = hdr.Remove(k)
		} else {
			err = hdr.Set(k, v)
		}
		if err != nil {
			return "", fmt.Errorf("rptest: set header %q: %w", k, err)
		}
	}
	var out []byte
	if alg == "none" {
		out, err = jws.Sign(payload, jws.WithInsecureNoSignature(jws.WithProtectedHeaders(hdr)))
	} else {
		out, err = jws.Sign(payload, jws.WithKey(jwa.SignatureAlgorithm(alg), raw, jws.WithProtectedHeaders(hdr)))
	}
	if err != nil {
		return "", fmt.Errorf("rptest: sign with %s: %w", alg, err)
	}
	return string(out), nil
}

// signingKeyFor picks the algorithm, default kid and raw private key for
// sc.
func (p *Provider) signingKeyFor(sc signConfig) (alg, kid string, raw any, err error) {
	alg = sc.alg
	if sc.key != nil {
		if alg == "" {
			alg = sc.key.Algorithm().String()
		}
		if alg == "" {
			switch sc.key.KeyType() {
			case "RSA":
				alg = "RS256"
			case "EC":
				alg = "ES256"
			}
		}
		if alg == "" {
			return "", "", nil, errors.New("rptest: WithKey: no algorithm for the key; use WithAlg")
		}
		if err := sc.key.Raw(&raw); err != nil {
			return "", "", nil, fmt.Errorf("rptest: WithKey: %w", err)
		}
		return alg, sc.key.KeyID(), raw, nil
	}
	if alg == "" {
		alg = p.cfg.alg
	}
	if alg == "none" {
		return alg, p.CurrentKID(), nil, nil
	}
	family := ""
	switch {
	case alg == "ES256":
		family = "ES256"
	case strings.HasPrefix(alg, "RS"), strings.HasPrefix(alg, "PS"):
		family = "RS256"
	default:
		return "", "", nil, fmt.Errorf("rptest: the provider has no key for %q; use WithKey", alg)
	}
	p.mu.Lock()
	k := p.current[family]
	p.mu.Unlock()
	return alg, k.kid, k.raw, nil
}

// serveJWKS serves the published public keys (RFC 7517 §5).
func (p *Provider) serveJWKS(w http.ResponseWriter, r *http.Request) {
	p.count(EndpointJWKS)
	m := p.Misbehaviour()
	if !p.delayAndStatus(w, r, EndpointJWKS, m.JWKSDelay, m.JWKSStatus) {
		return
	}
	p.mu.Lock()
	keys := make([]json.RawMessage, 0, len(p.keys)+2)
	var err error
	for _, k := range p.keys {
		var b []byte
		if b, err = json.Marshal(k.pub); err != nil {
			break
		}
		keys = append(keys, b)
	}
	p.mu.Unlock()
	if err != nil {
		http.Error(w, "rptest: encode key: "+err.Error(), http.StatusInternalServerError)
		return
	}
	if m.GarbageJWKSKey {
		keys = append(keys, garbageKeys...)
	}
	p.writeJSON(w, EndpointJWKS, http.StatusOK, map[string]any{"keys": keys})
}

// garbageKeys are the keys Misbehaviour.GarbageJWKSKey adds.
var garbageKeys = []json.RawMessage{
	json.RawMessage(`{"kty":"RPTEST-UNKNOWN","kid":"rptest-garbage-kty","use":"sig","x":"` +
		base64.RawURLEncoding.EncodeToString([]byte("not a key")) + `"}`),
	json.RawMessage(`{"kty":"RSA","kid":"rptest-garbage-rsa","use":"sig","alg":"RS256","n":"%%% not base64url %%%","e":"AQAB"}`),
}
