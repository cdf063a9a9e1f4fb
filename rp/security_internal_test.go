package rp

import (
	"slices"
	"strings"
	"testing"

	"github.com/oidcrp/oidcrp/discovery"
)

// TestSigningAlgs: the ID-token algorithms accepted come from the
// provider's id_token_signing_alg_values_supported, minus "none" and the
// HMAC algorithms (keyed with the client secret, which an RP must not
// trust for identity: algorithm confusion); RS256 when nothing is left
// (OpenID Connect Core §3.1.3.7 step 7, Discovery §3).
func TestSigningAlgs(t *testing.T) {
	tests := []struct {
		name       string
		advertised []string
		want       []string
	}{
		{"RS256", []string{"RS256"}, []string{"RS256"}},
		{"several", []string{"ES256", "RS256", "PS256"}, []string{"ES256", "RS256", "PS256"}},
		{"none dropped", []string{"none", "RS256"}, []string{"RS256"}},
		{"HMAC dropped", []string{"HS256", "HS384", "HS512", "ES256"}, []string{"ES256"}},
		{"only none and HMAC: RS256", []string{"none", "HS256"}, []string{"RS256"}},
		{"nothing advertised: RS256", nil, []string{"RS256"}},
		{"empty string dropped", []string{"", "EdDSA"}, []string{"EdDSA"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := signingAlgs(&discovery.Metadata{IDTokenSigningAlgValuesSupported: tc.advertised})
			if !slices.Equal(got, tc.want) {
				t.Errorf("signingAlgs(%q) = %q, want %q", tc.advertised, got, tc.want)
			}
		})
	}
}

// TestReturnToLengthAfterEscaping: a return path accepted at login must
// keep the login-state cookie within the 4096 bytes browsers store
// (RFC 6265 §6.1); otherwise the browser drops the cookie and that login
// fails. Re-escaping can triple a path, so the bound must hold for the
// escaped result.
func TestReturnToLengthAfterEscaping(t *testing.T) {
	in := "/" + strings.Repeat(" ", maxReturnTo-1)
	got, ok := cleanReturnTo(in)
	if ok && len(got) > maxReturnTo {
		t.Errorf("cleanReturnTo accepted %d bytes that escape to %d, over maxReturnTo %d", len(in), len(got), maxReturnTo)
	}
}
