package userinfo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/oidcrp/oidcrp/discovery"
	"github.com/oidcrp/oidcrp/internal/httpx"
	"github.com/oidcrp/oidcrp/userinfo/internal/numdate"
)

// Config configures a [Client].
type Config struct {
	// Provider gives the userinfo_endpoint, the issuer and the keys that
	// verify signed responses. Required.
	Provider *discovery.Provider
	// ClientID is the client's client_id; a signed response's "aud" must
	// contain it. Required.
	ClientID string
	// SignedResponseAlg is the client's registered
	// userinfo_signed_response_alg (OpenID Connect Dynamic Client
	// Registration 1.0 §2). When set, every response must be a JWS signed
	// with exactly this algorithm, and a plain JSON answer fails with
	// [ErrUnsignedResponse]. Empty or "none" means plain JSON is expected
	// and signed responses are accepted too. Symmetric (HS*) algorithms
	// are not supported.
	SignedResponseAlg string
	// HTTPClient makes the requests. Nil means a client with a 10 s
	// timeout that reads at most 1 MiB per response (httpx.Default).
	HTTPClient *http.Client
	// MaxBody bounds the response body read, in bytes. Zero means 1 MiB.
	// The default HTTPClient caps bodies at 1 MiB as well, so a larger
	// MaxBody needs a client of its own (httpx.NewClient).
	MaxBody int64
	// Now is the clock that checks a signed response's "exp". Nil means
	// time.Now.
	Now func() time.Time
}

// Client fetches userinfo (OpenID Connect Core 1.0 §5.3) from one
// provider. It is safe for concurrent use.
type Client struct {
	provider  *discovery.Provider
	clientID  string
	signedAlg string // "" when unsigned responses are fine
	http      *http.Client
	maxBody   int64
	now       func() time.Time
}

// New checks cfg and returns a Client. It does no network I/O.
func New(cfg Config) (*Client, error) {
	if cfg.Provider == nil {
		return nil, errors.New("userinfo: config: Provider is required")
	}
	if cfg.ClientID == "" {
		return nil, errors.New("userinfo: config: ClientID is required")
	}
	if cfg.MaxBody < 0 {
		return nil, errors.New("userinfo: config: MaxBody must not be negative")
	}
	c := &Client{
		provider: cfg.Provider,
		clientID: cfg.ClientID,
		http:     httpx.Client(cfg.HTTPClient),
		maxBody:  cfg.MaxBody,
		now:      cfg.Now,
	}
	if c.maxBody == 0 {
		c.maxBody = httpx.DefaultMaxBody
	}
	if c.now == nil {
		c.now = time.Now
	}
	switch alg := cfg.SignedResponseAlg; {
	case alg == "" || alg == "none":
	case slices.Contains(discovery.DefaultAlgorithms(), alg):
		c.signedAlg = alg
	default:
		return nil, fmt.Errorf("userinfo: config: SignedResponseAlg %q is not a supported asymmetric JWS algorithm (%s)",
			alg, strings.Join(discovery.DefaultAlgorithms(), ", "))
	}
	return c, nil
}

// Fetch calls the provider's userinfo endpoint with accessToken and
// returns the claims, which must be about expectedSub: the "sub" of the
// ID token of the same login (OpenID Connect Core 1.0 §5.3.2).
//
// The request is a GET to the discovered userinfo_endpoint (mapped by
// [discovery.Provider.BackchannelURL]) with the token only in the
// Authorization header (RFC 6750 §2.1), accepting application/json and
// application/jwt. A signed response (§5.3.2) is verified with the
// provider's keys, restricted to SignedResponseAlg when set, else to the
// asymmetric algorithms of userinfo_signing_alg_values_supported (all
// asymmetric ones when it lists none); its "iss", when present, must be
// the issuer, its "aud", when present, must contain the client ID, and
// its "exp", when present, must not have passed.
//
// Errors: a refused token is a *[BearerError] (401, 403, or 400 with a
// Bearer challenge); any other unexpected status is a *[ServerError],
// which never repeats the body. Other failures wrap the sentinels of this
// package: [ErrSubjectMismatch], [ErrUnsignedResponse],
// [ErrEncryptedResponse], [ErrInvalidSignature], [ErrIssuerMismatch],
// [ErrAudienceMismatch], [ErrExpired], [ErrInvalidResponse],
// [ErrNoEndpoint]. Errors never contain the access token.
func (c *Client) Fetch(ctx context.Context, accessToken, expectedSub string) (*Info, error) {
	if accessToken == "" {
		return nil, errors.New("userinfo: fetch: no access token")
	}
	if !validToken(accessToken) {
		return nil, errors.New("userinfo: fetch: the access token has characters a Bearer header cannot carry (RFC 6750 §2.1)")
	}
	if expectedSub == "" {
		return nil, errors.New("userinfo: fetch: the expected subject is required (OpenID Connect Core 1.0 §5.3.2)")
	}
	md, err := c.provider.Metadata(ctx)
	if err != nil {
		return nil, fmt.Errorf("userinfo: fetch: %w", err)
	}
	if md.UserinfoEndpoint == "" {
		return nil, fmt.Errorf("userinfo: fetch: %w", ErrNoEndpoint)
	}
	endpoint := c.provider.BackchannelURL(md.UserinfoEndpoint)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return nil, fmt.Errorf("userinfo: fetch: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/json, application/jwt")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("userinfo: fetch: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, c.statusError(resp)
	}
	body, err := httpx.ReadBody(resp.Body, c.maxBody)
	if err != nil {
		return nil, fmt.Errorf("userinfo: fetch: read response: %w", err)
	}
	info, err := c.parseResponse(ctx, md, resp.Header.Get("Content-Type"), body)
	if err != nil {
		return nil, fmt.Errorf("userinfo: fetch: %w", err)
	}
	if info.Subject != expectedSub {
		return nil, fmt.Errorf("userinfo: fetch: %w", ErrSubjectMismatch)
	}
	return info, nil
}

// validToken reports whether token fits the b64token syntax of RFC 6750
// §2.1 loosely: visible ASCII without spaces, so it cannot break the
// header.
func validToken(token string) bool {
	for i := 0; i < len(token); i++ {
		if token[i] <= ' ' || token[i] >= 0x7f {
			return false
		}
	}
	return true
}

// statusError turns a non-200 response into a *BearerError or a
// *ServerError.
func (c *Client) statusError(resp *http.Response) error {
	var bearer *Challenge
	for _, ch := range ParseChallenges(resp.Header) {
		if strings.EqualFold(ch.Scheme, "Bearer") {
			bearer = &ch
			break
		}
	}
	switch {
	case bearer != nil && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusBadRequest):
		return &BearerError{
			Status:      resp.StatusCode,
			Code:        bearer.Params["error"],
			Description: bearer.Params["error_description"],
			URI:         bearer.Params["error_uri"],
			Scope:       bearer.Params["scope"],
			Realm:       bearer.Params["realm"],
		}
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		e := &BearerError{Status: resp.StatusCode}
		// Without a challenge, an OAuth-style JSON body may say why.
		if body, err := httpx.ReadBody(resp.Body, 64<<10); err == nil {
			var doc struct {
				Code        string `json:"error"`
				Description string `json:"error_description"`
			}
			if json.Unmarshal(body, &doc) == nil {
				e.Code, e.Description = doc.Code, doc.Description
			}
		}
		return e
	default:
		return &ServerError{Status: resp.StatusCode}
	}
}

// parseResponse decodes a 200 response by its media type.
func (c *Client) parseResponse(ctx context.Context, md *discovery.Metadata, contentType string, body []byte) (*Info, error) {
	kind := mediaKind(contentType, body)
	switch kind {
	case kindJWT:
		return c.parseSigned(ctx, md, body)
	case kindJSON:
		if c.signedAlg != "" {
			return nil, fmt.Errorf("%w (registered userinfo_signed_response_alg %s)", ErrUnsignedResponse, c.signedAlg)
		}
		return ParseInfo(body)
	default:
		mt, _, _ := mime.ParseMediaType(contentType)
		return nil, fmt.Errorf("%w: content type %s", ErrInvalidResponse, quoteUntrusted(mt))
	}
}

type responseKind int

const (
	kindOther responseKind = iota
	kindJSON
	kindJWT
)

// mediaKind classifies a response by Content-Type; without one it looks
// at the body.
func mediaKind(contentType string, body []byte) responseKind {
	if strings.TrimSpace(contentType) == "" {
		trimmed := bytes.TrimSpace(body)
		switch {
		case len(trimmed) > 0 && trimmed[0] == '{':
			return kindJSON
		case bytes.Count(trimmed, []byte(".")) >= 2:
			return kindJWT
		}
		return kindOther
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return kindOther
	}
	switch {
	case mt == "application/jwt":
		return kindJWT
	case mt == "application/json", strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"):
		return kindJSON
	}
	return kindOther
}

// parseSigned verifies a signed response (OpenID Connect Core 1.0
// §5.3.2) and decodes its claims.
func (c *Client) parseSigned(ctx context.Context, md *discovery.Metadata, body []byte) (*Info, error) {
	token := bytes.TrimSpace(body)
	if bytes.Count(token, []byte(".")) == 4 {
		return nil, ErrEncryptedResponse
	}
	payload, err := c.provider.KeySet().Verify(ctx, token, c.allowedAlgs(md))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidSignature, err)
	}
	var reg struct {
		Issuer   *string         `json:"iss"`
		Audience json.RawMessage `json:"aud"`
		Expiry   json.RawMessage `json:"exp"`
	}
	if err := json.Unmarshal(payload, &reg); err != nil {
		return nil, fmt.Errorf("%w: signed payload: %w", ErrInvalidResponse, err)
	}
	if reg.Issuer != nil && *reg.Issuer != c.provider.Issuer() {
		return nil, fmt.Errorf("%w: iss %s, want %q", ErrIssuerMismatch, quoteUntrusted(*reg.Issuer), c.provider.Issuer())
	}
	if len(reg.Audience) > 0 && string(reg.Audience) != "null" {
		aud, err := decodeAudience(reg.Audience)
		if err != nil {
			return nil, fmt.Errorf("%w: aud: %w", ErrInvalidResponse, err)
		}
		if !slices.Contains(aud, c.clientID) {
			return nil, fmt.Errorf("%w: aud does not contain the client ID", ErrAudienceMismatch)
		}
	}
	if len(reg.Expiry) > 0 {
		exp, err := numdate.Parse(reg.Expiry)
		if err != nil {
			return nil, fmt.Errorf("%w: exp: %w", ErrInvalidResponse, err)
		}
		if !exp.IsZero() && !c.now().Before(exp) {
			return nil, fmt.Errorf("%w at %s", ErrExpired, exp.Format(time.RFC3339))
		}
	}
	info, err := ParseInfo(payload)
	if err != nil {
		return nil, err
	}
	info.Signed = true
	return info, nil
}

// allowedAlgs is the algorithm allow-list for a signed response.
func (c *Client) allowedAlgs(md *discovery.Metadata) []string {
	if c.signedAlg != "" {
		return []string{c.signedAlg}
	}
	var algs []string
	for _, a := range md.UserinfoSigningAlgValuesSupported {
		if a != "none" && !strings.HasPrefix(a, "HS") {
			algs = append(algs, a)
		}
	}
	return algs // empty: every asymmetric algorithm
}

// decodeAudience accepts a string or an array of strings (RFC 7519
// §4.1.3).
func decodeAudience(raw json.RawMessage) ([]string, error) {
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, errors.New("not a string or an array of strings")
	}
	return many, nil
}
