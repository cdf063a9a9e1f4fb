package registration

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/oidcrp/oidcrp/discovery"
	"github.com/oidcrp/oidcrp/internal/httpx"
)

// DefaultSecretExpiryMargin is how long before its expiry [Ensure]
// replaces a client secret when [Options.SecretExpiryMargin] is zero.
const DefaultSecretExpiryMargin = 24 * time.Hour

// maxSteps bounds how often Ensure starts over because the stored
// credentials changed under it.
const maxSteps = 4

// errRetry makes Ensure reload the credentials and start over.
var errRetry = errors.New("stored credentials changed; start over")

// Options configures [Ensure].
type Options struct {
	// Metadata is the client metadata the application wants; required. It
	// is sent whole on register and update. Its redirect and logout URIs
	// must be absolute https URLs, or http to a loopback host, and its
	// token_endpoint_auth_method empty (client_secret_basic),
	// client_secret_basic, client_secret_post or none — the methods
	// rp.Config supports.
	Metadata *Metadata

	// Store persists the credentials. Nil means a [FileStore] at
	// [DefaultCredentialsFile] in the working directory. When the store is
	// also a [Locker], Ensure holds its lock throughout, so that replicas
	// booting at once register one client; without one they may each
	// register a client.
	Store CredentialStore

	// Provider is the provider's discovery, used for its token endpoint
	// (see Ensure), its registration_endpoint and its back-channel
	// addresses. When nil, Ensure discovers Issuer itself, for the length
	// of the call.
	Provider *discovery.Provider
	// Issuer is the provider's issuer; required when Provider is nil.
	Issuer string

	// RegistrationEndpoint overrides the provider's registration_endpoint.
	// Ory Hydra advertises none unless
	// webfinger.oidc_discovery.client_registration_url is configured; its
	// endpoint is <public URL>/oauth2/register.
	RegistrationEndpoint string

	// InitialAccessToken, when set, is sent as a bearer token with register
	// requests (RFC 7591 §3).
	InitialAccessToken string

	// HTTPClient makes every request. Nil means httpx.Default.
	HTTPClient *http.Client

	// Logger receives what Ensure does (registered, updated, rotated, a
	// client found gone). It never receives a secret or a token. Nil means
	// slog.Default().
	Logger *slog.Logger

	// Now is the clock for secret expiry. Nil means time.Now.
	Now func() time.Time

	// SecretExpiryMargin is how long before client_secret_expires_at the
	// secret is replaced. Zero means DefaultSecretExpiryMargin.
	SecretExpiryMargin time.Duration

	// InsecureAllowHTTP accepts plain http to every host, for the
	// provider and the metadata's URIs. It MUST NOT be used in production.
	InsecureAllowHTTP bool
}

// Ensure makes sure the application is registered with its provider as
// opt.Metadata describes, and returns credentials for rp.Config (ClientID,
// ClientSecret, TokenEndpointAuthMethod). It is meant for boot time and is
// idempotent: an application whose provider expires client secrets should
// also call it periodically (well within SecretExpiryMargin).
//
// Holding the store's lock when it has one ([Locker]), and loading the
// credentials afresh before each step, Ensure:
//
//   - registers a client and saves its credentials when none are stored;
//   - otherwise reads the registration (RFC 7592 §2.1) and saves any
//     rotated token or secret at once;
//   - when the read is refused (401 or 404), probes the token endpoint
//     with the client's own credentials (an authorization_code grant with
//     a random, never-issued code). invalid_client means the client is
//     gone: Ensure registers again. Any other OAuth error means the client
//     exists and the registration access token is stale: Ensure reloads
//     the credentials, starts over if another process changed them, and
//     otherwise never registers a duplicate — it returns the stored
//     credentials if the application wants nothing changed and fails with
//     [ErrStaleToken] if it does;
//   - updates the registration (RFC 7592 §2.2) when it drifted from what
//     the application wants (see [Drift]), saving the rotated
//     registration access token before it looks at the answer;
//   - replaces a secret that expires within SecretExpiryMargin: by an
//     update when the provider issues a new secret on update, otherwise by
//     registering a new client. The old client is kept in
//     Credentials.Retired and deleted by a later Ensure once its secret
//     has expired, so that processes still using it keep working. Ory
//     Hydra never expires secrets and never rotates them on update.
//
// It fails closed: an answer that weakens the metadata asked for
// ([ErrWeakened]) or names another client ([ErrClientIDMismatch]) is an
// error, and a client registered with such an answer is deleted again.
// Stored credentials of another issuer or registration endpoint are an
// error ([ErrOtherProvider]); remove them to register anew.
func Ensure(ctx context.Context, opt Options) (*Credentials, error) {
	e, closeFn, err := newEnsurer(ctx, opt)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	if l, ok := e.store.(Locker); ok {
		unlock, err := l.Lock(ctx)
		if err != nil {
			return nil, fmt.Errorf("registration: ensure: %w", err)
		}
		defer unlock()
	}
	creds, err := e.check(ctx)
	if err != nil {
		return nil, err
	}
	return e.deleteRetired(ctx, creds), nil
}

// ensurer holds what one Ensure call works with.
type ensurer struct {
	want          *Metadata
	store         CredentialStore
	client        *Client
	hc            *http.Client
	issuer        string
	tokenEndpoint string
	log           *slog.Logger
	now           func() time.Time
	margin        time.Duration
}

func newEnsurer(ctx context.Context, opt Options) (*ensurer, func(), error) {
	noop := func() {}
	if opt.Metadata == nil {
		return nil, noop, errors.New("registration: ensure: Metadata is required")
	}
	if err := checkWanted(opt.Metadata, opt.InsecureAllowHTTP); err != nil {
		return nil, noop, err
	}
	if opt.SecretExpiryMargin < 0 {
		return nil, noop, errors.New("registration: ensure: SecretExpiryMargin must not be negative")
	}
	e := &ensurer{
		want:   opt.Metadata.Clone(),
		store:  opt.Store,
		hc:     httpx.Client(opt.HTTPClient),
		log:    opt.Logger,
		now:    opt.Now,
		margin: opt.SecretExpiryMargin,
	}
	if e.store == nil {
		e.store = NewFileStore(DefaultCredentialsFile)
	}
	if e.log == nil {
		e.log = slog.Default()
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.margin == 0 {
		e.margin = DefaultSecretExpiryMargin
	}
	p, closeFn := opt.Provider, noop
	if p == nil {
		if opt.Issuer == "" {
			return nil, noop, errors.New("registration: ensure: Provider or Issuer is required")
		}
		var err error
		p, err = discovery.New(discovery.Config{
			Issuer:            opt.Issuer,
			HTTPClient:        opt.HTTPClient,
			Logger:            e.log,
			InsecureAllowHTTP: opt.InsecureAllowHTTP,
		})
		if err != nil {
			return nil, noop, fmt.Errorf("registration: ensure: %w", err)
		}
		closeFn = func() { p.Close() }
	}
	md, err := p.Metadata(ctx)
	if err != nil {
		closeFn()
		return nil, noop, fmt.Errorf("registration: ensure: %w", err)
	}
	endpoint := opt.RegistrationEndpoint
	if endpoint == "" {
		endpoint = md.RegistrationEndpoint
	}
	if endpoint == "" {
		closeFn()
		return nil, noop, fmt.Errorf("registration: ensure: %w: the provider's metadata has no registration_endpoint and Options.RegistrationEndpoint is empty", ErrNoRegistrationEndpoint)
	}
	e.client, err = NewClient(Config{
		Endpoint:           endpoint,
		InitialAccessToken: opt.InitialAccessToken,
		HTTPClient:         opt.HTTPClient,
		BackchannelURL:     p.BackchannelURL,
		InsecureAllowHTTP:  opt.InsecureAllowHTTP,
	})
	if err != nil {
		closeFn()
		return nil, noop, err
	}
	e.issuer = p.Issuer()
	e.tokenEndpoint = p.BackchannelURL(md.TokenEndpoint)
	return e, closeFn, nil
}

// checkWanted checks the metadata an application asks for.
func checkWanted(md *Metadata, allowHTTP bool) error {
	err := md.CheckURIs(allowHTTP)
	if !usableAuthMethod(md.TokenEndpointAuthMethod) {
		err = errors.Join(err, fmt.Errorf("token_endpoint_auth_method %q is not one of client_secret_basic, client_secret_post, none", md.TokenEndpointAuthMethod))
	}
	if err != nil {
		return fmt.Errorf("registration: ensure: metadata: %w", err)
	}
	return nil
}

func usableAuthMethod(m string) bool {
	return m == "" || m == "client_secret_basic" || m == "client_secret_post" || m == "none"
}

// check runs the steps of Ensure until the registration is settled.
func (e *ensurer) check(ctx context.Context) (*Credentials, error) {
	for range maxSteps {
		creds, err := e.load(ctx)
		if err != nil {
			return nil, err
		}
		if creds == nil {
			return e.register(ctx, nil)
		}
		if err := e.sameProvider(creds); err != nil {
			return nil, err
		}
		if !creds.manageable() {
			gone, err := e.probe(ctx, creds, ErrNotManaged)
			if err != nil {
				return nil, err
			}
			if gone {
				return e.register(ctx, creds)
			}
			return e.unmanaged(ctx, creds, ErrNotManaged)
		}

		cur, err := e.client.Read(ctx, creds)
		if errors.Is(err, ErrTokenRejected) {
			gone, perr := e.probe(ctx, creds, err)
			if perr != nil {
				return nil, perr
			}
			latest, lerr := e.load(ctx)
			if lerr != nil {
				return nil, lerr
			}
			if changed(latest, creds) {
				continue // another process rotated the token or registered anew
			}
			if gone {
				e.log.Warn("registration: the client is gone at the provider; registering again", "client_id", creds.ClientID)
				return e.register(ctx, creds)
			}
			return e.unmanaged(ctx, creds, ErrStaleToken)
		}
		if err != nil {
			return nil, fmt.Errorf("registration: ensure: client %q: %w", creds.ClientID, err)
		}
		if rotated(creds, cur) {
			if err := e.save(ctx, cur); err != nil {
				return nil, err
			}
		}

		updated := false
		if names := Drift(e.want, cur.Requested, cur.Registered, cur.Metadata); len(names) > 0 {
			e.log.Info("registration: client metadata differs from the wanted metadata; updating",
				"client_id", cur.ClientID, "members", names)
			cur, err = e.update(ctx, cur)
			if errors.Is(err, errRetry) {
				continue
			}
			if err != nil {
				return nil, err
			}
			updated = true
		}
		if e.expiring(cur) {
			return e.rotate(ctx, cur, !updated)
		}
		return cur, nil
	}
	return nil, fmt.Errorf("registration: ensure: the stored credentials changed %d times during the call; is another process without the store's lock managing the same registration?", maxSteps)
}

// probe runs probeGone for a client whose registration cannot be read.
func (e *ensurer) probe(ctx context.Context, creds *Credentials, why error) (bool, error) {
	gone, err := probeGone(ctx, e.hc, e.tokenEndpoint, creds)
	if err != nil {
		return false, fmt.Errorf("registration: ensure: client %q: the registration could not be read (%w), and checking the client at the token endpoint failed: %w",
			creds.ClientID, why, err)
	}
	return gone, nil
}

// unmanaged handles a client that exists but whose registration cannot be
// read or changed: it is used as stored unless the application wants
// other metadata.
func (e *ensurer) unmanaged(ctx context.Context, creds *Credentials, reason error) (*Credentials, error) {
	if names := Drift(e.want, creds.Requested, nil, nil); len(names) > 0 {
		return nil, fmt.Errorf("registration: ensure: client %q: %w; the wanted metadata differs in %v and cannot be applied",
			creds.ClientID, reason, names)
	}
	if e.expiring(creds) {
		return e.rotate(ctx, creds, false)
	}
	e.log.Warn("registration: the registration cannot be read or changed; using the stored client as it is",
		"client_id", creds.ClientID, "reason", reason.Error())
	return creds, nil
}

// update sends the wanted metadata and saves the answer's credentials
// before looking at any error about the answer. errRetry means the
// stored credentials changed since they were read.
func (e *ensurer) update(ctx context.Context, cur *Credentials) (*Credentials, error) {
	latest, err := e.load(ctx)
	if err != nil {
		return nil, err
	}
	if changed(latest, cur) {
		return nil, errRetry
	}
	upd, err := e.client.Update(ctx, cur, e.want)
	if upd != nil {
		upd.Issuer = e.issuer
		if serr := e.save(ctx, upd); serr != nil {
			return nil, errors.Join(err, serr)
		}
	}
	if errors.Is(err, ErrTokenRejected) {
		return nil, errRetry
	}
	if err != nil {
		return nil, err
	}
	e.log.Info("registration: updated the client", "client_id", upd.ClientID)
	return upd, nil
}

// rotate replaces a secret about to expire: by an update when tryUpdate
// and the provider issues a new secret on update, otherwise by
// registering a new client and retiring the old one.
func (e *ensurer) rotate(ctx context.Context, cur *Credentials, tryUpdate bool) (*Credentials, error) {
	e.log.Info("registration: the client secret expires soon; replacing it",
		"client_id", cur.ClientID, "expires_at", time.Unix(cur.ClientSecretExpiresAt, 0).UTC())
	if tryUpdate && cur.manageable() {
		upd, err := e.update(ctx, cur)
		if err != nil && !errors.Is(err, errRetry) {
			return nil, err
		}
		if err == nil {
			if !e.expiring(upd) {
				return upd, nil
			}
			cur = upd
		}
	}
	fresh, err := e.registerNew(ctx)
	if err != nil {
		return nil, err
	}
	fresh.Retired = append(slices.Clone(cur.Retired), RetiredClient{
		ClientID:                cur.ClientID,
		ExpiresAt:               cur.ClientSecretExpiresAt,
		RegistrationAccessToken: cur.RegistrationAccessToken,
		RegistrationClientURI:   cur.RegistrationClientURI,
	})
	if err := e.saveFresh(ctx, fresh); err != nil {
		return nil, err
	}
	e.log.Info("registration: registered a new client to replace one whose secret expires",
		"client_id", fresh.ClientID, "retired_client_id", cur.ClientID)
	return fresh, nil
}

// register registers a client and saves it, keeping the retired clients
// of previous.
func (e *ensurer) register(ctx context.Context, previous *Credentials) (*Credentials, error) {
	fresh, err := e.registerNew(ctx)
	if err != nil {
		return nil, err
	}
	if previous != nil {
		fresh.Retired = slices.Clone(previous.Retired)
	}
	if err := e.saveFresh(ctx, fresh); err != nil {
		return nil, err
	}
	e.log.Info("registration: registered a new client", "client_id", fresh.ClientID,
		"registration_endpoint", e.client.Endpoint())
	return fresh, nil
}

// registerNew registers a client with the wanted metadata; a client whose
// answer cannot be used is deleted again.
func (e *ensurer) registerNew(ctx context.Context) (*Credentials, error) {
	creds, err := e.client.Register(ctx, e.want)
	if err == nil && !usableAuthMethod(creds.TokenEndpointAuthMethod) {
		err = fmt.Errorf("registration: register: the provider registered token_endpoint_auth_method %q, which rp does not support",
			creds.TokenEndpointAuthMethod)
	}
	if err != nil {
		if creds != nil {
			e.discard(ctx, creds)
		}
		return nil, err
	}
	creds.Issuer = e.issuer
	return creds, nil
}

// saveFresh saves newly registered credentials; when that fails the new
// client is deleted, so that it is not left behind unknown.
func (e *ensurer) saveFresh(ctx context.Context, fresh *Credentials) error {
	if err := e.save(ctx, fresh); err != nil {
		e.discard(ctx, fresh)
		return err
	}
	return nil
}

// discard deletes a client this call registered but cannot use.
func (e *ensurer) discard(ctx context.Context, c *Credentials) {
	if err := e.client.Delete(ctx, c); err != nil {
		e.log.Warn("registration: could not delete a client registered in vain; delete it at the provider",
			"client_id", c.ClientID, "error", err.Error())
		return
	}
	e.log.Info("registration: deleted a client registered in vain", "client_id", c.ClientID)
}

// deleteRetired deletes the retired clients whose secret has expired.
// Failures are logged; the credentials are returned either way.
func (e *ensurer) deleteRetired(ctx context.Context, creds *Credentials) *Credentials {
	if len(creds.Retired) == 0 {
		return creds
	}
	now := e.now().Unix()
	var keep []RetiredClient
	for _, r := range creds.Retired {
		if r.ExpiresAt > now {
			keep = append(keep, r)
			continue
		}
		err := e.client.Delete(ctx, &Credentials{
			ClientID:                r.ClientID,
			RegistrationAccessToken: r.RegistrationAccessToken,
			RegistrationClientURI:   r.RegistrationClientURI,
		})
		switch {
		case err == nil:
			e.log.Info("registration: deleted a retired client", "client_id", r.ClientID)
		case errors.Is(err, ErrTokenRejected) || errors.Is(err, ErrNotManaged) || errors.Is(err, ErrUntrustedURI):
			e.log.Warn("registration: a retired client cannot be deleted; forgetting it",
				"client_id", r.ClientID, "error", err.Error())
		default:
			e.log.Warn("registration: deleting a retired client failed; will retry", "client_id", r.ClientID, "error", err.Error())
			keep = append(keep, r)
		}
	}
	if len(keep) == len(creds.Retired) {
		return creds
	}
	out := creds.Clone()
	out.Retired = keep
	if err := e.save(ctx, out); err != nil {
		e.log.Warn("registration: saving credentials after deleting retired clients failed", "error", err.Error())
		return creds
	}
	return out
}

// expiring reports whether c's secret expires within the margin.
func (e *ensurer) expiring(c *Credentials) bool {
	exp, ok := c.SecretExpiresAt()
	return ok && c.ClientSecret != "" && !e.now().Add(e.margin).Before(exp)
}

// sameProvider checks that stored credentials belong to the configured
// provider.
func (e *ensurer) sameProvider(c *Credentials) error {
	if c.Issuer != "" && c.Issuer != e.issuer {
		return fmt.Errorf("registration: ensure: %w: client %q was registered with issuer %q, the configured issuer is %q",
			ErrOtherProvider, c.ClientID, c.Issuer, e.issuer)
	}
	if c.RegistrationEndpoint != "" && c.RegistrationEndpoint != e.client.Endpoint() {
		return fmt.Errorf("registration: ensure: %w: client %q was registered at %q, the registration endpoint is %q",
			ErrOtherProvider, c.ClientID, c.RegistrationEndpoint, e.client.Endpoint())
	}
	return nil
}

func (e *ensurer) load(ctx context.Context) (*Credentials, error) {
	c, err := e.store.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("registration: ensure: load: %w", err)
	}
	return c, nil
}

func (e *ensurer) save(ctx context.Context, c *Credentials) error {
	if err := e.store.Save(ctx, c); err != nil {
		return fmt.Errorf("registration: ensure: save: %w", err)
	}
	return nil
}

// changed reports whether the stored credentials now differ from the ones
// in hand: another client, token or client URI.
func changed(latest, had *Credentials) bool {
	return latest == nil || latest.ClientID != had.ClientID ||
		latest.RegistrationAccessToken != had.RegistrationAccessToken ||
		latest.RegistrationClientURI != had.RegistrationClientURI
}

// rotated reports whether a read brought a new token, secret or URI.
func rotated(before, after *Credentials) bool {
	return before.RegistrationAccessToken != after.RegistrationAccessToken ||
		before.ClientSecret != after.ClientSecret ||
		before.ClientSecretExpiresAt != after.ClientSecretExpiresAt ||
		before.RegistrationClientURI != after.RegistrationClientURI
}
