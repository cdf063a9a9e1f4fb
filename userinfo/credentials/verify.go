package credentials

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/oidcrp/oidcrp/discovery"
	"github.com/oidcrp/oidcrp/userinfo/internal/numdate"
)

// Credential is a verified verifiable credential (W3C VC Data Model as a
// JWT) about the user, bound to the holder key.
type Credential struct {
	// Format is the credential format, "jwt_vc_json".
	Format string
	// Raw is the credential as issued: a compact JWS, to hand to
	// verifiers.
	Raw string
	// ID is the "jti" claim, empty when absent.
	ID string
	// Issuer is the "iss" claim, the provider's issuer.
	Issuer string
	// Subject is the "sub" claim: the did:jwk of the holder key.
	Subject string
	// Types is the "vc" object's "type" list.
	Types []string
	// IssuedAt, NotBefore and Expiry are "iat", "nbf" and "exp"; zero
	// when absent.
	IssuedAt, NotBefore, Expiry time.Time
	// Claims is the verified payload (numbers as float64).
	Claims map[string]any
	// CredentialSubject is the "vc" object's "credentialSubject": the
	// claims about the user, with Ory Hydra "id" (the holder's did:jwk),
	// "sub" (the user's subject) and the ID-token claims of the login
	// session.
	CredentialSubject map[string]any
}

// claimSet is the part of the credential's payload that is checked.
type claimSet struct {
	Issuer    *string         `json:"iss"`
	Subject   *string         `json:"sub"`
	ID        string          `json:"jti"`
	IssuedAt  json.RawMessage `json:"iat"`
	NotBefore json.RawMessage `json:"nbf"`
	Expiry    json.RawMessage `json:"exp"`
	VC        *struct {
		Type              json.RawMessage `json:"type"`
		CredentialSubject map[string]any  `json:"credentialSubject"`
	} `json:"vc"`
}

// verify checks an issued credential and decodes it.
func (c *Client) verify(ctx context.Context, md *discovery.Metadata, format, raw string) (*Credential, error) {
	if format != FormatJWTVCJSON && format != "jwt_vc" {
		return nil, fmt.Errorf("%w: format %s, want %s", ErrInvalidCredential, quoteUntrusted(format), FormatJWTVCJSON)
	}
	token := []byte(strings.TrimSpace(raw))
	if bytes.Count(token, []byte(".")) != 2 {
		return nil, fmt.Errorf("%w: not a compact JWS", ErrInvalidCredential)
	}
	payload, err := c.provider.KeySet().Verify(ctx, token, signingAlgs(md))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidCredential, err)
	}
	var cs claimSet
	if err := json.Unmarshal(payload, &cs); err != nil {
		return nil, fmt.Errorf("%w: claims: %w", ErrInvalidCredential, err)
	}
	var all map[string]any
	if err := json.Unmarshal(payload, &all); err != nil {
		return nil, fmt.Errorf("%w: claims: %w", ErrInvalidCredential, err)
	}
	if cs.Issuer == nil || *cs.Issuer != c.provider.Issuer() {
		got := "none"
		if cs.Issuer != nil {
			got = quoteUntrusted(*cs.Issuer)
		}
		return nil, fmt.Errorf("%w: iss %s, want %q", ErrInvalidCredential, got, c.provider.Issuer())
	}
	cred := &Credential{Format: format, Raw: string(token), ID: cs.ID, Issuer: *cs.Issuer, Claims: all}
	for _, t := range []struct {
		name string
		raw  json.RawMessage
		dst  *time.Time
	}{{"iat", cs.IssuedAt, &cred.IssuedAt}, {"nbf", cs.NotBefore, &cred.NotBefore}, {"exp", cs.Expiry, &cred.Expiry}} {
		if len(t.raw) == 0 {
			continue
		}
		v, err := numdate.Parse(t.raw)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrInvalidCredential, t.name, err)
		}
		*t.dst = v
	}
	now := c.now()
	switch {
	case !cred.Expiry.IsZero() && !now.Before(cred.Expiry):
		return nil, fmt.Errorf("%w at %s", ErrExpired, cred.Expiry.Format(time.RFC3339))
	case !cred.NotBefore.IsZero() && cred.NotBefore.After(now.Add(clockSkew)):
		return nil, fmt.Errorf("%w: not valid before %s", ErrInvalidCredential, cred.NotBefore.Format(time.RFC3339))
	case !cred.IssuedAt.IsZero() && cred.IssuedAt.After(now.Add(clockSkew)):
		return nil, fmt.Errorf("%w: issued in the future (%s)", ErrInvalidCredential, cred.IssuedAt.Format(time.RFC3339))
	}
	if cs.Subject == nil {
		return nil, fmt.Errorf("%w: no sub", ErrHolderMismatch)
	}
	if err := c.checkHolder(*cs.Subject); err != nil {
		return nil, err
	}
	cred.Subject = *cs.Subject
	if cs.VC == nil {
		return nil, fmt.Errorf("%w: no vc claim", ErrInvalidCredential)
	}
	if len(cs.VC.Type) > 0 {
		if err := json.Unmarshal(cs.VC.Type, &cred.Types); err != nil {
			var one string
			if json.Unmarshal(cs.VC.Type, &one) != nil {
				return nil, fmt.Errorf("%w: vc.type is not a list of strings", ErrInvalidCredential)
			}
			cred.Types = []string{one}
		}
		if !slices.Contains(cred.Types, "VerifiableCredential") {
			return nil, fmt.Errorf("%w: vc.type lacks VerifiableCredential", ErrInvalidCredential)
		}
	}
	cred.CredentialSubject = cs.VC.CredentialSubject
	if id, ok := cred.CredentialSubject["id"]; ok && id != cred.Subject {
		return nil, fmt.Errorf("%w: vc.credentialSubject.id is not the credential's sub", ErrHolderMismatch)
	}
	return cred, nil
}

// checkHolder checks that did is the did:jwk of the holder key, by RFC
// 7638 thumbprint so that the JWK's member order and optional members do
// not matter.
func (c *Client) checkHolder(did string) error {
	k, err := keyOfDID(did)
	if err != nil {
		return fmt.Errorf("%w: sub: %w", ErrHolderMismatch, err)
	}
	t, err := thumbprint(k)
	if err != nil {
		return fmt.Errorf("%w: sub: %w", ErrHolderMismatch, err)
	}
	if !bytes.Equal(t, c.thumb) {
		return fmt.Errorf("%w: sub names another key", ErrHolderMismatch)
	}
	return nil
}

// signingAlgs is the allow-list for the credential's signature: Ory Hydra
// signs credentials with its ID-token key, so the asymmetric algorithms of
// id_token_signing_alg_values_supported (all asymmetric ones when it lists
// none).
func signingAlgs(md *discovery.Metadata) []string {
	var algs []string
	for _, a := range md.IDTokenSigningAlgValuesSupported {
		if a != "none" && !strings.HasPrefix(a, "HS") {
			algs = append(algs, a)
		}
	}
	return algs
}
