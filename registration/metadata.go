package registration

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/oidcrp/oidcrp/internal/httpx"
	"github.com/oidcrp/oidcrp/internal/jsonx"
)

// Metadata is the client metadata an application registers (RFC 7591 §2):
// every member of RFC 7591 §2, of OpenID Connect Dynamic Client
// Registration 1.0 §2, of the logout specifications, a few members
// registered by later RFCs (PAR, DPoP, mTLS, JAR), and Ory's extensions.
//
// Members this type does not know are kept in Extra and written back by
// [Metadata.MarshalJSON], so metadata survives a decode/encode round trip.
// Members that only a provider's answer carries (client_id, client_secret,
// registration_access_token, …; RFC 7591 §3.2.1, RFC 7592 §3) are never
// part of Metadata: see [Credentials]. They are dropped from Extra when
// encoding, so a client secret is never sent back to a provider.
//
// Empty values are omitted when encoding; for booleans this means false,
// which every specification defines as the default. The one member whose
// zero value is meaningful, default_max_age, is a pointer.
type Metadata struct {
	// RedirectURIs lists the redirection URIs (RFC 7591 §2; OAuth 2.0
	// RFC 6749 §3.1.2). Compared exactly by the provider.
	RedirectURIs []string `json:"redirect_uris,omitempty"`
	// TokenEndpointAuthMethod is how the client authenticates at the token
	// endpoint: client_secret_basic (the default when absent),
	// client_secret_post, none, private_key_jwt, client_secret_jwt …
	TokenEndpointAuthMethod string `json:"token_endpoint_auth_method,omitempty"`
	// GrantTypes lists the grant types the client uses (authorization_code
	// when absent).
	GrantTypes []string `json:"grant_types,omitempty"`
	// ResponseTypes lists the response types the client uses (code when
	// absent).
	ResponseTypes []string `json:"response_types,omitempty"`
	// ClientName is the name shown to users. Localised variants
	// ("client_name#de") land in Extra.
	ClientName string `json:"client_name,omitempty"`
	// ClientURI is the client's home page.
	ClientURI string `json:"client_uri,omitempty"`
	// LogoURI is the client's logo.
	LogoURI string `json:"logo_uri,omitempty"`
	// Scope is the space-separated list of scopes the client may ask for.
	Scope string `json:"scope,omitempty"`
	// Contacts lists people responsible for the client (e-mail addresses).
	Contacts []string `json:"contacts,omitempty"`
	// TOSURI is the client's terms of service.
	TOSURI string `json:"tos_uri,omitempty"`
	// PolicyURI is the client's privacy policy.
	PolicyURI string `json:"policy_uri,omitempty"`
	// JWKSURI is the URL of the client's public JSON Web Key Set.
	JWKSURI string `json:"jwks_uri,omitempty"`
	// JWKS is the client's public JSON Web Key Set, by value.
	JWKS json.RawMessage `json:"jwks,omitempty"`
	// SoftwareID identifies the client software across instances.
	SoftwareID string `json:"software_id,omitempty"`
	// SoftwareVersion is the version of the client software.
	SoftwareVersion string `json:"software_version,omitempty"`
	// SoftwareStatement is a signed JWT asserting metadata values about the
	// client software (RFC 7591 §2.3, §3.1.1).
	SoftwareStatement string `json:"software_statement,omitempty"`

	// ApplicationType is "web" (the default) or "native" (OpenID Connect
	// Dynamic Client Registration 1.0 §2).
	ApplicationType string `json:"application_type,omitempty"`
	// SectorIdentifierURI points at a JSON list of redirect URIs that
	// share a pairwise subject (Registration §2, §5).
	SectorIdentifierURI string `json:"sector_identifier_uri,omitempty"`
	// SubjectType is "public" or "pairwise".
	SubjectType string `json:"subject_type,omitempty"`
	// IDTokenSignedResponseAlg is the JWS algorithm of ID tokens (RS256
	// when absent). "none" is refused in a provider's answer unless asked
	// for.
	IDTokenSignedResponseAlg string `json:"id_token_signed_response_alg,omitempty"`
	// IDTokenEncryptedResponseAlg is the JWE "alg" of ID tokens.
	IDTokenEncryptedResponseAlg string `json:"id_token_encrypted_response_alg,omitempty"`
	// IDTokenEncryptedResponseEnc is the JWE "enc" of ID tokens.
	IDTokenEncryptedResponseEnc string `json:"id_token_encrypted_response_enc,omitempty"`
	// UserinfoSignedResponseAlg is the JWS algorithm of UserInfo
	// responses; absent means plain JSON (Ory Hydra answers "none").
	UserinfoSignedResponseAlg string `json:"userinfo_signed_response_alg,omitempty"`
	// UserinfoEncryptedResponseAlg is the JWE "alg" of UserInfo responses.
	UserinfoEncryptedResponseAlg string `json:"userinfo_encrypted_response_alg,omitempty"`
	// UserinfoEncryptedResponseEnc is the JWE "enc" of UserInfo responses.
	UserinfoEncryptedResponseEnc string `json:"userinfo_encrypted_response_enc,omitempty"`
	// RequestObjectSigningAlg is the JWS algorithm of request objects.
	RequestObjectSigningAlg string `json:"request_object_signing_alg,omitempty"`
	// RequestObjectEncryptionAlg is the JWE "alg" of request objects.
	RequestObjectEncryptionAlg string `json:"request_object_encryption_alg,omitempty"`
	// RequestObjectEncryptionEnc is the JWE "enc" of request objects.
	RequestObjectEncryptionEnc string `json:"request_object_encryption_enc,omitempty"`
	// TokenEndpointAuthSigningAlg is the JWS algorithm for private_key_jwt
	// and client_secret_jwt.
	TokenEndpointAuthSigningAlg string `json:"token_endpoint_auth_signing_alg,omitempty"`
	// DefaultMaxAge is the default max_age in seconds; nil means absent.
	DefaultMaxAge *int64 `json:"default_max_age,omitempty"`
	// RequireAuthTime asks for the auth_time claim in every ID token.
	RequireAuthTime bool `json:"require_auth_time,omitempty"`
	// DefaultACRValues lists the default acr values, in order of preference.
	DefaultACRValues []string `json:"default_acr_values,omitempty"`
	// InitiateLoginURI is where a third party can start a login at the
	// client (Registration §2, Core §4).
	InitiateLoginURI string `json:"initiate_login_uri,omitempty"`
	// RequestURIs lists pre-registered request_uri values.
	RequestURIs []string `json:"request_uris,omitempty"`

	// PostLogoutRedirectURIs lists where the provider may send the browser
	// after RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0
	// §3.1). Ory Hydra requires each to share scheme, host and port with
	// one of RedirectURIs.
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris,omitempty"`
	// FrontchannelLogoutURI is the client's front-channel logout URL
	// (OpenID Connect Front-Channel Logout 1.0 §2).
	FrontchannelLogoutURI string `json:"frontchannel_logout_uri,omitempty"`
	// FrontchannelLogoutSessionRequired asks for iss and sid on the
	// front-channel logout URL.
	FrontchannelLogoutSessionRequired bool `json:"frontchannel_logout_session_required,omitempty"`
	// BackchannelLogoutURI is the client's back-channel logout URL
	// (OpenID Connect Back-Channel Logout 1.0 §2.2).
	BackchannelLogoutURI string `json:"backchannel_logout_uri,omitempty"`
	// BackchannelLogoutSessionRequired asks for sid in logout tokens.
	BackchannelLogoutSessionRequired bool `json:"backchannel_logout_session_required,omitempty"`

	// RequirePushedAuthorizationRequests makes the provider accept only
	// pushed authorization requests from the client (RFC 9126 §6).
	RequirePushedAuthorizationRequests bool `json:"require_pushed_authorization_requests,omitempty"`
	// RequireSignedRequestObject makes the provider accept only signed
	// request objects from the client (RFC 9101 §10.5).
	RequireSignedRequestObject bool `json:"require_signed_request_object,omitempty"`
	// DPoPBoundAccessTokens asks for DPoP-bound access tokens only
	// (RFC 9449 §5.2).
	DPoPBoundAccessTokens bool `json:"dpop_bound_access_tokens,omitempty"`
	// TLSClientCertificateBoundAccessTokens asks for certificate-bound
	// access tokens (RFC 8705 §3.4).
	TLSClientCertificateBoundAccessTokens bool `json:"tls_client_certificate_bound_access_tokens,omitempty"`

	// SkipConsent (Ory) skips the consent screen; Ory accepts it from the
	// admin API only and refuses it in dynamic registration.
	SkipConsent bool `json:"skip_consent,omitempty"`
	// SkipLogoutConsent (Ory) skips the logout consent screen; admin API
	// only. Nil means absent.
	SkipLogoutConsent *bool `json:"skip_logout_consent,omitempty"`
	// Owner (Ory) names the owner of the client.
	Owner string `json:"owner,omitempty"`
	// Audience (Ory) lists the audiences the client may request for access
	// tokens.
	Audience []string `json:"audience,omitempty"`
	// AllowedCORSOrigins (Ory) lists origins allowed to call the provider's
	// public endpoints from browsers on the client's behalf.
	AllowedCORSOrigins []string `json:"allowed_cors_origins,omitempty"`
	// CustomMetadata (Ory's "metadata") is free-form JSON. Ory refuses it
	// in dynamic registration and leaves it out of reads.
	CustomMetadata json.RawMessage `json:"metadata,omitempty"`
	// AccessTokenStrategy (Ory) is "opaque" or "jwt"; Ory refuses it in
	// dynamic registration.
	AccessTokenStrategy string `json:"access_token_strategy,omitempty"`

	// AuthorizationCodeGrantAccessTokenLifespan (Ory) is the access-token
	// lifetime of the authorization code grant.
	AuthorizationCodeGrantAccessTokenLifespan Duration `json:"authorization_code_grant_access_token_lifespan,omitempty"`
	// AuthorizationCodeGrantIDTokenLifespan (Ory) is the ID-token lifetime
	// of the authorization code grant.
	AuthorizationCodeGrantIDTokenLifespan Duration `json:"authorization_code_grant_id_token_lifespan,omitempty"`
	// AuthorizationCodeGrantRefreshTokenLifespan (Ory) is the
	// refresh-token lifetime of the authorization code grant.
	AuthorizationCodeGrantRefreshTokenLifespan Duration `json:"authorization_code_grant_refresh_token_lifespan,omitempty"`
	// ClientCredentialsGrantAccessTokenLifespan (Ory) is the access-token
	// lifetime of the client credentials grant.
	ClientCredentialsGrantAccessTokenLifespan Duration `json:"client_credentials_grant_access_token_lifespan,omitempty"`
	// ImplicitGrantAccessTokenLifespan (Ory) is the access-token lifetime of
	// the implicit grant.
	ImplicitGrantAccessTokenLifespan Duration `json:"implicit_grant_access_token_lifespan,omitempty"`
	// ImplicitGrantIDTokenLifespan (Ory) is the ID-token lifetime of the
	// implicit grant.
	ImplicitGrantIDTokenLifespan Duration `json:"implicit_grant_id_token_lifespan,omitempty"`
	// JWTBearerGrantAccessTokenLifespan (Ory) is the access-token lifetime
	// of the JWT bearer grant (RFC 7523).
	JWTBearerGrantAccessTokenLifespan Duration `json:"jwt_bearer_grant_access_token_lifespan,omitempty"`
	// RefreshTokenGrantIDTokenLifespan (Ory) is the ID-token lifetime of
	// the refresh token grant.
	RefreshTokenGrantIDTokenLifespan Duration `json:"refresh_token_grant_id_token_lifespan,omitempty"`
	// RefreshTokenGrantAccessTokenLifespan (Ory) is the access-token
	// lifetime of the refresh token grant.
	RefreshTokenGrantAccessTokenLifespan Duration `json:"refresh_token_grant_access_token_lifespan,omitempty"`
	// RefreshTokenGrantRefreshTokenLifespan (Ory) is the refresh-token
	// lifetime of the refresh token grant.
	RefreshTokenGrantRefreshTokenLifespan Duration `json:"refresh_token_grant_refresh_token_lifespan,omitempty"`

	// Extra holds the members this type does not know, keyed by member
	// name, as raw JSON.
	Extra map[string]json.RawMessage `json:"-"`
}

// Duration is a lifetime written in JSON as a Go duration string such as
// "1h30m0s", the form Ory uses for its per-grant token lifespans. Zero
// means absent; JSON null decodes as zero.
type Duration time.Duration

// MarshalJSON writes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a duration string; null leaves d unchanged.
func (d *Duration) UnmarshalJSON(data []byte) error {
	if isNull(data) {
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("registration: duration must be a string such as \"1h\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("registration: duration: %w", err)
	}
	if v < 0 {
		return fmt.Errorf("registration: duration %q is negative", s)
	}
	*d = Duration(v)
	return nil
}

// responseMembers are the members only a provider's answer carries (RFC
// 7591 §3.2.1, RFC 7592 §3). They never become part of Metadata.
var responseMembers = map[string]struct{}{
	"client_id":                 {},
	"client_secret":             {},
	"client_id_issued_at":       {},
	"client_secret_expires_at":  {},
	"registration_access_token": {},
	"registration_client_uri":   {},
}

// CheckURIs checks the URIs a relying party registers — redirect_uris,
// post_logout_redirect_uris, frontchannel_logout_uri and
// backchannel_logout_uri: each must be an absolute URL without user info
// or fragment, using https, or http to a loopback host. allowHTTP accepts
// http for every host and MUST NOT be used in production. The error joins
// every problem found.
//
// It does not check Ory Hydra's rule that each post-logout redirect URI
// share scheme, host and port with a redirect URI; Hydra answers
// invalid_client_metadata.
func (m *Metadata) CheckURIs(allowHTTP bool) error {
	var problems []error
	check := func(name, v string) {
		if v == "" {
			return
		}
		if _, err := httpx.CheckURL(name, v, allowHTTP); err != nil {
			problems = append(problems, err)
		}
	}
	for _, u := range m.RedirectURIs {
		check("redirect_uri", u)
	}
	for _, u := range m.PostLogoutRedirectURIs {
		check("post_logout_redirect_uri", u)
	}
	check("frontchannel_logout_uri", m.FrontchannelLogoutURI)
	check("backchannel_logout_uri", m.BackchannelLogoutURI)
	return errors.Join(problems...)
}

// metadataJSON has the fields but not the methods of Metadata, so
// encoding/json can handle it without recursing.
type metadataJSON Metadata

// UnmarshalJSON decodes client metadata, replacing every field of m.
// Member names match exactly; every other member lands in Extra, except
// the response-only members (client_id, client_secret, …), which are
// dropped.
func (m *Metadata) UnmarshalJSON(data []byte) error {
	if isNull(data) {
		return nil
	}
	var v metadataJSON
	extra, err := jsonx.DecodeWithExtra(data, &v, jsonx.Names[metadataJSON]())
	if err != nil {
		return fmt.Errorf("registration: decode client metadata: %w", err)
	}
	for name := range responseMembers {
		delete(extra, name)
	}
	if len(extra) == 0 {
		extra = nil
	}
	v.Extra = extra
	*m = Metadata(v)
	return nil
}

// MarshalJSON encodes the metadata with the members in Extra added. A
// member of Extra whose name belongs to a field, or that only a provider's
// answer may carry (client_secret, registration_access_token, …), is left
// out.
func (m Metadata) MarshalJSON() ([]byte, error) {
	return jsonx.EncodeWithExtra(metadataJSON(m), m.Extra, jsonx.Names[metadataJSON](), func(name string) bool {
		_, ok := responseMembers[name]
		return ok
	})
}

// Clone returns a deep copy of m.
func (m *Metadata) Clone() *Metadata {
	if m == nil {
		return nil
	}
	c := *m
	deepCopyFields(reflect.ValueOf(&c).Elem())
	return &c
}

// deepCopyFields replaces every slice, map and pointer field of the struct
// v with a copy, so the struct shares no memory with the original.
func deepCopyFields(v reflect.Value) {
	for i := range v.NumField() {
		f := v.Field(i)
		if !f.CanSet() {
			continue
		}
		switch f.Kind() {
		case reflect.Slice, reflect.Map, reflect.Pointer:
			if f.IsNil() {
				continue
			}
		}
		switch f.Kind() {
		case reflect.Slice:
			f.Set(cloneSlice(f))
		case reflect.Map:
			m := reflect.MakeMapWithSize(f.Type(), f.Len())
			for it := f.MapRange(); it.Next(); {
				val := it.Value()
				if val.Kind() == reflect.Slice && !val.IsNil() {
					val = cloneSlice(val)
				}
				m.SetMapIndex(it.Key(), val)
			}
			f.Set(m)
		case reflect.Pointer:
			p := reflect.New(f.Type().Elem())
			p.Elem().Set(f.Elem())
			if p.Elem().Kind() == reflect.Struct {
				deepCopyFields(p.Elem())
			}
			f.Set(p)
		}
	}
}

func cloneSlice(s reflect.Value) reflect.Value {
	c := reflect.MakeSlice(s.Type(), s.Len(), s.Len())
	reflect.Copy(c, s)
	if s.Type().Elem().Kind() == reflect.Struct {
		for i := range c.Len() {
			deepCopyFields(c.Index(i))
		}
	}
	return c
}

// isNull reports whether data is the JSON literal null.
func isNull(data []byte) bool { return string(bytes.TrimSpace(data)) == "null" }

// members returns the JSON members m encodes, by name.
func (m *Metadata) members() (map[string]json.RawMessage, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		return nil, err
	}
	return obj, nil
}
