// Package hydra runs a real Ory Hydra v2.3.0 as the reference OpenID
// provider for tests and the demo.
//
// [Binary] finds or builds the hydra binary (scripts/hydra.sh, cached in
// .cache/bin; $OIDCRP_HYDRA_BIN overrides). [Start] runs
// `hydra serve all --dev --sqa-opt-out` with an in-memory database on two
// free loopback ports, with dynamic client registration (RFC 7591) enabled
// and advertised in discovery, waits for /health/ready on both ports and
// warms up the key sets. [Server] has helpers for the admin API: clients,
// login sessions (which trigger OpenID Connect Back-Channel Logout 1.0),
// token introspection (RFC 7662).
//
// Hydra delegates the user interface to a login and consent provider; see
// package loginapp. [StartWithLoginApp] wires one in Auto mode for tests.
//
// Tests that need Hydra run only when OIDCRP_HYDRA=1 or CI=true
// ([SkipIfUnavailable]); under CI a missing binary fails the test instead
// of skipping it.
//
// # Example
//
//	func TestLogin(t *testing.T) {
//		srv := hydra.StartWithLoginApp(t, &loginapp.Identity{
//			Subject: "alice",
//			Claims:  map[string]any{"email": "alice@example.com"},
//		}, hydra.Options{AccessTokenTTL: time.Minute})
//		c, err := srv.CreateClient(t.Context(), map[string]any{
//			"redirect_uris": []string{"http://127.0.0.1:8080/callback"},
//			"grant_types":   []string{"authorization_code", "refresh_token"},
//			"scope":         "openid offline_access email profile",
//		})
//		if err != nil {
//			t.Fatal(err)
//		}
//		// Discover srv.Issuer and log in as c["client_id"] …
//	}
package hydra
