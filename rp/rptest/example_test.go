package rptest_test

import (
	"context"
	"fmt"
	"log"
	"net/http"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/oidcrp/oidcrp/rp/rptest"
)

// A login against the fake provider with x/oauth2 and go-oidc. In a test,
// write p := rptest.NewProvider(t, …) instead of New: the test then fails
// on errors and the provider closes when the test ends.
func ExampleNewProvider() {
	p, err := rptest.New(
		rptest.WithSubject("alice"),
		rptest.WithClaims(map[string]any{"email": "alice@example.com"}),
		rptest.WithClient(rptest.Client{
			ID:           "my-app",
			Secret:       "my-secret",
			RedirectURIs: []string{"http://127.0.0.1:8080/callback"},
		}),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()

	ctx := oidc.ClientContext(context.Background(), p.Client())
	op, err := oidc.NewProvider(ctx, p.Issuer())
	if err != nil {
		log.Fatal(err)
	}
	cfg := oauth2.Config{
		ClientID:     "my-app",
		ClientSecret: "my-secret",
		Endpoint:     op.Endpoint(),
		RedirectURL:  "http://127.0.0.1:8080/callback",
		Scopes:       []string{oidc.ScopeOpenID, "email"},
	}
	verifier := oauth2.GenerateVerifier()
	authURL := cfg.AuthCodeURL("state-0123456789", oauth2.S256ChallengeOption(verifier), oidc.Nonce("nonce-0123456789"))

	// The browser's part: the provider answers the authorization request
	// at once with a redirect to the callback. (In a test:
	// callback := p.Authorize(t, authURL).)
	browser := &http.Client{
		Transport:     p.Client().Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := browser.Get(authURL)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	callback, err := resp.Location()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("callback:", callback.Path, "state:", callback.Query().Get("state"))

	// The relying party's part.
	tok, err := cfg.Exchange(ctx, callback.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		log.Fatal(err)
	}
	idt, err := op.Verifier(&oidc.Config{ClientID: "my-app"}).Verify(ctx, tok.Extra("id_token").(string))
	if err != nil {
		log.Fatal(err)
	}
	var claims struct{ Email string }
	if err := idt.Claims(&claims); err != nil {
		log.Fatal(err)
	}
	fmt.Println("subject:", idt.Subject, "email:", claims.Email)
	fmt.Println("token requests:", p.Count(rptest.EndpointToken))

	// Output:
	// callback: /callback state: state-0123456789
	// subject: alice email: alice@example.com
	// token requests: 1
}

// SignIDToken signs any claims with the provider's key, so a test can
// hand a relying party exactly the token it needs.
func ExampleProvider_SignIDToken() {
	p, err := rptest.New(rptest.WithClient(rptest.Client{ID: "my-app", Secret: "my-secret", RedirectURIs: []string{"http://127.0.0.1:8080/callback"}}))
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()

	ctx := oidc.ClientContext(context.Background(), p.Client())
	keys := oidc.NewRemoteKeySet(ctx, p.Issuer()+rptest.JWKSPath)
	verifier := oidc.NewVerifier(p.Issuer(), keys, &oidc.Config{ClientID: "my-app"})

	claims := p.IDTokenClaims("nonce-0123456789")
	_, err = verifier.Verify(ctx, p.SignIDToken(claims))
	fmt.Println("valid token accepted:", err == nil)

	claims["aud"] = []string{"someone-else"}
	_, err = verifier.Verify(ctx, p.SignIDToken(claims))
	fmt.Println("wrong audience rejected:", err != nil)

	// Output:
	// valid token accepted: true
	// wrong audience rejected: true
}
