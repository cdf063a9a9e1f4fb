package rptest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// WrongValue is the issuer, audience, authorized party and nonce the
// provider puts into tokens and responses when a Misbehaviour asks for a
// wrong one.
const WrongValue = "https://attacker.example"

// Misbehaviour makes the provider break the protocol on purpose, so that
// tests can prove a relying party rejects bad answers. The zero value is a
// well-behaved provider. The ID-token switches apply to ID tokens issued by
// the token endpoint (authorization code and refresh), not to SignIDToken.
type Misbehaviour struct {
	// WrongIssuer sets the ID token's iss to WrongValue.
	WrongIssuer bool
	// WrongAudience sets the ID token's aud to [WrongValue].
	WrongAudience bool
	// WrongNonce sets the ID token's nonce to WrongValue.
	WrongNonce bool
	// ExpiredIDToken issues ID tokens whose exp passed a minute ago.
	ExpiredIDToken bool
	// FutureIAT issues ID tokens issued (iat) an hour from now.
	FutureIAT bool
	// MissingSub leaves sub out of the ID token.
	MissingSub bool
	// BadSignature corrupts the ID token's signature.
	BadSignature bool
	// UnknownKID signs ID tokens with the current key but names a kid
	// that is not in the JWKS.
	UnknownKID bool
	// AlgNone issues unsigned ID tokens (alg "none", empty signature).
	AlgNone bool
	// MissingAtHash leaves at_hash out of the ID token.
	MissingAtHash bool
	// WrongAtHash puts the hash of another access token into at_hash.
	WrongAtHash bool
	// ExtraAudienceNoAzp adds WrongValue to the ID token's aud without an
	// azp claim (OpenID Connect Core 1.0 §3.1.3.7 steps 3 to 5).
	ExtraAudienceNoAzp bool
	// WrongAzp adds azp = WrongValue to the ID token.
	WrongAzp bool
	// ChangeSubjectOnRefresh gives ID tokens from a refresh another sub
	// than the original one (OpenID Connect Core 1.0 §12.2).
	ChangeSubjectOnRefresh bool
	// WrongISSParam sends iss = WrongValue in every authorization
	// response (RFC 9207), whether or not WithISSParameter is set.
	WrongISSParam bool
	// UserinfoWrongSub answers userinfo with another sub than the ID
	// token's (OpenID Connect Core 1.0 §5.3.2).
	UserinfoWrongSub bool
	// LogoutTokenLikeHydra sends back-channel logout tokens the way Ory
	// Hydra v2.3.0 does: typ "JWT", no exp and no sub.
	LogoutTokenLikeHydra bool

	// TokenDelay, DiscoveryDelay and JWKSDelay delay those answers. The
	// wait ends early when the client gives up or the provider closes.
	TokenDelay, DiscoveryDelay, JWKSDelay time.Duration

	// TokenStatus, DiscoveryStatus, JWKSStatus and UserinfoStatus, when
	// not zero, replace those answers by this status with an RFC 6749
	// §5.2 error body (server_error for 5xx).
	TokenStatus, DiscoveryStatus, JWKSStatus, UserinfoStatus int

	// OversizeBody names the endpoint ("discovery", "jwks", "token",
	// "userinfo", "revoke" or "end_session") whose answer is padded to
	// more than 1 MiB. The padding is a JSON member x_rptest_padding
	// (text for end_session); the answer is sent without Content-Length.
	OversizeBody string

	// RefreshError, when not empty, answers every refresh request that
	// passes client authentication with this error code (for example
	// "invalid_grant") and status 400, leaving the refresh token as it
	// was.
	RefreshError string

	// GarbageJWKSKey adds two keys no library can use next to the good
	// ones in the JWKS: one of an unknown kty and an RSA key whose modulus
	// is not base64url. RFC 7517 §5 says to ignore such keys.
	GarbageJWKSKey bool
}

// SetMisbehaviour replaces the provider's misbehaviour; the zero value
// makes it behave again. It takes effect for the next request.
func (p *Provider) SetMisbehaviour(m Misbehaviour) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.misbehaviour = m
}

// Misbehaviour returns the provider's current misbehaviour.
func (p *Provider) Misbehaviour() Misbehaviour {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.misbehaviour
}

// wait sleeps for d unless the request ends or the provider closes first;
// it reports whether the whole delay passed.
func (p *Provider) wait(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	case <-p.stop:
		return false
	}
}

// delayAndStatus applies a delay and a forced status. It reports whether
// the handler should go on; when not, the answer is written.
func (p *Provider) delayAndStatus(w http.ResponseWriter, r *http.Request, endpoint string, delay time.Duration, status int) bool {
	if !p.wait(r, delay) {
		http.Error(w, "rptest: provider closed or request cancelled", http.StatusServiceUnavailable)
		return false
	}
	if status == 0 {
		return true
	}
	code := "server_error"
	switch {
	case status == http.StatusBadRequest:
		code = "invalid_request"
	case status == http.StatusUnauthorized:
		code = "invalid_client"
		if endpoint == EndpointUserinfo {
			code = "invalid_token"
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		}
	case status == http.StatusServiceUnavailable:
		code = "temporarily_unavailable"
	case status < 500:
		code = "invalid_request"
	}
	p.writeJSON(w, endpoint, status, oauthError{Code: code, Description: "rptest: forced status"})
	return false
}

// writeJSON writes v as JSON, padded beyond 1 MiB when the misbehaviour
// asks for it for endpoint.
func (p *Provider) writeJSON(w http.ResponseWriter, endpoint string, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "rptest: encode JSON: "+err.Error(), http.StatusInternalServerError)
		return
	}
	if p.Misbehaviour().OversizeBody == endpoint && len(body) > 0 && body[0] == '{' {
		var b bytes.Buffer
		b.WriteString(`{"x_rptest_padding":"`)
		b.WriteString(strings.Repeat("a", oversize))
		b.WriteString(`"`)
		if len(body) > 2 {
			b.WriteByte(',')
		}
		b.Write(body[1:])
		body = b.Bytes()
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	w.Write(body)
}

// oversize is the padding added by Misbehaviour.OversizeBody: more than
// the 1 MiB a careful client reads.
const oversize = 1<<20 + 4096

// oauthError is an error response body (RFC 6749 §5.2).
type oauthError struct {
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
	status      int
}

func (e *oauthError) Error() string { return e.Code + ": " + e.Description }

func errInvalidRequest(desc string) *oauthError {
	return &oauthError{Code: "invalid_request", Description: desc, status: http.StatusBadRequest}
}

func errInvalidGrant(desc string) *oauthError {
	return &oauthError{Code: "invalid_grant", Description: desc, status: http.StatusBadRequest}
}

func errInvalidClient(desc string) *oauthError {
	return &oauthError{Code: "invalid_client", Description: desc, status: http.StatusUnauthorized}
}

// writeError writes e (RFC 6749 §5.2); invalid_client gets 401 with a
// WWW-Authenticate challenge.
func (p *Provider) writeError(w http.ResponseWriter, endpoint string, e *oauthError) {
	status := e.status
	if status == 0 {
		status = http.StatusBadRequest
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="rptest"`)
	}
	w.Header().Set("Cache-Control", "no-store")
	p.writeJSON(w, endpoint, status, e)
}
