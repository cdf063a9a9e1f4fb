// Package credentials asks an Ory provider (Ory Hydra, Ory Network) for a
// verifiable credential about the logged-in user: Ory's POST /credentials,
// which implements OpenID for Verifiable Credential Issuance draft 00
// ("OpenID Connect UserInfo Verifiable Credentials").
//
// The application holds a key pair (the holder key, see
// [LoadOrCreateHolderKey]). [Client.Request] proves possession of it with
// a JWT signed over a nonce the provider handed out (c_nonce), and the
// provider answers with a credential: a JWT it signs with its ID-token
// key, whose subject is the holder key as a did:jwk and whose
// credentialSubject carries the user's claims. Anyone who trusts the
// provider's keys can then check the credential and that its presenter
// holds the key.
//
// How Ory Hydra v2.3.0 behaves, and what the client does about it:
//
//   - The endpoint takes any active access token; the
//     userinfo_credential_draft_00 scope only makes the token endpoint
//     return c_nonce_draft_00 with the tokens. Pass that nonce to Request
//     when you have it; otherwise Request gets one with a request without
//     proof, which Hydra answers with 400 missing_proof and a c_nonce.
//   - A nonce is sealed to its access token and reusable until it expires
//     (c_nonce_expires_in, an hour by default); Request caches it per
//     token (by the token's SHA-256). A refused nonce ("The nonce is
//     invalid.", 400 invalid_request) is replaced once, never in a loop.
//   - Hydra only checks the proof's signature against the JWK in its
//     header and its nonce claim; the proof also carries iat and aud as
//     the specification asks.
//   - The credential's iat, nbf and exp are JSON floats
//     (1.795452296e+09); they are decoded as such. Its exp is an hour
//     after the login session's ID token was issued, so an old session
//     gets an already expired credential ([ErrExpired]).
//
// # Example
//
//	holder, err := credentials.LoadOrCreateHolderKey("/var/lib/app/holder.pem")
//	if err != nil {
//		return err
//	}
//	vc, err := credentials.New(credentials.Config{Provider: provider, Holder: holder})
//	if err != nil {
//		return err
//	}
//	nonce, _ := token.Extra("c_nonce_draft_00").(string) // may be empty
//	cred, err := vc.Request(ctx, token.AccessToken, nonce)
//	if err != nil {
//		return err
//	}
//	fmt.Println(cred.Raw, cred.CredentialSubject["email"], cred.Expiry)
package credentials
