package rp

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/oidcrp/oidcrp/rp/session"
)

// RequireAuth returns middleware that lets a request through only with a
// live session, available to next via [SessionFrom]. The session must be
// within its absolute and idle lifetimes and not revoked; an access token
// about to expire is refreshed first (one refresh per session at a time).
//
// Without a session, a browser navigation is redirected to LoginPath with
// return_to set to the requested path; an API-style request (Accept:
// application/json, X-Requested-With, a Sec-Fetch-Mode other than
// navigate, or a method other than GET and HEAD) gets 401 with a JSON body
// and a WWW-Authenticate header instead.
func (r *RP) RequireAuth(next http.Handler) http.Handler {
	return r.requireAuth(next, isAPIRequest)
}

// RequireAuthAPI is [RP.RequireAuth] for API routes, which are never
// navigated to: without a live session every request gets 401 with a JSON
// body and a WWW-Authenticate header, never a redirect to the login page,
// whatever its Accept header says (curl, scripts and fetch calls that send
// Accept: */*).
func (r *RP) RequireAuthAPI(next http.Handler) http.Handler {
	return r.requireAuth(next, func(*http.Request) bool { return true })
}

// requireAuth serves next with the request's live session; api tells
// whether a request without one gets 401 rather than a login redirect.
func (r *RP) requireAuth(next http.Handler, api func(*http.Request) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s, err := r.session(w, req)
		if err != nil {
			r.fail(w, req, err)
			return
		}
		if s == nil {
			r.unauthenticated(w, req, api(req))
			return
		}
		next.ServeHTTP(w, req.WithContext(context.WithValue(req.Context(), ctxKey{}, s)))
	})
}

// LoadSession returns middleware that puts a live session, when there is
// one, into the request's context and calls next either way. It applies
// the same checks and refresh as [RP.RequireAuth]; only a system failure
// (the session store or the provider unavailable) stops the request.
func (r *RP) LoadSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s, err := r.session(w, req)
		if err != nil {
			r.fail(w, req, err)
			return
		}
		if s != nil {
			req = req.WithContext(context.WithValue(req.Context(), ctxKey{}, s))
		}
		next.ServeHTTP(w, req)
	})
}

// session loads the request's session and checks it. (nil, nil) means no
// live session; an error is a system failure.
func (r *RP) session(w http.ResponseWriter, req *http.Request) (*Session, error) {
	// One clock reading serves the whole request's checks.
	now := r.now()
	rec, err := r.loadValid(w, req, now)
	if err != nil || rec == nil {
		return nil, err
	}
	rec, err = r.ensureFresh(req.Context(), w, req, rec, now)
	switch {
	case errors.Is(err, ErrRefreshRejected), errors.Is(err, ErrIdentityChanged):
		r.log.Info("rp: session ended by refresh", "sub", rec.Subject, "err", err)
		r.end(w, req, rec)
		return nil, nil
	case errors.Is(err, ErrNoRefreshToken):
		// The login session stays valid; API calls report the expired
		// token through Session.Token.
	case err != nil:
		return nil, err
	}
	s := &Session{rp: r, rec: rec, w: w, req: req}
	if r.ui != nil {
		s.userinfo = r.userInfo(req.Context(), w, req, rec, now)
	}
	return s, nil
}

// loadValid loads the session record and applies lifetimes and
// revocation. Dead sessions are cleared from the browser.
func (r *RP) loadValid(w http.ResponseWriter, req *http.Request, now time.Time) (*session.Session, error) {
	rec, err := r.store.Load(req)
	if err != nil {
		return nil, errors.Join(ErrSessionStore, err)
	}
	if rec == nil {
		return nil, nil
	}
	switch {
	case rec.Issuer != r.cfg.Issuer:
	case now.After(rec.CreatedAt.Add(r.cfg.SessionMaxAge)):
	case r.cfg.SessionIdleTimeout > 0 && now.After(rec.LastSeen.Add(r.cfg.SessionIdleTimeout)):
	default:
		if r.checkRevocationsOnLoad {
			revoked, err := r.revoked(req.Context(), rec)
			if err != nil {
				return nil, errors.Join(ErrSessionStore, err)
			}
			if revoked {
				break
			}
		}
		if r.cfg.SessionIdleTimeout > 0 && now.Sub(rec.LastSeen) > r.touchInterval() {
			rec.LastSeen = now
			if err := r.saveSession(w, req, rec); errors.Is(err, errRevoked) {
				break
			} else if err != nil {
				r.log.Warn("rp: update session last-seen time", "err", err)
			}
		}
		return rec, nil
	}
	if err := r.store.Delete(w, req, rec); err != nil {
		r.log.Warn("rp: delete dead session", "err", err)
	}
	return nil, nil
}

// errRevoked: a session that was logged out meanwhile is not written back.
var errRevoked = errors.New("rp: session was logged out")

// saveSession writes an existing session back to the store. A server-side
// store with an index deletes logged-out sessions' records, so loads skip
// the revocation list (one store round trip per request); a write, which
// could bring back a record deleted a moment ago, checks it first.
func (r *RP) saveSession(w http.ResponseWriter, req *http.Request, rec *session.Session) error {
	if err := r.checkNotRevoked(req.Context(), rec); err != nil {
		return err
	}
	return r.store.Save(w, req, rec)
}

// checkNotRevoked returns errRevoked for a logged-out session when loads do
// not consult the revocation list themselves.
func (r *RP) checkNotRevoked(ctx context.Context, rec *session.Session) error {
	if r.checkRevocationsOnLoad {
		return nil
	}
	revoked, err := r.revoked(ctx, rec)
	if err != nil {
		return errors.Join(ErrSessionStore, err)
	}
	if revoked {
		return errRevoked
	}
	return nil
}

// touchInterval is how stale LastSeen may get before it is rewritten, so
// that the idle timeout does not cost a cookie write on every request.
func (r *RP) touchInterval() time.Duration {
	return max(r.cfg.SessionIdleTimeout/20, time.Minute)
}

// revoked reports whether s was logged out: its own ID, or its provider
// session or subject by a logout that happened after it started.
func (r *RP) revoked(ctx context.Context, s *session.Session) (bool, error) {
	if _, ok, err := r.revocations.RevokedAt(ctx, s.ID); ok || err != nil {
		return ok, err
	}
	if s.SID != "" {
		at, ok, err := r.revocations.RevokedAt(ctx, sidKey(s.Issuer, s.SID))
		if err != nil || (ok && !s.CreatedAt.After(at)) {
			return ok, err
		}
	}
	at, ok, err := r.revocations.RevokedAt(ctx, subKey(s.Issuer, s.Subject))
	return ok && !s.CreatedAt.After(at), err
}

// end clears a session from the store and the browser and revokes its ID.
func (r *RP) end(w http.ResponseWriter, req *http.Request, s *session.Session) {
	r.revokeID(req.Context(), s)
	if r.uiCache != nil {
		r.uiCache.remove(s.ID)
	}
	if err := r.store.Delete(w, req, s); err != nil {
		r.log.Warn("rp: delete session", "err", err)
	}
}

// unauthenticated answers a request that needs a session and has none:
// 401 JSON when api is set, a redirect to the login page otherwise.
func (r *RP) unauthenticated(w http.ResponseWriter, req *http.Request, api bool) {
	w.Header().Set("Cache-Control", "no-store")
	if api {
		w.Header().Set("WWW-Authenticate", `OpenIDConnect realm="oidcrp", login_url="`+r.cfg.LoginPath+`"`)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"error":"not_authenticated","login_url":` + jsonString(r.cfg.LoginPath) + `}`))
		return
	}
	target := r.cfg.LoginPath
	if rt, ok := cleanReturnTo(req.URL.RequestURI()); ok {
		sep := "?"
		if strings.Contains(target, "?") {
			sep = "&"
		}
		target += sep + "return_to=" + url.QueryEscape(rt)
	}
	http.Redirect(w, req, target, http.StatusFound)
}

// isAPIRequest tells programmatic requests, which want a 401, from
// browser navigations, which want a redirect to the login page.
func isAPIRequest(req *http.Request) bool {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return true
	}
	h := req.Header
	if h.Get("X-Requested-With") != "" {
		return true
	}
	if m := h.Get("Sec-Fetch-Mode"); m != "" && m != "navigate" {
		return true
	}
	accept := h.Get("Accept")
	return strings.Contains(accept, "application/json") && !strings.Contains(accept, "text/html")
}
