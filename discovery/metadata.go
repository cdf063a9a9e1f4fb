package discovery

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/oidcrp/oidcrp/internal/httpx"
	"github.com/oidcrp/oidcrp/internal/jsonx"
)

// Metadata is an OpenID provider's (or OAuth 2.0 authorization server's)
// metadata document: every member of OpenID Connect Discovery 1.0 §3 and
// RFC 8414 §2, plus the members registered by the specifications an RP
// meets in practice (logout, PAR, mTLS, device flow, CIBA, DPoP, JARM) and
// Ory's verifiable-credential extension.
//
// Members this type does not know are kept in Extra and written back by
// [Metadata.MarshalJSON], so a document survives a decode/encode round
// trip. Boolean members whose value is false are omitted when encoding,
// which every specification defines as meaning false; the one boolean whose
// default is true, request_uri_parameter_supported, is a pointer so that
// absence survives.
//
// Values returned by [Provider.Metadata] and [Provider.Current] are shared
// by every caller and MUST be treated as read-only.
type Metadata struct {
	// Issuer is the provider's issuer identifier (Discovery §3, §4.3).
	Issuer string `json:"issuer"`
	// AuthorizationEndpoint is the OAuth 2.0 authorization endpoint.
	AuthorizationEndpoint string `json:"authorization_endpoint,omitempty"`
	// TokenEndpoint is the OAuth 2.0 token endpoint.
	TokenEndpoint string `json:"token_endpoint,omitempty"`
	// UserinfoEndpoint is the OpenID Connect UserInfo endpoint.
	UserinfoEndpoint string `json:"userinfo_endpoint,omitempty"`
	// JWKSURI is the URL of the provider's JSON Web Key Set.
	JWKSURI string `json:"jwks_uri,omitempty"`
	// RegistrationEndpoint is the dynamic client registration endpoint
	// (OpenID Connect Dynamic Client Registration 1.0, RFC 7591).
	RegistrationEndpoint string `json:"registration_endpoint,omitempty"`
	// ScopesSupported lists the supported scope values.
	ScopesSupported []string `json:"scopes_supported,omitempty"`
	// ResponseTypesSupported lists the supported response_type values.
	ResponseTypesSupported []string `json:"response_types_supported,omitempty"`
	// ResponseModesSupported lists the supported response_mode values.
	ResponseModesSupported []string `json:"response_modes_supported,omitempty"`
	// GrantTypesSupported lists the supported grant types.
	GrantTypesSupported []string `json:"grant_types_supported,omitempty"`
	// ACRValuesSupported lists the supported Authentication Context Class References.
	ACRValuesSupported []string `json:"acr_values_supported,omitempty"`
	// SubjectTypesSupported lists the supported subject identifier types
	// ("public", "pairwise").
	SubjectTypesSupported []string `json:"subject_types_supported,omitempty"`
	// IDTokenSigningAlgValuesSupported lists the JWS algorithms for ID tokens.
	IDTokenSigningAlgValuesSupported []string `json:"id_token_signing_alg_values_supported,omitempty"`
	// IDTokenEncryptionAlgValuesSupported lists the JWE "alg" values for ID tokens.
	IDTokenEncryptionAlgValuesSupported []string `json:"id_token_encryption_alg_values_supported,omitempty"`
	// IDTokenEncryptionEncValuesSupported lists the JWE "enc" values for ID tokens.
	IDTokenEncryptionEncValuesSupported []string `json:"id_token_encryption_enc_values_supported,omitempty"`
	// UserinfoSigningAlgValuesSupported lists the JWS algorithms for UserInfo responses.
	UserinfoSigningAlgValuesSupported []string `json:"userinfo_signing_alg_values_supported,omitempty"`
	// UserinfoEncryptionAlgValuesSupported lists the JWE "alg" values for UserInfo responses.
	UserinfoEncryptionAlgValuesSupported []string `json:"userinfo_encryption_alg_values_supported,omitempty"`
	// UserinfoEncryptionEncValuesSupported lists the JWE "enc" values for UserInfo responses.
	UserinfoEncryptionEncValuesSupported []string `json:"userinfo_encryption_enc_values_supported,omitempty"`
	// RequestObjectSigningAlgValuesSupported lists the JWS algorithms for request objects.
	RequestObjectSigningAlgValuesSupported []string `json:"request_object_signing_alg_values_supported,omitempty"`
	// RequestObjectEncryptionAlgValuesSupported lists the JWE "alg" values for request objects.
	RequestObjectEncryptionAlgValuesSupported []string `json:"request_object_encryption_alg_values_supported,omitempty"`
	// RequestObjectEncryptionEncValuesSupported lists the JWE "enc" values for request objects.
	RequestObjectEncryptionEncValuesSupported []string `json:"request_object_encryption_enc_values_supported,omitempty"`
	// TokenEndpointAuthMethodsSupported lists the client authentication
	// methods of the token endpoint (client_secret_basic when absent).
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported,omitempty"`
	// TokenEndpointAuthSigningAlgValuesSupported lists the JWS algorithms for
	// private_key_jwt and client_secret_jwt at the token endpoint.
	TokenEndpointAuthSigningAlgValuesSupported []string `json:"token_endpoint_auth_signing_alg_values_supported,omitempty"`
	// DisplayValuesSupported lists the supported "display" values.
	DisplayValuesSupported []string `json:"display_values_supported,omitempty"`
	// ClaimTypesSupported lists the supported claim types (normal, aggregated, distributed).
	ClaimTypesSupported []string `json:"claim_types_supported,omitempty"`
	// ClaimsSupported lists the claim names the provider may supply.
	ClaimsSupported []string `json:"claims_supported,omitempty"`
	// ServiceDocumentation is a human-readable page about the provider.
	ServiceDocumentation string `json:"service_documentation,omitempty"`
	// ClaimsLocalesSupported lists the BCP 47 languages of returned claims.
	ClaimsLocalesSupported []string `json:"claims_locales_supported,omitempty"`
	// UILocalesSupported lists the BCP 47 languages of the user interface.
	UILocalesSupported []string `json:"ui_locales_supported,omitempty"`
	// ClaimsParameterSupported reports support of the "claims" request parameter.
	ClaimsParameterSupported bool `json:"claims_parameter_supported,omitempty"`
	// RequestParameterSupported reports support of the "request" parameter.
	RequestParameterSupported bool `json:"request_parameter_supported,omitempty"`
	// RequestURIParameterSupported reports support of the "request_uri"
	// parameter; nil means absent, which Discovery §3 defines as true (see
	// [Metadata.SupportsRequestURIParameter]).
	RequestURIParameterSupported *bool `json:"request_uri_parameter_supported,omitempty"`
	// RequireRequestURIRegistration reports that request_uri values must be
	// pre-registered.
	RequireRequestURIRegistration bool `json:"require_request_uri_registration,omitempty"`
	// OPPolicyURI is the provider's policy page for relying parties.
	OPPolicyURI string `json:"op_policy_uri,omitempty"`
	// OPTOSURI is the provider's terms of service page.
	OPTOSURI string `json:"op_tos_uri,omitempty"`

	// RevocationEndpoint is the token revocation endpoint (RFC 7009, RFC 8414 §2).
	RevocationEndpoint string `json:"revocation_endpoint,omitempty"`
	// RevocationEndpointAuthMethodsSupported lists client authentication
	// methods of the revocation endpoint.
	RevocationEndpointAuthMethodsSupported []string `json:"revocation_endpoint_auth_methods_supported,omitempty"`
	// RevocationEndpointAuthSigningAlgValuesSupported lists JWS algorithms
	// for JWT client authentication at the revocation endpoint.
	RevocationEndpointAuthSigningAlgValuesSupported []string `json:"revocation_endpoint_auth_signing_alg_values_supported,omitempty"`
	// IntrospectionEndpoint is the token introspection endpoint (RFC 7662, RFC 8414 §2).
	IntrospectionEndpoint string `json:"introspection_endpoint,omitempty"`
	// IntrospectionEndpointAuthMethodsSupported lists client authentication
	// methods of the introspection endpoint.
	IntrospectionEndpointAuthMethodsSupported []string `json:"introspection_endpoint_auth_methods_supported,omitempty"`
	// IntrospectionEndpointAuthSigningAlgValuesSupported lists JWS
	// algorithms for JWT client authentication at the introspection endpoint.
	IntrospectionEndpointAuthSigningAlgValuesSupported []string `json:"introspection_endpoint_auth_signing_alg_values_supported,omitempty"`
	// CodeChallengeMethodsSupported lists the PKCE methods (RFC 7636, RFC 8414 §2).
	CodeChallengeMethodsSupported []string `json:"code_challenge_methods_supported,omitempty"`
	// SignedMetadata is a JWT carrying metadata values (RFC 8414 §2.1). It
	// is kept as received and not verified by this package.
	SignedMetadata string `json:"signed_metadata,omitempty"`
	// DeviceAuthorizationEndpoint is the device authorization endpoint (RFC 8628 §4).
	DeviceAuthorizationEndpoint string `json:"device_authorization_endpoint,omitempty"`
	// TLSClientCertificateBoundAccessTokens reports support of
	// certificate-bound access tokens (RFC 8705 §3.3).
	TLSClientCertificateBoundAccessTokens bool `json:"tls_client_certificate_bound_access_tokens,omitempty"`
	// MTLSEndpointAliases maps endpoint metadata names to the URLs to use
	// with mutual TLS (RFC 8705 §5).
	MTLSEndpointAliases map[string]string `json:"mtls_endpoint_aliases,omitempty"`
	// PushedAuthorizationRequestEndpoint is the PAR endpoint (RFC 9126 §5).
	PushedAuthorizationRequestEndpoint string `json:"pushed_authorization_request_endpoint,omitempty"`
	// RequirePushedAuthorizationRequests reports that authorization
	// requests must be pushed (RFC 9126 §5).
	RequirePushedAuthorizationRequests bool `json:"require_pushed_authorization_requests,omitempty"`
	// RequireSignedRequestObject reports that authorization requests must
	// use a signed request object (RFC 9101 §10.5).
	RequireSignedRequestObject bool `json:"require_signed_request_object,omitempty"`
	// AuthorizationResponseIssParameterSupported reports that authorization
	// responses carry the "iss" parameter (RFC 9207 §3).
	AuthorizationResponseIssParameterSupported bool `json:"authorization_response_iss_parameter_supported,omitempty"`
	// DPoPSigningAlgValuesSupported lists the JWS algorithms for DPoP
	// proofs (RFC 9449 §5.1).
	DPoPSigningAlgValuesSupported []string `json:"dpop_signing_alg_values_supported,omitempty"`
	// AuthorizationDetailsTypesSupported lists the supported
	// authorization_details types (RFC 9396 §10).
	AuthorizationDetailsTypesSupported []string `json:"authorization_details_types_supported,omitempty"`
	// AuthorizationSigningAlgValuesSupported lists the JWS algorithms for
	// JWT-secured authorization responses (JARM §4).
	AuthorizationSigningAlgValuesSupported []string `json:"authorization_signing_alg_values_supported,omitempty"`
	// AuthorizationEncryptionAlgValuesSupported lists the JWE "alg" values
	// for JWT-secured authorization responses (JARM §4).
	AuthorizationEncryptionAlgValuesSupported []string `json:"authorization_encryption_alg_values_supported,omitempty"`
	// AuthorizationEncryptionEncValuesSupported lists the JWE "enc" values
	// for JWT-secured authorization responses (JARM §4).
	AuthorizationEncryptionEncValuesSupported []string `json:"authorization_encryption_enc_values_supported,omitempty"`
	// PromptValuesSupported lists the supported "prompt" values (Initiating
	// User Registration via OpenID Connect 1.0 §4.1).
	PromptValuesSupported []string `json:"prompt_values_supported,omitempty"`

	// BackchannelAuthenticationEndpoint is the CIBA endpoint (OpenID
	// Connect CIBA Core 1.0 §4).
	BackchannelAuthenticationEndpoint string `json:"backchannel_authentication_endpoint,omitempty"`
	// BackchannelTokenDeliveryModesSupported lists the CIBA token delivery
	// modes (poll, ping, push).
	BackchannelTokenDeliveryModesSupported []string `json:"backchannel_token_delivery_modes_supported,omitempty"`
	// BackchannelAuthenticationRequestSigningAlgValuesSupported lists the
	// JWS algorithms for signed CIBA requests.
	BackchannelAuthenticationRequestSigningAlgValuesSupported []string `json:"backchannel_authentication_request_signing_alg_values_supported,omitempty"`
	// BackchannelUserCodeParameterSupported reports support of the CIBA
	// user_code parameter.
	BackchannelUserCodeParameterSupported bool `json:"backchannel_user_code_parameter_supported,omitempty"`

	// CheckSessionIframe is the session-management iframe URL (OpenID
	// Connect Session Management 1.0 §3.3).
	CheckSessionIframe string `json:"check_session_iframe,omitempty"`
	// EndSessionEndpoint is the RP-initiated logout endpoint (OpenID
	// Connect RP-Initiated Logout 1.0 §2.1).
	EndSessionEndpoint string `json:"end_session_endpoint,omitempty"`
	// FrontchannelLogoutSupported reports front-channel logout support
	// (OpenID Connect Front-Channel Logout 1.0 §3).
	FrontchannelLogoutSupported bool `json:"frontchannel_logout_supported,omitempty"`
	// FrontchannelLogoutSessionSupported reports that front-channel logout
	// requests carry "iss" and "sid".
	FrontchannelLogoutSessionSupported bool `json:"frontchannel_logout_session_supported,omitempty"`
	// BackchannelLogoutSupported reports back-channel logout support
	// (OpenID Connect Back-Channel Logout 1.0 §2.1).
	BackchannelLogoutSupported bool `json:"backchannel_logout_supported,omitempty"`
	// BackchannelLogoutSessionSupported reports that logout tokens carry "sid".
	BackchannelLogoutSessionSupported bool `json:"backchannel_logout_session_supported,omitempty"`

	// CredentialsEndpointDraft00 is Ory's verifiable-credentials endpoint
	// (OpenID for Verifiable Credential Issuance, draft 00).
	CredentialsEndpointDraft00 string `json:"credentials_endpoint_draft_00,omitempty"`
	// CredentialsSupportedDraft00 lists the verifiable credentials Ory issues.
	CredentialsSupportedDraft00 []CredentialSupportedDraft00 `json:"credentials_supported_draft_00,omitempty"`

	// Extra holds the members this type does not know, keyed by member
	// name, as raw JSON.
	Extra map[string]json.RawMessage `json:"-"`
}

// CredentialSupportedDraft00 describes one kind of verifiable credential
// an Ory provider issues (member of credentials_supported_draft_00).
// Unknown members are kept in Extra.
type CredentialSupportedDraft00 struct {
	// Format is the credential format, e.g. "jwt_vc_json".
	Format string `json:"format,omitempty"`
	// Types lists the credential types, e.g. "VerifiableCredential".
	Types []string `json:"types,omitempty"`
	// CryptographicBindingMethodsSupported lists how a credential can be
	// bound to its holder, e.g. "jwk".
	CryptographicBindingMethodsSupported []string `json:"cryptographic_binding_methods_supported,omitempty"`
	// CryptographicSuitesSupported lists the algorithms accepted for the
	// holder's proof.
	CryptographicSuitesSupported []string `json:"cryptographic_suites_supported,omitempty"`
	// Extra holds members this type does not know, as raw JSON.
	Extra map[string]json.RawMessage `json:"-"`
}

// metadataJSON and credentialJSON have the fields but not the methods of
// their types, so encoding/json can handle them without recursing.
type (
	metadataJSON   Metadata
	credentialJSON CredentialSupportedDraft00
)

// UnmarshalJSON decodes a metadata document, replacing every field of m.
// Member names match exactly (encoding/json alone would also accept
// "ISSUER" for "issuer"); every other member lands in Extra.
func (m *Metadata) UnmarshalJSON(data []byte) error {
	if isNull(data) {
		return nil
	}
	var v metadataJSON
	extra, err := jsonx.DecodeWithExtra(data, &v, jsonx.Names[metadataJSON]())
	if err != nil {
		return fmt.Errorf("discovery: decode metadata: %w", err)
	}
	v.Extra = extra
	*m = Metadata(v)
	return nil
}

// MarshalJSON encodes the metadata with the members in Extra added. A
// member of Extra whose name belongs to a field is ignored.
func (m Metadata) MarshalJSON() ([]byte, error) {
	return jsonx.EncodeWithExtra(metadataJSON(m), m.Extra, jsonx.Names[metadataJSON](), nil)
}

// UnmarshalJSON decodes one credentials_supported_draft_00 entry.
func (c *CredentialSupportedDraft00) UnmarshalJSON(data []byte) error {
	if isNull(data) {
		return nil
	}
	var v credentialJSON
	extra, err := jsonx.DecodeWithExtra(data, &v, jsonx.Names[credentialJSON]())
	if err != nil {
		return fmt.Errorf("discovery: decode credentials_supported_draft_00: %w", err)
	}
	v.Extra = extra
	*c = CredentialSupportedDraft00(v)
	return nil
}

// MarshalJSON encodes the entry with the members in Extra added.
func (c CredentialSupportedDraft00) MarshalJSON() ([]byte, error) {
	return jsonx.EncodeWithExtra(credentialJSON(c), c.Extra, jsonx.Names[credentialJSON](), nil)
}

// SupportsRequestURIParameter reports request_uri_parameter_supported,
// which defaults to true when absent (Discovery §3).
func (m *Metadata) SupportsRequestURIParameter() bool {
	return m.RequestURIParameterSupported == nil || *m.RequestURIParameterSupported
}

// isNull reports whether data is the JSON literal null, which decodes as a
// no-op by encoding/json's convention.
func isNull(data []byte) bool { return string(bytes.TrimSpace(data)) == "null" }

// Validate checks m against the configured issuer (OpenID Connect
// Discovery 1.0 §3 and §4.3):
//
//   - issuer equals the given issuer exactly (no normalisation of case or
//     trailing slash) and is an https URL without query or fragment;
//   - authorization_endpoint, jwks_uri, response_types_supported,
//     subject_types_supported and id_token_signing_alg_values_supported are
//     present, and token_endpoint too unless only the implicit flow is
//     offered (no response type contains "code");
//   - id_token_signing_alg_values_supported names at least one algorithm
//     other than "none" (unsigned ID tokens are never accepted);
//   - every endpoint URL (including mtls_endpoint_aliases) passes
//     [httpx.CheckURL]: https, or http to a loopback host; allowHTTP accepts
//     http for every host and MUST NOT be used in production.
//
// Documentation URLs (service_documentation, op_policy_uri, op_tos_uri)
// are for people and are not checked. The error is a [*ValidationError]
// listing every problem found.
func (m *Metadata) Validate(issuer string, allowHTTP bool) error {
	var problems []error
	if m.Issuer != issuer {
		problems = append(problems, fmt.Errorf("%w: provider says %q, configured issuer is %q", ErrIssuerMismatch, m.Issuer, issuer))
	}
	if u, err := httpx.CheckURL("issuer", m.Issuer, allowHTTP); err != nil {
		problems = append(problems, err)
	} else if u.RawQuery != "" || u.ForceQuery {
		problems = append(problems, fmt.Errorf("issuer %q must not have a query", m.Issuer))
	}

	if m.AuthorizationEndpoint == "" {
		problems = append(problems, errors.New("authorization_endpoint is missing"))
	}
	if m.JWKSURI == "" {
		problems = append(problems, errors.New("jwks_uri is missing"))
	}
	if m.TokenEndpoint == "" && !m.implicitOnly() {
		problems = append(problems, errors.New("token_endpoint is missing"))
	}
	for _, l := range []struct {
		name   string
		values []string
	}{
		{"response_types_supported", m.ResponseTypesSupported},
		{"subject_types_supported", m.SubjectTypesSupported},
		{"id_token_signing_alg_values_supported", m.IDTokenSigningAlgValuesSupported},
	} {
		if len(l.values) == 0 {
			problems = append(problems, fmt.Errorf("%s is missing", l.name))
		}
	}
	if len(m.IDTokenSigningAlgValuesSupported) > 0 &&
		!slices.ContainsFunc(m.IDTokenSigningAlgValuesSupported, func(a string) bool { return a != "none" }) {
		problems = append(problems, errors.New(`id_token_signing_alg_values_supported offers only "none"`))
	}

	for _, e := range m.endpoints() {
		if e.url == "" {
			continue
		}
		if _, err := httpx.CheckURL(e.name, e.url, allowHTTP); err != nil {
			problems = append(problems, err)
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return &ValidationError{Problems: problems}
}

// implicitOnly reports whether no supported response type involves the
// authorization code.
func (m *Metadata) implicitOnly() bool {
	for _, rt := range m.ResponseTypesSupported {
		if slices.Contains(strings.Fields(rt), "code") {
			return false
		}
	}
	return len(m.ResponseTypesSupported) > 0
}

type namedURL struct{ name, url string }

// endpoints lists every endpoint URL of m, with its member name, in a
// stable order.
func (m *Metadata) endpoints() []namedURL {
	list := []namedURL{
		{"authorization_endpoint", m.AuthorizationEndpoint},
		{"token_endpoint", m.TokenEndpoint},
		{"userinfo_endpoint", m.UserinfoEndpoint},
		{"jwks_uri", m.JWKSURI},
		{"registration_endpoint", m.RegistrationEndpoint},
		{"revocation_endpoint", m.RevocationEndpoint},
		{"introspection_endpoint", m.IntrospectionEndpoint},
		{"device_authorization_endpoint", m.DeviceAuthorizationEndpoint},
		{"pushed_authorization_request_endpoint", m.PushedAuthorizationRequestEndpoint},
		{"backchannel_authentication_endpoint", m.BackchannelAuthenticationEndpoint},
		{"check_session_iframe", m.CheckSessionIframe},
		{"end_session_endpoint", m.EndSessionEndpoint},
		{"credentials_endpoint_draft_00", m.CredentialsEndpointDraft00},
	}
	aliases := make([]string, 0, len(m.MTLSEndpointAliases))
	for name := range m.MTLSEndpointAliases {
		aliases = append(aliases, name)
	}
	slices.Sort(aliases)
	for _, name := range aliases {
		list = append(list, namedURL{"mtls_endpoint_aliases." + name, m.MTLSEndpointAliases[name]})
	}
	return list
}
