package registration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/oidcrp/oidcrp/internal/httpx"
)

// Config configures a [Client].
type Config struct {
	// Endpoint is the provider's registration endpoint (RFC 7591 §3), as
	// the provider publishes it: the registration_endpoint of its
	// metadata, or set explicitly for providers that do not advertise it
	// (Ory Hydra by default). Required; https, or http to a loopback host.
	Endpoint string

	// InitialAccessToken, when set, is sent as a bearer token with
	// register requests (RFC 7591 §3, for providers that restrict
	// registration).
	InitialAccessToken string

	// HTTPClient makes every request. Nil means httpx.Default (timeouts,
	// 1 MiB bodies). Redirects are never followed, whatever the client's
	// CheckRedirect says, so that a token cannot be carried elsewhere.
	HTTPClient *http.Client

	// BackchannelURL, when set, maps a URL the provider published
	// (Endpoint, a registration_client_uri) to the address at which this
	// process reaches it; pass [discovery.Provider.BackchannelURL] when the
	// provider is reached through an internal address. Origin checks use
	// the published URLs. Nil means URLs are used as published.
	BackchannelURL func(string) string

	// InsecureAllowHTTP accepts plain http to every host for Endpoint and
	// for registration_client_uri. It MUST NOT be used in production: the
	// registration access token would travel in clear text.
	InsecureAllowHTTP bool
}

// Client talks to a provider's registration endpoint: it registers a
// client (RFC 7591 §3.1) and reads, updates and deletes the registration
// through the registration_client_uri the provider returned (RFC 7592 §2).
// It keeps no state between calls; every call takes and returns
// [Credentials]. A Client is safe for concurrent use.
type Client struct {
	endpoint  string
	origin    *url.URL
	iat       string
	hc        *http.Client
	mapURL    func(string) string
	allowHTTP bool
}

// NewClient checks cfg and returns a Client. It does no network I/O.
func NewClient(cfg Config) (*Client, error) {
	if cfg.Endpoint == "" {
		return nil, fmt.Errorf("registration: config: %w: Endpoint is required", ErrNoRegistrationEndpoint)
	}
	u, err := httpx.CheckURL("registration endpoint", cfg.Endpoint, cfg.InsecureAllowHTTP)
	if err != nil {
		return nil, fmt.Errorf("registration: config: %w", err)
	}
	hc := *httpx.Client(cfg.HTTPClient)
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c := &Client{
		endpoint:  cfg.Endpoint,
		origin:    u,
		iat:       cfg.InitialAccessToken,
		hc:        &hc,
		mapURL:    cfg.BackchannelURL,
		allowHTTP: cfg.InsecureAllowHTTP,
	}
	if c.mapURL == nil {
		c.mapURL = func(s string) string { return s }
	}
	return c, nil
}

// Endpoint returns the registration endpoint.
func (c *Client) Endpoint() string { return c.endpoint }

// Register registers a new client with md (RFC 7591 §3.1) and returns its
// credentials. The initial access token, if configured, is sent as a
// bearer token. The answer's Location header is ignored (Ory Hydra points
// it at an admin path); the registration_client_uri must be on the
// registration endpoint's origin and use https or a loopback host, or the
// call fails with [ErrUntrustedURI].
//
// When the provider did create a client but its answer cannot be used —
// it wraps [ErrWeakened], or [ErrInvalidResponse] because a confidential
// client came without a secret — Register returns both the credentials
// and the error, so that the caller can delete the client. Otherwise the
// credentials are nil on error.
func (c *Client) Register(ctx context.Context, md *Metadata) (*Credentials, error) {
	if md == nil {
		return nil, errors.New("registration: register: no metadata")
	}
	body, err := json.Marshal(md)
	if err != nil {
		return nil, fmt.Errorf("registration: register: encode metadata: %w", err)
	}
	status, resp, err := c.do(ctx, http.MethodPost, c.endpoint, c.iat, body)
	if err != nil {
		return nil, fmt.Errorf("registration: register: %w", err)
	}
	if status != http.StatusCreated && status != http.StatusOK {
		return nil, parseError("register", status, resp)
	}
	a, err := decodeAnswer(resp)
	if err != nil {
		return nil, fmt.Errorf("registration: register: %w", err)
	}
	if a.clientID == "" {
		return nil, fmt.Errorf("registration: register: %w: no client_id", ErrInvalidResponse)
	}
	creds := &Credentials{RegistrationEndpoint: c.endpoint, ClientID: a.clientID}
	if err := c.merge(creds, a); err != nil {
		return nil, fmt.Errorf("registration: register: %w", err)
	}
	creds.Requested = md.Clone()
	creds.Registered = a.md.Clone()
	if creds.TokenEndpointAuthMethod != "none" && creds.ClientSecret == "" {
		return creds, fmt.Errorf("registration: register: %w: no client_secret for token_endpoint_auth_method %q",
			ErrInvalidResponse, creds.TokenEndpointAuthMethod)
	}
	if err := checkWeakened(md, a.md); err != nil {
		return creds, fmt.Errorf("registration: register: %w", err)
	}
	return creds, nil
}

// Read fetches the current registration (RFC 7592 §2.1) with cur's
// registration access token and returns cur updated with the answer: its
// Metadata, and a registration access token, client secret or
// registration_client_uri if the answer carries a new one (the caller must
// then persist the result). A 401 or 404 wraps [ErrTokenRejected]; Ory
// Hydra answers 401 both for a bad token and for a deleted client.
func (c *Client) Read(ctx context.Context, cur *Credentials) (*Credentials, error) {
	target, err := c.clientURI(cur)
	if err != nil {
		return nil, fmt.Errorf("registration: read: %w", err)
	}
	status, resp, err := c.do(ctx, http.MethodGet, target, cur.RegistrationAccessToken, nil)
	if err != nil {
		return nil, fmt.Errorf("registration: read: %w", err)
	}
	if status != http.StatusOK {
		return nil, parseError("read", status, resp)
	}
	a, err := decodeAnswer(resp)
	if err != nil {
		return nil, fmt.Errorf("registration: read: %w", err)
	}
	if a.clientID != cur.ClientID {
		return nil, fmt.Errorf("registration: read: %w: asked for %q, got %q", ErrClientIDMismatch, cur.ClientID, sanitize(a.clientID, 100))
	}
	out := cur.Clone()
	if err := c.merge(out, a); err != nil {
		return nil, fmt.Errorf("registration: read: %w", err)
	}
	return out, nil
}

// Update replaces the registration with md (RFC 7592 §2.2) using cur's
// registration access token. md must be the full desired metadata: the
// provider replaces the whole client, and Ory Hydra clears what is left
// out. The client_secret is never sent (Ory Hydra refuses a PUT that
// carries one with 403), so rotating the secret on Hydra means
// registering a new client.
//
// Ory Hydra rotates the registration access token on every update; the
// old one is refused at once. Whenever the provider accepted the update,
// Update returns the new credentials — even together with an error about
// the answer ([ErrWeakened], [ErrClientIDMismatch], [ErrUntrustedURI]) —
// and the caller must persist them before anything else. With such an
// error their Requested and Registered stay as before, so the weakened
// answer is never taken for the wanted state. The credentials are nil
// when the provider refused the update.
func (c *Client) Update(ctx context.Context, cur *Credentials, md *Metadata) (*Credentials, error) {
	if md == nil {
		return nil, errors.New("registration: update: no metadata")
	}
	target, err := c.clientURI(cur)
	if err != nil {
		return nil, fmt.Errorf("registration: update: %w", err)
	}
	members, err := md.members()
	if err != nil {
		return nil, fmt.Errorf("registration: update: encode metadata: %w", err)
	}
	// RFC 7592 §2.2: the request includes client_id and none of the
	// response-only members.
	members["client_id"], _ = json.Marshal(cur.ClientID)
	body, err := json.Marshal(members)
	if err != nil {
		return nil, fmt.Errorf("registration: update: encode metadata: %w", err)
	}
	status, resp, err := c.do(ctx, http.MethodPut, target, cur.RegistrationAccessToken, body)
	if err != nil {
		return nil, fmt.Errorf("registration: update: %w", err)
	}
	if status != http.StatusOK {
		return nil, parseError("update", status, resp)
	}
	a, err := decodeAnswer(resp)
	if err != nil {
		return nil, fmt.Errorf("registration: update: %w", err)
	}
	out := cur.Clone()
	if a.clientID != cur.ClientID {
		// Keep only the rotated token: it is the one that now manages cur.
		if a.rat != "" {
			out.RegistrationAccessToken = a.rat
		}
		return out, fmt.Errorf("registration: update: %w: asked for %q, got %q", ErrClientIDMismatch, cur.ClientID, sanitize(a.clientID, 100))
	}
	if err := c.merge(out, a); err != nil {
		return out, fmt.Errorf("registration: update: %w", err)
	}
	if err := checkWeakened(md, a.md); err != nil {
		// Requested and Registered stay as they were, so that the
		// weakened answer is never taken for the wanted state.
		return out, fmt.Errorf("registration: update: %w", err)
	}
	out.Requested = md.Clone()
	out.Registered = a.md.Clone()
	return out, nil
}

// Delete deletes the registration (RFC 7592 §2.3) with cur's registration
// access token. Afterwards Ory Hydra answers a read with 401, not 404, and
// the token endpoint answers invalid_client.
func (c *Client) Delete(ctx context.Context, cur *Credentials) error {
	target, err := c.clientURI(cur)
	if err != nil {
		return fmt.Errorf("registration: delete: %w", err)
	}
	status, resp, err := c.do(ctx, http.MethodDelete, target, cur.RegistrationAccessToken, nil)
	if err != nil {
		return fmt.Errorf("registration: delete: %w", err)
	}
	if status != http.StatusNoContent && status != http.StatusOK {
		return parseError("delete", status, resp)
	}
	return nil
}

// clientURI checks that cur can be managed and that its
// registration_client_uri may receive the registration access token.
func (c *Client) clientURI(cur *Credentials) (string, error) {
	if cur == nil || !cur.manageable() {
		return "", fmt.Errorf("%w: no registration access token or registration_client_uri", ErrNotManaged)
	}
	if err := c.checkClientURI(cur.RegistrationClientURI); err != nil {
		return "", err
	}
	return cur.RegistrationClientURI, nil
}

// checkClientURI enforces where a registration access token may go: the
// registration endpoint's origin, over https or to a loopback host.
func (c *Client) checkClientURI(raw string) error {
	u, err := httpx.CheckURL("registration_client_uri", raw, c.allowHTTP)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUntrustedURI, err)
	}
	if !httpx.SameOrigin(u, c.origin) {
		return fmt.Errorf("%w: %q is not on the registration endpoint's origin %s://%s",
			ErrUntrustedURI, sanitize(raw, 200), c.origin.Scheme, c.origin.Host)
	}
	return nil
}

// merge copies the answer into out: a new registration access token,
// registration_client_uri or client secret replaces the stored one.
func (c *Client) merge(out *Credentials, a *answer) error {
	if a.rat != "" {
		out.RegistrationAccessToken = a.rat
	}
	if a.clientURI != "" && a.clientURI != out.RegistrationClientURI {
		if err := c.checkClientURI(a.clientURI); err != nil {
			return err
		}
		out.RegistrationClientURI = a.clientURI
	}
	if a.secret != "" {
		out.ClientSecret = a.secret
	}
	if a.secretExpiresAt != nil {
		out.ClientSecretExpiresAt = *a.secretExpiresAt
	}
	if a.issuedAt != nil {
		out.ClientIDIssuedAt = *a.issuedAt
	}
	if m := a.md.TokenEndpointAuthMethod; m != "" {
		out.TokenEndpointAuthMethod = m
	} else if out.TokenEndpointAuthMethod == "" {
		out.TokenEndpointAuthMethod = "client_secret_basic" // RFC 7591 §2 default
	}
	out.Metadata = a.md.Clone()
	return nil
}

// do sends one request and returns the status and body (at most 1 MiB).
func (c *Client) do(ctx context.Context, method, target, bearer string, body []byte) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.mapURL(target), rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return 0, nil, fmt.Errorf("%s %s: %w", method, redactURL(target), err)
	}
	defer resp.Body.Close()
	b, err := httpx.ReadBody(resp.Body, httpx.DefaultMaxBody)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: read body: %w", method, redactURL(target), err)
	}
	return resp.StatusCode, b, nil
}

// redactURL drops the query of a URL for error messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.RawQuery, u.ForceQuery, u.User = "", false, nil
	return u.String()
}

// answer is a client information response (RFC 7591 §3.2.1, RFC 7592 §3).
type answer struct {
	clientID        string
	secret          string
	issuedAt        *int64
	secretExpiresAt *int64
	rat             string
	clientURI       string
	md              *Metadata
}

func decodeAnswer(body []byte) (*answer, error) {
	var v struct {
		ClientID                string `json:"client_id"`
		ClientSecret            string `json:"client_secret"`
		ClientIDIssuedAt        *int64 `json:"client_id_issued_at"`
		ClientSecretExpiresAt   *int64 `json:"client_secret_expires_at"`
		RegistrationAccessToken string `json:"registration_access_token"`
		RegistrationClientURI   string `json:"registration_client_uri"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidResponse, err)
	}
	md := new(Metadata)
	if err := json.Unmarshal(body, md); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidResponse, err)
	}
	return &answer{
		clientID:        v.ClientID,
		secret:          v.ClientSecret,
		issuedAt:        v.ClientIDIssuedAt,
		secretExpiresAt: v.ClientSecretExpiresAt,
		rat:             v.RegistrationAccessToken,
		clientURI:       v.RegistrationClientURI,
		md:              md,
	}, nil
}

// checkWeakened fails when the provider's answer got changed what was
// asked in a way that weakens the client.
func checkWeakened(sent, got *Metadata) error {
	var problems []string
	if !sameSet(sent.RedirectURIs, got.RedirectURIs) {
		problems = append(problems, fmt.Sprintf("redirect_uris %q, asked for %q", sanitizeAll(got.RedirectURIs), sent.RedirectURIs))
	}
	if !sameSet(sent.PostLogoutRedirectURIs, got.PostLogoutRedirectURIs) {
		problems = append(problems, fmt.Sprintf("post_logout_redirect_uris %q, asked for %q", sanitizeAll(got.PostLogoutRedirectURIs), sent.PostLogoutRedirectURIs))
	}
	if got.TokenEndpointAuthMethod == "none" && sent.TokenEndpointAuthMethod != "none" {
		problems = append(problems, fmt.Sprintf("token_endpoint_auth_method \"none\", asked for %q", sent.TokenEndpointAuthMethod))
	}
	if got.IDTokenSignedResponseAlg == "none" && sent.IDTokenSignedResponseAlg != "none" {
		problems = append(problems, fmt.Sprintf("id_token_signed_response_alg \"none\", asked for %q", sent.IDTokenSignedResponseAlg))
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrWeakened, strings.Join(problems, "; "))
}

// sameSet compares two lists as sets.
func sameSet(a, b []string) bool {
	return slices.Equal(sortedSet(a), sortedSet(b))
}

func sortedSet(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

func sanitizeAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = sanitize(v, 200)
	}
	return out
}
