package rptest

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Minimum lengths Ory Hydra enforces for state and nonce.
const (
	minStateLen = 8
	minNonceLen = 8
)

// serveAuthorize is the authorization endpoint (OpenID Connect Core 1.0
// §3.1.2, RFC 7636 §4.3). The user agent is always signed in and consents,
// so a valid request is answered at once with 303 to the redirect_uri
// carrying code, scope and state.
func (p *Provider) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	p.count(EndpointAuthorize)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "rptest: malformed authorization request: "+err.Error(), http.StatusBadRequest)
		return
	}
	form := r.Form
	p.mu.Lock()
	p.lastAuthorize = cloneValues(form)
	c, known := p.clients[form.Get("client_id")]
	p.mu.Unlock()

	// RFC 6749 §4.1.2.1: without a valid client and redirect URI the
	// error goes to the user agent, never to the redirect URI.
	if len(form["client_id"]) != 1 || !known {
		http.Error(w, "rptest: unknown client_id", http.StatusBadRequest)
		return
	}
	redirectURI := form.Get("redirect_uri")
	if len(form["redirect_uri"]) != 1 || !slices.Contains(c.RedirectURIs, redirectURI) {
		http.Error(w, "rptest: redirect_uri is missing or not registered for the client", http.StatusBadRequest)
		return
	}

	code, desc, reauth, acr, now := p.checkAuthorize(c, form)
	if code != "" {
		p.redirectBack(w, redirectURI, url.Values{"error": {code}, "error_description": {desc}, "state": form["state"]})
		return
	}
	scope := form.Get("scope")

	p.mu.Lock()
	if slices.Contains(strings.Fields(form.Get("prompt")), "none") && p.session == nil {
		p.mu.Unlock()
		p.redirectBack(w, redirectURI, url.Values{"error": {"login_required"}, "error_description": {"no one is signed in"}, "state": form["state"]})
		return
	}
	if maxAge := form.Get("max_age"); maxAge != "" && p.session != nil {
		secs, _ := strconv.Atoi(maxAge) // checked in checkAuthorize
		if now.Sub(p.session.authTime) > time.Duration(secs)*time.Second {
			reauth = true
		}
	}
	s := p.ensureSession(now, reauth)
	s.clients[c.ID] = true
	g := &grant{
		clientID:    c.ID,
		sub:         s.sub,
		sid:         s.sid,
		nonce:       form.Get("nonce"),
		scope:       scope,
		acr:         acr,
		amr:         []string{"pwd"},
		authTime:    s.authTime,
		requestedAt: now,
	}
	authzCode := "rptest_ac_" + newID()
	p.codes[authzCode] = &authCode{g: g, redirectURI: redirectURI, challenge: form.Get("code_challenge"), exp: now.Add(CodeTTL)}
	p.mu.Unlock()

	p.redirectBack(w, redirectURI, url.Values{"code": {authzCode}, "scope": {scope}, "state": {form.Get("state")}})
}

// checkAuthorize checks the parameters once client and redirect URI are
// known. It returns an error code and description, or "" and whether the
// user must authenticate again, the acr to grant and the time.
func (p *Provider) checkAuthorize(c Client, form url.Values) (code, desc string, reauth bool, acr string, now time.Time) {
	now = p.cfg.now()
	for k, vs := range form {
		if len(vs) > 1 {
			return "invalid_request", fmt.Sprintf("parameter %s is repeated (RFC 6749 §3.1)", k), false, "", now
		}
	}
	if form.Has("request") {
		return "request_not_supported", "request objects are not supported", false, "", now
	}
	if form.Has("request_uri") {
		return "request_uri_not_supported", "request_uri is not supported", false, "", now
	}
	if form.Get("response_type") != "code" {
		return "unsupported_response_type", "response_type must be code", false, "", now
	}
	if rm := form.Get("response_mode"); rm != "" && rm != "query" {
		return "invalid_request", "response_mode must be query", false, "", now
	}
	scopes := strings.Fields(form.Get("scope"))
	if !slices.Contains(scopes, "openid") {
		return "invalid_scope", "scope must contain openid", false, "", now
	}
	for _, s := range scopes {
		if !c.allowsScope(s) {
			return "invalid_scope", fmt.Sprintf("the client may not ask for scope %q", s), false, "", now
		}
	}
	if len(form.Get("state")) < minStateLen {
		return "invalid_state", fmt.Sprintf("state must be at least %d characters", minStateLen), false, "", now
	}
	if len(form.Get("nonce")) < minNonceLen {
		return "invalid_request", fmt.Sprintf("nonce must be at least %d characters", minNonceLen), false, "", now
	}
	if form.Get("code_challenge_method") != "S256" {
		return "invalid_request", "code_challenge_method must be S256 (RFC 7636 §4.3)", false, "", now
	}
	if ch, err := base64.RawURLEncoding.DecodeString(form.Get("code_challenge")); err != nil || len(ch) != 32 {
		return "invalid_request", "code_challenge must be the base64url SHA-256 of the verifier (RFC 7636 §4.2)", false, "", now
	}
	prompt := strings.Fields(form.Get("prompt"))
	if slices.Contains(prompt, "none") && len(prompt) > 1 {
		return "invalid_request", "prompt=none must stand alone (OpenID Connect Core 1.0 §3.1.2.1)", false, "", now
	}
	reauth = slices.Contains(prompt, "login")
	if ma := form.Get("max_age"); ma != "" {
		if n, err := strconv.Atoi(ma); err != nil || n < 0 {
			return "invalid_request", "max_age must be a non-negative integer", false, "", now
		}
	}
	acr = "0"
	if v := strings.Fields(form.Get("acr_values")); len(v) > 0 {
		acr = v[0]
	}
	return "", "", reauth, acr, now
}

// redirectBack answers with 303 to redirectURI with params added to its
// query, plus iss when RFC 9207 is on or misbehaving.
func (p *Provider) redirectBack(w http.ResponseWriter, redirectURI string, params url.Values) {
	u, err := url.Parse(redirectURI)
	if err != nil {
		http.Error(w, "rptest: registered redirect_uri does not parse: "+err.Error(), http.StatusInternalServerError)
		return
	}
	q := u.Query()
	for k, vs := range params {
		if len(vs) > 0 && vs[0] != "" {
			q.Set(k, vs[0])
		}
	}
	switch {
	case p.Misbehaviour().WrongISSParam:
		q.Set("iss", WrongValue)
	case p.cfg.issParam:
		q.Set("iss", p.issuer)
	}
	u.RawQuery = q.Encode()
	w.Header().Set("Location", u.String())
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusSeeOther)
}

// Authorize sends the user agent to authURL, an authorization request to
// this provider, and returns where the provider redirects it: the
// client's redirect URI with code and state, or with error. It fails the
// test when the provider does not answer with a redirect (for example for
// an unknown client or redirect URI).
func (p *Provider) Authorize(t testing.TB, authURL string) (callbackURL *url.URL) {
	t.Helper()
	client := &http.Client{
		Transport:     p.Client().Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, authURL, nil)
	if err != nil {
		t.Fatalf("rptest: authorization URL: %v", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("rptest: authorization request: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		t.Fatalf("rptest: authorization request answered %s, want a redirect: %s", resp.Status, body)
	}
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("rptest: authorization redirect: %v", err)
	}
	return loc
}
