// Package rptest runs an in-process OpenID provider with real keys for
// tests, in the spirit of net/http/httptest: relying parties — this
// module's and their users' — log in against it without a browser or a
// real provider.
//
// The provider speaks the Ory Hydra dialect (the same paths, refresh-token
// rotation with reuse detection, code replay revoking the tokens,
// lower-case "bearer", no azp) and is strict where a real provider is, so
// a test proves the relying party sends the right thing:
//
//   - Discovery (OpenID Connect Discovery 1.0 §4) at
//     /.well-known/openid-configuration with Cache-Control: max-age=300,
//     and the JWKS (RFC 7517 §5) at /.well-known/jwks.json: one RSA-2048
//     (RS256) and one EC P-256 (ES256) key.
//   - Authorization at /oauth2/auth (OpenID Connect Core 1.0 §3.1.2):
//     known client_id, exactly registered redirect_uri (else 400 without a
//     redirect, RFC 6749 §4.1.2.1), response_type=code, scope with openid,
//     state and nonce of at least 8 characters, PKCE with S256 (RFC 7636),
//     no repeated parameters. The user agent is always signed in and
//     consents, so the answer is 303 to redirect_uri?code&scope&state
//     (&iss with [WithISSParameter], RFC 9207). prompt, max_age and
//     acr_values are honoured loosely; prompt=none after logout gives
//     login_required.
//   - Token at /oauth2/token (RFC 6749 §3.2): client authentication by the
//     client's registered method (HTTP Basic with form-urlencoded
//     credentials per RFC 6749 §2.3.1, client_secret_post, or none),
//     single-use codes bound to redirect_uri and the PKCE verifier, and
//     refresh tokens (only when offline_access or offline was granted)
//     that rotate on every use; replaying a used refresh token revokes the
//     whole chain.
//   - Userinfo at /userinfo (OpenID Connect Core 1.0 §5.3; Bearer header
//     only, RFC 6750), revocation at /oauth2/revoke (RFC 7009), and
//     RP-initiated logout at /oauth2/sessions/logout, which also sends
//     back-channel logout tokens and shows front-channel iframes.
//
// [Misbehaviour] switches make it break the protocol on purpose (wrong
// issuer, expired or unsigned ID tokens, bad at_hash, slow or failing
// endpoints, oversized bodies, unusable JWKS keys, …), so a test proves the
// relying party rejects bad answers. [Provider.Count] and the Last…Request
// methods show what the provider received; [Provider.SignIDToken] and
// [Provider.IDTokenClaims] make tokens by hand; [Provider.RotateKeys],
// [Provider.AddKey] and [Provider.RemoveKey] change the keys.
//
// # Example
//
//	func TestLogin(t *testing.T) {
//		p := rptest.NewProvider(t, rptest.WithClient(rptest.Client{
//			ID: "app", Secret: "secret",
//			RedirectURIs: []string{"http://127.0.0.1:8080/callback"},
//		}))
//		// Point the relying party at p.Issuer(), let it build the
//		// authorization URL, then play the browser:
//		callback := p.Authorize(t, authURL) // …/callback?code=…&state=…
//		// Deliver callback to the relying party and assert on the result
//		// and on what the provider received:
//		form, header := p.LastTokenRequest()
//		_ = form.Get("code_verifier")
//		_ = header.Get("Authorization")
//		// Then make it misbehave:
//		p.SetMisbehaviour(rptest.Misbehaviour{WrongNonce: true})
//	}
package rptest
