package rptest

import (
	"maps"
	"net/http"
	"strings"
)

// serveUserinfo is the userinfo endpoint (OpenID Connect Core 1.0 §5.3).
// It takes the access token only from the Authorization header (RFC 6750
// §2.1) and answers plain JSON: sub and the WithClaims claims.
func (p *Provider) serveUserinfo(w http.ResponseWriter, r *http.Request) {
	p.count(EndpointUserinfo)
	m := p.Misbehaviour()
	if !p.delayAndStatus(w, r, EndpointUserinfo, 0, m.UserinfoStatus) {
		return
	}
	scheme, token, found := strings.Cut(r.Header.Get("Authorization"), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") || token == "" {
		// RFC 6750 §3.1: no error code when the request had no token.
		w.Header().Set("WWW-Authenticate", `Bearer realm="rptest"`)
		p.writeJSON(w, EndpointUserinfo, http.StatusUnauthorized, oauthError{Code: "invalid_request", Description: "no bearer token in the Authorization header"})
		return
	}
	p.mu.Lock()
	at, ok := p.access[token]
	active := ok && at.active(p.cfg.now())
	var sub string
	if active {
		sub = at.g.sub
	}
	p.mu.Unlock()
	if !active {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="the access token is unknown, expired or revoked"`)
		p.writeJSON(w, EndpointUserinfo, http.StatusUnauthorized, oauthError{Code: "invalid_token", Description: "the access token is unknown, expired or revoked"})
		return
	}
	claims := make(map[string]any, len(p.cfg.claims)+1)
	maps.Copy(claims, p.cfg.claims)
	claims["sub"] = sub
	if m.UserinfoWrongSub {
		claims["sub"] = "rptest-other-" + sub
	}
	w.Header().Set("Cache-Control", "no-store")
	p.writeJSON(w, EndpointUserinfo, http.StatusOK, claims)
}

// serveRevoke is the revocation endpoint (RFC 7009 §2). Revoking a
// refresh token revokes every token of its grant; revoking an access token
// revokes that token. Unknown tokens and tokens of other clients are
// answered with 200 and left alone (RFC 7009 §2.2).
func (p *Provider) serveRevoke(w http.ResponseWriter, r *http.Request) {
	p.count(EndpointRevoke)
	form, ferr := readForm(w, r)
	if ferr != nil {
		p.writeError(w, EndpointRevoke, ferr)
		return
	}
	c, oerr := p.authenticateClient(r, form)
	if oerr != nil {
		p.writeError(w, EndpointRevoke, oerr)
		return
	}
	token := form.Get("token")
	if token == "" {
		p.writeError(w, EndpointRevoke, errInvalidRequest("token is missing"))
		return
	}
	p.mu.Lock()
	if rt, ok := p.refresh[token]; ok && rt.g.clientID == c.ID {
		rt.g.revoked = true
	}
	if at, ok := p.access[token]; ok && at.g.clientID == c.ID {
		at.revoked = true
	}
	p.mu.Unlock()
	if p.Misbehaviour().OversizeBody == EndpointRevoke {
		p.writeJSON(w, EndpointRevoke, http.StatusOK, map[string]any{})
		return
	}
	w.WriteHeader(http.StatusOK)
}
