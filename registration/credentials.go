package registration

import (
	"fmt"
	"log/slog"
	"reflect"
	"time"
)

// Credentials is what a registration yields and what a [CredentialStore]
// persists: the client's identity and secret, the means to manage the
// registration (RFC 7592), and the metadata asked for and answered.
//
// ClientID, ClientSecret and TokenEndpointAuthMethod feed rp.Config
// directly. The secret and the registration access token are left out of
// String, GoString and slog output; encoding/json does include them (that
// is how a store persists them).
type Credentials struct {
	// Issuer is the provider's issuer identifier, when known.
	Issuer string `json:"issuer,omitempty"`
	// RegistrationEndpoint is the endpoint the client was registered at.
	// The registration access token is only ever sent to
	// RegistrationClientURI on this endpoint's origin.
	RegistrationEndpoint string `json:"registration_endpoint"`

	// ClientID is the client identifier (RFC 7591 §3.2.1).
	ClientID string `json:"client_id"`
	// ClientSecret is the client secret; empty for a public client.
	ClientSecret string `json:"client_secret,omitempty"`
	// ClientIDIssuedAt is when the client_id was issued, in seconds since
	// the epoch; 0 when the provider did not say (Ory Hydra does not).
	ClientIDIssuedAt int64 `json:"client_id_issued_at,omitempty"`
	// ClientSecretExpiresAt is when the secret expires, in seconds since
	// the epoch; 0 means never.
	ClientSecretExpiresAt int64 `json:"client_secret_expires_at"`
	// TokenEndpointAuthMethod is the method the provider registered:
	// client_secret_basic (also when the answer did not say),
	// client_secret_post or none.
	TokenEndpointAuthMethod string `json:"token_endpoint_auth_method"`

	// RegistrationAccessToken is the bearer token for RegistrationClientURI
	// (RFC 7592 §3). Ory Hydra rotates it on every update.
	RegistrationAccessToken string `json:"registration_access_token,omitempty"`
	// RegistrationClientURI is the client configuration endpoint the
	// provider returned (RFC 7592 §3).
	RegistrationClientURI string `json:"registration_client_uri,omitempty"`

	// Requested is the metadata last sent in a register or update request.
	Requested *Metadata `json:"requested,omitempty"`
	// Registered is the provider's answer to that register or update
	// request: what it accepted, including values it substituted or
	// filled in.
	Registered *Metadata `json:"registered,omitempty"`
	// Metadata is the client metadata of the provider's latest answer,
	// from a register, read or update.
	Metadata *Metadata `json:"metadata,omitempty"`

	// Retired lists registrations replaced when their secret was about to
	// expire. [Ensure] deletes each once its secret has expired, so that
	// processes still using it keep working until then.
	Retired []RetiredClient `json:"retired,omitempty"`
}

// RetiredClient is a registration replaced by a new one, kept until its
// secret expires so that it can then be deleted.
type RetiredClient struct {
	// ClientID is the retired client's identifier.
	ClientID string `json:"client_id"`
	// ExpiresAt is when its secret expires, in seconds since the epoch.
	ExpiresAt int64 `json:"expires_at"`
	// RegistrationAccessToken and RegistrationClientURI manage it.
	RegistrationAccessToken string `json:"registration_access_token,omitempty"`
	// RegistrationClientURI is its client configuration endpoint.
	RegistrationClientURI string `json:"registration_client_uri,omitempty"`
}

// Clone returns a deep copy of c.
func (c *Credentials) Clone() *Credentials {
	if c == nil {
		return nil
	}
	d := *c
	deepCopyFields(reflect.ValueOf(&d).Elem())
	return &d
}

// SecretExpiresAt returns when the client secret expires, and false when
// it never does.
func (c *Credentials) SecretExpiresAt() (time.Time, bool) {
	if c.ClientSecretExpiresAt == 0 {
		return time.Time{}, false
	}
	return time.Unix(c.ClientSecretExpiresAt, 0), true
}

// manageable reports whether the registration can be read, updated or
// deleted.
func (c *Credentials) manageable() bool {
	return c.RegistrationAccessToken != "" && c.RegistrationClientURI != ""
}

// String describes c without its secret or registration access token.
func (c Credentials) String() string {
	return fmt.Sprintf("registration.Credentials{ClientID: %q, TokenEndpointAuthMethod: %q, ClientSecret: %s, RegistrationAccessToken: %s, RegistrationClientURI: %q}",
		c.ClientID, c.TokenEndpointAuthMethod, redacted(c.ClientSecret), redacted(c.RegistrationAccessToken), c.RegistrationClientURI)
}

// GoString is String, so that %#v does not print secrets either.
func (c Credentials) GoString() string { return c.String() }

// Format makes every fmt verb print String, so that %+v and %v do not
// print secrets either.
func (c Credentials) Format(f fmt.State, _ rune) { fmt.Fprint(f, c.String()) }

// LogValue implements slog.LogValuer without the secret or the
// registration access token.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("client_id", c.ClientID),
		slog.String("token_endpoint_auth_method", c.TokenEndpointAuthMethod),
		slog.Bool("has_client_secret", c.ClientSecret != ""),
		slog.Int64("client_secret_expires_at", c.ClientSecretExpiresAt),
	)
}

func redacted(s string) string {
	if s == "" {
		return `""`
	}
	return "[redacted]"
}
