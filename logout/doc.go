// Package logout implements the protocol side of OpenID Connect logout:
// it builds RP-initiated logout URLs, verifies back-channel logout tokens
// and parses front-channel logout requests. It knows nothing of sessions:
// it says who was logged out (an issuer with a provider session ID, a
// subject, or both), and the caller decides which of its sessions end.
//
// RP-Initiated Logout 1.0: [EndSessionURL] adds id_token_hint,
// post_logout_redirect_uri, state, client_id, logout_hint and ui_locales to
// the provider's end_session_endpoint (§2, §3), keeping the endpoint's own
// query. The post-logout redirect URI must come from configuration, never
// from the request.
//
// Back-Channel Logout 1.0: a [Verifier] reads the provider's POST
// ([Verifier.ParseRequest], §2.5) and verifies the logout token
// ([Verifier.Verify], §2.6) with the keys and the algorithm list of a
// [discovery.Provider]: signature (asymmetric algorithms only, keys from
// the JWKS only), typ, iss, aud, iat, exp, sub or sid, events, no nonce,
// and a jti not seen before, remembered in a [ReplayCache]. Every
// rejection matches [ErrInvalidToken] and the sentinel of the broken rule;
// [WriteBackchannelResponse] answers the provider (§2.8).
//
// Two interoperability defaults, each with a strict switch: a token
// without exp (Ory Hydra sends none) is accepted while its iat is at most
// [VerifierConfig.MaxAge] old ([VerifierConfig.RequireExp] rejects it),
// and a "typ" of "JWT" or none is accepted besides "logout+jwt" (Hydra
// sends "JWT"; [VerifierConfig.RequireExplicitType] rejects it). Other
// "typ" values, such as "at+jwt", are always rejected, and ID tokens are
// rejected by their nonce and their lack of a logout event (§4.1).
//
// Front-Channel Logout 1.0: [ParseFrontChannel] checks the iss and sid
// parameters of the provider's iframe request (§2, §3), and
// [FrontChannelHeaders] sets the no-cache and frame-ancestors headers of
// the answer (§4).
//
// # Example
//
// A back-channel logout endpoint:
//
//	v, err := logout.NewVerifier(logout.VerifierConfig{
//		Provider:    provider, // *discovery.Provider
//		ClientID:    clientID,
//		ReplayCache: replay, // shared between replicas, or nil for in-memory
//	})
//	if err != nil {
//		return err
//	}
//	mux.HandleFunc("/backchannel-logout", func(w http.ResponseWriter, r *http.Request) {
//		claims, err := v.VerifyRequest(w, r)
//		if err == nil {
//			err = endSessions(r.Context(), claims.Issuer, claims.SID, claims.Subject)
//		}
//		if err != nil {
//			log.Printf("back-channel logout: %v", err)
//		}
//		logout.WriteBackchannelResponse(w, err)
//	})
//
// RP-initiated logout:
//
//	md, err := provider.Metadata(ctx)
//	if err != nil {
//		return err
//	}
//	target, err := logout.EndSessionURL(md.EndSessionEndpoint, logout.EndSessionRequest{
//		IDTokenHint:           rawIDToken,
//		PostLogoutRedirectURI: cfg.PostLogoutRedirectURI, // from configuration only
//		State:                 state,
//	})
//	if err != nil {
//		return err
//	}
//	http.Redirect(w, r, target, http.StatusSeeOther)
package logout
