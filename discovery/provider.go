package discovery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/oidcrp/oidcrp/internal/httpx"
)

// WellKnownPath is where a provider publishes its metadata below its
// issuer (OpenID Connect Discovery 1.0 §4).
const WellKnownPath = "/.well-known/openid-configuration"

// Defaults of [Config].
const (
	DefaultMinTTL              = 5 * time.Minute
	DefaultMaxTTL              = 24 * time.Hour
	DefaultJWKSRefetchInterval = 10 * time.Second
	DefaultJWKSRefetchBurst    = 2
	DefaultRetryBackoff        = 250 * time.Millisecond
	DefaultMaxRetryBackoff     = 30 * time.Second
)

// minBackgroundDelay is the shortest wait of the background loop between
// two successful loads, however short the lifetime.
var minBackgroundDelay = time.Second

// fetchTimeout bounds one shared fetch, whose context is detached from the
// caller that happened to start it.
const fetchTimeout = 30 * time.Second

// Config configures a [Provider].
type Config struct {
	// Issuer is the provider's issuer identifier; required. The "issuer" of
	// the fetched metadata must equal it exactly: no trailing-slash or case
	// normalisation (Discovery §4.3). It must be https, or http to a
	// loopback host.
	Issuer string

	// DiscoveryURL, when set, is the base URL used to fetch the metadata,
	// the JWKS and the back-channel endpoints (see [Provider.BackchannelURL]),
	// for applications that reach the provider at an internal address (a
	// container network) while browsers and tokens use the public Issuer.
	// The issuer check still uses Issuer. Optional; same URL rules as Issuer
	// (an http address of a non-loopback host needs InsecureAllowHTTP).
	DiscoveryURL string

	// Metadata, when set, is used as the provider's metadata and nothing
	// is fetched from the discovery endpoint. It is validated by [New] and
	// must not be modified afterwards. The JWKS is still fetched from its
	// jwks_uri.
	Metadata *Metadata

	// HTTPClient makes every request. Nil means httpx.Default (timeouts,
	// no redirects). Response bodies are capped at 1 MiB either way.
	HTTPClient *http.Client

	// Logger receives refresh failures (Warn) and loads (Info, Debug).
	// Nil means slog.Default().
	Logger *slog.Logger

	// Now is the clock for cache lifetimes and the JWKS refetch rate limit.
	// Nil means time.Now.
	Now func() time.Time

	// MinTTL and MaxTTL clamp the lifetime taken from a response's
	// Cache-Control max-age (minus its Age header). A response without
	// max-age, or with no-store or no-cache, lives MinTTL. Zero means
	// DefaultMinTTL (5m) and DefaultMaxTTL (24h). Metadata and keys are
	// refreshed in the background at 80% of their lifetime.
	MinTTL, MaxTTL time.Duration

	// JWKSRefetchInterval is the sustained rate of JWKS refetches caused by
	// tokens whose key is unknown: one per interval, in bursts of at most
	// JWKSRefetchBurst. Zero means DefaultJWKSRefetchInterval (10s).
	JWKSRefetchInterval time.Duration

	// JWKSRefetchBurst is the number of unknown-key refetches allowed at
	// once. Zero means DefaultJWKSRefetchBurst (2).
	JWKSRefetchBurst int

	// RetryBackoff is the first delay before the background loop retries a
	// failed fetch; it doubles (with jitter) up to MaxRetryBackoff. Zero
	// means DefaultRetryBackoff (250ms) and DefaultMaxRetryBackoff (30s).
	RetryBackoff, MaxRetryBackoff time.Duration

	// InsecureAllowHTTP accepts http URLs for every host, not only loopback
	// hosts, for the issuer, DiscoveryURL and every endpoint. Tokens and
	// client secrets then travel unencrypted: it MUST NOT be used in
	// production.
	InsecureAllowHTTP bool
}

// Provider holds one OpenID provider's metadata and keys. It loads the
// metadata in the background from [New] on, retrying with exponential
// backoff until it succeeds, then refreshes it (and the key set) before it
// expires. A failed refresh keeps the last good value (stale-if-error).
// All methods are safe for concurrent use.
type Provider struct {
	issuer       string
	issuerURL    *url.URL
	discoveryURL *url.URL // nil when Config.DiscoveryURL is empty
	wellKnown    string
	client       *http.Client
	log          *slog.Logger
	now          func() time.Time
	minTTL       time.Duration
	maxTTL       time.Duration
	retryMin     time.Duration
	retryMax     time.Duration
	minDelay     time.Duration // floor of every background timer
	allowHTTP    bool
	static       bool

	keys  *KeySet
	group singleflight.Group

	stop      chan struct{} // closed by Close
	done      chan struct{} // closed when the background goroutine has returned
	closeOnce sync.Once

	mu      sync.RWMutex // guards md, fetched, expires, lastErr
	md      *Metadata
	fetched time.Time
	expires time.Time
	lastErr error
}

// New checks cfg and returns a Provider. It does no network I/O: it starts
// a goroutine that loads the metadata (unless cfg.Metadata is set) and the
// key set, and keeps them fresh until [Provider.Close]. A bad
// configuration is an error, never a panic.
func New(cfg Config) (*Provider, error) {
	p := &Provider{
		issuer:    cfg.Issuer,
		client:    httpx.Client(cfg.HTTPClient),
		log:       cfg.Logger,
		now:       cfg.Now,
		minTTL:    orDefault(cfg.MinTTL, DefaultMinTTL),
		maxTTL:    orDefault(cfg.MaxTTL, DefaultMaxTTL),
		retryMin:  orDefault(cfg.RetryBackoff, DefaultRetryBackoff),
		retryMax:  orDefault(cfg.MaxRetryBackoff, DefaultMaxRetryBackoff),
		minDelay:  minBackgroundDelay,
		allowHTTP: cfg.InsecureAllowHTTP,
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	if p.now == nil {
		p.now = time.Now
	}
	if cfg.Issuer == "" {
		return nil, errors.New("discovery: config: Issuer is required")
	}
	u, err := checkBaseURL("Issuer", cfg.Issuer, cfg.InsecureAllowHTTP)
	if err != nil {
		return nil, err
	}
	p.issuerURL = u
	base := cfg.Issuer
	if cfg.DiscoveryURL != "" {
		if p.discoveryURL, err = checkBaseURL("DiscoveryURL", cfg.DiscoveryURL, cfg.InsecureAllowHTTP); err != nil {
			return nil, err
		}
		base = cfg.DiscoveryURL
	}
	p.wellKnown = strings.TrimSuffix(base, "/") + WellKnownPath

	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"MinTTL", cfg.MinTTL}, {"MaxTTL", cfg.MaxTTL}, {"JWKSRefetchInterval", cfg.JWKSRefetchInterval},
		{"RetryBackoff", cfg.RetryBackoff}, {"MaxRetryBackoff", cfg.MaxRetryBackoff},
	} {
		if d.v < 0 {
			return nil, fmt.Errorf("discovery: config: %s must not be negative", d.name)
		}
	}
	if p.minTTL > p.maxTTL {
		return nil, fmt.Errorf("discovery: config: MinTTL %v exceeds MaxTTL %v", p.minTTL, p.maxTTL)
	}
	if p.retryMin > p.retryMax {
		return nil, fmt.Errorf("discovery: config: RetryBackoff %v exceeds MaxRetryBackoff %v", p.retryMin, p.retryMax)
	}
	if cfg.JWKSRefetchBurst < 0 {
		return nil, errors.New("discovery: config: JWKSRefetchBurst must not be negative")
	}

	if cfg.Metadata != nil {
		if err := cfg.Metadata.Validate(cfg.Issuer, cfg.InsecureAllowHTTP); err != nil {
			return nil, fmt.Errorf("discovery: config: static metadata: %w", err)
		}
		p.static = true
		p.md = cfg.Metadata
		p.fetched = p.now()
	}

	burst := cfg.JWKSRefetchBurst
	if burst == 0 {
		burst = DefaultJWKSRefetchBurst
	}
	p.keys = newRemoteKeySet(p, orDefault(cfg.JWKSRefetchInterval, DefaultJWKSRefetchInterval), burst)

	go p.run()
	return p, nil
}

func orDefault(v, def time.Duration) time.Duration {
	if v == 0 {
		return def
	}
	return v
}

// checkBaseURL checks an issuer-like URL: https (or loopback http), no
// user info, query or fragment.
func checkBaseURL(what, raw string, allowHTTP bool) (*url.URL, error) {
	u, err := httpx.CheckURL(what, raw, allowHTTP)
	if err != nil {
		return nil, fmt.Errorf("discovery: config: %w", err)
	}
	if u.RawQuery != "" || u.ForceQuery {
		return nil, fmt.Errorf("discovery: config: %s %q must not have a query", what, raw)
	}
	return u, nil
}

// Issuer returns the configured issuer.
func (p *Provider) Issuer() string { return p.issuer }

// KeySet returns the provider's key set, which verifies signatures with
// the keys published at the metadata's jwks_uri.
func (p *Provider) KeySet() *KeySet { return p.keys }

// Current returns the cached metadata, fresh or stale, without blocking or
// touching the network; false means none was loaded yet. The value is
// shared and MUST be treated as read-only.
func (p *Provider) Current() (*Metadata, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.md, p.md != nil
}

// Ready reports whether metadata has been loaded (it stays true when later
// refreshes fail). It suits a readiness probe.
func (p *Provider) Ready() bool {
	_, ok := p.Current()
	return ok
}

// LastError returns the error of the latest fetch, or nil when it
// succeeded (or nothing was fetched yet).
func (p *Provider) LastError() error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.lastErr
}

// Metadata returns the cached metadata, even when its lifetime has passed
// (stale-if-error: the background loop keeps trying to refresh it). With
// nothing cached yet, it waits for the fetch in flight, or starts one,
// until ctx ends; every concurrent caller shares the same fetch. The error
// then wraps [ErrNotReady] and the cause. The value is shared and MUST be
// treated as read-only.
func (p *Provider) Metadata(ctx context.Context) (*Metadata, error) {
	md, err := p.metadata(ctx)
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	return md, nil
}

// metadata is Metadata with errors that do not carry the package prefix.
func (p *Provider) metadata(ctx context.Context) (*Metadata, error) {
	if md, ok := p.Current(); ok {
		return md, nil
	}
	res, err := p.load(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotReady, err)
	}
	return res.md, nil
}

// Refresh fetches the metadata now (sharing a fetch already in flight) and
// waits for it until ctx ends. On failure the last good metadata stays in
// use and the error is returned. With static metadata it does nothing.
func (p *Provider) Refresh(ctx context.Context) error {
	if p.static {
		return nil
	}
	if _, err := p.load(ctx); err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	return nil
}

// Close stops the background goroutine and cancels fetches in flight. It
// is idempotent and safe to call concurrently; it always returns nil.
// Cached metadata and keys stay readable; nothing is fetched any more.
func (p *Provider) Close() error {
	p.closeOnce.Do(func() { close(p.stop) })
	<-p.done
	return nil
}

func (p *Provider) closed() bool {
	select {
	case <-p.stop:
		return true
	default:
		return false
	}
}

// BackchannelURL returns the URL at which the application itself reaches
// endpoint. When DiscoveryURL is set and endpoint has the Issuer's scheme
// and host (default ports made explicit), its scheme and host are replaced
// by DiscoveryURL's, and an endpoint path below the Issuer's path has that
// prefix replaced by DiscoveryURL's path; the query is kept. In every other
// case, and for URLs that do not parse, endpoint is returned unchanged.
//
// It is meant for the endpoints the application calls directly (token,
// userinfo, revocation, introspection, registration, JWKS); endpoints a
// browser visits (authorization, end session) must not be rewritten.
func (p *Provider) BackchannelURL(endpoint string) string {
	if p.discoveryURL == nil {
		return endpoint
	}
	u, err := url.Parse(endpoint)
	if err != nil || !httpx.SameOrigin(u, p.issuerURL) {
		return endpoint
	}
	path := u.EscapedPath()
	issPath := strings.TrimSuffix(p.issuerURL.EscapedPath(), "/")
	if rest, ok := strings.CutPrefix(path, issPath); ok && (rest == "" || rest[0] == '/') {
		path = strings.TrimSuffix(p.discoveryURL.EscapedPath(), "/") + rest
	}
	out := p.discoveryURL.Scheme + "://" + p.discoveryURL.Host + path
	if u.RawQuery != "" || u.ForceQuery {
		out += "?" + u.RawQuery
	}
	return out
}

// fetchResult is what one metadata fetch produced.
type fetchResult struct {
	md  *Metadata
	ttl time.Duration
}

// load runs the shared metadata fetch (starting it when none is in flight)
// and waits for it until ctx ends.
func (p *Provider) load(ctx context.Context) (fetchResult, error) {
	if p.closed() {
		return fetchResult{}, fmt.Errorf("fetch metadata: %w", ErrClosed)
	}
	ch := p.group.DoChan("metadata", func() (any, error) {
		fctx, cancel := p.detach(ctx)
		defer cancel()
		return p.fetchAndStore(fctx)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return fetchResult{}, r.Err
		}
		return r.Val.(fetchResult), nil
	case <-ctx.Done():
		return fetchResult{}, fmt.Errorf("fetch metadata: %w", ctx.Err())
	}
}

// detach returns a context for a fetch shared by several callers: it keeps
// ctx's values but not its cancellation, and ends after fetchTimeout or at
// Close.
func (p *Provider) detach(ctx context.Context) (context.Context, context.CancelFunc) {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
	go func() {
		select {
		case <-p.stop:
			cancel()
		case <-fctx.Done():
		}
	}()
	return fctx, cancel
}

// fetchAndStore fetches the metadata and, on success, caches it.
func (p *Provider) fetchAndStore(ctx context.Context) (fetchResult, error) {
	md, ttl, err := p.fetch(ctx)
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.lastErr = err
		return fetchResult{}, err
	}
	p.md, p.fetched, p.expires, p.lastErr = md, now, now.Add(ttl), nil
	return fetchResult{md: md, ttl: ttl}, nil
}

// fetch GETs and checks the metadata document (Discovery §4).
func (p *Provider) fetch(ctx context.Context) (*Metadata, time.Duration, error) {
	body, hdr, err := p.get(ctx, p.wellKnown, "application/json")
	if err != nil {
		return nil, 0, fmt.Errorf("fetch metadata: %w", err)
	}
	md := new(Metadata)
	if err := json.Unmarshal(body, md); err != nil {
		return nil, 0, fmt.Errorf("fetch metadata from %s: %w", p.wellKnown, err)
	}
	if md.Issuer != p.issuer {
		return nil, 0, fmt.Errorf("fetch metadata from %s: %w: provider says %q, configured issuer is %q",
			p.wellKnown, ErrIssuerMismatch, md.Issuer, p.issuer)
	}
	if err := md.Validate(p.issuer, p.allowHTTP); err != nil {
		return nil, 0, fmt.Errorf("fetch metadata from %s: %w", p.wellKnown, err)
	}
	return md, cacheTTL(hdr, p.minTTL, p.maxTTL), nil
}

// get performs a GET with the given Accept header and returns the body of
// a 200 response, read up to 1 MiB.
func (p *Provider) get(ctx context.Context, rawURL, accept string) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", accept)
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("GET %s: unexpected status %s", rawURL, resp.Status)
	}
	body, err := httpx.ReadBody(resp.Body, httpx.DefaultMaxBody)
	if err != nil {
		return nil, nil, fmt.Errorf("GET %s: read body: %w", rawURL, err)
	}
	return body, resp.Header, nil
}

// cacheTTL derives a lifetime from Cache-Control max-age minus Age
// (RFC 9111 §5.2.2.1, §4.2.3), clamped to [minTTL, maxTTL]. Without a
// usable max-age, or with no-store or no-cache, it is minTTL.
func cacheTTL(h http.Header, minTTL, maxTTL time.Duration) time.Duration {
	ttl := time.Duration(-1)
	for _, line := range h.Values("Cache-Control") {
		for dir := range strings.SplitSeq(line, ",") {
			name, value, _ := strings.Cut(strings.TrimSpace(dir), "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "no-store", "no-cache":
				return minTTL
			case "max-age":
				secs, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(value), `"`), 10, 64)
				if err != nil || secs < 0 {
					return minTTL
				}
				ttl = durationOfSeconds(secs)
			}
		}
	}
	if ttl < 0 {
		return minTTL
	}
	if age, err := strconv.ParseInt(strings.TrimSpace(h.Get("Age")), 10, 64); err == nil && age > 0 {
		ttl -= durationOfSeconds(age)
	}
	return min(max(ttl, minTTL), maxTTL)
}

// durationOfSeconds converts without overflowing.
func durationOfSeconds(secs int64) time.Duration {
	const maxSecs = int64(1<<63-1) / int64(time.Second)
	if secs > maxSecs {
		secs = maxSecs
	}
	return time.Duration(secs) * time.Second
}

// run is the background goroutine: it loads and refreshes the metadata and
// the key set, each on its own timer, until Close.
func (p *Provider) run() {
	defer close(p.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-p.stop:
			cancel()
		case <-ctx.Done():
		}
	}()

	mdTimer := time.NewTimer(0)
	defer mdTimer.Stop()
	ksTimer := time.NewTimer(0)
	defer ksTimer.Stop()
	ksArmed := p.static
	if p.static {
		mdTimer.Stop()
	} else {
		ksTimer.Stop() // armed once metadata is there
	}
	mdBackoff := backoff{min: p.retryMin, max: p.retryMax}
	ksBackoff := backoff{min: p.retryMin, max: p.retryMax}
	first := true

	for {
		select {
		case <-ctx.Done():
			return
		case <-mdTimer.C:
			res, err := p.load(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				delay := mdBackoff.next()
				p.log.Warn("discovery: loading provider metadata failed",
					"issuer", p.issuer, "error", err, "retry_in", delay, "stale_value_kept", p.Ready())
				mdTimer.Reset(delay)
				continue
			}
			if first || mdBackoff.failed {
				first = false
				p.log.Info("discovery: provider metadata loaded", "issuer", p.issuer, "ttl", res.ttl)
			} else {
				p.log.Debug("discovery: provider metadata loaded", "issuer", p.issuer, "ttl", res.ttl)
			}
			mdBackoff.reset()
			mdTimer.Reset(p.refreshDelay(res.ttl))
			// The first load arms the key timer; a jwks_uri change fires it
			// at once. A set loaded meanwhile by a caller is not fetched
			// again before it is due.
			if !ksArmed || p.keys.needsLoad(res.md.JWKSURI) {
				ksArmed = true
				ksTimer.Reset(0)
			}
		case <-ksTimer.C:
			snap, err := p.keys.fetchAndWait(ctx, fetchIfDue, nil)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				delay := ksBackoff.next()
				p.log.Warn("discovery: loading JWKS failed",
					"issuer", p.issuer, "error", err, "retry_in", delay, "stale_value_kept", p.keys.loaded())
				ksTimer.Reset(delay)
				continue
			}
			ksBackoff.reset()
			ksTimer.Reset(max(p.refreshDelay(snap.ttl)-time.Since(snap.loaded), p.minDelay))
		}
	}
}

// keysDue reports whether the background goroutine should refetch the
// key set s: it came from another jwks_uri than the current metadata's,
// or 80% of its lifetime has passed.
func (p *Provider) keysDue(s *keySnapshot) bool {
	md, ok := p.Current()
	if ok && s.source != md.JWKSURI {
		return true
	}
	return time.Since(s.loaded) >= p.refreshDelay(s.ttl)
}

// refreshDelay is when to refresh a value that lives ttl: at 80% of it.
func (p *Provider) refreshDelay(ttl time.Duration) time.Duration {
	return max(ttl/5*4, p.minDelay)
}

// backoff yields exponentially growing delays with equal jitter: each
// delay lies in [d/2, d] for d = min, 2·min, 4·min … max.
type backoff struct {
	min, max time.Duration
	cur      time.Duration
	failed   bool // a delay was handed out since the last reset
}

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	}
	d := b.cur
	b.cur = min(b.cur*2, b.max)
	b.failed = true
	half := d / 2
	return half + rand.N(d-half+1)
}

func (b *backoff) reset() { b.cur, b.failed = 0, false }
