package rp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"

	"github.com/oidcrp/oidcrp/discovery"
	"github.com/oidcrp/oidcrp/internal/httpx"
	"github.com/oidcrp/oidcrp/logout"
	"github.com/oidcrp/oidcrp/rp/session"
	"github.com/oidcrp/oidcrp/userinfo"
)

// Token endpoint client authentication methods (OpenID Connect Core §9).
const (
	AuthMethodClientSecretBasic = "client_secret_basic"
	AuthMethodClientSecretPost  = "client_secret_post"
	AuthMethodNone              = "none"
)

// Config configures an [RP]. Only Issuer (or Provider), ClientID,
// RedirectURL and SessionKeys are required; every other field has the
// default its comment states.
type Config struct {
	// Issuer is the provider's issuer URL, exactly as its discovery
	// document states it. It must use https, or http for a loopback host.
	Issuer string
	// DiscoveryURL optionally is the base URL by which this process reaches
	// the provider when that differs from the public Issuer (an internal
	// address inside a container network). Tokens must still name Issuer.
	DiscoveryURL string
	// Provider optionally is a discovery cache built by the caller; it
	// replaces Issuer and DiscoveryURL, and Close leaves it running.
	Provider *discovery.Provider

	// ClientID is the client identifier registered at the provider.
	ClientID string
	// ClientSecret is the client secret; empty for a public client.
	ClientSecret string
	// TokenEndpointAuthMethod is client_secret_basic, client_secret_post or
	// none. Default: none without a secret; otherwise client_secret_basic
	// when the provider advertises it (or advertises nothing, the spec's
	// default), else client_secret_post.
	TokenEndpointAuthMethod string

	// RedirectURL is the absolute callback URL registered at the provider.
	// Its path is where [RP.CallbackHandler] is mounted by [RP.Routes]; when
	// it is https, every cookie is Secure. It is never derived from the
	// request's Host or forwarded headers.
	RedirectURL string
	// Scopes requested at login. Default: openid, profile, email. "openid"
	// is added when missing.
	Scopes []string

	// SessionKeys seal the session and login-state cookies with AES-256-GCM:
	// the first key seals, every key opens, so keys rotate by prepending a
	// new one. Each key must be at least 32 bytes of secret randomness.
	SessionKeys [][]byte
	// Store keeps sessions. Default: a stateless sealed-cookie store,
	// Secure when RedirectURL is https. With an https RedirectURL, New
	// refuses a store that reports (session.CookieSecurity) cookies
	// without Secure; a store that cannot report is trusted to set it.
	Store session.Store
	// Revocations records logged-out session IDs so that a copy of their
	// cookie is refused. Default: an in-process list of at most 100 000
	// entries; share one (Redis) between replicas.
	Revocations session.Revocations
	// ReplayCache makes each login flow and back-channel logout token
	// single-use. Default: in-process; share one (Redis) between replicas.
	ReplayCache session.ReplayCache
	// Locker serializes the refreshes of one session across replicas, so
	// that two of them never redeem the same refresh token: the loser
	// waits, then reads the winner's tokens from the store. Default: the
	// Store when it implements session.Locker; otherwise refreshes are
	// serialized within this process only.
	Locker session.Locker
	// CookieName names the session cookie. Default: "oidcrp_session".
	CookieName string
	// SessionMaxAge is the absolute session lifetime, counted from login.
	// Default: 12 hours.
	SessionMaxAge time.Duration
	// SessionIdleTimeout ends a session not used for this long. Default: 2
	// hours; negative disables it.
	SessionIdleTimeout time.Duration
	// LoginFlowTTL bounds how long a login may take. Default: 10 minutes.
	LoginFlowTTL time.Duration
	// MaxLoginFlows caps the login flows one browser may have in progress
	// at once (each is a cookie). Default: 5; starting more drops the oldest.
	MaxLoginFlows int

	// RefreshMargin refreshes an access token this long before it expires.
	// It never exceeds a quarter of the token's lifetime. Default: 1 minute.
	RefreshMargin time.Duration
	// ClockSkew tolerated for iat, auth_time and expiry checks. Default: 1
	// minute.
	ClockSkew time.Duration
	// TrustedAudiences lists audiences besides ClientID that an ID token may
	// carry. An ID token with any other audience is rejected (OpenID Connect
	// Core §3.1.3.7 step 3).
	TrustedAudiences []string

	// UserInfo enriches sessions with the provider's userinfo answer
	// (OpenID Connect Core §5.3), available through [Session.UserInfo] and
	// [Session.Claims]. It is fetched right after login and again, on the
	// next request, once UserInfoTTL has passed or the tokens were
	// refreshed — never on every request. Answers are cached in-process
	// (bounded by UserInfoCacheSize), never in the session cookie; a
	// [session.ServerStore] also keeps the last answer in the record, so
	// that it survives restarts and provider outages.
	UserInfo bool
	// UserInfoTTL is how long a userinfo answer is used. Default: 5 minutes.
	UserInfoTTL time.Duration
	// UserInfoCacheSize bounds the in-process userinfo cache. Default:
	// 10 000 sessions.
	UserInfoCacheSize int
	// UserInfoSignedResponseAlg is the client's registered
	// userinfo_signed_response_alg: when set, only signed userinfo answers
	// with that algorithm are accepted.
	UserInfoSignedResponseAlg string

	// LoginPath is where [RP.RequireAuth] sends browsers. Default: "/login".
	LoginPath string
	// LogoutPath is where [RP.Routes] mounts [RP.LogoutHandler]. Default:
	// "/logout". The ID token cookie is scoped to it.
	LogoutPath string
	// PostLoginPath is where a login without return_to lands. Default: "/".
	PostLoginPath string
	// PostLogoutRedirectURL is the absolute URL, registered at the provider
	// as a post_logout_redirect_uri, where the browser lands after logout;
	// [RP.Routes] mounts [RP.LogoutDoneHandler] at its path. Default: the
	// RedirectURL's origin with path "/logout/done".
	PostLogoutRedirectURL string
	// BackchannelLogoutPath is where [RP.Routes] mounts
	// [RP.BackchannelLogoutHandler]. Default: "/backchannel-logout".
	BackchannelLogoutPath string
	// FrontchannelLogoutPath is where [RP.Routes] mounts
	// [RP.FrontchannelLogoutHandler]. Default: "/frontchannel-logout".
	FrontchannelLogoutPath string
	// LogoutTokenMaxAge is how old the iat of a back-channel logout token
	// without exp may be (Ory Hydra sends no exp). Default: 2 minutes.
	LogoutTokenMaxAge time.Duration
	// StrictLogoutTokens rejects back-channel logout tokens without exp or
	// without the explicit type logout+jwt, as Back-Channel Logout 1.0
	// recommends; Ory Hydra v2.3.0's tokens then fail.
	StrictLogoutTokens bool

	// HTTPClient makes every call to the provider. Default: a client with a
	// 10-second timeout and 1 MiB response limit.
	HTTPClient *http.Client
	// Logger receives operational logs. Default: slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default: time.Now.
	Now func() time.Time
	// ErrorHandler renders errors of the login, callback, logout and
	// RequireAuth handlers. Default: a plain HTML page with the status of
	// [HTTPStatus]; every provider-supplied text is escaped.
	ErrorHandler func(http.ResponseWriter, *http.Request, error)

	// InsecureAllowHTTP accepts http provider URLs for non-loopback hosts.
	// Tokens then travel in clear text: it MUST NOT be used in production.
	InsecureAllowHTTP bool
}

// RP is an OpenID Connect relying party: it serves login, callback and
// logout, and guards handlers with [RP.RequireAuth]. Its methods are safe
// for concurrent use.
type RP struct {
	cfg          Config
	provider     *discovery.Provider
	ownsProvider bool
	codec        *session.Codec
	store        session.Store
	revocations  session.Revocations
	replay       session.ReplayCache
	client       *http.Client
	log          *slog.Logger
	now          func() time.Time
	redirect     *url.URL
	secure       bool
	callbackPath string
	postLogout   *url.URL
	csrfKey      []byte

	logoutVerifier *logout.Verifier
	// checkRevocationsOnLoad: the store keeps logged-out sessions' records
	// (cookie stores, stores without an index), so every load consults the
	// revocation list.
	checkRevocationsOnLoad bool

	refreshes singleflight.Group
	replaced  *replacedTokens

	ui              *userinfo.Client
	uiCache         *lru[string, userInfoEntry]
	uiFlight        singleflight.Group
	persistUserInfo bool

	// mu guards failures.
	mu sync.Mutex
	// failures maps session IDs to the time until which refreshes are not
	// retried after the provider failed.
	failures map[string]time.Time
}

// New checks cfg, fills its defaults and returns a relying party. It does no
// blocking network I/O: provider discovery runs in the background, so an
// application starts even while its provider is down ([RP.Ready] tells
// when discovery succeeded). ctx is not retained.
func New(ctx context.Context, cfg Config) (*RP, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := fillDefaults(&cfg); err != nil {
		return nil, err
	}
	r := &RP{
		cfg:      cfg,
		client:   httpx.Client(cfg.HTTPClient),
		log:      cfg.Logger,
		now:      cfg.Now,
		replaced: newReplacedTokens(10000, 10*time.Minute),
		failures: make(map[string]time.Time),
	}
	var err error
	r.redirect, err = url.Parse(cfg.RedirectURL)
	if err != nil || !r.redirect.IsAbs() || r.redirect.Host == "" || (r.redirect.Scheme != "https" && r.redirect.Scheme != "http") {
		return nil, fmt.Errorf("rp: RedirectURL %q must be an absolute http(s) URL", cfg.RedirectURL)
	}
	if r.redirect.Fragment != "" {
		return nil, fmt.Errorf("rp: RedirectURL %q must not have a fragment", cfg.RedirectURL)
	}
	r.secure = r.redirect.Scheme == "https"
	if cfg.PostLogoutRedirectURL == "" {
		r.postLogout = &url.URL{Scheme: r.redirect.Scheme, Host: r.redirect.Host, Path: "/logout/done"}
	} else {
		r.postLogout, err = url.Parse(cfg.PostLogoutRedirectURL)
		if err != nil || r.postLogout.Scheme != r.redirect.Scheme || r.postLogout.Host != r.redirect.Host || r.postLogout.Fragment != "" {
			return nil, fmt.Errorf("rp: PostLogoutRedirectURL %q must be an absolute URL on the RedirectURL's origin", cfg.PostLogoutRedirectURL)
		}
		if r.postLogout.Path == "" {
			r.postLogout.Path = "/"
		}
	}
	r.callbackPath = r.redirect.EscapedPath()
	if r.callbackPath == "" {
		r.callbackPath = "/"
	}
	if r.codec, err = session.NewCodec(cfg.SessionKeys...); err != nil {
		return nil, fmt.Errorf("rp: SessionKeys: %w", err)
	}
	r.csrfKey = deriveKey(cfg.SessionKeys[0], "oidcrp csrf v1")

	r.store = cfg.Store
	if cs, ok := r.store.(session.CookieSecurity); ok && r.secure && !cs.CookiesSecure() {
		return nil, errors.New("rp: Store sets cookies without Secure although RedirectURL is https; set session.CookieOptions.Secure")
	}
	if r.store == nil {
		opt := session.CookieOptions{
			Name:        cfg.CookieName,
			Secure:      r.secure,
			MaxAge:      cfg.SessionMaxAge,
			IDTokenPath: cfg.LogoutPath,
			Now:         cfg.Now,
		}
		if err := opt.Validate(); err != nil {
			return nil, fmt.Errorf("rp: cookie: %w", err)
		}
		r.store = session.NewCookieStore(r.codec, opt)
	}
	_, indexed := session.IndexerOf(r.store)
	r.checkRevocationsOnLoad = !indexed
	r.revocations = cfg.Revocations
	if r.revocations == nil {
		r.revocations = session.NewMemoryRevocations(100000, cfg.Now)
	}
	r.replay = cfg.ReplayCache
	if r.replay == nil {
		r.replay = session.NewMemoryReplayCache(100000, cfg.Now)
	}

	if cfg.Provider != nil {
		r.provider = cfg.Provider
	} else {
		r.provider, err = discovery.New(discovery.Config{
			Issuer:            cfg.Issuer,
			DiscoveryURL:      cfg.DiscoveryURL,
			HTTPClient:        cfg.HTTPClient,
			Logger:            cfg.Logger,
			Now:               cfg.Now,
			InsecureAllowHTTP: cfg.InsecureAllowHTTP,
		})
		if err != nil {
			return nil, fmt.Errorf("rp: %w", err)
		}
		r.ownsProvider = true
	}
	if cfg.UserInfo {
		r.ui, err = userinfo.New(userinfo.Config{
			Provider:          r.provider,
			ClientID:          cfg.ClientID,
			SignedResponseAlg: cfg.UserInfoSignedResponseAlg,
			HTTPClient:        cfg.HTTPClient,
			Now:               cfg.Now,
		})
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("rp: %w", err)
		}
		r.uiCache = newLRU[string, userInfoEntry](cfg.UserInfoCacheSize)
		_, r.persistUserInfo = r.store.(*session.ServerStore)
	}
	r.logoutVerifier, err = logout.NewVerifier(logout.VerifierConfig{
		Provider:            r.provider,
		ClientID:            cfg.ClientID,
		TrustedAudiences:    cfg.TrustedAudiences,
		ReplayCache:         r.replay,
		MaxAge:              cfg.LogoutTokenMaxAge,
		ClockSkew:           cfg.ClockSkew,
		RequireExp:          cfg.StrictLogoutTokens,
		RequireExplicitType: cfg.StrictLogoutTokens,
		Now:                 cfg.Now,
	})
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("rp: %w", err)
	}
	return r, nil
}

func fillDefaults(cfg *Config) error {
	if cfg.Provider == nil && cfg.Issuer == "" {
		return errors.New("rp: Issuer is required")
	}
	if cfg.Provider != nil {
		if cfg.Issuer != "" && cfg.Issuer != cfg.Provider.Issuer() {
			return fmt.Errorf("rp: Issuer %q differs from the Provider's %q", cfg.Issuer, cfg.Provider.Issuer())
		}
		cfg.Issuer = cfg.Provider.Issuer()
	}
	if _, err := httpx.CheckURL("rp: Issuer", cfg.Issuer, cfg.InsecureAllowHTTP); err != nil {
		return err
	}
	if cfg.ClientID == "" {
		return errors.New("rp: ClientID is required")
	}
	if cfg.RedirectURL == "" {
		return errors.New("rp: RedirectURL is required")
	}
	if len(cfg.SessionKeys) == 0 {
		return errors.New("rp: SessionKeys is required: at least one key of 32 random bytes")
	}
	switch cfg.TokenEndpointAuthMethod {
	case "", AuthMethodClientSecretBasic, AuthMethodClientSecretPost:
	case AuthMethodNone:
		if cfg.ClientSecret != "" {
			return errors.New("rp: TokenEndpointAuthMethod none must not have a ClientSecret")
		}
	default:
		return fmt.Errorf("rp: unsupported TokenEndpointAuthMethod %q", cfg.TokenEndpointAuthMethod)
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{"openid", "profile", "email"}
	}
	if !slices.Contains(cfg.Scopes, "openid") {
		cfg.Scopes = append([]string{"openid"}, cfg.Scopes...)
	}
	setDefault(&cfg.CookieName, "oidcrp_session")
	setDefault(&cfg.LoginPath, "/login")
	setDefault(&cfg.LogoutPath, "/logout")
	setDefault(&cfg.PostLoginPath, "/")
	setDefault(&cfg.BackchannelLogoutPath, "/backchannel-logout")
	setDefault(&cfg.FrontchannelLogoutPath, "/frontchannel-logout")
	for name, p := range map[string]string{"LoginPath": cfg.LoginPath, "LogoutPath": cfg.LogoutPath, "PostLoginPath": cfg.PostLoginPath,
		"BackchannelLogoutPath": cfg.BackchannelLogoutPath, "FrontchannelLogoutPath": cfg.FrontchannelLogoutPath} {
		if _, ok := cleanReturnTo(p); !ok {
			return fmt.Errorf("rp: %s %q must be a path on this site", name, p)
		}
	}
	if cfg.SessionMaxAge == 0 {
		cfg.SessionMaxAge = 12 * time.Hour
	}
	if cfg.SessionMaxAge < 0 {
		return errors.New("rp: SessionMaxAge must be positive")
	}
	if cfg.SessionIdleTimeout == 0 {
		cfg.SessionIdleTimeout = 2 * time.Hour
	}
	if cfg.LoginFlowTTL <= 0 {
		cfg.LoginFlowTTL = 10 * time.Minute
	}
	if cfg.MaxLoginFlows <= 0 {
		cfg.MaxLoginFlows = 5
	}
	if cfg.RefreshMargin <= 0 {
		cfg.RefreshMargin = time.Minute
	}
	if cfg.UserInfoTTL <= 0 {
		cfg.UserInfoTTL = 5 * time.Minute
	}
	if cfg.UserInfoCacheSize <= 0 {
		cfg.UserInfoCacheSize = 10000
	}
	if cfg.LogoutTokenMaxAge <= 0 {
		cfg.LogoutTokenMaxAge = 2 * time.Minute
	}
	if cfg.ClockSkew <= 0 {
		cfg.ClockSkew = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ErrorHandler == nil {
		loginPath := cfg.LoginPath
		cfg.ErrorHandler = func(w http.ResponseWriter, req *http.Request, err error) {
			renderError(w, req, err, loginPath)
		}
	}
	return nil
}

func setDefault(s *string, v string) {
	if *s == "" {
		*s = v
	}
}

// Ready reports whether provider discovery has succeeded, for readiness
// probes.
func (r *RP) Ready() bool { return r.provider.Ready() }

// ClientID returns the client identifier the RP uses.
func (r *RP) ClientID() string { return r.cfg.ClientID }

// Provider returns the discovery cache the RP uses.
func (r *RP) Provider() *discovery.Provider { return r.provider }

// Close stops background work started by [New]. A Provider passed in
// [Config] is left running.
func (r *RP) Close() error {
	if r.ownsProvider {
		return r.provider.Close()
	}
	return nil
}

// Routes returns a handler serving LoginPath, the RedirectURL's path,
// LogoutPath, the PostLogoutRedirectURL's path, BackchannelLogoutPath and
// FrontchannelLogoutPath, for mounting next to the application's own
// routes.
func (r *RP) Routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle(r.cfg.LoginPath, r.LoginHandler())
	mux.Handle(r.callbackPath, r.CallbackHandler())
	mux.Handle(r.cfg.LogoutPath, r.LogoutHandler())
	mux.Handle(r.postLogout.Path, r.LogoutDoneHandler(nil))
	mux.Handle(r.cfg.BackchannelLogoutPath, r.BackchannelLogoutHandler())
	mux.Handle(r.cfg.FrontchannelLogoutPath, r.FrontchannelLogoutHandler())
	return mux
}

// PostLogoutRedirectURL returns the URL to register at the provider as
// post_logout_redirect_uri.
func (r *RP) PostLogoutRedirectURL() string { return r.postLogout.String() }

// oauth2Config builds the x/oauth2 configuration from current metadata.
func (r *RP) oauth2Config(md *discovery.Metadata) *oauth2.Config {
	style := oauth2.AuthStyleInHeader
	switch r.authMethod(md) {
	case AuthMethodClientSecretPost, AuthMethodNone:
		style = oauth2.AuthStyleInParams
	}
	return &oauth2.Config{
		ClientID:     r.cfg.ClientID,
		ClientSecret: r.cfg.ClientSecret,
		RedirectURL:  r.cfg.RedirectURL,
		Scopes:       r.cfg.Scopes,
		Endpoint: oauth2.Endpoint{
			AuthURL:   md.AuthorizationEndpoint,
			TokenURL:  r.provider.BackchannelURL(md.TokenEndpoint),
			AuthStyle: style,
		},
	}
}

// authMethod picks the token endpoint authentication method: configured,
// else the first of basic and post that the provider advertises.
func (r *RP) authMethod(md *discovery.Metadata) string {
	if r.cfg.TokenEndpointAuthMethod != "" {
		return r.cfg.TokenEndpointAuthMethod
	}
	if r.cfg.ClientSecret == "" {
		return AuthMethodNone
	}
	supported := md.TokenEndpointAuthMethodsSupported
	if len(supported) == 0 || slices.Contains(supported, AuthMethodClientSecretBasic) {
		return AuthMethodClientSecretBasic
	}
	if slices.Contains(supported, AuthMethodClientSecretPost) {
		return AuthMethodClientSecretPost
	}
	return AuthMethodClientSecretBasic
}

// providerCtx returns a context carrying the HTTP client for x/oauth2.
func (r *RP) providerCtx(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, r.client)
}

// metadata returns the provider metadata, mapping failures to
// ErrProviderUnavailable.
func (r *RP) metadata(ctx context.Context) (*discovery.Metadata, error) {
	md, err := r.provider.Metadata(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrProviderUnavailable, err)
	}
	return md, nil
}

// signingAlgs returns the ID token algorithms to accept: the provider's,
// minus none and symmetric ones; RS256 when it advertises none.
func signingAlgs(md *discovery.Metadata) []string {
	var algs []string
	for _, a := range md.IDTokenSigningAlgValuesSupported {
		if a == "none" || strings.HasPrefix(a, "HS") || a == "" {
			continue
		}
		algs = append(algs, a)
	}
	if len(algs) == 0 {
		algs = []string{"RS256"}
	}
	return algs
}
