package rp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/oidcrp/oidcrp/logout"
	"github.com/oidcrp/oidcrp/rp/session"
)

// BackchannelLogoutHandler returns the handler for the
// backchannel_logout_uri (OpenID Connect Back-Channel Logout 1.0). It
// verifies the provider's logout token (§2.6) and ends every session of
// the provider session it names (sid), or of the user (sub) when it names
// no session: server-side records are deleted through the store's index,
// and the revocation list makes RequireAuth refuse the browsers' cookies,
// stateless ones included. It answers 200 with Cache-Control: no-store,
// or 400 with a JSON error (§2.8).
func (r *RP) BackchannelLogoutHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		claims, err := r.logoutVerifier.VerifyRequest(w, req)
		if err != nil {
			r.log.Info("rp: back-channel logout refused", "err", err)
			logout.WriteBackchannelResponse(w, err)
			return
		}
		if err := r.endProviderSession(req.Context(), claims.Issuer, claims.SID, claims.Subject); err != nil {
			r.log.Error("rp: back-channel logout", "err", err)
			logout.WriteBackchannelResponse(w, err)
			return
		}
		r.log.Info("rp: back-channel logout", "sid", claims.SID, "sub", claims.Subject)
		logout.WriteBackchannelResponse(w, nil)
	})
}

// FrontchannelLogoutHandler returns the handler for the
// frontchannel_logout_uri (OpenID Connect Front-Channel Logout 1.0), which
// the provider loads in an iframe. With iss and sid it ends every session
// of that provider session (the iframe is cross-site, so the browser may
// not send our cookie); without them it ends the session whose cookie came
// with the request, but only when the browser marks the request as a frame
// load (Sec-Fetch-Dest: iframe), so that a cross-site link cannot log
// anyone out. Only the provider's origin may frame the answer.
func (r *RP) FrontchannelLogoutHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		logout.FrontChannelHeaders(w.Header(), r.cfg.Issuer)
		fc, err := logout.ParseFrontChannel(req, r.cfg.Issuer, false)
		if err != nil {
			r.log.Info("rp: front-channel logout refused", "err", err)
			status := http.StatusBadRequest
			if errors.Is(err, logout.ErrMethodNotAllowed) {
				status = http.StatusMethodNotAllowed
			}
			http.Error(w, "invalid logout request", status)
			return
		}
		switch {
		case fc.SID != "":
			err = r.endProviderSession(req.Context(), fc.Issuer, fc.SID, "")
		case req.Header.Get("Sec-Fetch-Dest") != "iframe":
			// Without iss and sid only the cookie says whose session
			// ends, and a cross-site page could send the browser here
			// at top level (Lax cookies go along): logout CSRF. Such a
			// request counts only when the browser says it loads a
			// frame, as the provider's logout page does.
			r.log.Info("rp: front-channel logout without sid outside a frame ignored")
		default:
			if rec, lerr := r.store.Load(req); lerr != nil {
				err = lerr
			} else if rec != nil {
				r.end(w, req, rec)
			}
		}
		if err != nil {
			r.log.Error("rp: front-channel logout", "err", err)
			http.Error(w, "logout failed", http.StatusInternalServerError)
			return
		}
		r.log.Info("rp: front-channel logout", "sid", fc.SID)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<!doctype html><title>Logged out</title>")
	})
}

// Revocation-list keys. Session IDs are base64url and never contain ':'.
func sidKey(iss, sid string) string { return "sid:" + iss + "\x00" + sid }
func subKey(iss, sub string) string { return "sub:" + iss + "\x00" + sub }

// endProviderSession ends the sessions of a provider session (sid) or, when
// sid is empty, of a user (sub) at issuer iss: the revocation list refuses
// every such session created before now, and a store with an index deletes
// their records.
func (r *RP) endProviderSession(ctx context.Context, iss, sid, sub string) error {
	if iss == "" {
		iss = r.cfg.Issuer
	}
	now := r.now()
	ttl := r.cfg.SessionMaxAge + r.cfg.ClockSkew
	idx, hasIndex := session.IndexerOf(r.store)
	switch {
	case sid != "":
		if err := r.revocations.Revoke(ctx, sidKey(iss, sid), now, ttl); err != nil {
			return fmt.Errorf("%w: %w", ErrSessionStore, err)
		}
		if hasIndex {
			if _, err := idx.DeleteBySID(ctx, iss, sid); err != nil {
				return fmt.Errorf("%w: %w", ErrSessionStore, err)
			}
		}
	case sub != "":
		if err := r.revocations.Revoke(ctx, subKey(iss, sub), now, ttl); err != nil {
			return fmt.Errorf("%w: %w", ErrSessionStore, err)
		}
		if hasIndex {
			if _, err := idx.DeleteBySubject(ctx, iss, sub); err != nil {
				return fmt.Errorf("%w: %w", ErrSessionStore, err)
			}
		}
	default:
		return errors.New("rp: logout names neither a session nor a subject")
	}
	return nil
}
