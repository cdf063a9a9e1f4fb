package logout

import "errors"

// Sentinel errors. Test for them with [errors.Is]; the returned errors wrap
// them with details.
//
// Every error of [Verifier.Verify] that is the logout token's fault matches
// [ErrInvalidToken] and, in addition, one of the sentinels that name the
// rule it broke (OpenID Connect Back-Channel Logout 1.0 §2.6). Errors that
// are not the token's fault (the provider's keys could not be loaded, the
// replay cache failed, the context ended) do not match ErrInvalidToken.
// Either way the logout did not happen and the answer to the provider is
// 400 with {"error":"invalid_request"} (§2.8); [WriteBackchannelResponse]
// writes it.
var (
	// ErrInvalidToken matches every rejection of a logout token.
	ErrInvalidToken = errors.New("invalid logout token")

	// ErrMalformed means the token is not a signed JWT in compact
	// serialization (an encrypted token, for instance), its payload is not
	// a JSON object, or a claim has the wrong JSON type.
	ErrMalformed = errors.New("malformed token")

	// ErrSignature means the signature did not verify with a key of the
	// provider's JWKS, the algorithm is not allowed ("none", HS*, or not in
	// the allow-list), or no key of the JWKS matches the token.
	ErrSignature = errors.New("signature not verified")

	// ErrType means the "typ" header names another kind of token than a
	// logout token (Back-Channel Logout 1.0 §4.1).
	ErrType = errors.New("wrong token type")

	// ErrIssuer means "iss" is missing or is not the provider's issuer
	// (also for a front-channel "iss" parameter).
	ErrIssuer = errors.New("wrong issuer")

	// ErrAudience means "aud" is missing, does not contain the client ID,
	// or names an audience the client does not trust.
	ErrAudience = errors.New("wrong audience")

	// ErrIssuedAt means "iat" is missing or lies in the future (beyond the
	// clock skew).
	ErrIssuedAt = errors.New("bad issued-at time")

	// ErrExpired means "exp" has passed, or, for a token without "exp",
	// "iat" is older than the configured maximum age.
	ErrExpired = errors.New("token expired")

	// ErrNoExpiry means the token has no "exp" and the verifier requires one.
	ErrNoExpiry = errors.New("token has no expiry")

	// ErrNoJTI means the token has no "jti".
	ErrNoJTI = errors.New("token has no jti")

	// ErrEvents means "events" is missing, is not a JSON object, lacks the
	// back-channel logout member, or that member is not a JSON object.
	ErrEvents = errors.New("not a back-channel logout event")

	// ErrNoSubject means the token has neither "sub" nor "sid".
	ErrNoSubject = errors.New("token has neither sub nor sid")

	// ErrNonce means the token has a "nonce" claim, which logout tokens
	// MUST NOT have (§2.4): it is an ID token, not a logout token.
	ErrNonce = errors.New("token has a nonce")

	// ErrReplay means a token with the same issuer and "jti" was accepted
	// before, within its acceptance window.
	ErrReplay = errors.New("token replayed")

	// ErrInvalidRequest means a logout request is malformed: wrong content
	// type, body too large, a parameter missing or repeated, or a
	// front-channel parameter that is not acceptable.
	ErrInvalidRequest = errors.New("invalid logout request")

	// ErrMethodNotAllowed means a logout request used the wrong HTTP
	// method; the answer is 405 with an Allow header.
	ErrMethodNotAllowed = errors.New("method not allowed")
)

// MethodError reports a logout request made with the wrong HTTP method. It
// matches [ErrMethodNotAllowed].
type MethodError struct {
	// Method is the request's method.
	Method string
	// Allow is the method the endpoint accepts, for the Allow header.
	Allow string
}

// Error implements error.
func (e *MethodError) Error() string {
	return "logout: " + ErrMethodNotAllowed.Error() + ": " + e.Method + " (allowed: " + e.Allow + ")"
}

// Is reports whether target is [ErrMethodNotAllowed].
func (e *MethodError) Is(target error) bool { return target == ErrMethodNotAllowed }
