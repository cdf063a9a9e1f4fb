package loginapp

import (
	"net/http"
)

// maxFormBody bounds the forms the pages post.
const maxFormBody = 64 << 10

// deniedDescription is the error_description of a refusal by the user.
const deniedDescription = "The resource owner denied the request"

// loginPage handles GET /login?login_challenge=.
func (h *handler) loginPage(w http.ResponseWriter, r *http.Request) {
	challenge := r.URL.Query().Get("login_challenge")
	if challenge == "" {
		message(w, http.StatusBadRequest, "Missing login challenge", "This page is reached through the provider's authorization endpoint.")
		return
	}
	var req loginRequest
	if err := h.admin.get(r.Context(), kindLogin, challenge, &req); err != nil {
		h.fail(w, r, "read login request", err)
		return
	}
	switch {
	case req.Skip:
		// Hydra already authenticated this browser (remembered session):
		// the login must be accepted with the subject it reports.
		id, ok := h.identityFor(req.Subject)
		if !ok {
			id = Identity{Subject: req.Subject}
		}
		h.acceptLogin(w, r, challenge, id, http.StatusFound)
	case h.auto != nil:
		h.acceptLogin(w, r, challenge, *h.auto, http.StatusFound)
	default:
		render(w, http.StatusOK, "login", h.loginView(w, r, challenge, &req, req.OIDCContext.LoginHint, ""))
	}
}

// loginView is the data of the login form.
func (h *handler) loginView(w http.ResponseWriter, r *http.Request, challenge string, req *loginRequest, username, errMsg string) page {
	return page{
		Title:     "Sign in",
		Error:     errMsg,
		Challenge: challenge,
		CSRF:      h.csrfToken(w, r, kindLogin, challenge),
		Username:  username,
		DemoUsers: h.order,
		Client:    req.Client.displayName(),
	}
}

// loginSubmit handles POST /login from the form.
func (h *handler) loginSubmit(w http.ResponseWriter, r *http.Request) {
	challenge, ok := h.postedChallenge(w, r, kindLogin)
	if !ok {
		return
	}
	if r.PostFormValue("action") == "cancel" {
		h.reject(w, r, kindLogin, challenge)
		return
	}
	username := r.PostFormValue("username")
	usr, ok := h.check(username, r.PostFormValue("password"))
	if !ok {
		var req loginRequest
		if err := h.admin.get(r.Context(), kindLogin, challenge, &req); err != nil {
			h.fail(w, r, "read login request", err)
			return
		}
		render(w, http.StatusUnauthorized, "login", h.loginView(w, r, challenge, &req, username, "Wrong username or password."))
		return
	}
	h.acceptLogin(w, r, challenge, usr.Identity, http.StatusSeeOther)
}

func (h *handler) acceptLogin(w http.ResponseWriter, r *http.Request, challenge string, id Identity, status int) {
	to, err := h.admin.decide(r.Context(), kindLogin, "accept", challenge, loginAccept(id))
	if err != nil {
		h.fail(w, r, "accept login", err)
		return
	}
	http.Redirect(w, r, to, status)
}

// consentPage handles GET /consent?consent_challenge=.
func (h *handler) consentPage(w http.ResponseWriter, r *http.Request) {
	challenge := r.URL.Query().Get("consent_challenge")
	if challenge == "" {
		message(w, http.StatusBadRequest, "Missing consent challenge", "This page is reached through the provider's authorization endpoint.")
		return
	}
	var req consentRequest
	if err := h.admin.get(r.Context(), kindConsent, challenge, &req); err != nil {
		h.fail(w, r, "read consent request", err)
		return
	}
	if req.Skip || h.auto != nil {
		// A remembered consent must not be asked again; Auto mode never asks.
		h.acceptConsent(w, r, challenge, &req, http.StatusFound)
		return
	}
	scopes := make([]scopeView, 0, len(req.RequestedScope))
	for _, s := range req.RequestedScope {
		scopes = append(scopes, scopeView{Name: s, Description: scopeDescriptions[s]})
	}
	render(w, http.StatusOK, "consent", page{
		Title:     "Allow access?",
		Challenge: challenge,
		CSRF:      h.csrfToken(w, r, kindConsent, challenge),
		Client:    req.Client.displayName(),
		Subject:   req.Subject,
		Scopes:    scopes,
	})
}

// consentSubmit handles POST /consent from the form.
func (h *handler) consentSubmit(w http.ResponseWriter, r *http.Request) {
	challenge, ok := h.postedChallenge(w, r, kindConsent)
	if !ok {
		return
	}
	if r.PostFormValue("action") != "allow" {
		h.reject(w, r, kindConsent, challenge)
		return
	}
	var req consentRequest
	if err := h.admin.get(r.Context(), kindConsent, challenge, &req); err != nil {
		h.fail(w, r, "read consent request", err)
		return
	}
	h.acceptConsent(w, r, challenge, &req, http.StatusSeeOther)
}

func (h *handler) acceptConsent(w http.ResponseWriter, r *http.Request, challenge string, req *consentRequest, status int) {
	id, ok := h.identityFor(req.Subject)
	if !ok {
		// The login came from a user this app no longer knows.
		to, err := h.admin.decide(r.Context(), kindConsent, "reject", challenge,
			rejection{Error: "access_denied", ErrorDescription: "The account no longer exists"})
		if err != nil {
			h.fail(w, r, "reject consent", err)
			return
		}
		http.Redirect(w, r, to, status)
		return
	}
	to, err := h.admin.decide(r.Context(), kindConsent, "accept", challenge, consentAccept(req, id))
	if err != nil {
		h.fail(w, r, "accept consent", err)
		return
	}
	http.Redirect(w, r, to, status)
}

// logoutPage handles GET /logout?logout_challenge=.
func (h *handler) logoutPage(w http.ResponseWriter, r *http.Request) {
	challenge := r.URL.Query().Get("logout_challenge")
	if challenge == "" {
		message(w, http.StatusBadRequest, "Missing logout challenge", "This page is reached through the provider's logout endpoint.")
		return
	}
	var req logoutRequest
	if err := h.admin.get(r.Context(), kindLogout, challenge, &req); err != nil {
		h.fail(w, r, "read logout request", err)
		return
	}
	if h.auto != nil {
		h.acceptLogout(w, r, challenge, http.StatusFound)
		return
	}
	render(w, http.StatusOK, "logout", page{
		Title:     "Sign out?",
		Challenge: challenge,
		CSRF:      h.csrfToken(w, r, kindLogout, challenge),
		Client:    req.Client.displayName(),
		Subject:   req.Subject,
	})
}

// logoutSubmit handles POST /logout from the form.
func (h *handler) logoutSubmit(w http.ResponseWriter, r *http.Request) {
	challenge, ok := h.postedChallenge(w, r, kindLogout)
	if !ok {
		return
	}
	if r.PostFormValue("action") != "yes" {
		if _, err := h.admin.decide(r.Context(), kindLogout, "reject", challenge, nil); err != nil {
			h.fail(w, r, "reject logout", err)
			return
		}
		message(w, http.StatusOK, "Still signed in", "You stayed signed in. You can close this page.")
		return
	}
	h.acceptLogout(w, r, challenge, http.StatusSeeOther)
}

func (h *handler) acceptLogout(w http.ResponseWriter, r *http.Request, challenge string, status int) {
	to, err := h.admin.decide(r.Context(), kindLogout, "accept", challenge, nil)
	if err != nil {
		h.fail(w, r, "accept logout", err)
		return
	}
	http.Redirect(w, r, to, status)
}

// errorPage handles GET /error, where Hydra sends the browser with
// error, error_description and error_hint when it cannot redirect to a
// client.
func (h *handler) errorPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	render(w, http.StatusOK, "error", page{
		Title:            "Something went wrong",
		ErrorCode:        q.Get("error"),
		ErrorDescription: q.Get("error_description"),
		ErrorHint:        q.Get("error_hint"),
	})
}

// loggedOutPage handles GET /logged-out, Hydra's default post-logout page.
func (h *handler) loggedOutPage(w http.ResponseWriter, _ *http.Request) {
	message(w, http.StatusOK, "Signed out", "You have been signed out. You can close this page.")
}

// postedChallenge parses a posted form, and returns its challenge once the
// CSRF token checks out; otherwise it answers the request itself.
func (h *handler) postedChallenge(w http.ResponseWriter, r *http.Request, kind string) (string, bool) {
	if h.auto != nil {
		message(w, http.StatusNotFound, "Not found", "This provider signs in automatically and has no forms.")
		return "", false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		message(w, http.StatusBadRequest, "Bad request", "The form could not be read.")
		return "", false
	}
	challenge := r.PostFormValue(kind + "_challenge")
	if challenge == "" {
		message(w, http.StatusBadRequest, "Bad request", "The form has no "+kind+" challenge.")
		return "", false
	}
	if !h.csrfOK(r, kind, challenge) {
		message(w, http.StatusForbidden, "Request refused", "The form's security token is missing or wrong. Go back, reload the page and try again.")
		return "", false
	}
	return challenge, true
}

// reject refuses a login or consent with access_denied (RFC 6749 §4.1.2.1).
func (h *handler) reject(w http.ResponseWriter, r *http.Request, kind, challenge string) {
	to, err := h.admin.decide(r.Context(), kind, "reject", challenge,
		rejection{Error: "access_denied", ErrorDescription: deniedDescription})
	if err != nil {
		h.fail(w, r, "reject "+kind, err)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// fail answers a failed admin call: a request Hydra already handled
// continues where Hydra says, an unknown or expired challenge gets 400,
// anything else 502.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, what string, err error) {
	if ae, ok := asAPIError(err); ok {
		if ae.Status == http.StatusGone && ae.RedirectTo != "" {
			http.Redirect(w, r, ae.RedirectTo, http.StatusFound)
			return
		}
		if ae.Status >= 400 && ae.Status < 500 {
			h.log.WarnContext(r.Context(), "loginapp: "+what, "status", ae.Status, "error", err)
			message(w, http.StatusBadRequest, "Request expired or unknown",
				"This sign-in request is unknown or has expired. Go back to the application and start again.")
			return
		}
	}
	h.log.ErrorContext(r.Context(), "loginapp: "+what, "error", err)
	message(w, http.StatusBadGateway, "Provider unavailable", "The login service could not reach the identity provider. Try again later.")
}
