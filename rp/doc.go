// Package rp makes a net/http application an OpenID Connect relying party.
//
// [New] builds an [RP] from a [Config]: a background discovery cache of the
// provider's metadata and keys, a session store (by default stateless,
// sealed cookies) and the handlers of the protocol:
//
//   - [RP.LoginHandler] starts the authorization code flow with state,
//     nonce and PKCE (OpenID Connect Core §3.1, RFC 7636); each login flow
//     has its own sealed cookie, so several tabs can log in at once.
//   - [RP.CallbackHandler] checks the response, exchanges the code,
//     verifies the ID token (§3.1.3.7) and starts a fresh session.
//   - [RP.RequireAuth] guards handlers; [SessionFrom] gives them the
//     session. Access tokens are refreshed shortly before they expire, one
//     refresh per session at a time, and a rotated refresh token is never
//     lost. [RP.RequireAuthAPI] guards API routes: 401 JSON, never a
//     login redirect.
//   - [RP.LogoutHandler] ends the session (POST with a CSRF token).
//
// [LoginOption] values add request parameters. Most only ask ([Prompt],
// [ACRValues]); [MaxAge] and [RequireACR] are also checked in the ID token,
// so a login that does not meet them fails:
//
//	// The payment pages need a second factor (step-up).
//	mux.Handle("/login/mfa", auth.LoginHandler(rp.RequireACR("urn:example:mfa")))
//
// Nothing on the request path touches the network in steady state: the
// metadata and keys come from the cache and the session from its cookie.
//
// Every check the specifications make mandatory is on by default; the
// switches that turn one off are named Insecure….
//
// # Example
//
//	keys := [][]byte{[]byte(os.Getenv("SESSION_KEY"))} // 32+ random bytes
//	auth, err := rp.New(ctx, rp.Config{
//		Issuer:       "https://id.example.com",
//		ClientID:     "my-app",
//		ClientSecret: os.Getenv("CLIENT_SECRET"),
//		RedirectURL:  "https://app.example.com/callback",
//		SessionKeys:  keys,
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer auth.Close()
//	mux := http.NewServeMux()
//	mux.Handle("/login", auth.LoginHandler())
//	mux.Handle("/callback", auth.CallbackHandler())
//	mux.Handle("/logout", auth.LogoutHandler())
//	mux.Handle("/private", auth.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
//		s, _ := rp.SessionFrom(r.Context())
//		fmt.Fprintf(w, "hello %s", s.Subject())
//	})))
//	log.Fatal(http.ListenAndServe(":8080", mux))
package rp
