package rp

import (
	"fmt"
	"net/http"
	"net/url"
)

// LogoutHandler returns the handler that logs the user out of this
// application. It accepts only POST, with the session's
// [Session.CSRFToken] in the form field "csrf_token" and, when the browser
// sends Origin, an Origin equal to the RedirectURL's, so that a cross-site
// page cannot log anyone out. It revokes the session's ID (a saved copy of
// the cookie is refused from then on), deletes the session and redirects
// (303) to PostLogoutPath. A request without a session is simply
// redirected.
func (r *RP) LogoutHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			http.Error(w, "logout needs POST", http.StatusMethodNotAllowed)
			return
		}
		req.Body = http.MaxBytesReader(w, req.Body, 64<<10)
		if err := req.ParseForm(); err != nil {
			r.fail(w, req, fmt.Errorf("%w: logout form: %w", errBadRequest, err))
			return
		}
		if !r.sameOrigin(req) {
			r.fail(w, req, fmt.Errorf("%w: logout from another origin", ErrCSRF))
			return
		}
		rec, err := r.store.Load(req)
		if err != nil {
			r.fail(w, req, fmt.Errorf("%w: %w", ErrSessionStore, err))
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		if rec == nil {
			http.Redirect(w, req, r.cfg.PostLogoutPath, http.StatusSeeOther)
			return
		}
		if !r.checkCSRF(rec.ID, req.PostForm.Get("csrf_token")) {
			r.fail(w, req, fmt.Errorf("%w: missing or wrong csrf_token", ErrCSRF))
			return
		}
		r.end(w, req, rec)
		r.log.Info("rp: logout", "sub", rec.Subject, "sid", rec.SID)
		http.Redirect(w, req, r.cfg.PostLogoutPath, http.StatusSeeOther)
	})
}

// sameOrigin checks the Origin header, when present, against the
// RedirectURL's origin.
func (r *RP) sameOrigin(req *http.Request) bool {
	o := req.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	if err != nil {
		return false
	}
	return u.Scheme == r.redirect.Scheme && u.Host == r.redirect.Host
}
