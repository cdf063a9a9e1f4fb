package rp

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/oauth2"

	"github.com/oidcrp/oidcrp/rp/session"
)

// CallbackHandler returns the handler for the redirect URL. It finds the
// login flow by its state, makes the flow single-use, checks the
// authorization response (RFC 6749 §4.1.2, RFC 9207), exchanges the code
// with the PKCE verifier (RFC 7636), verifies the ID token (OpenID Connect
// Core §3.1.3.7), starts a fresh session and redirects to the flow's return
// path. A stale or replayed callback makes no token request and gets a 4xx
// page via the ErrorHandler.
func (r *RP) CallbackHandler() http.Handler {
	return http.HandlerFunc(r.callback)
}

func (r *RP) callback(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	q := req.URL.Query()
	state := q.Get("state")
	flow, err := r.takeFlow(w, req, state)
	if err != nil {
		// The state names no login in progress in this browser: a
		// forged, replayed or expired callback. An error response is
		// reported like any other, without the provider's text: anyone
		// can write that text into such a link and have this site show
		// it (content spoofing).
		if code := q.Get("error"); code != "" {
			r.log.Info("rp: provider error for no login in progress", "error", truncate(code, 100))
		}
		r.fail(w, req, err)
		return
	}
	ctx := req.Context()
	md, err := r.metadata(ctx)
	if err != nil {
		r.fail(w, req, err)
		return
	}
	// RFC 9207 §2.4: iss is checked on error responses too.
	if iss, sent := q["iss"]; sent || md.AuthorizationResponseIssParameterSupported {
		if len(iss) != 1 || iss[0] != r.cfg.Issuer {
			r.fail(w, req, ErrIssuerMismatch)
			return
		}
	}
	if code := q.Get("error"); code != "" {
		r.fail(w, req, &AuthError{Code: truncate(code, 100), Description: truncate(q.Get("error_description"), 500), URI: truncate(q.Get("error_uri"), 500)})
		return
	}
	code := q.Get("code")
	if code == "" {
		r.fail(w, req, fmt.Errorf("%w: callback without code", errBadRequest))
		return
	}
	tok, err := r.oauth2Config(md).Exchange(r.providerCtx(ctx), code, oauth2.VerifierOption(flow.Verifier))
	if err != nil {
		r.fail(w, req, classifyTokenError(err, ErrCodeExchange))
		return
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		r.fail(w, req, fmt.Errorf("%w: token response has no id_token", ErrInvalidIDToken))
		return
	}
	idt, err := r.verifyIDToken(ctx, md, rawID, idTokenCheck{nonce: flow.Nonce, maxAge: flow.MaxAge, acr: flow.ACR, accessToken: tok.AccessToken})
	if err != nil {
		r.fail(w, req, err)
		return
	}
	// A fresh session with a new ID: whatever session this browser had is
	// discarded (no fixation), and its ID revoked.
	if old, err := r.store.Load(req); err == nil && old != nil {
		r.revokeID(ctx, old)
		if err := r.store.Delete(w, req, old); err != nil {
			r.log.Warn("rp: delete replaced session", "err", err)
		}
	}
	now := r.now()
	id, err := session.NewID()
	if err != nil {
		r.fail(w, req, err)
		return
	}
	s := &session.Session{
		ID:           id,
		Issuer:       r.cfg.Issuer,
		Subject:      idt.claims.Subject,
		SID:          idt.claims.SID,
		IDToken:      rawID,
		AccessToken:  tok.AccessToken,
		TokenType:    tok.TokenType,
		RefreshToken: tok.RefreshToken,
		Expiry:       r.tokenExpiry(tok, now),
		ClaimsJSON:   string(idt.raw),
		CreatedAt:    now,
		LastSeen:     now,
		TokenIssued:  now,
	}
	if r.ui != nil {
		if info, err := r.fetchUserInfo(ctx, s); err != nil {
			r.log.Warn("rp: userinfo at login", "sub", s.Subject, "err", err)
		} else if r.persistUserInfo {
			s.UserInfoJSON = string(info.Raw)
		}
	}
	if err := r.store.Save(w, req, s); err != nil {
		r.fail(w, req, fmt.Errorf("%w: save session: %w", ErrSessionStore, err))
		return
	}
	r.log.Info("rp: login", "sub", s.Subject, "sid", s.SID)
	http.Redirect(w, req, flow.ReturnTo, http.StatusSeeOther)
}

// takeFlow finds the live login flow for state, consumes it (cookie cleared,
// state marked used) and returns it.
func (r *RP) takeFlow(w http.ResponseWriter, req *http.Request, state string) (*loginFlow, error) {
	if state == "" || len(state) > 512 {
		return nil, fmt.Errorf("%w: callback without a valid state", ErrStateMismatch)
	}
	name := flowCookieName(state)
	c, err := req.Cookie(name)
	if err != nil {
		return nil, ErrStateMismatch
	}
	r.clearFlowCookie(w, name)
	f, ok := r.openFlow(c)
	if !ok || subtle.ConstantTimeCompare([]byte(f.State), []byte(state)) != 1 {
		return nil, ErrStateMismatch
	}
	if r.flowExpired(f) {
		return nil, ErrLoginExpired
	}
	sum := sha256.Sum256([]byte(state))
	seen, err := r.replay.Seen(req.Context(), "state:"+hex.EncodeToString(sum[:]), r.cfg.LoginFlowTTL)
	if err != nil {
		return nil, fmt.Errorf("%w: replay cache: %w", ErrSessionStore, err)
	}
	if seen {
		return nil, fmt.Errorf("%w: login flow already used", ErrStateMismatch)
	}
	return f, nil
}

// revokeID records that s's ID is logged out, so a copy of its cookie is
// refused until the session would have expired anyway.
func (r *RP) revokeID(ctx context.Context, s *session.Session) {
	ttl := s.CreatedAt.Add(r.cfg.SessionMaxAge).Sub(r.now())
	if ttl <= 0 {
		return
	}
	if err := r.revocations.Revoke(ctx, s.ID, r.now(), ttl+r.cfg.ClockSkew); err != nil {
		r.log.Error("rp: record revoked session", "err", err)
	}
}

// tokenExpiry returns when tok's access token expires by the RP's clock:
// from expires_in (RFC 6749 §5.1) rather than x/oauth2's wall-clock
// Expiry, so that an injected clock governs refresh.
func (r *RP) tokenExpiry(tok *oauth2.Token, now time.Time) time.Time {
	if tok.ExpiresIn > 0 {
		return now.Add(time.Duration(tok.ExpiresIn) * time.Second)
	}
	return time.Time{}
}
