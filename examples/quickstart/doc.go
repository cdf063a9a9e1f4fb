// Command quickstart is the one-command oidcrp demo. It runs, in one
// process tree:
//
//   - Ory Hydra v2.3.0, a real OpenID provider, on two free loopback ports
//     (issuer http://127.0.0.1:PORT), with an in-memory database. The first
//     run builds Hydra from source into .cache/bin, which takes about
//     90 seconds and needs a C compiler.
//   - The provider's login, consent and logout pages (internal/loginapp),
//     with two demo accounts.
//   - The reference application (examples/webapp), registered with Hydra as
//     an OAuth 2.0 client and served on http://localhost:8080/.
//
// The application runs on localhost and the provider on 127.0.0.1: two
// different sites, as in production, so the browser's cookie rules
// (SameSite=Lax on the provider's redirect back to /callback) apply for
// real.
//
// Open the printed URL, click "Log in" and sign in as alice (password
// alice-password) or bob (bob-password). Ctrl-C stops everything.
//
// Flags:
//
//	-addr host:port   where the reference application listens
//	                  (default localhost:8080; port 0 picks a free port)
//
// # Example
//
//	make demo
//	go run ./examples/quickstart -addr localhost:9090
package main
