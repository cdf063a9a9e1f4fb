package userinfo

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Sentinel errors. Test for them with [errors.Is]; the returned errors wrap
// them with details.
var (
	// ErrNoEndpoint means the provider's metadata has no userinfo_endpoint.
	ErrNoEndpoint = errors.New("provider has no userinfo endpoint")

	// ErrSubjectMismatch means the response's "sub" differs from the
	// subject of the ID token (OpenID Connect Core 1.0 §5.3.2). The
	// response is discarded.
	ErrSubjectMismatch = errors.New("userinfo subject does not match the ID token's")

	// ErrUnsignedResponse means a plain JSON response arrived although the
	// client registered userinfo_signed_response_alg (OpenID Connect
	// Dynamic Client Registration 1.0 §2).
	ErrUnsignedResponse = errors.New("unsigned userinfo response where a signed one is required")

	// ErrEncryptedResponse means the response is a JWE (OpenID Connect
	// Core 1.0 §5.3.2); decrypting userinfo responses is not supported.
	ErrEncryptedResponse = errors.New("encrypted userinfo responses are not supported")

	// ErrInvalidSignature means a signed (application/jwt) response did
	// not verify with the provider's keys. The error also wraps the cause
	// from package discovery (discovery.ErrInvalidSignature,
	// discovery.ErrAlgNotAllowed, discovery.ErrUnknownKey, …).
	ErrInvalidSignature = errors.New("signed userinfo response does not verify")

	// ErrIssuerMismatch means a signed response's "iss" is not the
	// provider's issuer.
	ErrIssuerMismatch = errors.New("signed userinfo response from another issuer")

	// ErrAudienceMismatch means a signed response's "aud" does not name
	// the client.
	ErrAudienceMismatch = errors.New("signed userinfo response for another audience")

	// ErrExpired means a signed response carries an "exp" that has passed.
	ErrExpired = errors.New("signed userinfo response has expired")

	// ErrInvalidResponse means the response is not a userinfo response:
	// not a JSON object or JWS, no "sub", a standard claim of the wrong
	// type, or an unexpected content type.
	ErrInvalidResponse = errors.New("invalid userinfo response")

	// ErrTokenRejected means the endpoint refused the access token: a
	// *[BearerError] with status 401 or error code "invalid_token"
	// matches it. A refreshed access token may succeed.
	ErrTokenRejected = errors.New("access token rejected")
)

// maxDescription bounds the provider text an error message repeats.
const maxDescription = 200

// BearerError is a refusal of the access token by a protected resource
// (RFC 6750 §3): the status code and the parameters of the response's
// Bearer challenge in WWW-Authenticate, or, when there is no such
// challenge, the "error" and "error_description" members of a JSON body.
//
// Code is kept as sent: RFC 6750 §3.1 defines invalid_request,
// invalid_token and insufficient_scope, but providers use others (Ory
// Hydra sends request_unauthorized). Description and URI are text chosen
// by the provider, not to be trusted or shown as HTML.
type BearerError struct {
	// Status is the HTTP status code (401, 403 or 400).
	Status int
	// Code is the error parameter; empty when the provider gave none
	// (RFC 6750 §3.1: a request without a token gets no error code).
	Code string
	// Description is the error_description parameter.
	Description string
	// URI is the error_uri parameter.
	URI string
	// Scope is the scope parameter: the scopes the resource needs.
	Scope string
	// Realm is the realm parameter.
	Realm string
}

// Error implements error. Provider text is quoted and shortened.
func (e *BearerError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "userinfo: access token rejected with status %d", e.Status)
	if e.Code != "" {
		fmt.Fprintf(&b, ": %s", quoteUntrusted(e.Code))
	}
	if e.Description != "" {
		fmt.Fprintf(&b, " (%s)", quoteUntrusted(e.Description))
	}
	if e.Scope != "" {
		fmt.Fprintf(&b, ", scope %s", quoteUntrusted(e.Scope))
	}
	return b.String()
}

// Is reports whether target is [ErrTokenRejected] and e means the token
// itself was refused: status 401 or code invalid_token.
func (e *BearerError) Is(target error) bool {
	return target == ErrTokenRejected && (e.Status == http.StatusUnauthorized || e.Code == "invalid_token")
}

// ServerError is an answer with an unexpected status code that is not a
// refusal of the token: a 5xx, a redirect, a 404 and the like. It never
// carries the response body, which may be an HTML error page or echo
// request data.
type ServerError struct {
	// Status is the HTTP status code.
	Status int
}

// Error implements error.
func (e *ServerError) Error() string {
	return fmt.Sprintf("userinfo: endpoint answered %d %s", e.Status, http.StatusText(e.Status))
}

// quoteUntrusted quotes provider text for an error message: Go-escaped,
// so it cannot forge log lines, and shortened.
func quoteUntrusted(s string) string {
	if len(s) > maxDescription {
		s = s[:maxDescription] + "…"
	}
	return fmt.Sprintf("%q", s)
}
