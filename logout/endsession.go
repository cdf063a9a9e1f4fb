package logout

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// EndSessionRequest holds the parameters of an RP-initiated logout request
// (OpenID Connect RP-Initiated Logout 1.0 §2). Empty fields are left out.
type EndSessionRequest struct {
	// IDTokenHint is the ID token the provider issued for the session being
	// ended (RECOMMENDED). An expired ID token is fine.
	IDTokenHint string

	// PostLogoutRedirectURI is where the provider sends the user agent
	// afterwards; it must be registered with the provider. It MUST come
	// from the application's configuration, never from the request being
	// served (a query parameter, a form field, a header): the provider
	// only checks that it is registered, so a value taken from the request
	// would let anyone choose among the registered targets. It needs
	// IDTokenHint or ClientID.
	PostLogoutRedirectURI string

	// State is returned to PostLogoutRedirectURI as the "state" parameter.
	State string

	// ClientID identifies the client when IDTokenHint is absent (§2); when
	// both are given, the provider checks that they match.
	ClientID string

	// LogoutHint tells the provider which user is logging out, for
	// example a login name (§2).
	LogoutHint string

	// UILocales are the preferred languages of the logout pages, as BCP 47
	// language tags, most preferred first (sent space-separated as
	// ui_locales).
	UILocales []string
}

// EndSessionURL returns the URL to send the user agent to for RP-initiated
// logout (OpenID Connect RP-Initiated Logout 1.0 §2, §3): endpoint (the
// provider's end_session_endpoint from discovery) with the parameters of
// req added to its query. A query the endpoint already has is kept (§2
// says it MUST be); a parameter of req replaces one of the same name in it.
//
// It fails when endpoint is empty, is not an absolute http(s) URL, or has
// user info or a fragment, when a UILocales entry is empty or holds spaces
// or control characters, and when PostLogoutRedirectURI is not an absolute URL or
// is given without IDTokenHint or ClientID.
func EndSessionURL(endpoint string, req EndSessionRequest) (string, error) {
	if endpoint == "" {
		return "", errors.New("logout: end session URL: the provider has no end_session_endpoint")
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", fmt.Errorf("logout: end session URL: endpoint: %w", err)
	}
	if u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", fmt.Errorf("logout: end session URL: endpoint %q is not an absolute http(s) URL", endpoint)
	}
	if u.User != nil || u.Fragment != "" || u.RawFragment != "" {
		return "", fmt.Errorf("logout: end session URL: endpoint %q must not have user info or a fragment", endpoint)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return "", fmt.Errorf("logout: end session URL: endpoint query: %w", err)
	}

	if req.PostLogoutRedirectURI != "" {
		p, err := url.Parse(req.PostLogoutRedirectURI)
		if err != nil || !p.IsAbs() || p.Host == "" {
			return "", fmt.Errorf("logout: end session URL: post_logout_redirect_uri %q is not an absolute URL", req.PostLogoutRedirectURI)
		}
		if req.IDTokenHint == "" && req.ClientID == "" {
			return "", errors.New("logout: end session URL: post_logout_redirect_uri needs id_token_hint or client_id")
		}
	}
	for _, loc := range req.UILocales {
		if loc == "" || strings.ContainsFunc(loc, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
			return "", fmt.Errorf("logout: end session URL: ui_locales: %q is not a language tag", loc)
		}
	}

	for _, p := range []struct{ name, value string }{
		{"id_token_hint", req.IDTokenHint},
		{"logout_hint", req.LogoutHint},
		{"client_id", req.ClientID},
		{"post_logout_redirect_uri", req.PostLogoutRedirectURI},
		{"state", req.State},
		{"ui_locales", strings.Join(req.UILocales, " ")},
	} {
		// The parameters of the logout request are the RP's alone: a
		// value the endpoint's own query carries never stands in for one
		// the request leaves out.
		q.Del(p.name)
		if p.value != "" {
			q.Set(p.name, p.value)
		}
	}
	u.RawQuery = q.Encode()
	u.ForceQuery = false
	return u.String(), nil
}
