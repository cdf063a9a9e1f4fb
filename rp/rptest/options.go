package rptest

import (
	"maps"
	"time"
)

// Defaults of the options below.
const (
	// DefaultSubject is the subject of the signed-in user unless WithSubject
	// or SetSubject says otherwise.
	DefaultSubject = "alice"
	// DefaultAccessTokenTTL is the lifetime of access tokens (Ory Hydra's
	// default).
	DefaultAccessTokenTTL = time.Hour
	// DefaultIDTokenTTL is the lifetime of ID tokens.
	DefaultIDTokenTTL = time.Hour
	// DefaultRefreshTokenTTL is the lifetime of refresh tokens (Ory Hydra's
	// default of 720 hours).
	DefaultRefreshTokenTTL = 720 * time.Hour
	// CodeTTL is the lifetime of an authorization code.
	CodeTTL = 10 * time.Minute
)

// An Option configures a Provider at construction. Options are made by the
// With… functions of this package.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// config is the immutable configuration of a Provider.
type config struct {
	subject    string
	claims     map[string]any
	accessTTL  time.Duration
	idTTL      time.Duration
	refreshTTL time.Duration
	now        func() time.Time
	alg        string
	issParam   bool
	metadata   []func(map[string]any)
	clients    []Client
}

func defaultConfig() config {
	return config{
		subject:    DefaultSubject,
		accessTTL:  DefaultAccessTokenTTL,
		idTTL:      DefaultIDTokenTTL,
		refreshTTL: DefaultRefreshTokenTTL,
		now:        time.Now,
		alg:        "RS256",
	}
}

// WithSubject sets the subject (the "sub" claim) of the signed-in user.
// The default is DefaultSubject.
func WithSubject(sub string) Option {
	return optionFunc(func(c *config) { c.subject = sub })
}

// WithClaims adds claims (for example email, email_verified, name) to every
// ID token and userinfo answer. They cannot replace the protocol claims
// (iss, sub, aud, exp, iat, auth_time, nonce, sid, at_hash, jti, rat), but
// they may replace the defaults of acr ("0") and amr (["pwd"]). Several
// WithClaims options add up.
func WithClaims(claims map[string]any) Option {
	return optionFunc(func(c *config) {
		if c.claims == nil {
			c.claims = map[string]any{}
		}
		maps.Copy(c.claims, claims)
	})
}

// WithAccessTokenTTL sets the access-token lifetime, which the token
// endpoint also reports as expires_in. The default is DefaultAccessTokenTTL.
func WithAccessTokenTTL(d time.Duration) Option {
	return optionFunc(func(c *config) { c.accessTTL = d })
}

// WithIDTokenTTL sets the lifetime of ID tokens (exp - iat). The default is
// DefaultIDTokenTTL.
func WithIDTokenTTL(d time.Duration) Option {
	return optionFunc(func(c *config) { c.idTTL = d })
}

// WithRefreshTokenTTL sets the lifetime of refresh tokens. The default is
// DefaultRefreshTokenTTL.
func WithRefreshTokenTTL(d time.Duration) Option {
	return optionFunc(func(c *config) { c.refreshTTL = d })
}

// WithClock sets the clock the provider uses for every time it issues or
// checks (iat, exp, auth_time, token and code expiry). It must be safe for
// concurrent use. The default is time.Now.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) { c.now = now })
}

// WithSigningAlg sets the algorithm of the ID tokens the token endpoint
// issues: "RS256" (the default) or "ES256".
func WithSigningAlg(alg string) Option {
	return optionFunc(func(c *config) { c.alg = alg })
}

// WithISSParameter makes the authorization endpoint add the issuer as the
// iss parameter to every authorization response and advertises
// authorization_response_iss_parameter_supported (RFC 9207). Ory Hydra does
// neither, so it is off by default.
func WithISSParameter() Option {
	return optionFunc(func(c *config) { c.issParam = true })
}

// WithMetadata registers a function that edits the discovery document
// before it is served, to add, change or remove fields. It runs on a fresh
// copy at every discovery request, so it must be safe for concurrent use.
// Several WithMetadata functions run in order.
func WithMetadata(edit func(map[string]any)) Option {
	return optionFunc(func(c *config) { c.metadata = append(c.metadata, edit) })
}

// WithClient registers a client at construction, as RegisterClient does.
func WithClient(cl Client) Option {
	return optionFunc(func(c *config) { c.clients = append(c.clients, cl) })
}
