package logout

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/oidcrp/oidcrp/discovery"
)

// Defaults of [VerifierConfig].
const (
	// DefaultMaxAge is how old the "iat" of a logout token without "exp"
	// may be.
	DefaultMaxAge = 2 * time.Minute
	// DefaultClockSkew is the clock difference tolerated between the
	// provider and the application.
	DefaultClockSkew = time.Minute
)

// MaxTokenSize is the largest logout token Verify looks at, in bytes.
const MaxTokenSize = 16 << 10

// VerifierConfig configures a [Verifier].
type VerifierConfig struct {
	// Provider supplies the issuer, the signing keys (its JWKS, and
	// nothing else) and the metadata whose
	// id_token_signing_alg_values_supported is the algorithm allow-list
	// (§2.6 step 3). Required.
	Provider *discovery.Provider

	// ClientID is this application's client ID; "aud" must contain it.
	// Required.
	ClientID string

	// TrustedAudiences are audiences besides ClientID that a logout token
	// may name. A token naming any other audience is rejected, as an ID
	// token would be (§2.6 step 4; OpenID Connect Core 1.0 §3.1.3.7
	// step 3). Optional.
	TrustedAudiences []string

	// Algorithms, when set, replaces the provider's
	// id_token_signing_alg_values_supported as the allow-list, for a
	// client registered with id_token_signed_response_alg. "none" and the
	// HMAC algorithms (HS*) are never accepted and may not be listed.
	// When neither lists a usable algorithm, RS256 is the only one
	// accepted (§2.6 step 3).
	Algorithms []string

	// ReplayCache remembers the "jti" of accepted tokens (keyed with the
	// issuer) for as long as they could be accepted, so that each is
	// accepted once. With several replicas it must be shared. Nil means a
	// [MemoryReplayCache] of DefaultReplayCacheSize entries.
	ReplayCache ReplayCache

	// MaxAge is how old "iat" may be (plus ClockSkew) when the token has no
	// "exp". Back-Channel Logout 1.0 §2.4 requires "exp", but Ory Hydra
	// sends none; such tokens are accepted while they are this fresh,
	// unless RequireExp is set. Tokens with "exp" are bounded by it
	// instead. Zero means DefaultMaxAge (2 minutes).
	MaxAge time.Duration

	// ClockSkew is the tolerance applied to "iat", "exp" and MaxAge. Zero
	// means DefaultClockSkew (1 minute).
	ClockSkew time.Duration

	// RequireExp rejects tokens without "exp", as §2.4 allows. It breaks
	// logout with Ory Hydra v2.
	RequireExp bool

	// RequireExplicitType accepts only tokens whose "typ" header is
	// "logout+jwt" (§4.1). Without it "JWT" and an absent "typ" are
	// accepted as well (Ory Hydra sends "JWT"); any other "typ" is
	// rejected either way.
	RequireExplicitType bool

	// Now is the clock. Nil means time.Now.
	Now func() time.Time
}

// Verifier verifies back-channel logout tokens (OpenID Connect
// Back-Channel Logout 1.0 §2.6) for one client of one provider. It is
// safe for concurrent use.
type Verifier struct {
	provider     *discovery.Provider
	issuer       string
	clientID     string
	trusted      []string
	algs         []string // nil: from the metadata
	replay       ReplayCache
	maxAge       time.Duration
	skew         time.Duration
	requireExp   bool
	requireTyped bool
	now          func() time.Time
}

// NewVerifier checks cfg, fills in its defaults and returns a Verifier.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	if cfg.Provider == nil {
		return nil, errors.New("logout: config: Provider is required")
	}
	if cfg.ClientID == "" {
		return nil, errors.New("logout: config: ClientID is required")
	}
	if cfg.MaxAge < 0 || cfg.ClockSkew < 0 {
		return nil, errors.New("logout: config: MaxAge and ClockSkew must not be negative")
	}
	for _, alg := range cfg.Algorithms {
		if !usableAlg(alg) {
			return nil, fmt.Errorf("logout: config: algorithm %q is not allowed for logout tokens", alg)
		}
	}
	v := &Verifier{
		provider:     cfg.Provider,
		issuer:       cfg.Provider.Issuer(),
		clientID:     cfg.ClientID,
		trusted:      slices.Clone(cfg.TrustedAudiences),
		algs:         slices.Clone(cfg.Algorithms),
		replay:       cfg.ReplayCache,
		maxAge:       cfg.MaxAge,
		skew:         cfg.ClockSkew,
		requireExp:   cfg.RequireExp,
		requireTyped: cfg.RequireExplicitType,
		now:          cfg.Now,
	}
	if v.maxAge == 0 {
		v.maxAge = DefaultMaxAge
	}
	if v.skew == 0 {
		v.skew = DefaultClockSkew
	}
	if v.now == nil {
		v.now = time.Now
	}
	if v.replay == nil {
		v.replay = NewMemoryReplayCache(0, v.now)
	}
	return v, nil
}

// usableAlg reports whether alg may sign logout tokens: not "none" and not
// symmetric (the client secret is not a provider key).
func usableAlg(alg string) bool {
	return alg != "" && !strings.EqualFold(alg, "none") && !strings.HasPrefix(strings.ToUpper(alg), "HS")
}

// invalid builds a token rejection matching ErrInvalidToken and reason.
func invalid(reason error, format string, args ...any) error {
	return fmt.Errorf("logout: %w: %w: %s", ErrInvalidToken, reason, fmt.Sprintf(format, args...))
}

// Verify verifies logoutToken (OpenID Connect Back-Channel Logout 1.0
// §2.6) and returns its claims. It checks, in order:
//
//   - it is a JWS in compact serialization (encrypted tokens are not
//     supported), at most MaxTokenSize bytes;
//   - the "typ" header is "logout+jwt", or "JWT" or absent unless
//     RequireExplicitType is set (§4.1);
//   - the signature, with a key of the provider's JWKS chosen by "kid"
//     (never one named by the token's "jwk", "jku", "x5u" or "x5c"
//     headers) and an allowed asymmetric algorithm (steps 2–3);
//   - "iss" equals the issuer exactly; "aud" contains the client ID and
//     only trusted audiences (step 4);
//   - "iat" is present and not in the future; "exp", when present, has not
//     passed; without "exp", the token is rejected if RequireExp is set,
//     else accepted only if "iat" is at most MaxAge old (step 4; ClockSkew
//     applies throughout);
//   - "sub" or "sid" is present (step 5);
//   - "events" is a JSON object with the member
//     http://schemas.openid.net/event/backchannel-logout, itself a JSON
//     object (step 6);
//   - there is no "nonce" (step 7);
//   - "jti" is present and was not accepted before (step 8), as recorded
//     in the replay cache until the token could no longer be accepted.
//
// A rejection matches [ErrInvalidToken] and the sentinel of the rule
// broken. Other errors come from loading the provider's metadata or keys,
// from the replay cache, or from ctx. In every case the caller answers 400
// (§2.8; see [WriteBackchannelResponse]) and logs nobody out.
func (v *Verifier) Verify(ctx context.Context, logoutToken string) (*Claims, error) {
	if len(logoutToken) > MaxTokenSize {
		return nil, invalid(ErrMalformed, "token of %d bytes exceeds %d", len(logoutToken), MaxTokenSize)
	}
	if strings.Count(logoutToken, ".") != 2 {
		return nil, invalid(ErrMalformed, "not a signed JWT in compact serialization (encrypted logout tokens are not supported)")
	}
	msg, err := jws.Parse([]byte(logoutToken), jws.WithCompact())
	if err != nil {
		return nil, invalid(ErrMalformed, "%v", err)
	}
	sigs := msg.Signatures()
	if len(sigs) != 1 {
		return nil, invalid(ErrMalformed, "%d signatures", len(sigs))
	}
	if err := v.checkType(sigs[0].ProtectedHeaders().Type()); err != nil {
		return nil, err
	}

	algs, err := v.algorithms(ctx)
	if err != nil {
		return nil, fmt.Errorf("logout: verify logout token: %w", err)
	}
	payload, err := v.provider.KeySet().Verify(ctx, []byte(logoutToken), algs)
	if err != nil {
		if isTokenFault(err) {
			return nil, invalid(ErrSignature, "%v", err)
		}
		return nil, fmt.Errorf("logout: verify logout token: %w", err)
	}

	c, until, err := v.checkClaims(payload)
	if err != nil {
		return nil, err
	}
	ttl := max(until.Sub(v.now()), time.Second)
	seen, err := v.replay.Seen(ctx, replayKey(c.Issuer, c.JTI), ttl)
	if err != nil {
		return nil, fmt.Errorf("logout: verify logout token: replay cache: %w", err)
	}
	if seen {
		return nil, invalid(ErrReplay, "jti %q was accepted before", truncate(c.JTI))
	}
	return c, nil
}

// checkType checks the "typ" header (§4.1). Media type names are
// case-insensitive and the "application/" prefix may be left out
// (RFC 7515 §4.1.9).
func (v *Verifier) checkType(typ string) error {
	t := strings.TrimPrefix(strings.ToLower(typ), "application/")
	switch {
	case t == "logout+jwt":
		return nil
	case v.requireTyped:
		return invalid(ErrType, "typ %q, want \"logout+jwt\"", truncate(typ))
	case t == "" || t == "jwt":
		return nil
	default:
		return invalid(ErrType, "typ %q is not a logout token's", truncate(typ))
	}
}

// algorithms returns the allow-list: the configured one, else the
// provider's ID-token algorithms without none and HS*, else RS256.
func (v *Verifier) algorithms(ctx context.Context) ([]string, error) {
	if len(v.algs) > 0 {
		return v.algs, nil
	}
	md, err := v.provider.Metadata(ctx)
	if err != nil {
		return nil, err
	}
	var algs []string
	for _, alg := range md.IDTokenSigningAlgValuesSupported {
		if usableAlg(alg) {
			algs = append(algs, alg)
		}
	}
	if len(algs) == 0 {
		algs = []string{"RS256"}
	}
	return algs, nil
}

// isTokenFault reports whether a key-set error is the token's fault rather
// than a failure to load the keys.
func isTokenFault(err error) bool {
	for _, e := range []error{discovery.ErrMalformedToken, discovery.ErrAlgNotAllowed,
		discovery.ErrUnknownKey, discovery.ErrInvalidSignature} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// checkClaims applies §2.6 steps 4–7 and the presence of "jti" to the
// verified payload. It returns the claims and the end of the token's
// acceptance window.
func (v *Verifier) checkClaims(payload []byte) (*Claims, time.Time, error) {
	m, err := decodeClaims(payload)
	if err != nil {
		return nil, time.Time{}, invalid(ErrMalformed, "%v", err)
	}
	c := new(Claims)
	for _, s := range []struct {
		name string
		dst  *string
	}{{"iss", &c.Issuer}, {"sub", &c.Subject}, {"sid", &c.SID}, {"jti", &c.JTI}} {
		if *s.dst, err = m.str(s.name); err != nil {
			return nil, time.Time{}, fmt.Errorf("logout: %w: %w", ErrInvalidToken, err)
		}
	}
	if c.Audience, err = m.audience(); err != nil {
		return nil, time.Time{}, fmt.Errorf("logout: %w: %w", ErrInvalidToken, err)
	}
	iat, hasIat, err := m.numericDate("iat")
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("logout: %w: %w", ErrInvalidToken, err)
	}
	exp, hasExp, err := m.numericDate("exp")
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("logout: %w: %w", ErrInvalidToken, err)
	}
	c.IssuedAt, c.Expiry = iat, exp

	if c.Issuer == "" {
		return nil, time.Time{}, invalid(ErrIssuer, "no iss")
	}
	if c.Issuer != v.issuer {
		return nil, time.Time{}, invalid(ErrIssuer, "iss %q, want %q", truncate(c.Issuer), v.issuer)
	}
	if err := v.checkAudience(c.Audience); err != nil {
		return nil, time.Time{}, err
	}
	until, err := v.checkTimes(iat, hasIat, exp, hasExp)
	if err != nil {
		return nil, time.Time{}, err
	}
	if c.Subject == "" && c.SID == "" {
		return nil, time.Time{}, invalid(ErrNoSubject, "a logout token needs sub, sid or both")
	}
	if err := m.events(); err != nil {
		return nil, time.Time{}, fmt.Errorf("logout: %w: %w", ErrInvalidToken, err)
	}
	if m.has("nonce") {
		return nil, time.Time{}, invalid(ErrNonce, "an ID token is not a logout token")
	}
	if c.JTI == "" {
		return nil, time.Time{}, invalid(ErrNoJTI, "a logout token needs a jti")
	}
	if err := json.Unmarshal(payload, &c.Raw); err != nil {
		return nil, time.Time{}, invalid(ErrMalformed, "%v", err)
	}
	return c, until, nil
}

// checkAudience requires the client ID among aud and nothing untrusted.
func (v *Verifier) checkAudience(aud []string) error {
	if len(aud) == 0 {
		return invalid(ErrAudience, "no aud")
	}
	if !slices.Contains(aud, v.clientID) {
		return invalid(ErrAudience, "aud %q does not contain the client ID %q", truncateAll(aud), v.clientID)
	}
	for _, a := range aud {
		if a != v.clientID && !slices.Contains(v.trusted, a) {
			return invalid(ErrAudience, "aud names the untrusted audience %q", truncate(a))
		}
	}
	return nil
}

// checkTimes checks iat and exp and returns the end of the acceptance
// window: exp plus skew, or, without exp, iat plus MaxAge plus skew.
func (v *Verifier) checkTimes(iat time.Time, hasIat bool, exp time.Time, hasExp bool) (time.Time, error) {
	now := v.now()
	if !hasIat {
		return time.Time{}, invalid(ErrIssuedAt, "no iat")
	}
	if iat.After(now.Add(v.skew)) {
		return time.Time{}, invalid(ErrIssuedAt, "iat %s is in the future (now %s)", iat.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if hasExp {
		until := exp.Add(v.skew)
		if !now.Before(until) {
			return time.Time{}, invalid(ErrExpired, "exp %s has passed (now %s)", exp.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
		return until, nil
	}
	if v.requireExp {
		return time.Time{}, invalid(ErrNoExpiry, "exp is required")
	}
	until := iat.Add(v.maxAge + v.skew)
	if now.After(until) {
		return time.Time{}, invalid(ErrExpired, "no exp, and iat %s is more than %s old (now %s)",
			iat.Format(time.RFC3339), v.maxAge, now.UTC().Format(time.RFC3339))
	}
	return until, nil
}

// replayKey is the replay-cache key of a token: a hash of issuer and jti,
// so that its length and alphabet do not depend on the token.
func replayKey(iss, jti string) string {
	sum := sha256.Sum256([]byte(iss + "\x00" + jti))
	return "logout-jti:" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// truncate shortens token-supplied strings quoted in errors.
func truncate(s string) string {
	const limit = 64
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "…"
}

func truncateAll(ss []string) []string {
	const limit = 4
	out := make([]string, 0, min(len(ss), limit))
	for i, s := range ss {
		if i == limit {
			out = append(out, "…")
			break
		}
		out = append(out, truncate(s))
	}
	return out
}
