package rptest

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// tokenResponse is a successful token response (RFC 6749 §5.1, OpenID
// Connect Core 1.0 §3.1.3.3).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	Scope        string `json:"scope"`
}

// maxFormBody bounds the body of form requests.
const maxFormBody = 64 << 10

// serveToken is the token endpoint (RFC 6749 §3.2, §4.1.3, §6; RFC 7636
// §4.6). Refresh tokens are issued when the offline_access (or Hydra's
// offline) scope was granted; they rotate at every refresh.
func (p *Provider) serveToken(w http.ResponseWriter, r *http.Request) {
	form, formErr := readForm(w, r)
	p.mu.Lock()
	p.lastTokenForm = cloneValues(form)
	p.lastTokenHeader = r.Header.Clone()
	p.counts[EndpointToken]++
	if form.Get("grant_type") == "refresh_token" {
		p.counts[EndpointRefresh]++
	}
	m := p.misbehaviour
	p.mu.Unlock()
	if !p.delayAndStatus(w, r, EndpointToken, m.TokenDelay, m.TokenStatus) {
		return
	}
	if formErr != nil {
		p.writeError(w, EndpointToken, formErr)
		return
	}
	c, oerr := p.authenticateClient(r, form)
	if oerr != nil {
		p.writeError(w, EndpointToken, oerr)
		return
	}
	var resp *tokenResponse
	switch gt := form.Get("grant_type"); gt {
	case "authorization_code":
		resp, oerr = p.exchangeCode(c, form, m)
	case "refresh_token":
		if m.RefreshError != "" {
			oerr = &oauthError{Code: m.RefreshError, Description: "rptest: forced refresh error", status: http.StatusBadRequest}
			break
		}
		resp, oerr = p.refreshGrant(c, form, m)
	case "":
		oerr = errInvalidRequest("grant_type is missing")
	default:
		oerr = &oauthError{Code: "unsupported_grant_type", Description: fmt.Sprintf("grant_type %q is not supported", gt), status: http.StatusBadRequest}
	}
	if oerr != nil {
		p.writeError(w, EndpointToken, oerr)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	p.writeJSON(w, EndpointToken, http.StatusOK, resp)
}

// readForm parses an application/x-www-form-urlencoded POST body. It
// refuses parameters in the query and repeated parameters (RFC 6749 §3.1,
// §3.2). The form is returned even with an error, for the recordings.
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, *oauthError) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	err := r.ParseForm()
	form := r.PostForm
	if form == nil {
		form = url.Values{}
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case ct != "application/x-www-form-urlencoded":
		return form, errInvalidRequest("the body must be application/x-www-form-urlencoded")
	case err != nil:
		return form, errInvalidRequest("malformed body: " + err.Error())
	case r.URL.RawQuery != "":
		return form, errInvalidRequest("parameters belong in the body, not the query")
	}
	for k, vs := range form {
		if len(vs) > 1 {
			return form, errInvalidRequest(fmt.Sprintf("parameter %s is repeated (RFC 6749 §3.1)", k))
		}
	}
	return form, nil
}

// authenticateClient authenticates the client by its registered method
// (RFC 6749 §2.3.1; OpenID Connect Core 1.0 §9). HTTP Basic credentials
// are form-urlencoded before base64, as RFC 6749 §2.3.1 requires.
func (p *Provider) authenticateClient(r *http.Request, form url.Values) (Client, *oauthError) {
	var basicID, basicSecret string
	hasBasic := false
	if h := r.Header.Get("Authorization"); h != "" {
		user, pass, ok := r.BasicAuth()
		if !ok {
			return Client{}, errInvalidClient("the Authorization header is not HTTP Basic")
		}
		var err1, err2 error
		basicID, err1 = url.QueryUnescape(user)
		basicSecret, err2 = url.QueryUnescape(pass)
		if err1 != nil || err2 != nil {
			return Client{}, errInvalidClient("HTTP Basic credentials are not form-urlencoded")
		}
		hasBasic = true
	}
	_, hasFormSecret := form["client_secret"]
	if hasBasic && hasFormSecret {
		return Client{}, errInvalidRequest("more than one client authentication method (RFC 6749 §2.3)")
	}
	id := form.Get("client_id")
	if hasBasic {
		if id != "" && id != basicID {
			return Client{}, errInvalidClient("client_id differs from the HTTP Basic user")
		}
		id = basicID
	}
	if id == "" {
		return Client{}, errInvalidClient("no client authentication")
	}
	p.mu.Lock()
	c, ok := p.clients[id]
	p.mu.Unlock()
	if !ok {
		return Client{}, errInvalidClient("unknown client")
	}
	switch method := c.authMethod(); method {
	case AuthClientSecretBasic:
		if !hasBasic {
			return Client{}, errInvalidClient("the client must authenticate with client_secret_basic")
		}
		if !equalSecret(basicSecret, c.Secret) {
			return Client{}, errInvalidClient("wrong client secret")
		}
	case AuthClientSecretPost:
		if hasBasic || !hasFormSecret {
			return Client{}, errInvalidClient("the client must authenticate with client_secret_post")
		}
		if !equalSecret(form.Get("client_secret"), c.Secret) {
			return Client{}, errInvalidClient("wrong client secret")
		}
	case AuthNone:
		if hasBasic || hasFormSecret {
			return Client{}, errInvalidClient("the client is registered with token_endpoint_auth_method none")
		}
	default:
		return Client{}, errInvalidClient(fmt.Sprintf("the client is registered with unsupported method %q", method))
	}
	return c, nil
}

func equalSecret(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// exchangeCode redeems an authorization code (RFC 6749 §4.1.3, RFC 7636
// §4.6). A code works once; presenting it again revokes every token issued
// for it (RFC 6749 §4.1.2), as Ory Hydra does.
func (p *Provider) exchangeCode(c Client, form url.Values, m Misbehaviour) (*tokenResponse, *oauthError) {
	p.mu.Lock()
	now := p.cfg.now()
	ac, ok := p.codes[form.Get("code")]
	switch {
	case form.Get("code") == "":
		p.mu.Unlock()
		return nil, errInvalidRequest("code is missing")
	case !ok:
		p.mu.Unlock()
		return nil, errInvalidGrant("unknown authorization code")
	case ac.g.clientID != c.ID:
		p.mu.Unlock()
		return nil, errInvalidGrant("the code was issued to another client")
	case ac.used:
		ac.g.revoked = true
		p.mu.Unlock()
		return nil, errInvalidGrant("the code was already used; the tokens issued for it are revoked")
	case !now.Before(ac.exp):
		p.mu.Unlock()
		return nil, errInvalidGrant("the code expired")
	case form.Get("redirect_uri") != ac.redirectURI:
		p.mu.Unlock()
		return nil, errInvalidGrant("redirect_uri differs from the authorization request")
	}
	if e := checkVerifier(form.Get("code_verifier"), ac.challenge); e != nil {
		p.mu.Unlock()
		return nil, e
	}
	ac.used = true
	resp, claims := p.issueTokens(ac.g, now)
	p.mu.Unlock()
	return p.finishTokens(resp, claims, m, false)
}

// checkVerifier checks a PKCE code verifier against an S256 challenge
// (RFC 7636 §4.1, §4.6).
func checkVerifier(verifier, challenge string) *oauthError {
	if verifier == "" {
		return errInvalidGrant("code_verifier is missing")
	}
	if len(verifier) < 43 || len(verifier) > 128 || strings.Trim(verifier, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~") != "" {
		return errInvalidGrant("code_verifier must be 43 to 128 unreserved characters (RFC 7636 §4.1)")
	}
	sum := sha256.Sum256([]byte(verifier))
	if subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) != 1 {
		return errInvalidGrant("code_verifier does not match code_challenge")
	}
	return nil
}

// refreshGrant rotates a refresh token (RFC 6749 §6). The old refresh and
// access tokens die at once; presenting a used refresh token revokes the
// whole grant, as Ory Hydra does.
func (p *Provider) refreshGrant(c Client, form url.Values, m Misbehaviour) (*tokenResponse, *oauthError) {
	token := form.Get("refresh_token")
	if token == "" {
		return nil, errInvalidRequest("refresh_token is missing")
	}
	p.mu.Lock()
	now := p.cfg.now()
	rt, ok := p.refresh[token]
	switch {
	case !ok:
		p.mu.Unlock()
		return nil, errInvalidGrant("unknown refresh token")
	case rt.g.clientID != c.ID:
		p.mu.Unlock()
		return nil, errInvalidGrant("the refresh token was issued to another client")
	case rt.g.revoked:
		p.mu.Unlock()
		return nil, errInvalidGrant("the refresh token is revoked")
	case rt.used:
		rt.g.revoked = true
		p.mu.Unlock()
		return nil, errInvalidGrant("the refresh token was already used; every token of its grant is revoked")
	case !now.Before(rt.exp):
		p.mu.Unlock()
		return nil, errInvalidGrant("the refresh token expired")
	}
	granted := strings.Fields(rt.g.scope)
	if s := form.Get("scope"); s != "" {
		for _, sc := range strings.Fields(s) {
			if !slices.Contains(granted, sc) {
				p.mu.Unlock()
				return nil, &oauthError{Code: "invalid_scope", Description: fmt.Sprintf("scope %q was not granted", sc), status: http.StatusBadRequest}
			}
		}
	}
	rt.used = true
	for _, at := range p.access {
		if at.g == rt.g {
			at.revoked = true
		}
	}
	resp, claims := p.issueTokens(rt.g, now)
	p.mu.Unlock()
	if s := form.Get("scope"); s != "" {
		resp.Scope = s
	}
	return p.finishTokens(resp, claims, m, true)
}

// issueTokens issues an access token, a refresh token when offline access
// was granted, and the ID token claims for g. The caller holds p.mu.
func (p *Provider) issueTokens(g *grant, now time.Time) (*tokenResponse, map[string]any) {
	at := "rptest_at_" + newID()
	p.access[at] = &accessToken{g: g, exp: now.Add(p.cfg.accessTTL)}
	resp := &tokenResponse{
		AccessToken: at,
		TokenType:   "bearer",
		ExpiresIn:   int64(p.cfg.accessTTL / time.Second),
		Scope:       g.scope,
	}
	scopes := strings.Fields(g.scope)
	if slices.Contains(scopes, "offline_access") || slices.Contains(scopes, "offline") {
		resp.RefreshToken = "rptest_rt_" + newID()
		p.refresh[resp.RefreshToken] = &refreshToken{g: g, exp: now.Add(p.cfg.refreshTTL)}
	}
	return resp, p.idTokenClaims(g, at, now)
}

// idTokenClaims returns the ID token claims for g (OpenID Connect Core 1.0
// §2, §3.1.3.6). The caller holds p.mu.
func (p *Provider) idTokenClaims(g *grant, accessToken string, now time.Time) map[string]any {
	claims := map[string]any{"acr": g.acr, "amr": slices.Clone(g.amr)}
	maps.Copy(claims, p.cfg.claims)
	claims["iss"] = p.issuer
	claims["sub"] = g.sub
	claims["aud"] = []string{g.clientID}
	claims["iat"] = now.Unix()
	claims["exp"] = now.Add(p.cfg.idTTL).Unix()
	claims["auth_time"] = g.authTime.Unix()
	claims["rat"] = g.requestedAt.Unix()
	claims["sid"] = g.sid
	claims["jti"] = newID()
	if g.nonce != "" {
		claims["nonce"] = g.nonce
	}
	if accessToken != "" {
		claims["at_hash"] = atHash(accessToken)
	}
	return claims
}

// atHash is the at_hash of an access token for RS256 and ES256 (OpenID
// Connect Core 1.0 §3.1.3.6).
func atHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// finishTokens applies the misbehaviour to the ID token claims and signs
// them into resp.
func (p *Provider) finishTokens(resp *tokenResponse, claims map[string]any, m Misbehaviour, refreshed bool) (*tokenResponse, *oauthError) {
	aud, _ := claims["aud"].([]string)
	if m.WrongIssuer {
		claims["iss"] = WrongValue
	}
	if m.WrongAudience {
		claims["aud"] = []string{WrongValue}
	}
	if m.ExtraAudienceNoAzp {
		claims["aud"] = append(slices.Clone(aud), WrongValue)
		delete(claims, "azp")
	}
	if m.WrongAzp {
		claims["azp"] = WrongValue
	}
	if m.WrongNonce {
		claims["nonce"] = WrongValue
	}
	now := time.Unix(claims["iat"].(int64), 0)
	if m.ExpiredIDToken {
		claims["iat"] = now.Add(-p.cfg.idTTL - time.Minute).Unix()
		claims["exp"] = now.Add(-time.Minute).Unix()
	}
	if m.FutureIAT {
		claims["iat"] = now.Add(time.Hour).Unix()
		claims["exp"] = now.Add(time.Hour + p.cfg.idTTL).Unix()
	}
	if m.MissingSub {
		delete(claims, "sub")
	}
	if m.ChangeSubjectOnRefresh && refreshed {
		claims["sub"] = "rptest-other-" + claims["sub"].(string)
	}
	if m.MissingAtHash {
		delete(claims, "at_hash")
	}
	if m.WrongAtHash {
		claims["at_hash"] = atHash(resp.AccessToken + "-other")
	}
	var opts []SignOption
	if m.UnknownKID {
		opts = append(opts, WithKID("rptest-unknown-"+newID()))
	}
	if m.AlgNone {
		opts = append(opts, WithAlg("none"))
	}
	idt, err := p.Sign(claims, opts...)
	if err != nil {
		return nil, &oauthError{Code: "server_error", Description: err.Error(), status: http.StatusInternalServerError}
	}
	if m.BadSignature {
		idt = corruptSignature(idt)
	}
	resp.IDToken = idt
	return resp, nil
}

// corruptSignature flips one bit of a compact JWS's signature.
func corruptSignature(compact string) string {
	i := strings.LastIndexByte(compact, '.')
	sig, err := base64.RawURLEncoding.DecodeString(compact[i+1:])
	if err != nil || len(sig) == 0 {
		return compact + "A"
	}
	sig[len(sig)/2] ^= 0x01
	return compact[:i+1] + base64.RawURLEncoding.EncodeToString(sig)
}

// IDTokenClaims returns a valid ID token claim set, as the token endpoint
// would issue it without an access token (so without at_hash), for the
// first registered client (aud is [""] when there is none), the current
// subject and login session (started when no one is signed in) and nonce
// ("" leaves nonce out). Sign it with SignIDToken, after changing what the
// test needs.
func (p *Provider) IDTokenClaims(nonce string) map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.cfg.now()
	s := p.ensureSession(now, false)
	g := &grant{
		clientID:    p.firstClientID(),
		sub:         s.sub,
		sid:         s.sid,
		nonce:       nonce,
		acr:         "0",
		amr:         []string{"pwd"},
		authTime:    s.authTime,
		requestedAt: now,
	}
	return p.idTokenClaims(g, "", now)
}

// AccessTokenHash returns the at_hash of accessToken for RS256 and ES256
// (OpenID Connect Core 1.0 §3.1.3.6), for building ID tokens by hand.
func AccessTokenHash(accessToken string) string { return atHash(accessToken) }
