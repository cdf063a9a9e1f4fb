package credentials_test

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/internal/httpx"
	"github.com/oidcrp/oidcrp/internal/hydra"
	"github.com/oidcrp/oidcrp/internal/loginapp"
	"github.com/oidcrp/oidcrp/userinfo/credentials"
	"github.com/oidcrp/oidcrp/userinfo/internal/hydratest"
)

// countingTransport counts the requests it carries.
type countingTransport struct {
	rt http.RoundTripper
	n  atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.rt.RoundTrip(r)
}

// TestHydra asks a real Ory Hydra v2.3.0 for verifiable credentials. It
// runs with OIDCRP_HYDRA=1 or CI=true.
func TestHydra(t *testing.T) {
	hydra.SkipIfUnavailable(t)
	srv := hydra.StartWithLoginApp(t, &loginapp.Identity{
		Subject: "alice",
		Claims:  map[string]any{"email": "alice@example.com", "email_verified": true, "name": "Alice Example"},
	}, hydra.Options{})
	provider := newDiscovery(t, srv.Issuer)
	md, err := provider.Metadata(ctxTimeout(t))
	if err != nil {
		t.Fatal(err)
	}
	if md.CredentialsEndpointDraft00 != srv.Issuer+"/credentials" || len(md.CredentialsSupportedDraft00) == 0 {
		t.Fatalf("credentials metadata: endpoint %q, supported %+v", md.CredentialsEndpointDraft00, md.CredentialsSupportedDraft00)
	}
	t.Logf("credentials_supported_draft_00: %+v", md.CredentialsSupportedDraft00)

	withScope := hydratest.Register(t, srv, "openid offline_access email profile userinfo_credential_draft_00", nil)
	withoutScope := hydratest.Register(t, srv, "openid email profile", nil)

	counter := &countingTransport{rt: httpx.NewClient(0, 0).Transport}
	newVC := func(t *testing.T, holder crypto.Signer) *credentials.Client {
		t.Helper()
		vc, err := credentials.New(credentials.Config{Provider: provider, Holder: holder,
			HTTPClient: &http.Client{Transport: counter, Timeout: 10 * time.Second}})
		if err != nil {
			t.Fatal(err)
		}
		return vc
	}
	p256, err := credentials.GenerateHolderKey()
	if err != nil {
		t.Fatal(err)
	}
	// request runs Request and checks the credential and how many HTTP
	// requests it took.
	request := func(t *testing.T, vc *credentials.Client, holder crypto.Signer, accessToken, nonce string, wantRequests int64) *credentials.Credential {
		t.Helper()
		n0 := counter.n.Load()
		cred, err := vc.Request(ctxTimeout(t), accessToken, nonce)
		if err != nil {
			t.Fatalf("Request: %v", err)
		}
		if n := counter.n.Load() - n0; n != wantRequests {
			t.Errorf("Request took %d HTTP requests, want %d", n, wantRequests)
		}
		if cred.Issuer != srv.Issuer || cred.Format != "jwt_vc_json" {
			t.Errorf("credential iss %q format %q", cred.Issuer, cred.Format)
		}
		// Hydra serializes the JWK its own way: compare keys.
		bound, err := credentials.ParseDIDJWK(cred.Subject)
		if err != nil || !bound.(publicKeyEqualer).Equal(holder.Public()) {
			t.Errorf("credential sub %q is not the holder key (%v)", cred.Subject, err)
		}
		cs := cred.CredentialSubject
		if cs["sub"] != "alice" || cs["email"] != "alice@example.com" || cs["id"] != cred.Subject {
			t.Errorf("credentialSubject = %v", cs)
		}
		if !cred.Expiry.After(time.Now()) || cred.IssuedAt.IsZero() || cred.Expiry.Sub(cred.IssuedAt) != time.Hour {
			t.Errorf("iat %v exp %v", cred.IssuedAt, cred.Expiry)
		}
		return cred
	}

	t.Run("with the scope: c_nonce_draft_00 from the token response", func(t *testing.T) {
		tok := withScope.Login(t)
		nonce, _ := tok.Extra("c_nonce_draft_00").(string)
		if nonce == "" {
			t.Fatal("token response without c_nonce_draft_00 despite userinfo_credential_draft_00")
		}
		t.Logf("c_nonce_expires_in_draft_00 = %v", tok.Extra("c_nonce_expires_in_draft_00"))
		vc := newVC(t, p256)
		cred := request(t, vc, p256, tok.AccessToken, nonce, 1)
		t.Logf("credential claims: %v", cred.Claims)
		// The nonce is reusable until it expires.
		request(t, vc, p256, tok.AccessToken, nonce, 1)
	})

	t.Run("with the scope, no nonce given: priming, then cached", func(t *testing.T) {
		tok := withScope.Login(t)
		vc := newVC(t, p256)
		request(t, vc, p256, tok.AccessToken, "", 2)
		request(t, vc, p256, tok.AccessToken, "", 1)
	})

	t.Run("without the scope", func(t *testing.T) {
		tok := withoutScope.Login(t)
		if n, _ := tok.Extra("c_nonce_draft_00").(string); n != "" {
			t.Errorf("c_nonce_draft_00 without the scope: %q", n)
		}
		request(t, newVC(t, p256), p256, tok.AccessToken, "", 2)
	})

	t.Run("nonce of another token: one fresh try", func(t *testing.T) {
		other := withScope.Login(t)
		tok := withScope.Login(t)
		nonce, _ := other.Extra("c_nonce_draft_00").(string)
		request(t, newVC(t, p256), p256, tok.AccessToken, nonce, 3)
	})

	t.Run("holder key types", func(t *testing.T) {
		_, ed, _ := ed25519.GenerateKey(rand.Reader)
		rk, _ := rsa.GenerateKey(rand.Reader, 2048)
		for _, k := range []crypto.Signer{ed, rk, opaqueSigner{p256}} {
			tok := withoutScope.Login(t)
			request(t, newVC(t, k), k, tok.AccessToken, "", 2)
		}
	})

	t.Run("bad token", func(t *testing.T) {
		_, err := newVC(t, p256).Request(ctxTimeout(t), "ory_at_not-a-token.x", "")
		var e *credentials.Error
		if !errors.Is(err, credentials.ErrTokenRejected) || !errors.As(err, &e) {
			t.Fatalf("Request = %v, want a rejected token", err)
		}
		t.Logf("Hydra's refusal: %v", err)
	})
}
