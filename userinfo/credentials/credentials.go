package credentials

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/oidcrp/oidcrp/discovery"
	"github.com/oidcrp/oidcrp/internal/httpx"
	"github.com/oidcrp/oidcrp/userinfo"
)

// Request parameters of Ory's credentials endpoint (OpenID for Verifiable
// Credential Issuance, draft 00 as Ory Hydra implements it).
const (
	// FormatJWTVCJSON is the credential format asked for: a W3C
	// Verifiable Credential as a JWT, not using JSON-LD.
	FormatJWTVCJSON = "jwt_vc_json"
	// ProofTypeJWT is the type of the proof of possession.
	ProofTypeJWT = "jwt"
	// ProofJWTType is the "typ" header of the proof JWT.
	ProofJWTType = "openid4vci-proof+jwt"
)

// CredentialTypes are the types asked for: the user's userinfo claims as a
// credential.
var CredentialTypes = []string{"VerifiableCredential", "UserInfoCredential"}

// clockSkew is how far in the future a credential's iat and nbf may lie.
const clockSkew = time.Minute

// Config configures a [Client].
type Config struct {
	// Provider gives the credentials endpoint, the issuer and the keys
	// that verify issued credentials. Required.
	Provider *discovery.Provider
	// Holder is the application's key: proofs are signed with it and the
	// credentials are bound to its public key. ECDSA P-256 (ES256) is the
	// safe choice; P-384 (ES384), P-521 (ES512), Ed25519 (EdDSA) and RSA
	// of at least 2048 bits (RS256) work too. Any crypto.Signer with such
	// a public key will do (an HSM or KMS key). Required; see
	// [LoadOrCreateHolderKey].
	Holder crypto.Signer
	// HTTPClient makes the requests. Nil means a client with a 10 s
	// timeout that reads at most 1 MiB per response (httpx.Default).
	HTTPClient *http.Client
	// Now is the clock for proofs, the nonce cache and the credential's
	// validity. Nil means time.Now. Proofs carry it as "iat", which Ory
	// Hydra refuses when it lies in Hydra's future.
	Now func() time.Time
	// Endpoint overrides the credentials endpoint. Empty means the
	// metadata's credentials_endpoint_draft_00, mapped by
	// [discovery.Provider.BackchannelURL]. It must be https, or http to a
	// loopback host.
	Endpoint string
}

// Client asks one provider for verifiable credentials about the users
// whose access tokens it is given. It is safe for concurrent use.
type Client struct {
	provider *discovery.Provider
	holder   crypto.Signer
	alg      jwa.SignatureAlgorithm
	jwk      jwk.Key // the holder's public key
	thumb    []byte  // its RFC 7638 thumbprint
	http     *http.Client
	now      func() time.Time
	endpoint string
	nonces   nonceCache
}

// New checks cfg and returns a Client. It does no network I/O.
func New(cfg Config) (*Client, error) {
	if cfg.Provider == nil {
		return nil, errors.New("credentials: config: Provider is required")
	}
	if cfg.Holder == nil {
		return nil, errors.New("credentials: config: Holder is required")
	}
	alg, err := holderAlg(cfg.Holder.Public())
	if err != nil {
		return nil, fmt.Errorf("credentials: config: Holder: %w", err)
	}
	pub, err := jwk.FromRaw(cfg.Holder.Public())
	if err != nil {
		return nil, fmt.Errorf("credentials: config: Holder: %w", err)
	}
	thumb, err := thumbprint(pub)
	if err != nil {
		return nil, fmt.Errorf("credentials: config: Holder: %w", err)
	}
	if cfg.Endpoint != "" {
		if _, err := httpx.CheckURL("Endpoint", cfg.Endpoint, false); err != nil {
			return nil, fmt.Errorf("credentials: config: %w", err)
		}
	}
	c := &Client{
		provider: cfg.Provider,
		holder:   cfg.Holder,
		alg:      alg,
		jwk:      pub,
		thumb:    thumb,
		http:     httpx.Client(cfg.HTTPClient),
		now:      cfg.Now,
		endpoint: cfg.Endpoint,
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// Request asks the credentials endpoint for a verifiable credential about
// the user of accessToken, bound to the holder key, and verifies it.
//
// The proof of possession needs a c_nonce from the provider. nonce is
// one the caller has, typically c_nonce_draft_00 from the token response
// (Ory Hydra sends it when the userinfo_credential_draft_00 scope was
// granted); empty means the nonce cached for this access token, or, when
// there is none, one fetched by a request without proof, which the
// provider answers with 400 missing_proof and a c_nonce. Nonces are cached
// per access token (by its SHA-256, never the token itself) for their
// c_nonce_expires_in. If the provider refuses a nonce that did not come
// straight from it, Request gets a fresh one and tries once more.
//
// The proof is a JWS signed by the holder key, with header typ
// "openid4vci-proof+jwt" and the holder's public JWK, and claims nonce,
// iat and aud (the issuer). The credential in the answer must be a JWT
// signed with the provider's keys (an asymmetric algorithm of
// id_token_signing_alg_values_supported), issued by the issuer, within its
// validity period (iat, nbf and exp may be floats), with "sub" the
// did:jwk of the holder key and a "vc" object whose credentialSubject "id",
// when present, is that DID too.
//
// Errors: a 4xx answer with a JSON error body is a *[Error] (a 401
// matches [ErrTokenRejected]); other unexpected statuses are a
// *[ServerError], which never repeats the body. Other failures wrap
// [ErrNoEndpoint], [ErrUnsupportedKey], [ErrNoNonce],
// [ErrInvalidCredential], [ErrHolderMismatch] or [ErrExpired]. Errors
// never contain the access token or a nonce.
func (c *Client) Request(ctx context.Context, accessToken, nonce string) (*Credential, error) {
	if accessToken == "" {
		return nil, errors.New("credentials: request: no access token")
	}
	if !validToken(accessToken) {
		return nil, errors.New("credentials: request: the access token has characters a Bearer header cannot carry (RFC 6750 §2.1)")
	}
	md, err := c.provider.Metadata(ctx)
	if err != nil {
		return nil, fmt.Errorf("credentials: request: %w", err)
	}
	endpoint, err := c.endpointFor(md)
	if err != nil {
		return nil, fmt.Errorf("credentials: request: %w", err)
	}
	key := keyOf(accessToken)
	fresh := false // nonce came straight from the provider
	if nonce == "" {
		nonce = c.nonces.get(key, c.now())
	}
	if nonce == "" {
		if nonce, err = c.prime(ctx, endpoint, accessToken, key); err != nil {
			return nil, wrapRequest(err)
		}
		fresh = true
	}
	cred, err := c.issue(ctx, md, endpoint, accessToken, key, nonce)
	var e *Error
	if err == nil || fresh || !errors.As(err, &e) || !e.nonceRejected() {
		return cred, wrapRequest(err)
	}
	// The nonce was stale: one more try with a fresh one.
	c.nonces.drop(key, nonce)
	nonce = e.cNonce
	if nonce != "" {
		c.nonces.put(key, nonce, e.cNonceExpiresIn, c.now())
	} else if nonce, err = c.prime(ctx, endpoint, accessToken, key); err != nil {
		return nil, wrapRequest(err)
	}
	cred, err = c.issue(ctx, md, endpoint, accessToken, key, nonce)
	return cred, wrapRequest(err)
}

// wrapRequest prefixes err with the package and operation, unless it
// already names the package (*Error, *ServerError).
func wrapRequest(err error) error {
	if err == nil || strings.HasPrefix(err.Error(), "credentials: ") {
		return err
	}
	return fmt.Errorf("credentials: request: %w", err)
}

// validToken reports whether token can travel in a Bearer header.
func validToken(token string) bool {
	for i := 0; i < len(token); i++ {
		if token[i] <= ' ' || token[i] >= 0x7f {
			return false
		}
	}
	return true
}

// endpointFor returns the URL to call and checks that the provider
// accepts the holder key's algorithm.
func (c *Client) endpointFor(md *discovery.Metadata) (string, error) {
	for _, cs := range md.CredentialsSupportedDraft00 {
		if cs.Format == FormatJWTVCJSON && len(cs.CryptographicSuitesSupported) > 0 &&
			!slices.Contains(cs.CryptographicSuitesSupported, c.alg.String()) {
			return "", fmt.Errorf("%w: the provider takes proofs signed with %s, not %s",
				ErrUnsupportedKey, strings.Join(cs.CryptographicSuitesSupported, ", "), c.alg)
		}
	}
	if c.endpoint != "" {
		return c.endpoint, nil
	}
	if md.CredentialsEndpointDraft00 == "" {
		return "", ErrNoEndpoint
	}
	return c.provider.BackchannelURL(md.CredentialsEndpointDraft00), nil
}

// requestBody is the credential request (OpenID4VCI draft 00 §7.2 as Ory
// Hydra reads it).
type requestBody struct {
	Format string   `json:"format"`
	Types  []string `json:"types"`
	Proof  *proof   `json:"proof,omitempty"`
}

type proof struct {
	ProofType string `json:"proof_type"`
	JWT       string `json:"jwt"`
}

// responseBody is every member of an answer this package reads: the
// credential (200), or an error with an optional fresh nonce (4xx).
type responseBody struct {
	Format           string `json:"format"`
	Credential       any    `json:"credential_draft_00"`
	CredentialFinal  any    `json:"credential"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	CNonce           string `json:"c_nonce"`
	CNonceExpiresIn  int64  `json:"c_nonce_expires_in"`
}

// post sends body with the access token and decodes the answer; a
// non-2xx answer becomes an *Error or *ServerError.
func (c *Client) post(ctx context.Context, endpoint, accessToken string, body requestBody) (*responseBody, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 500 || resp.StatusCode < 200 || (resp.StatusCode >= 300 && resp.StatusCode < 400) {
		return nil, &ServerError{Status: resp.StatusCode}
	}
	raw, err := httpx.ReadBody(resp.Body, httpx.DefaultMaxBody)
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	var out responseBody
	jsonErr := json.Unmarshal(raw, &out)
	if resp.StatusCode >= 400 {
		e := &Error{Status: resp.StatusCode}
		if jsonErr == nil {
			e.Code, e.Description = out.Error, out.ErrorDescription
			e.cNonce, e.cNonceExpiresIn = out.CNonce, out.CNonceExpiresIn
		}
		if e.Code == "" && resp.StatusCode == http.StatusUnauthorized {
			for _, ch := range userinfo.ParseChallenges(resp.Header) {
				if strings.EqualFold(ch.Scheme, "Bearer") {
					e.Code, e.Description = ch.Params["error"], ch.Params["error_description"]
					break
				}
			}
		}
		if jsonErr != nil && e.Code == "" && resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
			return nil, &ServerError{Status: resp.StatusCode}
		}
		return nil, e
	}
	if jsonErr != nil {
		return nil, fmt.Errorf("%w: the answer is not a JSON object", ErrInvalidCredential)
	}
	return &out, nil
}

// prime sends a request without proof to get a c_nonce, caches and
// returns it.
func (c *Client) prime(ctx context.Context, endpoint, accessToken string, key tokenKey) (string, error) {
	_, err := c.post(ctx, endpoint, accessToken, requestBody{Format: FormatJWTVCJSON, Types: CredentialTypes})
	var e *Error
	switch {
	case err == nil:
		return "", fmt.Errorf("%w: the provider answered a request without proof with success", ErrNoNonce)
	case !errors.As(err, &e):
		return "", err
	case e.cNonce == "":
		if e.Status == http.StatusBadRequest {
			return "", fmt.Errorf("%w: %w", ErrNoNonce, err)
		}
		return "", err
	}
	c.nonces.put(key, e.cNonce, e.cNonceExpiresIn, c.now())
	return e.cNonce, nil
}

// issue sends the credential request with a proof over nonce and verifies
// the answer.
func (c *Client) issue(ctx context.Context, md *discovery.Metadata, endpoint, accessToken string, key tokenKey, nonce string) (*Credential, error) {
	p, err := c.proof(nonce)
	if err != nil {
		return nil, err
	}
	out, err := c.post(ctx, endpoint, accessToken, requestBody{
		Format: FormatJWTVCJSON,
		Types:  CredentialTypes,
		Proof:  &proof{ProofType: ProofTypeJWT, JWT: p},
	})
	if err != nil {
		return nil, err
	}
	if out.CNonce != "" {
		c.nonces.put(key, out.CNonce, out.CNonceExpiresIn, c.now())
	}
	raw := out.Credential
	if raw == nil {
		raw = out.CredentialFinal
	}
	s, ok := raw.(string)
	if !ok || s == "" {
		return nil, fmt.Errorf("%w: the answer holds no JWT credential", ErrInvalidCredential)
	}
	return c.verify(ctx, md, out.Format, s)
}

// proof builds the proof of possession JWT (OpenID4VCI draft 00 §7.2.1).
func (c *Client) proof(nonce string) (string, error) {
	hdr := jws.NewHeaders()
	if err := hdr.Set(jws.TypeKey, ProofJWTType); err != nil {
		return "", fmt.Errorf("build proof: %w", err)
	}
	if err := hdr.Set(jws.JWKKey, c.jwk); err != nil {
		return "", fmt.Errorf("build proof: %w", err)
	}
	payload, err := json.Marshal(map[string]any{
		"nonce": nonce,
		"iat":   c.now().Unix(),
		"aud":   c.provider.Issuer(),
	})
	if err != nil {
		return "", fmt.Errorf("build proof: %w", err)
	}
	signed, err := jws.Sign(payload, jws.WithKey(c.alg, c.holder, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", fmt.Errorf("sign proof with the holder key: %w", err)
	}
	return string(signed), nil
}
