package logout

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// MaxSIDLength is the longest front-channel "sid" accepted.
const MaxSIDLength = 255

// FrontChannelRequest is a front-channel logout request (OpenID Connect
// Front-Channel Logout 1.0 §2). Both fields are empty when the provider
// sent neither parameter: the logout then concerns the session the user
// agent presents.
type FrontChannelRequest struct {
	// Issuer is the "iss" parameter, equal to the expected issuer.
	Issuer string
	// SID is the "sid" parameter, the provider's session ID.
	SID string
}

// ParseFrontChannel reads a front-channel logout request (OpenID Connect
// Front-Channel Logout 1.0 §2, §3), which the provider's logout page makes
// from an iframe: a GET to the frontchannel_logout_uri, with the query
// parameters "iss" and "sid" — both or neither, each at most once. When
// present, "iss" must equal issuer exactly. When sessionRequired (the
// client registered frontchannel_logout_session_required), both are
// required. "sid" must be printable ASCII of at most MaxSIDLength bytes.
//
// A wrong method gives a [*MethodError] (matching [ErrMethodNotAllowed]);
// every other problem matches [ErrInvalidRequest], a wrong "iss" also
// [ErrIssuer].
func ParseFrontChannel(r *http.Request, issuer string, sessionRequired bool) (*FrontChannelRequest, error) {
	if r.Method != http.MethodGet {
		return nil, &MethodError{Method: r.Method, Allow: http.MethodGet}
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("logout: front-channel: %w: query: %w", ErrInvalidRequest, err)
	}
	for _, name := range []string{"iss", "sid"} {
		if len(q[name]) > 1 {
			return nil, fmt.Errorf("logout: front-channel: %w: %s given %d times", ErrInvalidRequest, name, len(q[name]))
		}
	}
	iss, sid := q.Get("iss"), q.Get("sid")
	switch {
	case iss == "" && sid == "" && sessionRequired:
		return nil, fmt.Errorf("logout: front-channel: %w: iss and sid are required", ErrInvalidRequest)
	case (iss == "") != (sid == ""):
		return nil, fmt.Errorf("logout: front-channel: %w: iss and sid must be sent together", ErrInvalidRequest)
	}
	if iss != "" && iss != issuer {
		return nil, fmt.Errorf("logout: front-channel: %w: %w: iss %q, want %q", ErrInvalidRequest, ErrIssuer, truncate(iss), issuer)
	}
	if len(sid) > MaxSIDLength {
		return nil, fmt.Errorf("logout: front-channel: %w: sid longer than %d bytes", ErrInvalidRequest, MaxSIDLength)
	}
	if strings.ContainsFunc(sid, func(r rune) bool { return r <= ' ' || r > '~' }) {
		return nil, fmt.Errorf("logout: front-channel: %w: sid is not printable ASCII", ErrInvalidRequest)
	}
	return &FrontChannelRequest{Issuer: iss, SID: sid}, nil
}

// FrontChannelHeaders sets the headers of the answer to a front-channel
// logout request (OpenID Connect Front-Channel Logout 1.0 §4): no caching
// (Cache-Control: no-cache, no-store and Pragma: no-cache), and a
// Content-Security-Policy whose frame-ancestors lets only providerOrigin
// embed the page. providerOrigin may be the issuer URL; its scheme and
// host are used. When it is not an absolute http(s) URL, framing is
// forbidden altogether ('none'). Any X-Frame-Options header is removed,
// since it would keep the provider's page from embedding the answer.
func FrontChannelHeaders(h http.Header, providerOrigin string) {
	h.Set("Cache-Control", "no-cache, no-store")
	h.Set("Pragma", "no-cache")
	h.Set("Content-Security-Policy", "frame-ancestors "+originSource(providerOrigin))
	h.Del("X-Frame-Options")
}

// originSource returns the CSP source expression of raw's origin, or
// 'none'.
func originSource(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "'none'"
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && scheme != "http" {
		return "'none'"
	}
	if strings.ContainsFunc(u.Host, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			r == '.' || r == '-' || r == ':' || r == '[' || r == ']')
	}) {
		return "'none'"
	}
	return scheme + "://" + strings.ToLower(u.Host)
}
