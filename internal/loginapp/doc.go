// Package loginapp is a login, consent and logout provider for Ory Hydra:
// the pages Hydra sends the browser to (urls.login, urls.consent,
// urls.logout, urls.error, urls.post_logout_redirect) while Hydra itself
// speaks OAuth 2.0 and OpenID Connect to the relying party.
//
// It drives each step through Hydra's admin API:
//
//	GET /admin/oauth2/auth/requests/{login,consent,logout}?{kind}_challenge=…
//	PUT /admin/oauth2/auth/requests/{login,consent,logout}/{accept,reject}?{kind}_challenge=…
//
// Two modes exist. In Auto mode (tests) every login is accepted as a
// configured [Identity] without a page, consent grants every requested
// scope and audience, and logouts are accepted; logins and consents are
// remembered (remember: true) so that Hydra keeps a login session, which
// single sign-on and OpenID Connect logout need. In interactive mode (the
// demo) the browser gets real pages: a username/password form listing the
// demo accounts, a consent screen with Allow and Deny, and a logout
// confirmation. Deny and Cancel reject with access_denied
// (RFC 6749 §4.1.2.1).
//
// Claims in the ID token follow the granted scopes (OpenID Connect Core 1.0
// §5.4): email needs the email scope, name and preferred_username need
// profile. Forms are protected against cross-site request forgery by
// [http.CrossOriginProtection] and by a hidden token derived from a
// per-browser cookie and the flow's challenge. Every admin call has the
// request's context, a 10 s timeout and a 1 MiB response limit.
//
// # Example
//
//	h, err := loginapp.New(loginapp.Config{
//		AdminURL: "http://127.0.0.1:4445",
//		Auto: &loginapp.Identity{
//			Subject: "alice",
//			Claims:  map[string]any{"email": "alice@example.com", "name": "Alice Example"},
//		},
//	})
//	if err != nil {
//		return err
//	}
//	// Serve h and point Hydra's urls.login at <base>/login, urls.consent at
//	// <base>/consent, urls.logout at <base>/logout, urls.error at
//	// <base>/error and urls.post_logout_redirect at <base>/logged-out.
//	return http.Serve(ln, h)
package loginapp
