package rp

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/oidcrp/oidcrp/discovery"
	"github.com/oidcrp/oidcrp/internal/httpx"
	"github.com/oidcrp/oidcrp/logout"
	"github.com/oidcrp/oidcrp/rp/session"
)

// logoutCookie carries the state of an RP-initiated logout to the
// post-logout page.
const logoutCookie = "oidcrp_logout"

// logoutFlowTTL bounds how long the provider's logout pages may take.
const logoutFlowTTL = 10 * time.Minute

// LogoutHandler returns the handler that logs the user out. It accepts only
// POST, with the session's [Session.CSRFToken] in the form field
// "csrf_token" and, when the browser sends Origin, an Origin equal to the
// RedirectURL's, so that a cross-site page cannot log anyone out.
//
// It ends the local session first (its ID is revoked, so a saved copy of
// the cookie is refused from then on), revokes the refresh token at the
// provider's revocation_endpoint (RFC 7009) when there is one, and
// redirects (303) to the provider's end_session_endpoint with
// id_token_hint, post_logout_redirect_uri and state (OpenID Connect
// RP-Initiated Logout 1.0). Without an end_session_endpoint it logs out
// locally only. Either way the browser ends at PostLogoutRedirectURL,
// where [RP.LogoutDoneHandler] checks the state.
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
			http.Redirect(w, req, r.postLogout.Path, http.StatusSeeOther)
			return
		}
		if !r.checkCSRF(rec.ID, req.PostForm.Get("csrf_token")) {
			r.fail(w, req, fmt.Errorf("%w: missing or wrong csrf_token", ErrCSRF))
			return
		}
		r.end(w, req, rec)
		r.log.Info("rp: logout", "sub", rec.Subject, "sid", rec.SID)

		ctx := req.Context()
		md, mdErr := r.metadata(ctx)
		if mdErr == nil {
			r.revokeTokens(ctx, md, rec)
		} else {
			r.log.Warn("rp: logout without provider metadata; local logout only", "err", mdErr)
		}
		state := randomString(32)
		if err := r.saveLogoutState(w, state); err != nil {
			r.fail(w, req, err)
			return
		}
		if mdErr != nil || md.EndSessionEndpoint == "" {
			http.Redirect(w, req, r.postLogout.Path+"?state="+url.QueryEscape(state), http.StatusSeeOther)
			return
		}
		target, err := logout.EndSessionURL(md.EndSessionEndpoint, logout.EndSessionRequest{
			IDTokenHint:           rec.IDToken,
			PostLogoutRedirectURI: r.postLogout.String(),
			State:                 state,
			ClientID:              r.cfg.ClientID,
		})
		if err != nil {
			r.log.Error("rp: end-session URL; local logout only", "err", err)
			target = r.postLogout.Path + "?state=" + url.QueryEscape(state)
		}
		http.Redirect(w, req, target, http.StatusSeeOther)
	})
}

// revokeTokens asks the provider to revoke the session's refresh token
// (which revokes its access tokens with it at most providers) or, without
// one, its access token (RFC 7009). Failures are logged: the local session
// is gone either way.
func (r *RP) revokeTokens(ctx context.Context, md *discovery.Metadata, s *session.Session) {
	if md.RevocationEndpoint == "" {
		return
	}
	token, hint := s.RefreshToken, "refresh_token"
	if token == "" {
		token, hint = s.AccessToken, "access_token"
	}
	if token == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	form := url.Values{"token": {token}, "token_type_hint": {hint}}
	method := r.authMethod(md)
	if method != AuthMethodClientSecretBasic {
		form.Set("client_id", r.cfg.ClientID)
		if method == AuthMethodClientSecretPost {
			form.Set("client_secret", r.cfg.ClientSecret)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.provider.BackchannelURL(md.RevocationEndpoint), strings.NewReader(form.Encode()))
	if err != nil {
		r.log.Warn("rp: revoke token", "err", err)
		return
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if method == AuthMethodClientSecretBasic {
		req.SetBasicAuth(url.QueryEscape(r.cfg.ClientID), url.QueryEscape(r.cfg.ClientSecret))
	}
	resp, err := r.client.Do(req)
	if err != nil {
		r.log.Warn("rp: revoke token", "err", err)
		return
	}
	defer resp.Body.Close()
	httpx.ReadBody(resp.Body, 64<<10)
	if resp.StatusCode != http.StatusOK {
		r.log.Warn("rp: revoke token", "status", resp.StatusCode)
	}
}

type logoutState struct {
	State   string `json:"s"`
	Created int64  `json:"c"`
}

func (r *RP) saveLogoutState(w http.ResponseWriter, state string) error {
	plain, _ := json.Marshal(logoutState{State: state, Created: r.now().Unix()})
	sealed, err := r.codec.Seal(logoutCookie, plain)
	if err != nil {
		return fmt.Errorf("rp: seal logout state: %w", err)
	}
	http.SetCookie(w, &http.Cookie{
		Name: logoutCookie, Value: sealed, Path: r.postLogout.Path, MaxAge: int(logoutFlowTTL / time.Second),
		HttpOnly: true, Secure: r.secure, SameSite: http.SameSiteLaxMode,
	})
	return nil
}

type logoutDoneKey struct{}

// LogoutConfirmed reports whether the request reached
// [RP.LogoutDoneHandler] at the end of a logout this browser started (its
// state matched). A page that is reached otherwise — a forged, replayed or
// missing state — should say nothing about anyone's session.
func LogoutConfirmed(ctx context.Context) bool {
	ok, _ := ctx.Value(logoutDoneKey{}).(bool)
	return ok
}

var logoutDonePage = template.Must(template.New("done").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Logged out</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}</style></head>
<body>{{if .}}<h1>You are logged out</h1>{{else}}<h1>Logout</h1><p>There is nothing to do here.</p>{{end}}<p><a href="/">Start page</a></p></body></html>
`))

// LogoutDoneHandler returns the handler for PostLogoutRedirectURL, where
// the provider sends the browser after logout. It checks the state against
// the single-use cookie LogoutHandler set and calls next with
// [LogoutConfirmed] telling the outcome; next nil means a plain page.
func (r *RP) LogoutDoneHandler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		confirmed := false
		if c, err := req.Cookie(logoutCookie); err == nil {
			http.SetCookie(w, &http.Cookie{Name: logoutCookie, Path: r.postLogout.Path, MaxAge: -1, HttpOnly: true, Secure: r.secure, SameSite: http.SameSiteLaxMode})
			var st logoutState
			if plain, err := r.codec.Open(logoutCookie, c.Value); err == nil && json.Unmarshal(plain, &st) == nil {
				got := req.URL.Query().Get("state")
				fresh := !r.now().After(time.Unix(st.Created, 0).Add(logoutFlowTTL))
				confirmed = fresh && got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(st.State)) == 1
			}
		}
		if !confirmed {
			r.log.Info("rp: post-logout page without a matching state")
		}
		if next == nil {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			logoutDonePage.Execute(w, confirmed)
			return
		}
		next.ServeHTTP(w, req.WithContext(context.WithValue(req.Context(), logoutDoneKey{}, confirmed)))
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
