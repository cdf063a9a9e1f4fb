package rptest

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"
)

// Endpoint paths, the same as Ory Hydra's.
const (
	DiscoveryPath  = "/.well-known/openid-configuration"
	JWKSPath       = "/.well-known/jwks.json"
	AuthorizePath  = "/oauth2/auth"
	TokenPath      = "/oauth2/token"
	UserinfoPath   = "/userinfo"
	RevokePath     = "/oauth2/revoke"
	EndSessionPath = "/oauth2/sessions/logout"
)

// Endpoint names, as used by Provider.Count and Misbehaviour.OversizeBody.
const (
	EndpointDiscovery  = "discovery"
	EndpointJWKS       = "jwks"
	EndpointAuthorize  = "authorize"
	EndpointToken      = "token"
	EndpointRefresh    = "refresh" // token requests with grant_type=refresh_token
	EndpointUserinfo   = "userinfo"
	EndpointRevoke     = "revoke"
	EndpointEndSession = "end_session"
	// EndpointBackchannelLogout counts the logout tokens the provider
	// posted to clients' back-channel logout URIs.
	EndpointBackchannelLogout = "backchannel_logout"
)

// Token endpoint authentication methods of a Client (RFC 7591 §2).
const (
	AuthClientSecretBasic = "client_secret_basic"
	AuthClientSecretPost  = "client_secret_post"
	AuthNone              = "none"
)

// A Client is a relying party registered with the Provider.
type Client struct {
	// ID is the client_id.
	ID string
	// Secret is the client secret; empty for AuthNone.
	Secret string
	// RedirectURIs are the allowed redirect_uri values, compared exactly.
	RedirectURIs []string
	// AuthMethod is how the client authenticates at the token and
	// revocation endpoints: AuthClientSecretBasic (the default when
	// empty), AuthClientSecretPost or AuthNone. A request that uses
	// another method than the registered one fails with invalid_client.
	AuthMethod string
	// PostLogoutRedirectURIs are the allowed post_logout_redirect_uri
	// values, compared exactly.
	PostLogoutRedirectURIs []string
	// Scopes are the scopes the client may ask for; nil means
	// DefaultScopes. Asking for another scope fails with invalid_scope.
	Scopes []string
	// BackchannelLogoutURI, when set, receives a logout token
	// (OpenID Connect Back-Channel Logout 1.0 §2.5) when the login
	// session in which the client got tokens ends.
	BackchannelLogoutURI string
	// FrontchannelLogoutURI, when set, is embedded as an iframe
	// (OpenID Connect Front-Channel Logout 1.0 §3) in the page the
	// end-session endpoint shows when the login session in which the
	// client got tokens ends.
	FrontchannelLogoutURI string
}

// DefaultScopes are the scopes a client may ask for unless its Scopes say
// otherwise; they are also the advertised scopes_supported.
var DefaultScopes = []string{"openid", "offline_access", "offline", "profile", "email"}

func (c Client) authMethod() string {
	if c.AuthMethod == "" {
		return AuthClientSecretBasic
	}
	return c.AuthMethod
}

func (c Client) allowsScope(s string) bool {
	if c.Scopes == nil {
		return slices.Contains(DefaultScopes, s)
	}
	return slices.Contains(c.Scopes, s)
}

// A Provider is an OpenID provider running in-process on an
// httptest.Server. Its issuer is Server.URL. It models one user agent
// that is always signed in as the configured subject: the authorization
// endpoint answers at once with a redirect, as Ory Hydra does after login
// and consent, so an HTTP client that follows redirects completes a login.
//
// Every method is safe for concurrent use.
type Provider struct {
	*httptest.Server

	issuer string
	cfg    config
	tb     testing.TB // nil for providers made with New

	stop      chan struct{} // closed by Close, ends delayed answers
	closeOnce sync.Once

	mu sync.Mutex // guards every field below
	// clients by ID, and IDs in registration order.
	clients     map[string]Client
	clientOrder []string
	// keys are the published keys in publication order, current holds
	// the key that signs new tokens for each algorithm (it may have been
	// removed from keys by RemoveKey).
	keys    []*signingKey
	current map[string]*signingKey
	subject string
	session *loginSession // nil when no one is signed in
	codes   map[string]*authCode
	access  map[string]*accessToken
	refresh map[string]*refreshToken
	counts  map[string]int
	// recordings of the last requests.
	lastAuthorize   url.Values
	lastTokenForm   url.Values
	lastTokenHeader http.Header
	lastEndSession  url.Values
	misbehaviour    Misbehaviour
}

// loginSession is the provider's sign-in session with the user agent
// (Hydra's remembered login): it gives ID tokens their sid and auth_time.
type loginSession struct {
	sid      string
	sub      string
	authTime time.Time
	// clients that received tokens during this session.
	clients map[string]bool
}

// grant is everything one authorization produced: the code and the tokens
// issued for it, refreshed or not. Revoking the grant revokes them all.
type grant struct {
	clientID    string
	sub         string
	sid         string
	nonce       string
	scope       string
	acr         string
	amr         []string
	authTime    time.Time
	requestedAt time.Time
	revoked     bool
}

type authCode struct {
	g           *grant
	redirectURI string
	challenge   string
	exp         time.Time
	used        bool
}

type accessToken struct {
	g       *grant
	exp     time.Time
	revoked bool
}

type refreshToken struct {
	g    *grant
	exp  time.Time
	used bool
}

// NewProvider starts a Provider and closes it when the test ends. It
// generates an RSA-2048 key (RS256) and an EC P-256 key (ES256); ID tokens
// are signed with RS256 unless WithSigningAlg says otherwise. It fails the
// test when an option is invalid.
func NewProvider(t testing.TB, opts ...Option) *Provider {
	t.Helper()
	p, err := start(t, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// New starts a Provider outside a test, for examples and local
// development. The caller must call Close. Prefer NewProvider in tests.
func New(opts ...Option) (*Provider, error) {
	return start(nil, opts)
}

func start(tb testing.TB, opts []Option) (*Provider, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o.apply(&cfg)
	}
	if cfg.alg != "RS256" && cfg.alg != "ES256" {
		return nil, fmt.Errorf("rptest: signing algorithm %q is not RS256 or ES256", cfg.alg)
	}
	if cfg.now == nil {
		return nil, fmt.Errorf("rptest: WithClock needs a non-nil clock")
	}
	if cfg.accessTTL <= 0 || cfg.idTTL <= 0 || cfg.refreshTTL <= 0 {
		return nil, fmt.Errorf("rptest: token lifetimes must be positive")
	}
	rsaKey, err := newSigningKey("RS256")
	if err != nil {
		return nil, err
	}
	ecKey, err := newSigningKey("ES256")
	if err != nil {
		return nil, err
	}
	p := &Provider{
		cfg:     cfg,
		tb:      tb,
		stop:    make(chan struct{}),
		clients: map[string]Client{},
		keys:    []*signingKey{rsaKey, ecKey},
		current: map[string]*signingKey{"RS256": rsaKey, "ES256": ecKey},
		subject: cfg.subject,
		codes:   map[string]*authCode{},
		access:  map[string]*accessToken{},
		refresh: map[string]*refreshToken{},
		counts:  map[string]int{},
	}
	for _, c := range cfg.clients {
		p.RegisterClient(c)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+DiscoveryPath, p.serveDiscovery)
	mux.HandleFunc("GET "+JWKSPath, p.serveJWKS)
	mux.HandleFunc("GET "+AuthorizePath, p.serveAuthorize)
	mux.HandleFunc("POST "+AuthorizePath, p.serveAuthorize)
	mux.HandleFunc("POST "+TokenPath, p.serveToken)
	mux.HandleFunc("GET "+UserinfoPath, p.serveUserinfo)
	mux.HandleFunc("POST "+UserinfoPath, p.serveUserinfo)
	mux.HandleFunc("POST "+RevokePath, p.serveRevoke)
	mux.HandleFunc("GET "+EndSessionPath, p.serveEndSession)
	mux.HandleFunc("POST "+EndSessionPath, p.serveEndSession)
	p.Server = httptest.NewServer(mux)
	p.issuer = p.Server.URL
	return p, nil
}

// Close ends delayed answers at once and shuts the server down. It may be
// called more than once.
func (p *Provider) Close() {
	p.closeOnce.Do(func() {
		close(p.stop)
		p.Server.Close()
	})
}

// Issuer returns the issuer identifier: the server URL, without a trailing
// slash.
func (p *Provider) Issuer() string { return p.issuer }

// RegisterClient registers c, replacing a client with the same ID.
func (p *Provider) RegisterClient(c Client) {
	c.RedirectURIs = slices.Clone(c.RedirectURIs)
	c.PostLogoutRedirectURIs = slices.Clone(c.PostLogoutRedirectURIs)
	c.Scopes = slices.Clone(c.Scopes)
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.clients[c.ID]; !ok {
		p.clientOrder = append(p.clientOrder, c.ID)
	}
	p.clients[c.ID] = c
}

// SetSubject changes the subject who signs in from now on. When it differs
// from the subject of the current login session, that session ends (without
// logout notifications) and the next authorization starts a new one.
func (p *Provider) SetSubject(sub string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.subject = sub
	if p.session != nil && p.session.sub != sub {
		p.session = nil
	}
}

// SessionID returns the sid of the current login session, or "" when no
// one is signed in (before the first authorization and after logout).
func (p *Provider) SessionID() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.session == nil {
		return ""
	}
	return p.session.sid
}

// Count returns how many requests the named endpoint received (see the
// Endpoint… constants). Token requests count as "token"; those with
// grant_type=refresh_token count as "refresh" too. Requests answered with
// a forced status or delay count as well.
func (p *Provider) Count(endpoint string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts[endpoint]
}

// LastAuthorizeRequest returns the parameters of the last authorization
// request (query, and form body for POST), or nil.
func (p *Provider) LastAuthorizeRequest() url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return cloneValues(p.lastAuthorize)
}

// LastTokenRequest returns the form body and the headers of the last token
// request, or nils.
func (p *Provider) LastTokenRequest() (form url.Values, header http.Header) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return cloneValues(p.lastTokenForm), p.lastTokenHeader.Clone()
}

// LastEndSessionRequest returns the parameters of the last end-session
// request, or nil.
func (p *Provider) LastEndSessionRequest() url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return cloneValues(p.lastEndSession)
}

// TokenActive reports whether token is an access or refresh token the
// provider issued that is neither expired, used (refresh tokens rotate),
// nor revoked.
func (p *Provider) TokenActive(token string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.cfg.now()
	if at, ok := p.access[token]; ok {
		return at.active(now)
	}
	if rt, ok := p.refresh[token]; ok {
		return rt.active(now)
	}
	return false
}

func (at *accessToken) active(now time.Time) bool {
	return !at.revoked && !at.g.revoked && now.Before(at.exp)
}

func (rt *refreshToken) active(now time.Time) bool {
	return !rt.used && !rt.g.revoked && now.Before(rt.exp)
}

// count adds one to the counter of endpoint.
func (p *Provider) count(endpoint string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts[endpoint]++
}

// ensureSession returns the current login session, starting one when no
// one is signed in or when reauth asks for a fresh authentication (which
// keeps the sid). The caller holds p.mu.
func (p *Provider) ensureSession(now time.Time, reauth bool) *loginSession {
	if p.session == nil {
		p.session = &loginSession{sid: newID(), sub: p.subject, authTime: now, clients: map[string]bool{}}
	} else if reauth {
		p.session.authTime = now
	}
	return p.session
}

// firstClientID returns the ID of the first registered client, or "". The
// caller holds p.mu.
func (p *Provider) firstClientID() string {
	if len(p.clientOrder) == 0 {
		return ""
	}
	return p.clientOrder[0]
}

// reportf fails the test of a provider made with NewProvider.
func (p *Provider) reportf(format string, args ...any) {
	if p.tb != nil {
		p.tb.Helper()
		p.tb.Errorf(format, args...)
	}
}

func newID() string { return rand.Text() }

func cloneValues(v url.Values) url.Values {
	if v == nil {
		return nil
	}
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}
