package rp

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/oidcrp/oidcrp/discovery"
)

// idClaims are the ID token claims the RP checks itself, beyond what
// go-oidc's verifier checks (signature, iss, aud contains client_id, exp).
type idClaims struct {
	Issuer   string          `json:"iss"`
	Subject  string          `json:"sub"`
	Audience json.RawMessage `json:"aud"`
	AZP      string          `json:"azp"`
	IssuedAt *json.Number    `json:"iat"`
	AuthTime *json.Number    `json:"auth_time"`
	ACR      string          `json:"acr"`
	Nonce    string          `json:"nonce"`
	SID      string          `json:"sid"`
}

// verifiedIDToken is an ID token that passed every check.
type verifiedIDToken struct {
	token  *oidc.IDToken
	claims idClaims
	raw    json.RawMessage // the claim set as JSON
}

// idTokenCheck says which flow-dependent checks apply.
type idTokenCheck struct {
	nonce       string   // required nonce; "" skips (refresh)
	maxAge      int64    // max_age sent, or -1
	acr         []string // acr values one of which is required; nil: any
	accessToken string   // checked against at_hash when present
}

// verifyIDToken runs OpenID Connect Core §3.1.3.7: go-oidc checks the
// signature over the provider's keys with the advertised algorithms (never
// none or HMAC), iss, that aud contains the client and exp; then iat, sub,
// every audience trusted, azp, nonce, at_hash, auth_time and a required
// acr.
func (r *RP) verifyIDToken(ctx context.Context, md *discovery.Metadata, raw string, chk idTokenCheck) (*verifiedIDToken, error) {
	v := oidc.NewVerifier(r.cfg.Issuer, r.provider.KeySet(), &oidc.Config{
		ClientID:             r.cfg.ClientID,
		SupportedSigningAlgs: signingAlgs(md),
		Now:                  func() time.Time { return r.now().Add(-r.cfg.ClockSkew) },
	})
	tok, err := v.Verify(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidIDToken, err)
	}
	out := &verifiedIDToken{token: tok}
	if err := tok.Claims(&out.raw); err != nil {
		return nil, fmt.Errorf("%w: claims: %w", ErrInvalidIDToken, err)
	}
	dec := json.NewDecoder(bytes.NewReader(out.raw))
	dec.UseNumber()
	if err := dec.Decode(&out.claims); err != nil {
		return nil, fmt.Errorf("%w: claims: %w", ErrInvalidIDToken, err)
	}
	c := &out.claims
	now := r.now()

	if c.IssuedAt == nil {
		return nil, fmt.Errorf("%w: iat missing", ErrInvalidIDToken)
	}
	iat, err := numericDate(*c.IssuedAt)
	if err != nil {
		return nil, fmt.Errorf("%w: iat: %w", ErrInvalidIDToken, err)
	}
	if iat.After(now.Add(r.cfg.ClockSkew)) {
		return nil, fmt.Errorf("%w: iat %s is in the future", ErrInvalidIDToken, iat.UTC().Format(time.RFC3339))
	}
	if c.Subject == "" || len(c.Subject) > 255 || !utf8.ValidString(c.Subject) {
		return nil, fmt.Errorf("%w: sub missing or malformed", ErrInvalidIDToken)
	}
	for _, aud := range tok.Audience {
		if aud != r.cfg.ClientID && !slices.Contains(r.cfg.TrustedAudiences, aud) {
			return nil, fmt.Errorf("%w: untrusted audience %q", ErrInvalidIDToken, aud)
		}
	}
	if len(tok.Audience) > 1 && c.AZP == "" {
		return nil, fmt.Errorf("%w: several audiences and no azp", ErrInvalidIDToken)
	}
	if c.AZP != "" && c.AZP != r.cfg.ClientID {
		return nil, fmt.Errorf("%w: azp %q is not this client", ErrInvalidIDToken, c.AZP)
	}
	if chk.nonce != "" && subtle.ConstantTimeCompare([]byte(c.Nonce), []byte(chk.nonce)) != 1 {
		return nil, ErrNonceMismatch
	}
	if tok.AccessTokenHash != "" && chk.accessToken != "" {
		if err := tok.VerifyAccessToken(chk.accessToken); err != nil {
			return nil, fmt.Errorf("%w: at_hash: %w", ErrInvalidIDToken, err)
		}
	}
	if chk.maxAge >= 0 {
		if c.AuthTime == nil {
			return nil, fmt.Errorf("%w: auth_time missing although max_age was sent", ErrInvalidIDToken)
		}
		at, err := numericDate(*c.AuthTime)
		if err != nil {
			return nil, fmt.Errorf("%w: auth_time: %w", ErrInvalidIDToken, err)
		}
		if now.After(at.Add(time.Duration(chk.maxAge)*time.Second + r.cfg.ClockSkew)) {
			return nil, fmt.Errorf("%w: authentication at %s is older than max_age %ds", ErrInvalidIDToken, at.UTC().Format(time.RFC3339), chk.maxAge)
		}
	}
	if len(chk.acr) > 0 && !slices.Contains(chk.acr, c.ACR) {
		if c.ACR == "" {
			return nil, fmt.Errorf("%w: the ID token has no acr; required one of %q", ErrACRNotSatisfied, chk.acr)
		}
		return nil, fmt.Errorf("%w: acr %q is not one of %q", ErrACRNotSatisfied, truncate(c.ACR, 200), chk.acr)
	}
	return out, nil
}

// numericDate parses a JWT NumericDate (RFC 7519 §2), which may be
// fractional.
func numericDate(n json.Number) (time.Time, error) {
	f, err := n.Float64()
	if err != nil {
		return time.Time{}, errors.New("not a number")
	}
	if f < 0 || f > 1e11 {
		return time.Time{}, errors.New("out of range")
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)), nil
}

// sameIdentity checks OpenID Connect Core §12.2: a refreshed ID token keeps
// iss, sub, aud and azp (and nonce, when present) of the original.
func sameIdentity(orig, next []byte) error {
	var a, b idClaims
	if err := json.Unmarshal(orig, &a); err != nil {
		return fmt.Errorf("%w: original claims: %w", ErrIdentityChanged, err)
	}
	if err := json.Unmarshal(next, &b); err != nil {
		return fmt.Errorf("%w: new claims: %w", ErrIdentityChanged, err)
	}
	audA, audB := audiences(a.Audience), audiences(b.Audience)
	slices.Sort(audA)
	slices.Sort(audB)
	switch {
	case a.Issuer != b.Issuer:
		return fmt.Errorf("%w: iss", ErrIdentityChanged)
	case a.Subject != b.Subject:
		return fmt.Errorf("%w: sub", ErrIdentityChanged)
	case !slices.Equal(audA, audB):
		return fmt.Errorf("%w: aud", ErrIdentityChanged)
	case b.AZP != "" && a.AZP != "" && a.AZP != b.AZP:
		return fmt.Errorf("%w: azp", ErrIdentityChanged)
	case b.Nonce != "" && a.Nonce != "" && a.Nonce != b.Nonce:
		return fmt.Errorf("%w: nonce", ErrIdentityChanged)
	}
	return nil
}

// audiences decodes aud, a string or an array of strings.
func audiences(raw json.RawMessage) []string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var many []string
	json.Unmarshal(raw, &many)
	return many
}
