package userinfo_test

import (
	"errors"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/internal/hydra"
	"github.com/oidcrp/oidcrp/internal/loginapp"
	"github.com/oidcrp/oidcrp/userinfo"
	"github.com/oidcrp/oidcrp/userinfo/internal/hydratest"
)

// TestHydra fetches userinfo from a real Ory Hydra v2.3.0, plain and
// signed. It runs with OIDCRP_HYDRA=1 or CI=true.
func TestHydra(t *testing.T) {
	hydra.SkipIfUnavailable(t)
	srv := hydra.StartWithLoginApp(t, &loginapp.Identity{
		Subject: "alice",
		Claims: map[string]any{
			"email": "alice@example.com", "email_verified": true,
			"name": "Alice Example", "given_name": "Alice", "updated_at": 1700000000,
		},
	}, hydra.Options{})
	provider := newDiscovery(t, srv.Issuer)
	md, err := provider.Metadata(ctxTimeout(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("userinfo_endpoint %s, userinfo_signing_alg_values_supported %v", md.UserinfoEndpoint, md.UserinfoSigningAlgValuesSupported)

	plain := hydratest.Register(t, srv, "openid offline_access email profile", nil)
	signedClient := hydratest.Register(t, srv, "openid email profile", map[string]any{"userinfo_signed_response_alg": "RS256"})
	uicFor := func(clientID, alg string) *userinfo.Client {
		c, err := userinfo.New(userinfo.Config{Provider: provider, ClientID: clientID, SignedResponseAlg: alg})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	check := func(t *testing.T, info *userinfo.Info, signed bool) {
		t.Helper()
		if info.Subject != "alice" || info.Email != "alice@example.com" || !info.EmailVerified ||
			info.Name != "Alice Example" || info.GivenName != "Alice" || info.Signed != signed {
			t.Errorf("info = %+v", info)
		}
		if !info.UpdatedAt.Equal(time.Unix(1700000000, 0)) {
			t.Errorf("updated_at = %v", info.UpdatedAt)
		}
		var reg struct {
			Issuer   string   `json:"iss"`
			Audience []string `json:"aud"`
		}
		if err := info.Claims(&reg); err != nil || reg.Issuer != srv.Issuer {
			t.Errorf("iss = %q (%v), want %q", reg.Issuer, err, srv.Issuer)
		}
	}

	t.Run("plain JSON", func(t *testing.T) {
		tok := plain.Login(t)
		info, err := uicFor(plain.ID, "").Fetch(ctxTimeout(t), tok.AccessToken, "alice")
		if err != nil {
			t.Fatal(err)
		}
		check(t, info, false)
	})

	t.Run("signed RS256", func(t *testing.T) {
		tok := signedClient.Login(t)
		for _, alg := range []string{"RS256", ""} {
			info, err := uicFor(signedClient.ID, alg).Fetch(ctxTimeout(t), tok.AccessToken, "alice")
			if err != nil {
				t.Fatalf("SignedResponseAlg %q: %v", alg, err)
			}
			check(t, info, true)
		}
	})

	t.Run("attacker: signed response for another client", func(t *testing.T) {
		tok := signedClient.Login(t)
		_, err := uicFor(plain.ID, "").Fetch(ctxTimeout(t), tok.AccessToken, "alice")
		if !errors.Is(err, userinfo.ErrAudienceMismatch) {
			t.Errorf("Fetch = %v, want ErrAudienceMismatch", err)
		}
	})

	t.Run("unsigned where signed is registered", func(t *testing.T) {
		tok := plain.Login(t)
		_, err := uicFor(plain.ID, "RS256").Fetch(ctxTimeout(t), tok.AccessToken, "alice")
		if !errors.Is(err, userinfo.ErrUnsignedResponse) {
			t.Errorf("Fetch = %v, want ErrUnsignedResponse", err)
		}
	})

	t.Run("another subject", func(t *testing.T) {
		tok := plain.Login(t)
		_, err := uicFor(plain.ID, "").Fetch(ctxTimeout(t), tok.AccessToken, "bob")
		if !errors.Is(err, userinfo.ErrSubjectMismatch) {
			t.Errorf("Fetch = %v, want ErrSubjectMismatch", err)
		}
	})

	t.Run("bad token", func(t *testing.T) {
		_, err := uicFor(plain.ID, "").Fetch(ctxTimeout(t), "ory_at_not-a-token.x", "alice")
		var be *userinfo.BearerError
		if !errors.As(err, &be) || be.Status != 401 || !errors.Is(err, userinfo.ErrTokenRejected) {
			t.Fatalf("Fetch = %v, want a 401 BearerError", err)
		}
		t.Logf("Hydra's refusal: code %q, description %q", be.Code, be.Description)
		if be.Code != "request_unauthorized" {
			t.Errorf("code = %q, want Hydra's request_unauthorized", be.Code)
		}
	})

	t.Run("metadata", func(t *testing.T) {
		if md.UserinfoEndpoint != srv.Issuer+"/userinfo" {
			t.Errorf("userinfo_endpoint = %q", md.UserinfoEndpoint)
		}
	})
}
