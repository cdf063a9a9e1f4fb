// Package discovery finds out how to talk to an OpenID provider: its
// metadata (OpenID Connect Discovery 1.0, RFC 8414) and its signing keys
// (the JWKS at jwks_uri, RFC 7517).
//
// A [Provider] is created once per issuer with [New]. New does no network
// I/O; a background goroutine fetches
// <issuer>/.well-known/openid-configuration, retrying with exponential
// backoff and jitter until it succeeds, checks it with [Metadata.Validate]
// (the "issuer" must equal the configured issuer exactly, Discovery §4.3),
// and caches it for the response's Cache-Control max-age clamped to
// [Config.MinTTL, Config.MaxTTL]. It refreshes the metadata at 80% of that
// lifetime; when a refresh fails the last good metadata stays in use
// (stale-if-error) and the failure is logged. [Provider.Metadata] never
// touches the network once metadata is cached, so request handlers can
// call it freely; before that, concurrent callers share a single fetch and
// each waits with its own context.
//
// [Provider.KeySet] verifies JWS signatures with the provider's keys. It is
// loaded and refreshed by the same goroutine, refetched at once (rate
// limited) when a token names an unknown "kid", and plugs into go-oidc as
// an oidc.KeySet. It skips keys it cannot use instead of failing the whole
// set, picks the key by "kid" only from the provider's JWKS, and requires
// the token's algorithm to be allowed and to fit the key.
//
// When the application reaches the provider at another address than the
// browser does (containers), [Config.DiscoveryURL] names that address and
// [Provider.BackchannelURL] maps endpoint URLs onto it.
//
// http URLs are accepted only for loopback hosts (a local provider);
// [Config.InsecureAllowHTTP] lifts that and MUST NOT be used in production.
//
// # Example
//
//	p, err := discovery.New(discovery.Config{Issuer: "https://id.example.com"})
//	if err != nil {
//		return err
//	}
//	defer p.Close()
//
//	md, err := p.Metadata(ctx) // waits for the first load, then served from cache
//	if err != nil {
//		return err // wraps discovery.ErrNotReady while the provider is unreachable
//	}
//	verifier := oidc.NewVerifier(p.Issuer(), p.KeySet(), &oidc.Config{
//		ClientID:             clientID,
//		SupportedSigningAlgs: md.IDTokenSigningAlgValuesSupported,
//	})
//	idToken, err := verifier.Verify(ctx, rawIDToken)
package discovery
