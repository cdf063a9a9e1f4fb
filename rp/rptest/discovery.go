package rptest

import (
	"maps"
	"net/http"
	"slices"
)

// Metadata returns the discovery document (OpenID Connect Discovery 1.0
// §3) as served, with the WithMetadata edits applied.
func (p *Provider) Metadata() map[string]any {
	iss := p.issuer
	authMethods := []string{AuthClientSecretBasic, AuthClientSecretPost, AuthNone}
	claims := []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "sid", "acr", "amr", "at_hash", "jti", "rat"}
	for _, k := range slices.Sorted(maps.Keys(p.cfg.claims)) {
		if !slices.Contains(claims, k) {
			claims = append(claims, k)
		}
	}
	m := map[string]any{
		"issuer":                                     iss,
		"authorization_endpoint":                     iss + AuthorizePath,
		"token_endpoint":                             iss + TokenPath,
		"userinfo_endpoint":                          iss + UserinfoPath,
		"jwks_uri":                                   iss + JWKSPath,
		"revocation_endpoint":                        iss + RevokePath,
		"end_session_endpoint":                       iss + EndSessionPath,
		"response_types_supported":                   []string{"code"},
		"response_modes_supported":                   []string{"query"},
		"subject_types_supported":                    []string{"public"},
		"id_token_signing_alg_values_supported":      []string{"RS256", "ES256"},
		"userinfo_signing_alg_values_supported":      []string{"none"},
		"token_endpoint_auth_methods_supported":      authMethods,
		"revocation_endpoint_auth_methods_supported": authMethods,
		"code_challenge_methods_supported":           []string{"S256"},
		"grant_types_supported":                      []string{"authorization_code", "refresh_token"},
		"scopes_supported":                           slices.Clone(DefaultScopes),
		"claims_supported":                           claims,
		"claims_parameter_supported":                 false,
		"request_parameter_supported":                false,
		"request_uri_parameter_supported":            false,
		"backchannel_logout_supported":               true,
		"backchannel_logout_session_supported":       true,
		"frontchannel_logout_supported":              true,
		"frontchannel_logout_session_supported":      true,
	}
	if p.cfg.issParam {
		m["authorization_response_iss_parameter_supported"] = true
	}
	for _, edit := range p.cfg.metadata {
		edit(m)
	}
	return m
}

// serveDiscovery serves the discovery document.
func (p *Provider) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	p.count(EndpointDiscovery)
	m := p.Misbehaviour()
	if !p.delayAndStatus(w, r, EndpointDiscovery, m.DiscoveryDelay, m.DiscoveryStatus) {
		return
	}
	w.Header().Set("Cache-Control", "max-age=300")
	p.writeJSON(w, EndpointDiscovery, http.StatusOK, p.Metadata())
}
