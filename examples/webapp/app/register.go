package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/oidcrp/oidcrp/discovery"
	"github.com/oidcrp/oidcrp/registration"
)

// clientMetadata is what the application registers at the provider: its
// callback, its logout endpoints and what it asks for.
func clientMetadata(c *Config) (*registration.Metadata, error) {
	u, err := url.Parse(c.RedirectURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("OIDC_REDIRECT_URL %q is not an absolute URL", c.RedirectURL)
	}
	origin := u.Scheme + "://" + u.Host
	return &registration.Metadata{
		ClientName:                        "oidcrp reference app",
		RedirectURIs:                      []string{c.RedirectURL},
		PostLogoutRedirectURIs:            []string{origin + "/logout/done"},
		BackchannelLogoutURI:              origin + "/backchannel-logout",
		BackchannelLogoutSessionRequired:  true,
		FrontchannelLogoutURI:             origin + "/frontchannel-logout",
		FrontchannelLogoutSessionRequired: true,
		GrantTypes:                        []string{"authorization_code", "refresh_token"},
		ResponseTypes:                     []string{"code"},
		Scope:                             strings.Join(c.Scopes, " "),
		TokenEndpointAuthMethod:           "client_secret_basic",
	}, nil
}

// selfRegister returns the client credentials of a self-registering app
// (OIDC_REGISTER=1). With credentials stored from an earlier start it
// returns them at once, so the app starts even while the provider is down,
// and reconciles the registration in the background (registration.Ensure:
// drift, a rotated registration token, a client deleted at the provider).
// Without any, it registers before returning, retrying until ctx ends.
//
// store keeps the credentials; nil means the file OIDC_CREDENTIALS_FILE.
// With SESSION_STORE=redis the replicas share them (and the lock around
// registering) through Redis, so that they register one client, not one
// each.
func selfRegister(ctx context.Context, c *Config, prov *discovery.Provider, store registration.CredentialStore, logger *slog.Logger) (*registration.Credentials, error) {
	md, err := clientMetadata(c)
	if err != nil {
		return nil, err
	}
	where := "redis"
	if store == nil {
		store = registration.NewFileStore(c.CredentialsFile)
		where = c.CredentialsFile
	}
	opt := registration.Options{
		Metadata:             md,
		Store:                store,
		Provider:             prov,
		RegistrationEndpoint: c.RegistrationEndpoint,
		Logger:               logger,
	}
	stored, err := store.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("stored client credentials (%s): %w", where, err)
	}
	if stored != nil && stored.ClientID != "" && (stored.Issuer == "" || stored.Issuer == c.Issuer) {
		go func() {
			creds, err := ensureWithRetry(ctx, opt, logger)
			if err != nil {
				return
			}
			if creds.ClientID != stored.ClientID {
				logger.Error("webapp: the provider no longer knows the stored client; registered a new one: restart to use it",
					"old_client_id", stored.ClientID, "client_id", creds.ClientID)
			}
		}()
		logger.Info("webapp: using the stored client registration", "client_id", stored.ClientID, "store", where)
		return stored, nil
	}
	return ensureWithRetry(ctx, opt, logger)
}

// ensureWithRetry runs registration.Ensure until it succeeds or ctx ends,
// backing off from 1 s to 30 s.
func ensureWithRetry(ctx context.Context, opt registration.Options, logger *slog.Logger) (*registration.Credentials, error) {
	wait := time.Second
	for {
		creds, err := registration.Ensure(ctx, opt)
		if err == nil {
			logger.Info("webapp: client registration is in place", "client_id", creds.ClientID)
			return creds, nil
		}
		if errors.Is(err, registration.ErrWeakened) || errors.Is(err, registration.ErrStaleToken) || errors.Is(err, registration.ErrOtherProvider) {
			logger.Error("webapp: client registration", "err", err)
			return nil, err
		}
		logger.Warn("webapp: client registration failed; retrying", "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("client registration: %w (last error: %w)", ctx.Err(), err)
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}
