package discovery

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// hydraDiscovery is shaped like Ory Hydra v2.3's discovery document, with
// members this package does not know added.
const hydraDiscovery = `{
  "issuer": "https://id.example.com",
  "authorization_endpoint": "https://id.example.com/oauth2/auth",
  "token_endpoint": "https://id.example.com/oauth2/token",
  "userinfo_endpoint": "https://id.example.com/userinfo",
  "jwks_uri": "https://id.example.com/.well-known/jwks.json",
  "registration_endpoint": "https://id.example.com/oauth2/register",
  "revocation_endpoint": "https://id.example.com/oauth2/revoke",
  "end_session_endpoint": "https://id.example.com/oauth2/sessions/logout",
  "credentials_endpoint_draft_00": "https://id.example.com/credentials",
  "credentials_supported_draft_00": [{
    "format": "jwt_vc_json",
    "types": ["VerifiableCredential", "UserInfoCredential"],
    "cryptographic_binding_methods_supported": ["jwk"],
    "cryptographic_suites_supported": ["PS256", "RS256", "ES256"],
    "display": [{"name": "Example"}]
  }],
  "scopes_supported": ["offline_access", "offline", "openid"],
  "response_types_supported": ["code", "code id_token", "id_token", "token id_token", "token", "token id_token code"],
  "response_modes_supported": ["query", "fragment", "form_post"],
  "grant_types_supported": ["authorization_code", "implicit", "client_credentials", "refresh_token"],
  "subject_types_supported": ["public"],
  "id_token_signing_alg_values_supported": ["RS256"],
  "userinfo_signing_alg_values_supported": ["none", "RS256"],
  "request_object_signing_alg_values_supported": ["none", "RS256", "ES256"],
  "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic", "private_key_jwt", "none"],
  "code_challenge_methods_supported": ["plain", "S256"],
  "claims_supported": ["sub"],
  "claims_parameter_supported": true,
  "request_parameter_supported": true,
  "request_uri_parameter_supported": false,
  "require_request_uri_registration": true,
  "backchannel_logout_supported": true,
  "backchannel_logout_session_supported": true,
  "frontchannel_logout_supported": true,
  "frontchannel_logout_session_supported": true,
  "authorization_response_iss_parameter_supported": true,
  "mtls_endpoint_aliases": {"token_endpoint": "https://mtls.id.example.com/oauth2/token"},
  "x_vendor_feature": {"enabled": true, "levels": [1, 2]},
  "x_flag": null
}`

func TestMetadataRoundTrip(t *testing.T) {
	var md Metadata
	if err := json.Unmarshal([]byte(hydraDiscovery), &md); err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"issuer", md.Issuer, "https://id.example.com"},
		{"end_session_endpoint", md.EndSessionEndpoint, "https://id.example.com/oauth2/sessions/logout"},
		{"revocation_endpoint", md.RevocationEndpoint, "https://id.example.com/oauth2/revoke"},
		{"credentials_endpoint_draft_00", md.CredentialsEndpointDraft00, "https://id.example.com/credentials"},
		{"credential types", md.CredentialsSupportedDraft00[0].Types, []string{"VerifiableCredential", "UserInfoCredential"}},
		{"credential extra", string(md.CredentialsSupportedDraft00[0].Extra["display"]), `[{"name":"Example"}]`},
		{"code_challenge_methods_supported", md.CodeChallengeMethodsSupported, []string{"plain", "S256"}},
		{"backchannel_logout_session_supported", md.BackchannelLogoutSessionSupported, true},
		{"frontchannel_logout_supported", md.FrontchannelLogoutSupported, true},
		{"iss parameter", md.AuthorizationResponseIssParameterSupported, true},
		{"request_uri_parameter_supported", md.SupportsRequestURIParameter(), false},
		{"mtls alias", md.MTLSEndpointAliases["token_endpoint"], "https://mtls.id.example.com/oauth2/token"},
		{"extra member count", len(md.Extra), 2},
		{"extra object", string(md.Extra["x_vendor_feature"]), `{"enabled": true, "levels": [1, 2]}`},
		{"extra null", string(md.Extra["x_flag"]), "null"},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}

	out, err := json.Marshal(md)
	if err != nil {
		t.Fatal(err)
	}
	var before, after map[string]any
	if err := json.Unmarshal([]byte(hydraDiscovery), &before); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, &after); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(before, after) {
		t.Errorf("round trip changed the document:\nbefore %v\nafter  %v", before, after)
	}

	// A pointer and a value encode alike.
	out2, err := json.Marshal(&md)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != string(out2) {
		t.Errorf("Marshal(&md) = %s, want %s", out2, out)
	}
}

func TestMetadataDecoding(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr bool
		check   func(t *testing.T, md *Metadata)
	}{
		{
			name: "member names match exactly",
			in:   `{"issuer":"https://a.example","ISSUER":"https://evil.example","Jwks_Uri":"https://evil.example/jwks"}`,
			check: func(t *testing.T, md *Metadata) {
				if md.Issuer != "https://a.example" || md.JWKSURI != "" {
					t.Errorf("issuer %q jwks_uri %q: case-folded member names were applied", md.Issuer, md.JWKSURI)
				}
				if _, ok := md.Extra["ISSUER"]; !ok {
					t.Errorf("ISSUER not kept in Extra: %v", md.Extra)
				}
			},
		},
		{
			name: "absent request_uri_parameter_supported defaults to true",
			in:   `{"issuer":"https://a.example"}`,
			check: func(t *testing.T, md *Metadata) {
				if !md.SupportsRequestURIParameter() || md.RequestURIParameterSupported != nil || md.Extra != nil {
					t.Errorf("got %v %v %v", md.SupportsRequestURIParameter(), md.RequestURIParameterSupported, md.Extra)
				}
			},
		},
		{
			name: "null leaves the value alone",
			in:   `null`,
			check: func(t *testing.T, md *Metadata) {
				if md.Issuer != "https://kept.example" {
					t.Errorf("null decoded over the value: issuer %q", md.Issuer)
				}
			},
		},
		{name: "wrong type", in: `{"issuer":5}`, wantErr: true},
		{name: "wrong list type", in: `{"issuer":"https://a.example","scopes_supported":"openid"}`, wantErr: true},
		{name: "not an object", in: `["issuer"]`, wantErr: true},
		{name: "truncated", in: `{"issuer":"https://a.example"`, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			md := Metadata{Issuer: "https://kept.example"}
			err := json.Unmarshal([]byte(tc.in), &md)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if tc.check != nil {
				tc.check(t, &md)
			}
		})
	}
}

func TestMetadataMarshalExtra(t *testing.T) {
	md := Metadata{
		Issuer: "https://a.example",
		Extra: map[string]json.RawMessage{
			"issuer":         json.RawMessage(`"https://evil.example"`),
			"jwks_uri":       json.RawMessage(`"https://evil.example/jwks"`),
			"x_custom_value": json.RawMessage(`42`),
		},
	}
	out, err := json.Marshal(md)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"issuer": "https://a.example", "x_custom_value": float64(42)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v (Extra must not override or add known members)", got, want)
	}

	md.Extra = map[string]json.RawMessage{"x_bad": json.RawMessage(`{`)}
	if _, err := json.Marshal(md); err == nil {
		t.Error("invalid JSON in Extra was encoded")
	}
}

func TestValidate(t *testing.T) {
	const iss = "https://id.example.com"
	tests := []struct {
		name      string
		issuer    string // configured; iss when empty
		edit      func(md *Metadata)
		allowHTTP bool
		wantIn    []string // substrings of the error; nil means valid
		mismatch  bool     // error must wrap ErrIssuerMismatch
		problems  int      // when set, the exact number of problems reported
	}{
		{name: "valid", edit: func(*Metadata) {}},
		{name: "http 127.0.0.1", issuer: "http://127.0.0.1:4444", edit: func(md *Metadata) { *md = *testMetadata("http://127.0.0.1:4444") }},
		{name: "http localhost", issuer: "http://localhost:4444", edit: func(md *Metadata) { *md = *testMetadata("http://localhost:4444") }},
		{name: "http [::1]", issuer: "http://[::1]:4444", edit: func(md *Metadata) { *md = *testMetadata("http://[::1]:4444") }},
		{
			name: "http non-loopback issuer", issuer: "http://id.example.com",
			edit:   func(md *Metadata) { *md = *testMetadata("http://id.example.com") },
			wantIn: []string{`issuer "http://id.example.com" must use https`, "authorization_endpoint", "jwks_uri"},
		},
		{
			name: "http non-loopback allowed by InsecureAllowHTTP", issuer: "http://id.example.com", allowHTTP: true,
			edit: func(md *Metadata) { *md = *testMetadata("http://id.example.com") },
		},
		{
			name: "issuer with trailing slash", issuer: iss + "/",
			edit: func(*Metadata) {}, wantIn: []string{`provider says "https://id.example.com", configured issuer is "https://id.example.com/"`}, mismatch: true,
		},
		{
			name: "provider adds trailing slash",
			edit: func(md *Metadata) { md.Issuer = iss + "/" }, wantIn: []string{"issuer mismatch"}, mismatch: true,
		},
		{
			name: "issuer differs in case", issuer: "https://ID.example.com",
			edit: func(*Metadata) {}, wantIn: []string{"issuer mismatch"}, mismatch: true,
		},
		{name: "empty issuer", edit: func(md *Metadata) { md.Issuer = "" }, wantIn: []string{"issuer mismatch", "absolute"}, mismatch: true},
		{
			name: "issuer with query", issuer: iss + "?tenant=a",
			edit: func(md *Metadata) { md.Issuer = iss + "?tenant=a" }, wantIn: []string{"must not have a query"},
		},
		{name: "missing authorization_endpoint", edit: func(md *Metadata) { md.AuthorizationEndpoint = "" }, wantIn: []string{"authorization_endpoint is missing"}},
		{name: "missing jwks_uri", edit: func(md *Metadata) { md.JWKSURI = "" }, wantIn: []string{"jwks_uri is missing"}},
		{name: "missing token_endpoint", edit: func(md *Metadata) { md.TokenEndpoint = "" }, wantIn: []string{"token_endpoint is missing"}},
		{
			name: "implicit-only provider needs no token_endpoint",
			edit: func(md *Metadata) {
				md.TokenEndpoint = ""
				md.ResponseTypesSupported = []string{"id_token", "id_token token"}
			},
		},
		{name: "missing response_types_supported", edit: func(md *Metadata) { md.ResponseTypesSupported = nil }, wantIn: []string{"response_types_supported is missing"}},
		{name: "missing subject_types_supported", edit: func(md *Metadata) { md.SubjectTypesSupported = nil }, wantIn: []string{"subject_types_supported is missing"}},
		{name: "missing id_token algs", edit: func(md *Metadata) { md.IDTokenSigningAlgValuesSupported = nil }, wantIn: []string{"id_token_signing_alg_values_supported is missing"}},
		{name: "only alg none", edit: func(md *Metadata) { md.IDTokenSigningAlgValuesSupported = []string{"none"} }, wantIn: []string{`offers only "none"`}},
		{name: "none besides RS256 is fine", edit: func(md *Metadata) { md.IDTokenSigningAlgValuesSupported = []string{"none", "RS256"} }},
		{
			name: "userinfo over http on non-loopback host",
			edit: func(md *Metadata) { md.UserinfoEndpoint = "http://id.example.com/userinfo" }, wantIn: []string{`userinfo_endpoint "http://id.example.com/userinfo" must use https`},
		},
		{
			name: "token endpoint on another host over http",
			edit: func(md *Metadata) { md.TokenEndpoint = "http://10.0.0.8/token" }, wantIn: []string{"token_endpoint"},
		},
		{
			name: "loopback http endpoint is fine",
			edit: func(md *Metadata) { md.RevocationEndpoint = "http://127.0.0.1:4444/oauth2/revoke" },
		},
		{name: "relative endpoint", edit: func(md *Metadata) { md.EndSessionEndpoint = "/logout" }, wantIn: []string{"end_session_endpoint", "absolute"}},
		{name: "endpoint with fragment", edit: func(md *Metadata) { md.JWKSURI = iss + "/jwks#x" }, wantIn: []string{"jwks_uri", "fragment"}},
		{name: "endpoint with user info", edit: func(md *Metadata) { md.TokenEndpoint = "https://u:p@id.example.com/token" }, wantIn: []string{"token_endpoint", "user info"}},
		{name: "javascript scheme", edit: func(md *Metadata) { md.CheckSessionIframe = "javascript:alert(1)" }, wantIn: []string{"check_session_iframe"}},
		{
			name: "mtls alias over http",
			edit: func(md *Metadata) {
				md.MTLSEndpointAliases = map[string]string{"token_endpoint": "http://mtls.example.com/token"}
			},
			wantIn: []string{"mtls_endpoint_aliases.token_endpoint"},
		},
		{
			name:     "every problem is listed",
			edit:     func(md *Metadata) { md.JWKSURI = ""; md.SubjectTypesSupported = nil; md.UserinfoEndpoint = "ftp://x" },
			wantIn:   []string{"jwks_uri is missing", "subject_types_supported is missing", "userinfo_endpoint"},
			problems: 3,
		},
		{name: "documentation URLs are not checked", edit: func(md *Metadata) { md.OPTOSURI = "http://example.com/tos" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			md := testMetadata(iss)
			tc.edit(md)
			issuer := tc.issuer
			if issuer == "" {
				issuer = iss
			}
			err := md.Validate(issuer, tc.allowHTTP)
			if tc.wantIn == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate accepted invalid metadata")
			}
			if !errors.Is(err, ErrInvalidMetadata) {
				t.Errorf("error %v does not match ErrInvalidMetadata", err)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) == 0 {
				t.Fatalf("error %v is not a *ValidationError with problems", err)
			}
			if tc.problems != 0 && len(ve.Problems) != tc.problems {
				t.Errorf("%d problems reported, want %d: %v", len(ve.Problems), tc.problems, err)
			}
			if got := errors.Is(err, ErrIssuerMismatch); got != tc.mismatch {
				t.Errorf("errors.Is(err, ErrIssuerMismatch) = %v, want %v (%v)", got, tc.mismatch, err)
			}
			for _, s := range tc.wantIn {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
			if !strings.HasPrefix(err.Error(), "discovery: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}
