package registration

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Error codes of RFC 7591 §3.2.2, and the RFC 6750 §3.1 code a provider
// uses for a bad registration access token (RFC 7592 §2).
const (
	CodeInvalidRedirectURI          = "invalid_redirect_uri"
	CodeInvalidClientMetadata       = "invalid_client_metadata"
	CodeInvalidSoftwareStatement    = "invalid_software_statement"
	CodeUnapprovedSoftwareStatement = "unapproved_software_statement"
	CodeInvalidToken                = "invalid_token"
)

// Sentinel errors. Test for them with [errors.Is]; the returned errors wrap
// them with details.
var (
	// ErrTokenRejected means the provider answered 401 or 404 to a read,
	// update or delete: the registration access token is not (or no
	// longer) valid, or the client does not exist. Ory Hydra answers 401
	// in both cases (RFC 7592 §2.1). A [*Error] with such a status matches
	// it.
	ErrTokenRejected = errors.New("registration access token rejected or client unknown")

	// ErrNoRegistrationEndpoint means neither the provider's metadata nor
	// the configuration names a registration endpoint. Ory Hydra
	// advertises one only when webfinger.oidc_discovery.client_registration_url
	// is set.
	ErrNoRegistrationEndpoint = errors.New("no registration endpoint")

	// ErrWeakened means the provider's answer changed what was asked for in
	// a way that weakens the client: other redirect_uris or
	// post_logout_redirect_uris, token_endpoint_auth_method "none" or
	// id_token_signed_response_alg "none" that were not asked for. The
	// answer is not used.
	ErrWeakened = errors.New("provider answer weakens the requested client metadata")

	// ErrClientIDMismatch means a read or update answered with another
	// client_id than the one managed.
	ErrClientIDMismatch = errors.New("provider answered with another client_id")

	// ErrUntrustedURI means a registration_client_uri is not on the
	// registration endpoint's origin, or is plain http to a host that is
	// not loopback. The registration access token is never sent there.
	ErrUntrustedURI = errors.New("untrusted registration_client_uri")

	// ErrInvalidResponse means the provider's answer is not a usable
	// client information response (RFC 7591 §3.2.1): not JSON, no
	// client_id, no client_secret for a confidential client, or an
	// unexpected status.
	ErrInvalidResponse = errors.New("invalid client information response")

	// ErrNotManaged means the stored credentials carry no registration
	// access token or registration_client_uri, so the registration cannot
	// be read, updated or deleted (RFC 7592 is optional for providers).
	ErrNotManaged = errors.New("registration cannot be managed")

	// ErrStaleToken means the provider refused the stored registration
	// access token while the client's own credentials still work at the
	// token endpoint, and the application wants metadata that can
	// therefore not be applied. Another process may have rotated the token
	// without saving it; the client must be updated or deleted by other
	// means (the provider's admin API) and the stored credentials removed.
	ErrStaleToken = errors.New("registration access token is stale but the client exists")

	// ErrOtherProvider means the stored credentials were registered with
	// another issuer or registration endpoint than the configured one.
	ErrOtherProvider = errors.New("stored credentials belong to another provider")
)

// maxDescription bounds the length, in runes, of an error description
// taken from a provider.
const maxDescription = 300

// Error is an error answer of the registration endpoint: an RFC 7591
// §3.2.2 error, an RFC 6750 error of the registration client URI, or the
// error shape of Ory's herodot library. It matches [ErrTokenRejected] with
// [errors.Is] for status 401 and 404.
type Error struct {
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Code is the "error" member: one of the Code… constants for RFC 7591
	// providers, a short phrase ("The request could not be authorized")
	// for Ory's own errors, or empty when the body was not JSON.
	Code string
	// Description is the "error_description" member (or herodot's reason),
	// untrusted text from the provider: control and formatting characters
	// are removed and it is cut to 300 characters. Never render it as HTML
	// without escaping.
	Description string
	// Operation is what was attempted: "register", "read", "update" or
	// "delete".
	Operation string
}

// Error implements error. The description is quoted.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "registration: %s: provider answered %d", e.Operation, e.StatusCode)
	if t := http.StatusText(e.StatusCode); t != "" {
		b.WriteString(" " + t)
	}
	if e.Code != "" {
		fmt.Fprintf(&b, ": %q", e.Code)
	}
	if e.Description != "" {
		fmt.Fprintf(&b, ": %q", e.Description)
	}
	return b.String()
}

// Is reports whether target is [ErrTokenRejected] and the status is 401 or
// 404.
func (e *Error) Is(target error) bool {
	return target == ErrTokenRejected && (e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusNotFound)
}

// parseError builds an *Error from an error answer. It understands the
// RFC 7591 shape {"error":"…","error_description":"…"} (which Ory Hydra
// also uses, with a phrase as "error" for its own errors) and herodot's
// {"error":{"code":…,"status":"…","reason":"…","message":"…"}}.
func parseError(op string, status int, body []byte) *Error {
	e := &Error{StatusCode: status, Operation: op}
	var v struct {
		Error            json.RawMessage `json:"error"`
		ErrorDescription string          `json:"error_description"`
	}
	if json.Unmarshal(body, &v) != nil || len(v.Error) == 0 {
		return e
	}
	var code string
	if json.Unmarshal(v.Error, &code) == nil {
		e.Code = sanitize(code, 100)
		e.Description = sanitize(v.ErrorDescription, maxDescription)
		return e
	}
	var h struct {
		Status  string `json:"status"`
		Message string `json:"message"`
		Reason  string `json:"reason"`
	}
	if json.Unmarshal(v.Error, &h) == nil {
		e.Code = sanitize(h.Message, 100)
		if e.Code == "" {
			e.Code = sanitize(h.Status, 100)
		}
		e.Description = sanitize(h.Reason, maxDescription)
		if e.Description == "" {
			e.Description = sanitize(v.ErrorDescription, maxDescription)
		}
	}
	return e
}

// sanitize makes untrusted provider text safe to log and show: it drops
// control and formatting characters (newlines, ANSI escapes, bidi
// overrides), collapses spaces and cuts the result to max runes.
func sanitize(s string, max int) string {
	var b strings.Builder
	n := 0
	space := false
	for _, r := range s {
		if r == utf8.RuneError || unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) {
			r = ' '
		}
		if unicode.IsSpace(r) {
			space = b.Len() > 0
			continue
		}
		if n >= max {
			b.WriteString("…")
			break
		}
		if space {
			b.WriteByte(' ')
			space = false
			n++
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}
