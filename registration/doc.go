// Package registration registers an application with its OpenID provider
// through OAuth 2.0 Dynamic Client Registration (RFC 7591, OpenID Connect
// Dynamic Client Registration 1.0) and manages that registration
// (RFC 7592), so that an application can register itself at boot instead
// of someone clicking a client into an admin console.
//
// [Metadata] types every client metadata member of RFC 7591 §2, OpenID
// Connect Registration §2, the logout specifications and Ory's extensions,
// and keeps unknown members. [Client] registers, reads, updates and
// deletes; [Ensure] does all of it at boot, with credentials persisted in
// a [CredentialStore] (by default a [FileStore], a JSON file written
// atomically with mode 0600), and returns [Credentials] whose ClientID,
// ClientSecret and TokenEndpointAuthMethod go straight into rp.Config.
//
// # Where tokens go
//
// The endpoint comes from discovery's registration_endpoint or is set
// explicitly; Ory Hydra does not advertise it unless
// webfinger.oidc_discovery.client_registration_url is configured. The
// optional initial access token goes only to that endpoint. The
// registration access token goes only to the registration_client_uri the
// provider returned, only when that URI is on the registration endpoint's
// origin, and only over https or to a loopback host ([ErrUntrustedURI]).
// Redirects are never followed. A registration access token or client
// secret in any answer replaces the stored one.
//
// # Failing closed
//
// An answer that changes what was asked for in a way that weakens the
// client — other redirect_uris or post_logout_redirect_uris,
// token_endpoint_auth_method "none" or id_token_signed_response_alg "none"
// not asked for — fails with [ErrWeakened]; another client_id fails with
// [ErrClientIDMismatch]. Error answers become a [*Error]; its Description
// comes from the provider and is untrusted text. Secrets and tokens are
// never logged, and [Credentials] leaves them out of its String and slog
// forms.
//
// # Ory Hydra v2.3.0
//
// Facts this package relies on, seen with a real Hydra:
//
//   - register answers 201 with the whole client, the secret, a
//     registration_access_token and a registration_client_uri; its
//     Location header points at an admin path and is ignored;
//   - every update (PUT) rotates the registration access token and the old
//     one is refused at once, so the new one is saved before anything else;
//   - PUT replaces the whole client (omitted members are cleared), so the
//     full wanted metadata is always sent;
//   - a client_secret in a PUT is refused with 403, so it is never sent;
//     rotating the secret on Hydra therefore means registering a new client
//     (Hydra never expires secrets: client_secret_expires_at is 0);
//   - after a delete, a read answers 401, not 404 — and so does a read
//     with a stale token, which is why [Ensure] asks the token endpoint
//     before it concludes a client is gone;
//   - error bodies are {"error":"…","error_description":"…"}, where
//     "error" is a phrase for Hydra's own errors rather than an RFC 7591
//     code; herodot's {"error":{"reason":…}} is understood too;
//   - every post_logout_redirect_uri must share scheme, host and port with
//     one of the redirect_uris, or registration fails with
//     invalid_client_metadata;
//   - skip_consent, metadata and access_token_strategy are refused in
//     dynamic registration (they belong to the admin API).
//
// # Example
//
//	creds, err := registration.Ensure(ctx, registration.Options{
//		Issuer: "https://id.example.com",
//		Metadata: &registration.Metadata{
//			ClientName:              "example app",
//			RedirectURIs:            []string{"https://app.example.com/callback"},
//			PostLogoutRedirectURIs:  []string{"https://app.example.com/logout/done"},
//			BackchannelLogoutURI:    "https://app.example.com/backchannel-logout",
//			GrantTypes:              []string{"authorization_code", "refresh_token"},
//			ResponseTypes:           []string{"code"},
//			Scope:                   "openid profile email offline_access",
//			TokenEndpointAuthMethod: "client_secret_basic",
//		},
//		Store: registration.NewFileStore("/var/lib/app/oidcrp-client.json"),
//	})
//	if err != nil {
//		return err
//	}
//	cfg := rp.Config{
//		Issuer:                  "https://id.example.com",
//		ClientID:                creds.ClientID,
//		ClientSecret:            creds.ClientSecret,
//		TokenEndpointAuthMethod: creds.TokenEndpointAuthMethod,
//		// …
//	}
package registration
