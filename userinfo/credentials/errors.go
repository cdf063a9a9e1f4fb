package credentials

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Sentinel errors. Test for them with [errors.Is]; the returned errors wrap
// them with details.
var (
	// ErrNoEndpoint means neither Config.Endpoint nor the provider's
	// metadata (credentials_endpoint_draft_00) names a credentials
	// endpoint.
	ErrNoEndpoint = errors.New("provider has no credentials endpoint")

	// ErrUnsupportedKey means the holder key is not one a proof can be
	// signed with (ECDSA P-256/P-384/P-521, Ed25519, RSA of at least 2048
	// bits), or the provider's credentials_supported_draft_00 does not
	// list its algorithm.
	ErrUnsupportedKey = errors.New("unsupported holder key")

	// ErrNoNonce means the provider did not hand out a c_nonce when asked
	// for one (a request without proof must be refused with one).
	ErrNoNonce = errors.New("provider gave no c_nonce")

	// ErrInvalidCredential means the issued credential failed
	// verification: its signature (the error also wraps the cause from
	// package discovery), issuer, format, structure or validity period.
	ErrInvalidCredential = errors.New("invalid verifiable credential")

	// ErrExpired means the issued credential's "exp" has passed. It also
	// matches [ErrInvalidCredential].
	ErrExpired = fmt.Errorf("%w: expired", ErrInvalidCredential)

	// ErrHolderMismatch means the issued credential is not bound to the
	// holder key: its "sub" is not the did:jwk of that key. It also
	// matches [ErrInvalidCredential].
	ErrHolderMismatch = fmt.Errorf("%w: not bound to the holder key", ErrInvalidCredential)

	// ErrTokenRejected means the endpoint refused the access token
	// (status 401); a *[Error] with that status matches it. A refreshed
	// access token may succeed.
	ErrTokenRejected = errors.New("access token rejected")
)

// maxDescription bounds the provider text an error message repeats.
const maxDescription = 200

// Error is an error answer of the credentials endpoint with a 4xx status
// and an OAuth-style JSON body ({"error", "error_description"}, RFC 6749
// §5.2; OpenID for Verifiable Credential Issuance §7.3.2). Ory Hydra
// answers most problems with 400 invalid_request, the reason in the
// description ("The nonce is invalid."), and a refused token with 401.
// Code and Description are text chosen by the provider, not to be trusted
// or shown as HTML.
type Error struct {
	// Status is the HTTP status code.
	Status int
	// Code is the "error" member; empty when the body had none.
	Code string
	// Description is the "error_description" member.
	Description string

	// cNonce and cNonceExpiresIn are a fresh nonce an error answer may
	// carry (OpenID4VCI §7.3.2).
	cNonce          string
	cNonceExpiresIn int64
}

// Error implements error. Provider text is quoted and shortened.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "credentials: endpoint answered %d", e.Status)
	if e.Code != "" {
		fmt.Fprintf(&b, ": %s", quoteUntrusted(e.Code))
	}
	if e.Description != "" {
		fmt.Fprintf(&b, " (%s)", quoteUntrusted(e.Description))
	}
	return b.String()
}

// Is reports whether target is [ErrTokenRejected] and the status is 401.
func (e *Error) Is(target error) bool {
	return target == ErrTokenRejected && e.Status == http.StatusUnauthorized
}

// nonceRejected reports whether e says the proof's nonce was not accepted:
// the OpenID4VCI codes, or Ory Hydra's invalid_request about the nonce.
func (e *Error) nonceRejected() bool {
	switch e.Code {
	case "invalid_nonce", "invalid_proof", "invalid_or_missing_proof":
		return true
	case "invalid_request":
		return strings.Contains(strings.ToLower(e.Description), "nonce")
	}
	return false
}

// ServerError is an answer with an unexpected status code that is not an
// error the endpoint explained: a 5xx, a redirect, a 404 and the like. It
// never carries the response body.
type ServerError struct {
	// Status is the HTTP status code.
	Status int
}

// Error implements error.
func (e *ServerError) Error() string {
	return fmt.Sprintf("credentials: endpoint answered %d %s", e.Status, http.StatusText(e.Status))
}

// quoteUntrusted quotes provider text for an error message: Go-escaped,
// so it cannot forge log lines, and shortened.
func quoteUntrusted(s string) string {
	if len(s) > maxDescription {
		s = s[:maxDescription] + "…"
	}
	return fmt.Sprintf("%q", s)
}
