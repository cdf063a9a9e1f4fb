package rp

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"golang.org/x/oauth2"
)

// Sentinel errors that callers and error handlers branch on with errors.Is.
var (
	// ErrNotAuthenticated: the request carries no live session.
	ErrNotAuthenticated = errors.New("rp: not authenticated")
	// ErrStateMismatch: the callback's state matches no live login flow of
	// this browser (a replayed, bookmarked, forged or expired callback).
	ErrStateMismatch = errors.New("rp: state does not match a login in progress")
	// ErrLoginExpired: the login flow is older than its lifetime.
	ErrLoginExpired = errors.New("rp: login took too long")
	// ErrNonceMismatch: the ID token's nonce is not the one this flow sent.
	ErrNonceMismatch = errors.New("rp: nonce mismatch")
	// ErrIssuerMismatch: the authorization response's iss parameter (RFC
	// 9207) is missing where required or names another issuer (mix-up).
	ErrIssuerMismatch = errors.New("rp: issuer mismatch in authorization response")
	// ErrInvalidIDToken: the ID token failed a check of OpenID Connect Core
	// §3.1.3.7; the wrapped error says which.
	ErrInvalidIDToken = errors.New("rp: invalid ID token")
	// ErrACRNotSatisfied: the login required an authentication context
	// class (RequireACR) and the ID token's acr claim is none of them.
	ErrACRNotSatisfied = errors.New("rp: authentication context class not satisfied")
	// ErrCodeExchange: the token endpoint refused the authorization code.
	ErrCodeExchange = errors.New("rp: authorization code refused")
	// ErrRefreshRejected: the provider refused the refresh token
	// (invalid_grant); the session has been ended.
	ErrRefreshRejected = errors.New("rp: refresh token rejected")
	// ErrIdentityChanged: a refreshed ID token names another issuer,
	// subject, audience or authorized party (OpenID Connect Core §12.2).
	ErrIdentityChanged = errors.New("rp: refreshed ID token changed identity")
	// ErrProviderUnavailable: the provider could not be reached or answered
	// with a server error; the session is kept.
	ErrProviderUnavailable = errors.New("rp: provider unavailable")
	// ErrSessionStore: the session store failed (a system failure, not a
	// missing session).
	ErrSessionStore = errors.New("rp: session store failure")
	// ErrCSRF: a state-changing request lacks a valid CSRF token or comes
	// from another origin.
	ErrCSRF = errors.New("rp: CSRF check failed")
	// ErrNoRefreshToken: the access token has expired and the session has no
	// refresh token to renew it.
	ErrNoRefreshToken = errors.New("rp: access token expired and no refresh token")
)

// AuthError is an error response from the authorization endpoint (RFC 6749
// §4.1.2.1, OpenID Connect Core §3.1.2.6). Description and URI come from the
// provider through the browser: they are untrusted text.
type AuthError struct {
	// Code is the error parameter, such as "access_denied".
	Code string
	// Description is error_description: the provider's text, untrusted.
	Description string
	// URI is error_uri: a page about the error, untrusted.
	URI string
}

// Error describes the refusal, naming its code.
func (e *AuthError) Error() string {
	if e.Description != "" {
		return fmt.Sprintf("rp: authorization failed: %s: %s", e.Code, e.Description)
	}
	return "rp: authorization failed: " + e.Code
}

// HTTPStatus returns the HTTP status an error handler should answer with
// for err.
func HTTPStatus(err error) int {
	var ae *AuthError
	switch {
	case err == nil:
		return http.StatusOK
	case errors.As(err, &ae):
		switch ae.Code {
		case "access_denied":
			return http.StatusForbidden
		case "temporarily_unavailable":
			return http.StatusServiceUnavailable
		case "server_error":
			return http.StatusBadGateway
		}
		return http.StatusBadRequest
	case errors.Is(err, ErrNotAuthenticated), errors.Is(err, ErrRefreshRejected), errors.Is(err, ErrIdentityChanged):
		return http.StatusUnauthorized
	case errors.Is(err, ErrCSRF), errors.Is(err, ErrACRNotSatisfied):
		return http.StatusForbidden
	case errors.Is(err, ErrProviderUnavailable), errors.Is(err, ErrSessionStore):
		return http.StatusServiceUnavailable
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	case errors.Is(err, ErrStateMismatch), errors.Is(err, ErrLoginExpired), errors.Is(err, ErrNonceMismatch),
		errors.Is(err, ErrIssuerMismatch), errors.Is(err, ErrInvalidIDToken), errors.Is(err, ErrCodeExchange),
		errors.Is(err, errBadRequest):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// errBadRequest marks malformed browser input.
var errBadRequest = errors.New("rp: bad request")

// classifyTokenError sorts a token-endpoint failure into the provider
// refusing the grant (refused) or the provider being unavailable.
func classifyTokenError(err error, refused error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		if status >= 500 || re.ErrorCode == "temporarily_unavailable" || re.ErrorCode == "server_error" {
			return fmt.Errorf("%w: token endpoint answered %d %s", ErrProviderUnavailable, status, re.ErrorCode)
		}
		if re.ErrorCode != "" {
			return fmt.Errorf("%w: %s", refused, re.ErrorCode)
		}
		return fmt.Errorf("%w: token endpoint answered %d", refused, status)
	}
	return fmt.Errorf("%w: %w", ErrProviderUnavailable, err)
}
