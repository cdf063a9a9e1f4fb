package rptest

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/oidcrp/oidcrp/internal/httpx"
)

// BackchannelLogoutEvent is the events member of a logout token
// (OpenID Connect Back-Channel Logout 1.0 §2.4).
const BackchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// logoutClient posts logout tokens to relying parties.
var logoutClient = httpx.NewClient(5*time.Second, 64<<10)

// serveEndSession is the end-session endpoint (OpenID Connect RP-Initiated
// Logout 1.0 §2, §3). It ends the login session, posts logout tokens to the
// back-channel logout URIs of the clients that took part, and then:
// with front-channel clients it shows a page with their iframes (and a
// refresh to the post-logout URI), like Ory Hydra; otherwise it redirects
// with 302 to a registered post_logout_redirect_uri with state, or shows
// a "signed out" page. Tokens stay active, as with Hydra.
func (p *Provider) serveEndSession(w http.ResponseWriter, r *http.Request) {
	p.count(EndpointEndSession)
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "rptest: malformed logout request: "+err.Error(), http.StatusBadRequest)
		return
	}
	form := r.Form
	p.mu.Lock()
	p.lastEndSession = cloneValues(form)
	p.mu.Unlock()
	for k, vs := range form {
		if len(vs) > 1 {
			http.Error(w, fmt.Sprintf("rptest: parameter %s is repeated", k), http.StatusBadRequest)
			return
		}
	}
	target, err := p.postLogoutTarget(form)
	if err != nil {
		http.Error(w, "rptest: "+err.Error(), http.StatusBadRequest)
		return
	}
	frontchannel, _ := p.endSession(r.Context())
	if target == "" || len(frontchannel) > 0 {
		p.writeLogoutPage(w, target, frontchannel)
		return
	}
	w.Header().Set("Location", target)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusFound)
}

// postLogoutTarget checks id_token_hint, client_id and
// post_logout_redirect_uri and returns where to send the user agent, or "".
func (p *Provider) postLogoutTarget(form url.Values) (string, error) {
	clientID := form.Get("client_id")
	if hint := form.Get("id_token_hint"); hint != "" {
		// The hint may have expired (RP-Initiated Logout 1.0 §2), so only
		// the signature and the issuer are checked.
		tok, err := jwt.Parse([]byte(hint), jwt.WithKeySet(p.publicKeySet()), jwt.WithValidate(false))
		if err != nil {
			return "", fmt.Errorf("id_token_hint does not verify: %w", err)
		}
		if tok.Issuer() != p.issuer {
			return "", errors.New("id_token_hint was issued by someone else")
		}
		switch {
		case clientID == "" && len(tok.Audience()) > 0:
			clientID = tok.Audience()[0]
		case clientID != "" && !slices.Contains(tok.Audience(), clientID):
			return "", errors.New("client_id is not an audience of id_token_hint")
		}
	}
	postLogout := form.Get("post_logout_redirect_uri")
	if postLogout == "" {
		return "", nil
	}
	if clientID == "" {
		return "", errors.New("post_logout_redirect_uri needs id_token_hint or client_id")
	}
	p.mu.Lock()
	c, ok := p.clients[clientID]
	p.mu.Unlock()
	if !ok {
		return "", errors.New("unknown client")
	}
	if !slices.Contains(c.PostLogoutRedirectURIs, postLogout) {
		return "", errors.New("post_logout_redirect_uri is not registered for the client")
	}
	u, err := url.Parse(postLogout)
	if err != nil {
		return "", fmt.Errorf("post_logout_redirect_uri: %w", err)
	}
	if state := form.Get("state"); state != "" {
		q := u.Query()
		q.Set("state", state)
		u.RawQuery = q.Encode()
	}
	return u.String(), nil
}

// writeLogoutPage shows the "signed out" page, with front-channel logout
// iframes and a refresh to target when given.
func (p *Provider) writeLogoutPage(w http.ResponseWriter, target string, frontchannel []string) {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html><head><title>Signed out</title>")
	if target != "" {
		fmt.Fprintf(&b, `<meta http-equiv="refresh" content="7; URL=%s">`, html.EscapeString(target))
	}
	b.WriteString("</head><body><p>You are signed out.</p>\n")
	for _, u := range frontchannel {
		fmt.Fprintf(&b, "<iframe src=\"%s\"></iframe>\n", html.EscapeString(u))
	}
	if p.Misbehaviour().OversizeBody == EndpointEndSession {
		b.WriteString("<!-- ")
		b.WriteString(strings.Repeat("a", oversize))
		b.WriteString(" -->")
	}
	b.WriteString("</body></html>\n")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	io.WriteString(w, b.String())
}

// LogoutSession ends the current login session as if the provider's
// administrator did (Ory Hydra's DELETE /admin/oauth2/auth/sessions/login):
// it posts a logout token to the back-channel logout URI of every client
// that took part and waits for the answers. It reports failed deliveries.
// Tokens stay active.
func (p *Provider) LogoutSession(ctx context.Context) error {
	_, err := p.endSession(ctx)
	return err
}

// endSession ends the login session, delivers back-channel logout tokens
// and returns the front-channel logout URLs of the clients involved.
func (p *Provider) endSession(ctx context.Context) ([]string, error) {
	p.mu.Lock()
	s := p.session
	p.session = nil
	var clients []Client
	if s != nil {
		for _, id := range p.clientOrder {
			if s.clients[id] {
				clients = append(clients, p.clients[id])
			}
		}
	}
	p.mu.Unlock()
	if s == nil {
		return nil, nil
	}
	hydra := p.Misbehaviour().LogoutTokenLikeHydra
	var frontchannel []string
	var errs []error
	for _, c := range clients {
		if c.FrontchannelLogoutURI != "" {
			if u, err := url.Parse(c.FrontchannelLogoutURI); err == nil {
				q := u.Query()
				q.Set("iss", p.issuer)
				q.Set("sid", s.sid)
				u.RawQuery = q.Encode()
				frontchannel = append(frontchannel, u.String())
			}
		}
		if c.BackchannelLogoutURI != "" {
			if err := p.postLogoutToken(ctx, c, s, hydra); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return frontchannel, errors.Join(errs...)
}

// postLogoutToken delivers a logout token to c (OpenID Connect Back-Channel
// Logout 1.0 §2.5).
func (p *Provider) postLogoutToken(ctx context.Context, c Client, s *loginSession, hydra bool) error {
	claims := p.logoutTokenClaims(c.ID, s.sid, s.sub)
	opts := []SignOption{WithHeader("typ", "logout+jwt")}
	if hydra {
		delete(claims, "exp")
		delete(claims, "sub")
		opts = nil
	}
	token, err := p.Sign(claims, opts...)
	if err != nil {
		return err
	}
	p.count(EndpointBackchannelLogout)
	body := url.Values{"logout_token": {token}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BackchannelLogoutURI, strings.NewReader(body))
	if err != nil {
		return fmt.Errorf("rptest: back-channel logout to %s: %w", c.ID, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := logoutClient.Do(req)
	if err != nil {
		return fmt.Errorf("rptest: back-channel logout to %s: %w", c.ID, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("rptest: back-channel logout to %s: %s", c.ID, resp.Status)
	}
	return nil
}

// LogoutTokenClaims returns the claims of a valid logout token (OpenID
// Connect Back-Channel Logout 1.0 §2.4) for clientID and sid ("" leaves
// sid out), with the current subject as sub and a two-minute exp. Sign it
// with SignIDToken(claims, WithHeader("typ", "logout+jwt")).
func (p *Provider) LogoutTokenClaims(clientID, sid string) map[string]any {
	p.mu.Lock()
	sub := p.subject
	p.mu.Unlock()
	return p.logoutTokenClaims(clientID, sid, sub)
}

func (p *Provider) logoutTokenClaims(clientID, sid, sub string) map[string]any {
	now := p.cfg.now()
	claims := map[string]any{
		"iss":    p.issuer,
		"aud":    []string{clientID},
		"iat":    now.Unix(),
		"exp":    now.Add(2 * time.Minute).Unix(),
		"jti":    newID(),
		"sub":    sub,
		"events": map[string]any{BackchannelLogoutEvent: map[string]any{}},
	}
	if sid != "" {
		claims["sid"] = sid
	}
	return claims
}
