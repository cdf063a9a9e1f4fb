package rp

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"time"

	"golang.org/x/oauth2"

	"github.com/oidcrp/oidcrp/rp/session"
	"github.com/oidcrp/oidcrp/userinfo"
)

// Session is the logged-in user's session as handlers see it. It is valid
// for the request it came with.
type Session struct {
	rp       *RP
	rec      *session.Session
	userinfo *userinfo.Info
	w        http.ResponseWriter
	req      *http.Request
}

type ctxKey struct{}

// SessionFrom returns the session [RP.RequireAuth] or [RP.LoadSession] put
// into the request's context.
func SessionFrom(ctx context.Context) (*Session, bool) {
	s, ok := ctx.Value(ctxKey{}).(*Session)
	return s, ok && s != nil
}

// ID returns the RP's own session identifier.
func (s *Session) ID() string { return s.rec.ID }

// Issuer returns the issuer that authenticated the user.
func (s *Session) Issuer() string { return s.rec.Issuer }

// Subject returns the user's subject identifier at the issuer.
func (s *Session) Subject() string { return s.rec.Subject }

// SID returns the provider's session ID (the sid claim), or "".
func (s *Session) SID() string { return s.rec.SID }

// CreatedAt returns when the user logged in.
func (s *Session) CreatedAt() time.Time { return s.rec.CreatedAt }

// AccessTokenExpiry returns when the current access token expires (zero
// when the provider did not say).
func (s *Session) AccessTokenExpiry() time.Time { return s.rec.Expiry }

// HasRefreshToken reports whether the session can renew its access token.
func (s *Session) HasRefreshToken() bool { return s.rec.RefreshToken != "" }

// IDTokenClaimsJSON returns the verified ID token's claim set as JSON.
func (s *Session) IDTokenClaimsJSON() json.RawMessage {
	return json.RawMessage(s.rec.ClaimsJSON)
}

// IDTokenClaims decodes the verified ID token's claims into v.
func (s *Session) IDTokenClaims(v any) error {
	return json.Unmarshal([]byte(s.rec.ClaimsJSON), v)
}

// CSRFToken returns the token a state-changing form of this session (such
// as the logout form) must carry in its "csrf_token" field.
func (s *Session) CSRFToken() string { return s.rp.csrfToken(s.rec.ID) }

// Token returns the session's access token, refreshed first when it is
// expired or about to be (one refresh per session at a time).
func (s *Session) Token(ctx context.Context) (*oauth2.Token, error) {
	rec, err := s.rp.ensureFresh(ctx, s.w, s.req, s.rec, s.rp.now())
	if err != nil {
		return nil, err
	}
	s.rec = rec
	return &oauth2.Token{AccessToken: rec.AccessToken, TokenType: rec.TokenType, Expiry: rec.Expiry}, nil
}

// TokenSource returns a token source over [Session.Token]: an access token
// that is renewed through the RP's one-refresh-at-a-time path, with the
// rotated refresh token saved into the session.
func (s *Session) TokenSource(ctx context.Context) oauth2.TokenSource {
	return tokenSource{ctx: ctx, s: s}
}

// Client returns an HTTP client that calls APIs with the user's access
// token, built on the RP's HTTP client.
func (s *Session) Client(ctx context.Context) *http.Client {
	return oauth2.NewClient(context.WithValue(ctx, oauth2.HTTPClient, s.rp.client), s.TokenSource(ctx))
}

type tokenSource struct {
	ctx context.Context
	s   *Session
}

func (t tokenSource) Token() (*oauth2.Token, error) { return t.s.Token(t.ctx) }

// csrfToken binds a CSRF token to a session ID.
func (r *RP) csrfToken(id string) string {
	m := hmac.New(sha256.New, r.csrfKey)
	m.Write([]byte(id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (r *RP) checkCSRF(id, token string) bool {
	return token != "" && hmac.Equal([]byte(r.csrfToken(id)), []byte(token))
}
