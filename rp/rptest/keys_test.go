package rptest_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"slices"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/oidcrp/oidcrp/rp/rptest"
)

// publishedKIDs fetches the JWKS and returns its kids.
func publishedKIDs(t *testing.T, p *rptest.Provider) []string {
	t.Helper()
	set, err := jwk.Parse(get(t, p, rptest.JWKSPath, nil))
	if err != nil {
		t.Fatal(err)
	}
	var kids []string
	for i := range set.Len() {
		k, _ := set.Key(i)
		if _, isPrivate := k.(interface{ D() []byte }); isPrivate {
			t.Errorf("JWKS publishes private key %s", k.KeyID())
		}
		kids = append(kids, k.KeyID())
	}
	return kids
}

func TestKeys(t *testing.T) {
	attacker, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	attackerJWK, err := jwk.FromRaw(attacker)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		// act changes the keys and returns a token signed afterwards.
		act        func(t *testing.T, p *rptest.Provider, claims map[string]any) string
		wantKIDs   func(before []string, p *rptest.Provider) []string
		wantVerify bool // a fresh verifier accepts the token
		oldVerify  bool // a token signed before act still verifies
	}{
		{
			name:       "initial",
			act:        func(t *testing.T, p *rptest.Provider, c map[string]any) string { return p.SignIDToken(c) },
			wantKIDs:   func(before []string, _ *rptest.Provider) []string { return before },
			wantVerify: true, oldVerify: true,
		},
		{
			name: "RotateKeys",
			act: func(t *testing.T, p *rptest.Provider, c map[string]any) string {
				p.RotateKeys()
				return p.SignIDToken(c)
			},
			wantKIDs: func(_ []string, p *rptest.Provider) []string { return p.KeyIDs() },
			// only new kids are published; old tokens die
			wantVerify: true, oldVerify: false,
		},
		{
			name: "AddKey keeps the old key",
			act: func(t *testing.T, p *rptest.Provider, c map[string]any) string {
				kid := p.AddKey("RS256")
				if p.CurrentKID() != kid {
					t.Errorf("CurrentKID %s, want the added %s", p.CurrentKID(), kid)
				}
				return p.SignIDToken(c)
			},
			wantKIDs:   func(before []string, p *rptest.Provider) []string { return append(before, p.CurrentKID()) },
			wantVerify: true, oldVerify: true,
		},
		{
			name: "RemoveKey of the current key",
			act: func(t *testing.T, p *rptest.Provider, c map[string]any) string {
				if !p.RemoveKey(p.CurrentKID()) {
					t.Error("RemoveKey did not find the current key")
				}
				if p.RemoveKey("unknown") {
					t.Error("RemoveKey found an unknown key")
				}
				return p.SignIDToken(c)
			},
			wantKIDs:   func(before []string, _ *rptest.Provider) []string { return before[1:] },
			wantVerify: false, oldVerify: false,
		},
		{
			name: "attacker's key",
			act: func(t *testing.T, p *rptest.Provider, c map[string]any) string {
				return p.SignIDToken(c, rptest.WithKey(attackerJWK), rptest.WithKID(p.KeyIDs()[1]))
			},
			wantKIDs:   func(before []string, _ *rptest.Provider) []string { return before },
			wantVerify: false, oldVerify: true,
		},
		{
			name: "provider's own key by kid",
			act: func(t *testing.T, p *rptest.Provider, c map[string]any) string {
				k, ok := p.PrivateKey(p.KeyIDs()[1])
				if !ok {
					t.Fatal("PrivateKey: not found")
				}
				return p.SignIDToken(c, rptest.WithKey(k))
			},
			wantKIDs:   func(before []string, _ *rptest.Provider) []string { return before },
			wantVerify: true, oldVerify: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := rptest.NewProvider(t, rptest.WithClient(testClient()))
			claims := p.IDTokenClaims("nonce-1234")
			old := p.SignIDToken(claims)
			before := publishedKIDs(t, p)
			if len(before) != 2 {
				t.Fatalf("JWKS has %d keys, want an RSA and an EC key", len(before))
			}
			token := tc.act(t, p, claims)
			if got, want := publishedKIDs(t, p), tc.wantKIDs(before, p); !slices.Equal(got, want) {
				t.Errorf("JWKS kids %v, want %v", got, want)
			}
			ctx := oidc.ClientContext(t.Context(), p.Client())
			v := oidc.NewVerifier(p.Issuer(), oidc.NewRemoteKeySet(ctx, p.Issuer()+rptest.JWKSPath),
				&oidc.Config{ClientID: clientID, SupportedSigningAlgs: []string{oidc.RS256, oidc.ES256}})
			if _, err := v.Verify(ctx, token); (err == nil) != tc.wantVerify {
				t.Errorf("new token verifies: %v, want %v", err, tc.wantVerify)
			}
			if _, err := v.Verify(ctx, old); (err == nil) != tc.oldVerify {
				t.Errorf("old token verifies: %v, want %v", err, tc.oldVerify)
			}
		})
	}
}

func TestJWKSShape(t *testing.T) {
	p := rptest.NewProvider(t)
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(get(t, p, rptest.JWKSPath, nil), &set); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"RSA": "RS256", "EC": "ES256"}
	for _, k := range set.Keys {
		if want[k["kty"].(string)] != k["alg"] || k["use"] != "sig" || k["kid"] == "" || k["d"] != nil {
			t.Errorf("key %v", k)
		}
		delete(want, k["kty"].(string))
	}
	if len(want) != 0 {
		t.Errorf("missing key types %v", want)
	}
	if _, err := rptest.New(rptest.WithSigningAlg("HS256")); err == nil {
		t.Error("New accepts HS256")
	}
}
