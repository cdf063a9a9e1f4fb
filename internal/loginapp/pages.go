package loginapp

import (
	"bytes"
	"html/template"
	"net/http"
)

// scopeDescriptions explains the common scopes on the consent page.
var scopeDescriptions = map[string]string{
	"openid":         "Sign you in with your account",
	"offline_access": "Stay connected while you are away (refresh tokens)",
	"offline":        "Stay connected while you are away (refresh tokens)",
	"profile":        "Your name and username",
	"email":          "Your email address",
	"address":        "Your postal address",
	"phone":          "Your phone number",
}

// scopeView is one line of the consent page.
type scopeView struct {
	Name, Description string
}

// page is the data every template gets; each page uses the fields it needs.
type page struct {
	Title     string
	Error     string
	Challenge string
	CSRF      string
	// Login
	Username  string
	DemoUsers []User
	// Consent and logout
	Client  string
	Subject string
	Scopes  []scopeView
	// Error page: Hydra's error redirect parameters.
	ErrorCode, ErrorDescription, ErrorHint string
	// Message page
	Message string
}

var pages = template.Must(template.New("").Parse(`
{{define "top"}}<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · oidcrp demo provider</title>
<style>
  :root { color-scheme: light; }
  body { margin: 0; min-height: 100vh; display: grid; place-items: center;
         font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; background: #f2f4f7; color: #1d2433; }
  main { width: min(26rem, 92vw); background: #fff; border-radius: 12px; padding: 2rem 2.25rem;
         box-shadow: 0 8px 28px rgba(16, 24, 40, .12); }
  h1 { font-size: 1.4rem; margin: 0 0 .25rem; }
  p.sub { margin: 0 0 1.5rem; color: #5b6475; }
  label { display: block; font-weight: 600; margin: 1rem 0 .35rem; }
  input[type=text], input[type=password] { box-sizing: border-box; width: 100%; padding: .6rem .75rem;
         border: 1px solid #c7cdd8; border-radius: 8px; font: inherit; }
  input:focus { outline: 2px solid #3b6ef5; border-color: transparent; }
  .actions { display: flex; gap: .75rem; margin-top: 1.5rem; }
  button { flex: 1; padding: .65rem 1rem; border-radius: 8px; border: 1px solid #3b6ef5; font: inherit;
           font-weight: 600; cursor: pointer; background: #3b6ef5; color: #fff; }
  button.secondary { background: #fff; color: #3b6ef5; }
  .error { background: #fdecec; color: #9b1c1c; border-radius: 8px; padding: .6rem .8rem; margin: 0 0 1rem; }
  .hint { margin-top: 1.75rem; padding: .75rem 1rem; background: #f6f8fb; border-radius: 8px; font-size: .9rem; color: #5b6475; }
  .hint code { color: #1d2433; }
  ul.scopes { padding: 0; list-style: none; margin: 0 0 .5rem; }
  ul.scopes li { padding: .55rem 0; border-bottom: 1px solid #eceff3; }
  ul.scopes li strong { display: block; }
  dl { margin: 0; } dt { font-weight: 600; margin-top: .75rem; } dd { margin: 0; color: #5b6475; word-break: break-word; }
</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
{{end}}

{{define "bottom"}}</main>
</body>
</html>
{{end}}

{{define "login"}}{{template "top" .}}
{{if .Client}}<p class="sub">to continue to <strong>{{.Client}}</strong></p>{{else}}<p class="sub">oidcrp demo provider</p>{{end}}
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="login">
  <input type="hidden" name="login_challenge" value="{{.Challenge}}">
  <input type="hidden" name="csrf_token" value="{{.CSRF}}">
  <label for="username">Username</label>
  <input type="text" id="username" name="username" value="{{.Username}}" autocomplete="username" autofocus required>
  <label for="password">Password</label>
  <input type="password" id="password" name="password" autocomplete="current-password" required>
  <div class="actions">
    <button type="submit" name="action" value="login">Sign in</button>
    <button type="submit" name="action" value="cancel" class="secondary" formnovalidate>Cancel</button>
  </div>
</form>
{{if .DemoUsers}}<div class="hint">Demo accounts:
  {{range $i, $u := .DemoUsers}}{{if $i}}, {{end}}<code>{{$u.Username}}</code> / <code>{{$u.Password}}</code>{{end}}
</div>{{end}}
{{template "bottom" .}}{{end}}

{{define "consent"}}{{template "top" .}}
<p class="sub"><strong>{{.Client}}</strong> wants to access your account{{if .Subject}} (<strong>{{.Subject}}</strong>){{end}}:</p>
<ul class="scopes">
{{range .Scopes}}  <li><strong>{{.Name}}</strong>{{if .Description}}{{.Description}}{{end}}</li>
{{else}}  <li>No scopes requested.</li>
{{end}}</ul>
<form method="post" action="consent">
  <input type="hidden" name="consent_challenge" value="{{.Challenge}}">
  <input type="hidden" name="csrf_token" value="{{.CSRF}}">
  <div class="actions">
    <button type="submit" name="action" value="allow">Allow</button>
    <button type="submit" name="action" value="deny" class="secondary">Deny</button>
  </div>
</form>
{{template "bottom" .}}{{end}}

{{define "logout"}}{{template "top" .}}
<p class="sub">{{if .Subject}}You are signed in as <strong>{{.Subject}}</strong>. {{end}}Do you want to sign out{{if .Client}} of <strong>{{.Client}}</strong> and this provider{{end}}?</p>
<form method="post" action="logout">
  <input type="hidden" name="logout_challenge" value="{{.Challenge}}">
  <input type="hidden" name="csrf_token" value="{{.CSRF}}">
  <div class="actions">
    <button type="submit" name="action" value="yes">Yes, sign out</button>
    <button type="submit" name="action" value="no" class="secondary">No, stay signed in</button>
  </div>
</form>
{{template "bottom" .}}{{end}}

{{define "error"}}{{template "top" .}}
<p class="sub">The provider could not complete the request.</p>
<dl>
  <dt>Error</dt><dd>{{if .ErrorCode}}{{.ErrorCode}}{{else}}unknown{{end}}</dd>
  {{if .ErrorDescription}}<dt>Description</dt><dd>{{.ErrorDescription}}</dd>{{end}}
  {{if .ErrorHint}}<dt>Hint</dt><dd>{{.ErrorHint}}</dd>{{end}}
</dl>
{{template "bottom" .}}{{end}}

{{define "message"}}{{template "top" .}}
<p>{{.Message}}</p>
{{template "bottom" .}}{{end}}
`))

// render writes the named template with status. Pages are never cached,
// never framed, and load nothing but their inline style.
func render(w http.ResponseWriter, status int, name string, p page) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, p); err != nil {
		http.Error(w, "loginapp: render page", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// message renders a page with a title and one sentence.
func message(w http.ResponseWriter, status int, title, msg string) {
	render(w, status, "message", page{Title: title, Message: msg})
}
