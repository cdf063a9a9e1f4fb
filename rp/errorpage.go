package rp

import (
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
)

// fail logs err and hands it to the ErrorHandler.
func (r *RP) fail(w http.ResponseWriter, req *http.Request, err error) {
	status := HTTPStatus(err)
	if status >= 500 {
		r.log.Error("rp: request failed", "path", req.URL.Path, "status", status, "err", err)
	} else {
		r.log.Info("rp: request refused", "path", req.URL.Path, "status", status, "err", err)
	}
	r.cfg.ErrorHandler(w, req, err)
}

var errorPage = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem}p{line-height:1.5}a{color:#0b5cad}</style></head>
<body><h1>{{.Title}}</h1><p>{{.Message}}</p>{{if .Detail}}<p><small>{{.Detail}}</small></p>{{end}}
{{if .LoginAgain}}<p><a href="{{.LoginURL}}">Log in again</a></p>{{end}}</body></html>
`))

// DefaultErrorHandler renders err as a small HTML page (JSON when the
// client asked for it) with the status [HTTPStatus] assigns. Texts from
// the provider are shown escaped; server-side causes are not shown.
func DefaultErrorHandler(w http.ResponseWriter, req *http.Request, err error) {
	renderError(w, req, err, "/login")
}

// renderError is DefaultErrorHandler with the login page's path.
func renderError(w http.ResponseWriter, req *http.Request, err error, loginPath string) {
	status := HTTPStatus(err)
	title, msg, detail, again := describe(err, status)
	w.Header().Set("Cache-Control", "no-store")
	if isAPIRequest(req) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"error": title, "error_description": msg})
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	errorPage.Execute(w, map[string]any{"Title": title, "Message": msg, "Detail": detail, "LoginAgain": again, "LoginURL": loginPath})
}

// describe turns an error into a title, a message, a detail that is safe
// to show, and whether logging in again is the way out.
func describe(err error, status int) (title, msg, detail string, loginAgain bool) {
	var ae *AuthError
	switch {
	case errors.As(err, &ae):
		detail = ae.Code
		if ae.Description != "" {
			detail += ": " + ae.Description
		}
		return "Login was not completed", "The identity provider did not complete the login.", detail, true
	case errors.Is(err, ErrStateMismatch), errors.Is(err, ErrLoginExpired):
		return "Login link no longer valid", "This login response does not belong to a login in progress in this browser: it was used already, has expired, or was opened from a bookmark or the back button.", "", true
	case errors.Is(err, ErrACRNotSatisfied):
		return "Stronger login needed", "The identity provider did not confirm the kind of login this page requires.", "", true
	case errors.Is(err, ErrCSRF):
		return "Request refused", "The request did not come from this application's own page.", "", false
	case errors.Is(err, ErrProviderUnavailable):
		return "Service unavailable", "The identity provider cannot be reached right now. Please try again in a moment.", "", false
	case errors.Is(err, ErrSessionStore):
		return "Service unavailable", "Sessions cannot be read right now. Please try again in a moment.", "", false
	case status == http.StatusBadRequest:
		return "Login failed", "The login response could not be accepted.", "", true
	case status == http.StatusUnauthorized:
		return "Not logged in", "Please log in.", "", true
	}
	return "Something went wrong", "The request could not be completed.", "", false
}

// jsonString encodes s as a JSON string.
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
