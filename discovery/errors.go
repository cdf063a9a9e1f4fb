package discovery

import (
	"errors"
	"strings"
)

// Sentinel errors. Test for them with [errors.Is]; the returned errors wrap
// them with details.
var (
	// ErrIssuerMismatch means the provider's "issuer" differs from the
	// configured issuer (OpenID Connect Discovery 1.0 §4.3). The comparison
	// is exact: a trailing slash is a difference.
	ErrIssuerMismatch = errors.New("issuer mismatch")

	// ErrInvalidMetadata means provider metadata failed [Metadata.Validate].
	ErrInvalidMetadata = errors.New("invalid provider metadata")

	// ErrNotReady means provider metadata has never been loaded: the first
	// fetch failed or the caller's context ended before it finished. The
	// error also wraps the cause (a fetch error or the context's error).
	ErrNotReady = errors.New("provider metadata not loaded")

	// ErrClosed is returned by network operations after [Provider.Close].
	ErrClosed = errors.New("provider closed")

	// ErrUnknownKey means no key of the JWKS fits the token: its "kid" is
	// not in the set (also after a refetch, or when refetching was rate
	// limited), or no key without a "kid" matches the token's algorithm.
	ErrUnknownKey = errors.New("no matching key in JWKS")

	// ErrAlgNotAllowed means the token's "alg" header is not in the
	// allow-list, is "none", is symmetric (HS*), or is not compatible with
	// the key selected by "kid".
	ErrAlgNotAllowed = errors.New("signature algorithm not allowed")

	// ErrInvalidSignature means a key was found but the signature does not
	// verify with it.
	ErrInvalidSignature = errors.New("invalid signature")

	// ErrMalformedToken means the token is not a JWS in compact
	// serialization with one signature, or carries a "crit" header
	// (RFC 7515 §4.1.11) the key set does not understand.
	ErrMalformedToken = errors.New("malformed JWS")

	// ErrNoUsableKeys means a fetched JWKS holds no key usable for
	// signature verification; the previous set, if any, stays in use.
	ErrNoUsableKeys = errors.New("JWKS holds no usable signing key")
)

// ValidationError lists everything [Metadata.Validate] found wrong. It
// matches [ErrInvalidMetadata] with [errors.Is], and each problem is
// reachable through Unwrap (an issuer problem wraps [ErrIssuerMismatch]).
type ValidationError struct {
	// Problems holds one error per failed rule.
	Problems []error
}

// Error implements error.
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("discovery: ")
	b.WriteString(ErrInvalidMetadata.Error())
	for i, p := range e.Problems {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(p.Error())
	}
	return b.String()
}

// Unwrap returns the individual problems.
func (e *ValidationError) Unwrap() []error { return e.Problems }

// Is reports whether target is [ErrInvalidMetadata].
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidMetadata }
