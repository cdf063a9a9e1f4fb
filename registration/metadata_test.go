package registration

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/internal/jsonx"
)

// hydraAnswer is a register answer of Ory Hydra v2.3.0, shortened.
const hydraAnswer = `{
 "client_id": "3f1c7a0e-0000-4000-8000-000000000001",
 "client_name": "example RP",
 "client_secret": "26-char-secret-0123456789a",
 "redirect_uris": ["http://127.0.0.1:8080/callback"],
 "grant_types": ["authorization_code", "refresh_token"],
 "response_types": ["code"],
 "scope": "openid offline_access email profile",
 "audience": [],
 "owner": "",
 "policy_uri": "",
 "allowed_cors_origins": [],
 "tos_uri": "",
 "client_uri": "",
 "logo_uri": "",
 "contacts": null,
 "client_secret_expires_at": 0,
 "subject_type": "public",
 "jwks": {},
 "token_endpoint_auth_method": "client_secret_basic",
 "userinfo_signed_response_alg": "none",
 "created_at": "2026-01-01T00:00:00Z",
 "updated_at": "2026-01-01T00:00:00Z",
 "post_logout_redirect_uris": ["http://127.0.0.1:8080/logout/done"],
 "backchannel_logout_uri": "http://127.0.0.1:8080/backchannel",
 "backchannel_logout_session_required": true,
 "metadata": {},
 "registration_access_token": "ory_at_abc",
 "registration_client_uri": "http://127.0.0.1:4444/oauth2/register/3f1c7a0e-0000-4000-8000-000000000001",
 "skip_consent": false,
 "skip_logout_consent": null,
 "authorization_code_grant_access_token_lifespan": "1h30m0s",
 "authorization_code_grant_id_token_lifespan": null,
 "refresh_token_grant_refresh_token_lifespan": "720h0m0s",
 "client_name#de": "Beispiel",
 "x_custom": {"a": [1, 2]}
}`

func TestMetadataDecodesHydraAnswer(t *testing.T) {
	var md Metadata
	if err := json.Unmarshal([]byte(hydraAnswer), &md); err != nil {
		t.Fatal(err)
	}
	if md.ClientName != "example RP" || !md.BackchannelLogoutSessionRequired || md.UserinfoSignedResponseAlg != "none" {
		t.Errorf("decoded %+v", md)
	}
	if md.AuthorizationCodeGrantAccessTokenLifespan != Duration(90*time.Minute) ||
		md.RefreshTokenGrantRefreshTokenLifespan != Duration(720*time.Hour) ||
		md.AuthorizationCodeGrantIDTokenLifespan != 0 {
		t.Errorf("lifespans %v %v %v", md.AuthorizationCodeGrantAccessTokenLifespan,
			md.RefreshTokenGrantRefreshTokenLifespan, md.AuthorizationCodeGrantIDTokenLifespan)
	}
	for _, name := range []string{"client_id", "client_secret", "registration_access_token", "registration_client_uri", "client_secret_expires_at"} {
		if _, ok := md.Extra[name]; ok {
			t.Errorf("response member %s kept in Extra", name)
		}
	}
	for _, name := range []string{"client_name#de", "x_custom", "created_at"} {
		if _, ok := md.Extra[name]; !ok {
			t.Errorf("unknown member %s lost", name)
		}
	}

	out, err := json.Marshal(md)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]json.RawMessage
	json.Unmarshal(out, &back)
	if string(back["x_custom"]) != `{"a":[1,2]}` || string(back["client_name#de"]) != `"Beispiel"` {
		t.Errorf("unknown members not written back: %s", out)
	}
	if string(back["authorization_code_grant_access_token_lifespan"]) != `"1h30m0s"` {
		t.Errorf("lifespan encoded as %s", back["authorization_code_grant_access_token_lifespan"])
	}
	if strings.Contains(string(out), "26-char-secret") || strings.Contains(string(out), "ory_at_abc") {
		t.Errorf("a secret survived the round trip: %s", out)
	}
	var again Metadata
	if err := json.Unmarshal(out, &again); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(normalizeAll(t, &md), normalizeAll(t, &again)) {
		t.Errorf("round trip changed the metadata:\n%s", out)
	}
}

func normalizeAll(t *testing.T, m *Metadata) map[string]any {
	t.Helper()
	members, err := m.members()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	for k, v := range members {
		out[k] = normalize(k, v)
	}
	return out
}

func TestMetadataEncodesEveryField(t *testing.T) {
	// Every field has a json tag, and a set field is encoded under it.
	names := jsonx.Names[metadataJSON]()
	typ := reflect.TypeFor[Metadata]()
	if len(names) != typ.NumField()-1 { // Extra has json:"-"
		t.Fatalf("%d JSON names for %d fields", len(names), typ.NumField())
	}
	for _, must := range []string{
		"redirect_uris", "token_endpoint_auth_method", "grant_types", "response_types", "client_name", "client_uri",
		"logo_uri", "scope", "contacts", "tos_uri", "policy_uri", "jwks_uri", "jwks", "software_id", "software_version",
		"software_statement", "application_type", "sector_identifier_uri", "subject_type", "id_token_signed_response_alg",
		"id_token_encrypted_response_alg", "id_token_encrypted_response_enc", "userinfo_signed_response_alg",
		"userinfo_encrypted_response_alg", "userinfo_encrypted_response_enc", "request_object_signing_alg",
		"request_object_encryption_alg", "request_object_encryption_enc", "token_endpoint_auth_signing_alg",
		"default_max_age", "require_auth_time", "default_acr_values", "initiate_login_uri", "request_uris",
		"post_logout_redirect_uris", "frontchannel_logout_uri", "frontchannel_logout_session_required",
		"backchannel_logout_uri", "backchannel_logout_session_required", "skip_consent", "owner", "audience",
		"allowed_cors_origins", "metadata", "skip_logout_consent",
	} {
		if _, ok := names[must]; !ok {
			t.Errorf("no field for %s", must)
		}
	}
	zero := int64(0)
	md := Metadata{DefaultMaxAge: &zero}
	b, _ := json.Marshal(md)
	if string(b) != `{"default_max_age":0}` {
		t.Errorf("default_max_age 0 encoded as %s", b)
	}
}

func TestDurationJSON(t *testing.T) {
	tests := []struct {
		in      string
		want    Duration
		wantErr bool
	}{
		{in: `"1h"`, want: Duration(time.Hour)},
		{in: `"90s"`, want: Duration(90 * time.Second)},
		{in: `null`, want: 0},
		{in: `3600`, wantErr: true},
		{in: `"-1h"`, wantErr: true},
		{in: `"soon"`, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			var d Duration
			err := json.Unmarshal([]byte(tc.in), &d)
			if (err != nil) != tc.wantErr || d != tc.want {
				t.Fatalf("Unmarshal(%s) = %v, %v", tc.in, d, err)
			}
		})
	}
}

func TestMetadataClone(t *testing.T) {
	age := int64(60)
	md := wanted()
	md.DefaultMaxAge = &age
	md.Extra = map[string]json.RawMessage{"x": json.RawMessage(`"y"`)}
	md.JWKS = json.RawMessage(`{"keys":[]}`)
	c := md.Clone()
	if !reflect.DeepEqual(md, c) {
		t.Fatal("clone differs")
	}
	c.RedirectURIs[0] = "changed"
	*c.DefaultMaxAge = 1
	c.Extra["x"][1] = 'z'
	c.JWKS[2] = 'K'
	if md.RedirectURIs[0] == "changed" || *md.DefaultMaxAge != 60 || string(md.Extra["x"]) != `"y"` || string(md.JWKS) != `{"keys":[]}` {
		t.Error("clone shares memory with the original")
	}
	creds := &Credentials{ClientID: "a", Requested: md, Retired: []RetiredClient{{ClientID: "old"}}}
	cc := creds.Clone()
	cc.Requested.Scope = "changed"
	cc.Retired[0].ClientID = "changed"
	if creds.Requested.Scope == "changed" || creds.Retired[0].ClientID != "old" {
		t.Error("credentials clone shares memory")
	}
}

func TestDrift(t *testing.T) {
	base := func() *Metadata { return wanted() }
	with := func(f func(*Metadata)) *Metadata { m := base(); f(m); return m }
	// providerView is what a provider answers for base: defaults filled
	// in, lists reordered, "1h" written as "1h0m0s".
	providerView := func(f func(*Metadata)) *Metadata {
		m := base()
		slices.Reverse(m.GrantTypes)
		slices.Reverse(m.RedirectURIs)
		m.UserinfoSignedResponseAlg = "none"
		m.SubjectType = "public"
		m.Scope = "email openid offline_access profile"
		if f != nil {
			f(m)
		}
		return m
	}
	tests := []struct {
		name                             string
		want, requested, registered, cur *Metadata
		drift                            []string
	}{
		{name: "settled", want: base(), requested: base(), registered: providerView(nil), cur: providerView(nil)},
		{name: "want reordered", want: with(func(m *Metadata) { slices.Reverse(m.RedirectURIs) }), requested: base(), registered: providerView(nil), cur: providerView(nil)},
		{name: "response type words reordered", want: with(func(m *Metadata) { m.ResponseTypes = []string{"id_token code"} }),
			requested: with(func(m *Metadata) { m.ResponseTypes = []string{"code id_token"} }), registered: base(), cur: base()},
		{name: "CORS origin with trailing slash", want: with(func(m *Metadata) { m.AllowedCORSOrigins = []string{"https://App.example.com/"} }),
			requested: with(func(m *Metadata) { m.AllowedCORSOrigins = []string{"https://app.example.com"} }), registered: base(), cur: base()},
		{name: "lifespan spelled differently", want: with(func(m *Metadata) { m.AuthorizationCodeGrantAccessTokenLifespan = Duration(time.Hour) }),
			requested: with(func(m *Metadata) { m.AuthorizationCodeGrantAccessTokenLifespan = Duration(time.Hour) }),
			registered: providerView(func(m *Metadata) {
				m.Extra = map[string]json.RawMessage{}
				m.AuthorizationCodeGrantAccessTokenLifespan = Duration(time.Hour)
			}),
			cur: providerView(func(m *Metadata) { m.AuthorizationCodeGrantAccessTokenLifespan = Duration(60 * time.Minute) })},
		{name: "config changed", want: with(func(m *Metadata) { m.ClientName = "new" }), requested: base(), registered: providerView(nil), cur: providerView(nil), drift: []string{"client_name"}},
		{name: "config dropped a member", want: with(func(m *Metadata) { m.BackchannelLogoutURI = "" }), requested: base(), registered: providerView(nil), cur: providerView(nil), drift: []string{"backchannel_logout_uri"}},
		{name: "default_acr_values order matters", want: with(func(m *Metadata) { m.DefaultACRValues = []string{"b", "a"} }),
			requested: with(func(m *Metadata) { m.DefaultACRValues = []string{"a", "b"} }), registered: base(), cur: base(), drift: []string{"default_acr_values"}},
		{name: "changed at the provider", want: base(), requested: base(), registered: providerView(nil),
			cur: providerView(func(m *Metadata) { m.RedirectURIs = append(m.RedirectURIs, "https://attacker.example/") }), drift: []string{"redirect_uris"}},
		{name: "cleared at the provider", want: base(), requested: base(), registered: providerView(nil),
			cur: providerView(func(m *Metadata) { m.BackchannelLogoutURI = "" }), drift: []string{"backchannel_logout_uri"}},
		{name: "provider default changed: not ours", want: base(), requested: base(), registered: providerView(nil),
			cur: providerView(func(m *Metadata) { m.UserinfoSignedResponseAlg = "RS256" })},
		{name: "member the provider never keeps", want: with(func(m *Metadata) { m.DefaultMaxAge = new(int64) }),
			requested: with(func(m *Metadata) { m.DefaultMaxAge = new(int64) }), registered: providerView(nil), cur: providerView(nil)},
		{name: "no registered answer: compared with want", want: base(), requested: base(),
			cur: providerView(func(m *Metadata) { m.Scope = "openid" }), drift: []string{"scope"}},
		{name: "unknown members by value", want: with(func(m *Metadata) { m.Extra = map[string]json.RawMessage{"x": json.RawMessage(`{"b":1,"a":2}`)} }),
			requested: with(func(m *Metadata) { m.Extra = map[string]json.RawMessage{"x": json.RawMessage(`{"a":2, "b":1}`)} }), registered: base(), cur: base()},
		{name: "nothing requested yet", want: base(), cur: providerView(nil), drift: memberNames(t, base())},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Drift(tc.want, tc.requested, tc.registered, tc.cur)
			if !slices.Equal(got, tc.drift) {
				t.Fatalf("Drift = %v, want %v", got, tc.drift)
			}
		})
	}
}

func memberNames(t *testing.T, m *Metadata) []string {
	members, err := m.members()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for k := range members {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

func TestSanitize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"  spaced \t out  ", "spaced out"},
		{"new\nline\r\n", "new line"},
		{"\x1b[2Jclear", "[2Jclear"},
		{"rtl\u202eoverride", "rtl override"},
		{"bad\xffutf8", "bad utf8"},
		{"abcdef", "abc…"},
	}
	for _, tc := range tests {
		max := 100
		if tc.in == "abcdef" {
			max = 3
		}
		if got := sanitize(tc.in, max); got != tc.want {
			t.Errorf("sanitize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
