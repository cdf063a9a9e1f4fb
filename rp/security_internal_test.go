package rp

import (
	"net/url"
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

func TestApplyOptionsACR(t *testing.T) {
	tests := []struct {
		name     string
		opts     []LoginOption
		sent     string
		required []string
	}{
		{"voluntary", []LoginOption{ACRValues("urn:a", "urn:b")}, "urn:a urn:b", nil},
		{"required", []LoginOption{RequireACR("urn:a", "urn:b")}, "urn:a urn:b", []string{"urn:a", "urn:b"}},
		{"required, split on spaces", []LoginOption{RequireACR("urn:a urn:b")}, "urn:a urn:b", []string{"urn:a", "urn:b"}},
		{"other options keep the requirement", []LoginOption{RequireACR("urn:a"), Prompt("login"), MaxAge(0)}, "urn:a", []string{"urn:a"}},
		{"a later ACRValues makes it voluntary", []LoginOption{RequireACR("urn:a"), ACRValues("urn:b")}, "urn:b", nil},
		{"a later Param makes it voluntary", []LoginOption{RequireACR("urn:a"), Param("acr_values", "urn:b")}, "urn:b", nil},
		{"a later RequireACR wins", []LoginOption{ACRValues("urn:b"), RequireACR("urn:a")}, "urn:a", []string{"urn:a"}},
		{"empty requirement sends nothing", []LoginOption{RequireACR()}, "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := url.Values{}
			sent := applyOptions(v, tc.opts)
			if got := v.Get("acr_values"); got != tc.sent {
				t.Errorf("acr_values = %q, want %q", got, tc.sent)
			}
			if _, has := v["acr_values"]; has != (tc.sent != "") {
				t.Errorf("acr_values present = %v", has)
			}
			if !slices.Equal(sent.requiredACR, tc.required) {
				t.Errorf("required = %q, want %q", sent.requiredACR, tc.required)
			}
		})
	}
}
