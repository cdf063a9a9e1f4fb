// Package userinfo fetches the claims of a logged-in user from an OpenID
// provider's UserInfo endpoint (OpenID Connect Core 1.0 §5.3).
//
// A [Client] is made once per provider and client with [New] and is safe
// for concurrent use. [Client.Fetch] sends the access token in the
// Authorization header only (RFC 6750 §2.1) and accepts both response
// forms of §5.3.2:
//
//   - application/json: a JSON object of claims;
//   - application/jwt: a JWS signed by the provider, verified with the
//     keys of package discovery against an algorithm allow-list ("none"
//     and HMAC never pass), with "iss" and "aud" checked when present.
//     Encrypted (JWE) responses are refused with [ErrEncryptedResponse].
//
// When the client registered userinfo_signed_response_alg, set
// [Config.SignedResponseAlg]: a plain JSON answer then fails with
// [ErrUnsignedResponse], so a man in the middle or a misconfigured
// provider cannot downgrade the response.
//
// The response's "sub" must equal the subject of the ID token the caller
// got in the same login; otherwise the claims belong to someone else and
// Fetch fails with [ErrSubjectMismatch] (§5.3.2 requires this check).
//
// A refused token gives a *[BearerError] carrying the parameters of the
// provider's WWW-Authenticate challenge (RFC 6750 §3), parsed by
// [ParseWWWAuthenticate], which is exported for other packages that meet
// such challenges. Ory Hydra answers a bad token with status 401 and
// error="request_unauthorized"; the code is kept as sent, and
// errors.Is(err, [ErrTokenRejected]) tells the caller to refresh the
// token. Any other unexpected status gives a *[ServerError] that never
// repeats the response body. Responses are read up to 1 MiB.
//
// [Info] holds the standard claims of §5.1, typed, tolerating the
// variants real providers send (email_verified as "true", updated_at as a
// float), and every claim in [Info.Raw] for [Info.Claims].
//
// Package userinfo/credentials asks Ory's credentials endpoint for a
// verifiable credential about the same user.
//
// # Example
//
//	uic, err := userinfo.New(userinfo.Config{Provider: provider, ClientID: clientID})
//	if err != nil {
//		return err
//	}
//	info, err := uic.Fetch(ctx, token.AccessToken, idToken.Subject)
//	switch {
//	case errors.Is(err, userinfo.ErrTokenRejected):
//		// refresh the access token and try again
//	case err != nil:
//		return err
//	}
//	fmt.Println(info.Email, info.EmailVerified)
//	var extra struct {
//		Groups []string `json:"groups"`
//	}
//	err = info.Claims(&extra)
package userinfo
