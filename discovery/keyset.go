package discovery

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

var _ oidc.KeySet = (*KeySet)(nil)

// maxTokenSize bounds the tokens Verify looks at.
const maxTokenSize = 1 << 20

// minRSABits is the smallest RSA modulus accepted (RFC 7518 §3.3).
const minRSABits = 2048

// KeySet verifies JWS signatures (ID tokens, logout tokens, signed userinfo)
// with the keys of a provider's JSON Web Key Set (RFC 7517 §5).
//
// A [Provider]'s key set is fetched from the metadata's jwks_uri (through
// [Provider.BackchannelURL]) by the provider's background goroutine, as
// soon as the metadata is there and again at 80% of the JWKS lifetime
// (Cache-Control max-age clamped like the metadata's); if a refresh fails
// the previous keys stay in use. A token whose "kid" is not in the set
// triggers an immediate refetch, so a key rotation is picked up at once;
// such refetches are rate limited (Config.JWKSRefetchInterval and
// Config.JWKSRefetchBurst) so that tokens with made-up kids cannot make
// the application hammer the provider. At most one fetch is in flight at a
// time; every caller that needs it waits for that one with its own
// context. A fetched set replaces the previous one: a key the provider
// removed stops verifying.
//
// Keys are read one by one: a key that does not parse, is meant for
// encryption ("use" other than "sig", "key_ops" without "verify"), is
// symmetric ("oct"), carries private material, is an RSA key under 2048
// bits, or has an "alg" that does not fit its type is skipped (and
// logged); the others are used.
//
// Verification takes the algorithm from the token header only if it is
// allowed and fits the selected key, and never takes a key from the token
// (its "jwk", "jku", "x5u" and "x5c" headers are ignored), which rules out
// the known key- and algorithm-confusion attacks. "none" and HMAC
// algorithms are never accepted.
//
// A KeySet is safe for concurrent use.
type KeySet struct {
	p       *Provider // nil for a static set
	now     func() time.Time
	log     *slog.Logger
	limiter *tokenBucket // nil for a static set

	mu       sync.RWMutex // guards snap and inflight
	snap     *keySnapshot
	inflight *keyFetch
}

// keySnapshot is one immutable generation of the key set.
type keySnapshot struct {
	set    jwk.Set                 // the usable public keys, for Keys
	byKID  map[string][]*verifyKey // keys with a "kid", by kid
	all    []*verifyKey            // every usable key, in JWKS order
	source string                  // jwks_uri the set came from; "" for a static set
	ttl    time.Duration           // lifetime granted by the response
	loaded time.Time               // when it was fetched (wall clock, for scheduling)
}

// verifyKey is a usable key, prepared for the hot path.
type verifyKey struct {
	kid string
	kty jwa.KeyType
	crv jwa.EllipticCurveAlgorithm // EC and OKP keys
	alg jwa.SignatureAlgorithm     // "" when the JWK has no "alg"
	raw any                        // *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
}

// keyFetch is a JWKS fetch in flight; done is closed once snap or err is set.
type keyFetch struct {
	done chan struct{}
	snap *keySnapshot
	err  error
}

// verifiers holds a jws.Verifier per asymmetric algorithm accepted;
// DefaultAlgorithms lists them. ES256K is left out: its curve exists in
// jwx only behind a build tag.
var verifiers = func() map[jwa.SignatureAlgorithm]jws.Verifier {
	m := make(map[jwa.SignatureAlgorithm]jws.Verifier)
	for _, alg := range []jwa.SignatureAlgorithm{
		jwa.RS256, jwa.RS384, jwa.RS512, jwa.PS256, jwa.PS384, jwa.PS512,
		jwa.ES256, jwa.ES384, jwa.ES512, jwa.EdDSA,
	} {
		if v, err := jws.NewVerifier(alg); err == nil {
			m[alg] = v
		}
	}
	return m
}()

// DefaultAlgorithms returns the algorithms accepted when Verify is given
// no allow-list: every asymmetric JWS algorithm jwx supports (RSA
// PKCS#1 v1.5 and PSS, ECDSA, EdDSA).
func DefaultAlgorithms() []string {
	out := make([]string, 0, len(verifiers))
	for alg := range verifiers {
		out = append(out, alg.String())
	}
	slices.Sort(out)
	return out
}

func newRemoteKeySet(p *Provider, interval time.Duration, burst int) *KeySet {
	return &KeySet{
		p:       p,
		now:     p.now,
		log:     p.log,
		limiter: newTokenBucket(interval, burst, p.now()),
	}
}

// NewStaticKeySet returns a key set holding the usable keys of set (nil
// means none), for tests and offline use: it never fetches. Private keys
// are reduced to their public part; the other rules of [KeySet] apply.
func NewStaticKeySet(set jwk.Set) *KeySet {
	k := &KeySet{now: time.Now, log: slog.Default()}
	var keys []jwk.Key
	if set != nil {
		for i := range set.Len() {
			if key, ok := set.Key(i); ok {
				keys = append(keys, key)
			}
		}
	}
	k.snap = k.buildSnapshot(keys, true)
	return k
}

// VerifySignature verifies the compact JWS jwt with any algorithm of
// [DefaultAlgorithms] and returns its payload. It implements go-oidc's
// oidc.KeySet, so a KeySet can back an oidc.IDTokenVerifier (which checks
// the algorithm against its own list as well).
func (k *KeySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	return k.Verify(ctx, []byte(jwt), nil)
}

// Verify verifies the compact JWS token and returns its payload. The
// header's "alg" must be in allowedAlgs (empty means [DefaultAlgorithms];
// "none" and HS* are refused whatever the list says) and must fit the key.
// The key is chosen by the header's "kid"; without a kid every key whose
// type fits the algorithm is tried. An unknown kid triggers a rate-limited
// refetch of the JWKS, then one more try; a token without kid whose
// signature fits no key does too.
//
// Errors wrap [ErrMalformedToken], [ErrAlgNotAllowed], [ErrUnknownKey],
// [ErrInvalidSignature], or, when no key set could be loaded, the fetch
// error (and [ErrNotReady] when the metadata never loaded).
func (k *KeySet) Verify(ctx context.Context, token []byte, allowedAlgs []string) ([]byte, error) {
	tok, err := parseToken(token, allowedAlgs)
	if err != nil {
		return nil, fmt.Errorf("discovery: verify: %w", err)
	}
	snap, err := k.snapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("discovery: verify: %w", err)
	}
	payload, retry, err := tok.verify(snap)
	if err == nil {
		return payload, nil
	}
	if !retry || k.p == nil {
		return nil, fmt.Errorf("discovery: verify: %w", err)
	}
	fresh, ferr := k.refetch(ctx, snap)
	if ferr != nil {
		return nil, fmt.Errorf("discovery: verify: %w (JWKS refetch: %w)", err, ferr)
	}
	if payload, _, err = tok.verify(fresh); err != nil {
		return nil, fmt.Errorf("discovery: verify: %w", err)
	}
	return payload, nil
}

// Keys returns the current key set, loading it first if there is none
// yet. The set is a copy, but its keys are shared and MUST be treated as
// read-only.
func (k *KeySet) Keys(ctx context.Context) (jwk.Set, error) {
	snap, err := k.snapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("discovery: keys: %w", err)
	}
	set, err := snap.set.Clone()
	if err != nil {
		return nil, fmt.Errorf("discovery: keys: %w", err)
	}
	return set, nil
}

// Refresh fetches the JWKS now (joining a fetch already in flight; not
// rate limited) and waits for it until ctx ends. On failure the previous
// keys stay in use and the error is returned. A static set does nothing.
func (k *KeySet) Refresh(ctx context.Context) error {
	if k.p == nil {
		return nil
	}
	if _, err := k.fetchAndWait(ctx, fetchAlways, nil); err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	return nil
}

// current returns the key set in use, or nil.
func (k *KeySet) current() *keySnapshot {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.snap
}

// loaded reports whether a key set is in use.
func (k *KeySet) loaded() bool { return k.current() != nil }

// snapshot returns the key set in use, waiting for a first load if needed.
func (k *KeySet) snapshot(ctx context.Context) (*keySnapshot, error) {
	if s := k.current(); s != nil {
		return s, nil
	}
	return k.fetchAndWait(ctx, fetchAlways, nil)
}

// refetch is the unknown-key path: unless the set changed since seen, it
// fetches the JWKS if the rate limit allows.
func (k *KeySet) refetch(ctx context.Context, seen *keySnapshot) (*keySnapshot, error) {
	return k.fetchAndWait(ctx, fetchUnknownKey, seen)
}

// fetchMode says when fetchAndWait starts a fetch (it always joins one in
// flight).
type fetchMode int

const (
	// fetchAlways starts a fetch.
	fetchAlways fetchMode = iota
	// fetchIfDue starts a fetch only when the set is due for a refresh
	// (see Provider.keysDue); the background goroutine uses it.
	fetchIfDue
	// fetchUnknownKey starts a fetch only when the set is still the one
	// the caller looked at and the rate limit allows.
	fetchUnknownKey
)

// errRefetchLimited reports that an unknown-key refetch was refused by the
// rate limit.
var errRefetchLimited = errors.New("rate limited")

// fetchAndWait joins the fetch in flight or, as mode allows, starts one,
// and waits for it until ctx ends. When mode declines to fetch it returns
// the current set.
func (k *KeySet) fetchAndWait(ctx context.Context, mode fetchMode, seen *keySnapshot) (*keySnapshot, error) {
	if k.p == nil {
		return nil, fmt.Errorf("fetch JWKS: %w: a static key set never fetches", ErrUnknownKey)
	}
	if k.p.closed() {
		return nil, fmt.Errorf("fetch JWKS: %w", ErrClosed)
	}
	k.mu.Lock()
	f := k.inflight
	if f == nil {
		switch {
		case mode == fetchIfDue && k.snap != nil && !k.p.keysDue(k.snap),
			mode == fetchUnknownKey && k.snap != seen:
			s := k.snap
			k.mu.Unlock()
			return s, nil
		case mode == fetchUnknownKey && !k.limiter.allow(k.now()):
			k.mu.Unlock()
			return nil, errRefetchLimited
		}
		f = &keyFetch{done: make(chan struct{})}
		k.inflight = f
		go k.runFetch(ctx, f)
	}
	k.mu.Unlock()

	select {
	case <-f.done:
		return f.snap, f.err
	case <-ctx.Done():
		if !k.p.Ready() {
			return nil, fmt.Errorf("fetch JWKS: %w: %w", ErrNotReady, ctx.Err())
		}
		return nil, fmt.Errorf("fetch JWKS: %w", ctx.Err())
	}
}

// runFetch performs f with a context detached from the caller that
// started it, installs the result and releases the waiters.
func (k *KeySet) runFetch(ctx context.Context, f *keyFetch) {
	fctx, cancel := k.p.detach(ctx)
	defer cancel()
	snap, err := k.fetch(fctx)
	if err == nil {
		k.log.Debug("discovery: JWKS loaded", "jwks_uri", snap.source, "keys", len(snap.all), "ttl", snap.ttl)
	}
	k.mu.Lock()
	if err == nil {
		k.snap = snap
	}
	k.inflight = nil
	f.snap, f.err = snap, err
	k.mu.Unlock()
	close(f.done)
}

// fetch GETs the JWKS named by the current metadata and reads its keys.
func (k *KeySet) fetch(ctx context.Context) (*keySnapshot, error) {
	md, err := k.p.metadata(ctx)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS: %w", err)
	}
	target := k.p.BackchannelURL(md.JWKSURI)
	body, hdr, err := k.p.get(ctx, target, "application/jwk-set+json, application/json")
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS: %w", err)
	}
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("fetch JWKS from %s: %w", target, err)
	}
	keys := make([]jwk.Key, 0, len(doc.Keys))
	for i, raw := range doc.Keys {
		key, err := jwk.ParseKey(raw)
		if err != nil {
			k.log.Warn("discovery: skipping a JWKS key that does not parse", "jwks_uri", md.JWKSURI, "index", i, "error", err)
			continue
		}
		keys = append(keys, key)
	}
	snap := k.buildSnapshot(keys, false)
	if len(snap.all) == 0 {
		return nil, fmt.Errorf("fetch JWKS from %s: %w (%d keys listed)", target, ErrNoUsableKeys, len(doc.Keys))
	}
	snap.source = md.JWKSURI
	snap.ttl = cacheTTL(hdr, k.p.minTTL, k.p.maxTTL)
	snap.loaded = time.Now()
	return snap, nil
}

// buildSnapshot indexes the usable keys among keys, logging the others.
// With static, private keys are reduced to their public part instead of
// being skipped.
func (k *KeySet) buildSnapshot(keys []jwk.Key, static bool) *keySnapshot {
	s := &keySnapshot{set: jwk.NewSet(), byKID: make(map[string][]*verifyKey)}
	for i, key := range keys {
		vk, pub, err := prepareKey(key, static)
		if err != nil {
			level := slog.LevelWarn
			if errors.Is(err, errNotForSigning) {
				level = slog.LevelDebug
			}
			k.log.Log(context.Background(), level, "discovery: skipping a JWKS key", "index", i, "kid", key.KeyID(), "reason", err)
			continue
		}
		if err := s.set.AddKey(pub); err != nil {
			k.log.Warn("discovery: skipping a JWKS key", "index", i, "kid", key.KeyID(), "reason", err)
			continue
		}
		s.all = append(s.all, vk)
		if vk.kid != "" {
			s.byKID[vk.kid] = append(s.byKID[vk.kid], vk)
		}
	}
	return s
}

// errNotForSigning marks keys meant for something else than signatures,
// which are skipped quietly.
var errNotForSigning = errors.New("not a signature key")

// prepareKey checks that key can verify signatures and returns it
// prepared, along with its public JWK.
func prepareKey(key jwk.Key, allowPrivate bool) (*verifyKey, jwk.Key, error) {
	if use := key.KeyUsage(); use != "" && use != jwk.ForSignature.String() {
		return nil, nil, fmt.Errorf("%w: use is %q", errNotForSigning, use)
	}
	if ops := key.KeyOps(); len(ops) > 0 && !slices.Contains(ops, jwk.KeyOpVerify) {
		return nil, nil, fmt.Errorf("%w: key_ops %v lacks \"verify\"", errNotForSigning, ops)
	}
	if key.KeyType() == jwa.OctetSeq {
		return nil, nil, errors.New("symmetric (oct) keys are never used for verification")
	}
	if ak, ok := key.(jwk.AsymmetricKey); ok && ak.IsPrivate() {
		if !allowPrivate {
			return nil, nil, errors.New("the JWKS publishes private key material")
		}
		pub, err := key.PublicKey()
		if err != nil {
			return nil, nil, err
		}
		key = pub
	}
	vk := &verifyKey{kid: key.KeyID(), kty: key.KeyType()}
	if err := key.Raw(&vk.raw); err != nil {
		return nil, nil, err
	}
	switch raw := vk.raw.(type) {
	case *rsa.PublicKey:
		if raw.N.BitLen() < minRSABits {
			return nil, nil, fmt.Errorf("RSA key of %d bits is shorter than %d (RFC 7518 §3.3)", raw.N.BitLen(), minRSABits)
		}
	case *ecdsa.PublicKey:
		ec, ok := key.(jwk.ECDSAPublicKey)
		if !ok {
			return nil, nil, fmt.Errorf("unexpected EC key type %T", key)
		}
		vk.crv = ec.Crv()
	case ed25519.PublicKey:
		vk.crv = jwa.Ed25519
	default:
		return nil, nil, fmt.Errorf("%w: key type %s (%T)", errNotForSigning, key.KeyType(), vk.raw)
	}
	if a := key.Algorithm().String(); a != "" {
		var alg jwa.SignatureAlgorithm
		if err := alg.Accept(a); err != nil {
			return nil, nil, fmt.Errorf("%w: alg %q", errNotForSigning, a)
		}
		if !vk.fits(alg) {
			return nil, nil, fmt.Errorf("alg %q does not fit a %s key", a, vk.kty)
		}
		vk.alg = alg
	}
	return vk, key, nil
}

// fits reports whether alg can be used with k: it matches the key's type
// and curve, and the key's own "alg" when it has one.
func (k *verifyKey) fits(alg jwa.SignatureAlgorithm) bool {
	if k.alg != "" && k.alg != alg {
		return false
	}
	switch alg {
	case jwa.RS256, jwa.RS384, jwa.RS512, jwa.PS256, jwa.PS384, jwa.PS512:
		return k.kty == jwa.RSA
	case jwa.ES256:
		return k.kty == jwa.EC && k.crv == jwa.P256
	case jwa.ES384:
		return k.kty == jwa.EC && k.crv == jwa.P384
	case jwa.ES512:
		return k.kty == jwa.EC && k.crv == jwa.P521
	case jwa.EdDSA:
		return k.kty == jwa.OKP && k.crv == jwa.Ed25519
	}
	return false
}

// parsedToken is a compact JWS taken apart.
type parsedToken struct {
	alg      jwa.SignatureAlgorithm
	verifier jws.Verifier
	kid      string
	input    []byte // the signing input: header and payload as sent
	sig      []byte
	payload  []byte
}

// parseToken parses a compact JWS and checks its header against the
// allow-list. Only "alg" and "kid" are used; header parameters that
// carry keys or key URLs are ignored.
func parseToken(token []byte, allowedAlgs []string) (*parsedToken, error) {
	if len(token) > maxTokenSize {
		return nil, fmt.Errorf("%w: token of %d bytes", ErrMalformedToken, len(token))
	}
	if bytes.Count(token, []byte{'.'}) != 2 {
		return nil, fmt.Errorf("%w: not in compact serialization", ErrMalformedToken)
	}
	msg, err := jws.Parse(token, jws.WithCompact())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedToken, err)
	}
	sigs := msg.Signatures()
	if len(sigs) != 1 {
		return nil, fmt.Errorf("%w: %d signatures", ErrMalformedToken, len(sigs))
	}
	h := sigs[0].ProtectedHeaders()
	if len(h.Critical()) > 0 {
		return nil, fmt.Errorf("%w: unsupported critical header parameters %q", ErrMalformedToken, h.Critical())
	}
	if _, ok := h.Get("b64"); ok {
		return nil, fmt.Errorf("%w: the b64 header parameter (RFC 7797) is not supported", ErrMalformedToken)
	}
	if len(msg.Payload()) == 0 {
		return nil, fmt.Errorf("%w: empty payload", ErrMalformedToken)
	}
	alg := h.Algorithm()
	v, ok := verifiers[alg]
	if !ok || (len(allowedAlgs) > 0 && !slices.Contains(allowedAlgs, alg.String())) {
		return nil, fmt.Errorf("%w: %q", ErrAlgNotAllowed, short(alg.String()))
	}
	return &parsedToken{
		alg:      alg,
		verifier: v,
		kid:      h.KeyID(),
		input:    token[:bytes.LastIndexByte(token, '.')],
		sig:      sigs[0].Signature(),
		payload:  msg.Payload(),
	}, nil
}

// verify checks t against the keys of s. retry reports that a fresh JWKS
// might succeed: the kid is unknown, or the token has no kid and no key
// verified it.
func (t *parsedToken) verify(s *keySnapshot) (payload []byte, retry bool, err error) {
	candidates := s.all
	if t.kid != "" {
		candidates = s.byKID[t.kid]
		if len(candidates) == 0 {
			return nil, true, fmt.Errorf("%w: kid %q", ErrUnknownKey, short(t.kid))
		}
	}
	tried := 0
	for _, key := range candidates {
		if !key.fits(t.alg) {
			continue
		}
		tried++
		if t.verifier.Verify(t.input, t.sig, key.raw) == nil {
			return t.payload, false, nil
		}
	}
	switch {
	case tried > 0 && t.kid != "":
		return nil, false, fmt.Errorf("%w: kid %q", ErrInvalidSignature, short(t.kid))
	case tried > 0:
		return nil, true, fmt.Errorf("%w: no key verifies the token", ErrInvalidSignature)
	case t.kid != "":
		return nil, false, fmt.Errorf("%w: %s does not fit key %q", ErrAlgNotAllowed, t.alg, short(t.kid))
	default:
		return nil, true, fmt.Errorf("%w: no key for %s", ErrUnknownKey, t.alg)
	}
}

// short truncates attacker-supplied strings before they reach messages.
func short(s string) string {
	const limit = 64
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "…"
}

// tokenBucket is a rate limiter: it holds up to burst tokens and gains
// one per interval.
type tokenBucket struct {
	interval time.Duration
	burst    float64

	mu     sync.Mutex // guards tokens and last
	tokens float64
	last   time.Time
}

func newTokenBucket(interval time.Duration, burst int, now time.Time) *tokenBucket {
	return &tokenBucket{interval: interval, burst: float64(burst), tokens: float64(burst), last: now}
}

// allow takes a token if one is available at time now.
func (b *tokenBucket) allow(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = min(b.burst, b.tokens+float64(elapsed)/float64(b.interval))
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	return false
}

// needsLoad reports whether the set must be loaded for metadata whose
// jwks_uri is jwksURI: none is loaded yet, or it came from another URL.
func (k *KeySet) needsLoad(jwksURI string) bool {
	s := k.current()
	return s == nil || s.source != jwksURI
}
