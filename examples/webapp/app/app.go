// Package app is the oidcrp reference application, importable so that
// tests and the quickstart demo can run it in-process; cmd main.go only
// reads the environment and serves it.
package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/oidcrp/oidcrp/discovery"
	"github.com/oidcrp/oidcrp/registration"
	"github.com/oidcrp/oidcrp/rp"
	"github.com/oidcrp/oidcrp/rp/session"
	"github.com/oidcrp/oidcrp/rp/session/redisstore"
	"github.com/oidcrp/oidcrp/userinfo/credentials"
)

// Config is the application's configuration, read from the environment.
type Config struct {
	// ListenAddr is LISTEN_ADDR, where to listen.
	ListenAddr string
	// Issuer is OIDC_ISSUER.
	Issuer string
	// ClientID and ClientSecret are OIDC_CLIENT_ID and OIDC_CLIENT_SECRET.
	ClientID, ClientSecret string
	// RedirectURL is OIDC_REDIRECT_URL.
	RedirectURL string
	// Scopes is OIDC_SCOPES, split on spaces.
	Scopes []string
	// SessionStore is SESSION_STORE: cookie or file.
	SessionStore string
	// SessionDir is SESSION_DIR, the file store's directory.
	SessionDir string
	// RedisURL is REDIS_URL, with SESSION_STORE=redis.
	RedisURL string
	// SessionKeys is SESSION_KEYS, split on commas.
	SessionKeys [][]byte
	// RandomKey reports that SESSION_KEYS was empty and a random key is
	// used.
	RandomKey bool
	// Register is OIDC_REGISTER=1: self-register with the provider.
	Register bool
	// RegistrationEndpoint is OIDC_REGISTRATION_ENDPOINT, for providers
	// whose discovery does not list one.
	RegistrationEndpoint string
	// CredentialsFile is OIDC_CREDENTIALS_FILE, where self-registered
	// credentials persist.
	CredentialsFile string
	// HolderKeyFile is OIDC_HOLDER_KEY_FILE: the application's key for
	// verifiable credentials, created on first use.
	HolderKeyFile string
}

// LoadConfig reads and checks the configuration from getenv.
func LoadConfig(getenv func(string) string) (*Config, error) {
	c := &Config{
		ListenAddr:   or(getenv("LISTEN_ADDR"), "127.0.0.1:8080"),
		Issuer:       getenv("OIDC_ISSUER"),
		ClientID:     getenv("OIDC_CLIENT_ID"),
		ClientSecret: getenv("OIDC_CLIENT_SECRET"),
		RedirectURL:  getenv("OIDC_REDIRECT_URL"),
		Scopes:       strings.Fields(or(getenv("OIDC_SCOPES"), "openid profile email offline_access")),
		SessionStore: or(getenv("SESSION_STORE"), "cookie"),
		SessionDir:   or(getenv("SESSION_DIR"), "./sessions"),
		RedisURL:     getenv("REDIS_URL"),

		HolderKeyFile:        or(getenv("OIDC_HOLDER_KEY_FILE"), "./oidcrp-holder.pem"),
		RegistrationEndpoint: getenv("OIDC_REGISTRATION_ENDPOINT"),
		CredentialsFile:      or(getenv("OIDC_CREDENTIALS_FILE"), "./oidcrp-client.json"),
	}
	switch getenv("OIDC_REGISTER") {
	case "", "0":
	case "1":
		c.Register = true
	default:
		return nil, fmt.Errorf("OIDC_REGISTER=%q: want 0 or 1", getenv("OIDC_REGISTER"))
	}
	if c.Issuer == "" {
		return nil, errors.New("OIDC_ISSUER is required")
	}
	if c.ClientID == "" && !c.Register {
		return nil, errors.New("OIDC_CLIENT_ID is required (or OIDC_REGISTER=1 to self-register)")
	}
	if c.RedirectURL == "" {
		c.RedirectURL = "http://" + c.ListenAddr + "/callback"
	}
	switch c.SessionStore {
	case "cookie", "file":
	case "redis":
		if c.RedisURL == "" {
			return nil, errors.New("SESSION_STORE=redis needs REDIS_URL (e.g. redis://127.0.0.1:6379/0)")
		}
	default:
		return nil, fmt.Errorf("SESSION_STORE=%q: want cookie, file or redis", c.SessionStore)
	}
	if keys := getenv("SESSION_KEYS"); keys != "" {
		for i, k := range strings.Split(keys, ",") {
			k = strings.TrimSpace(k)
			if len(k) < 32 {
				return nil, fmt.Errorf("SESSION_KEYS: key %d has %d characters; each needs at least 32", i+1, len(k))
			}
			c.SessionKeys = append(c.SessionKeys, []byte(k))
		}
	} else {
		b := make([]byte, 32)
		rand.Read(b)
		c.SessionKeys = [][]byte{[]byte(base64.RawURLEncoding.EncodeToString(b))}
		c.RandomKey = true
	}
	return c, nil
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// App is the reference application.
type App struct {
	auth          *rp.RP
	ownsProvider  bool // the discovery cache made for self-registration
	closers       []func() error
	log           *slog.Logger
	holderKeyFile string

	// mu guards creds.
	mu    sync.Mutex
	creds *credentials.Client // made on first use
}

// RP returns the application's relying party.
func (a *App) RP() *rp.RP { return a.auth }

// Close stops the relying party's background work.
func (a *App) Close() error {
	err := a.auth.Close()
	if p := a.auth.Provider(); a.ownsProvider && p != nil {
		err = errors.Join(err, p.Close())
	}
	for _, f := range a.closers {
		err = errors.Join(err, f())
	}
	return err
}

// New builds the relying party and the application's routes.
func New(ctx context.Context, c *Config, logger *slog.Logger) (*App, http.Handler, error) {
	rc := rp.Config{
		Issuer:       c.Issuer,
		ClientID:     c.ClientID,
		ClientSecret: c.ClientSecret,
		RedirectURL:  c.RedirectURL,
		Scopes:       c.Scopes,
		SessionKeys:  c.SessionKeys,
		UserInfo:     true,
		Logger:       logger,
	}
	secure := strings.HasPrefix(c.RedirectURL, "https:")
	var closers []func() error
	var credStore registration.CredentialStore // nil: the credentials file
	switch c.SessionStore {
	case "file":
		codec, err := session.NewCodec(c.SessionKeys...)
		if err != nil {
			return nil, nil, fmt.Errorf("SESSION_KEYS: %w", err)
		}
		fs, err := session.NewFileStore(c.SessionDir, codec, session.FileOptions{})
		if err != nil {
			return nil, nil, fmt.Errorf("file session store: %w", err)
		}
		closers = append(closers, fs.Close)
		rc.Store = session.NewServerStore(fs, session.CookieOptions{Secure: secure})
	case "redis":
		// Sessions, the logout revocation list, the replay cache and the
		// refresh lock are shared by every replica through Redis.
		codec, err := session.NewCodec(c.SessionKeys...)
		if err != nil {
			return nil, nil, fmt.Errorf("SESSION_KEYS: %w", err)
		}
		client, err := redisstore.NewClient(c.RedisURL)
		if err != nil {
			return nil, nil, fmt.Errorf("REDIS_URL: %w", err)
		}
		closers = append(closers, client.Close)
		rs, err := redisstore.New(redisstore.Options{Client: client, Codec: codec})
		if err != nil {
			client.Close()
			return nil, nil, fmt.Errorf("redis session store: %w", err)
		}
		rc.Store = session.NewServerStore(rs, session.CookieOptions{Secure: secure})
		rc.Revocations = rs.Revocations()
		rc.ReplayCache = rs.ReplayCache()
		rc.Locker = rs
		credStore = rs.CredentialStore("client")
	}
	closeAll := func() {
		for _, f := range closers {
			f()
		}
	}
	if c.Register && c.ClientID == "" {
		prov, err := discovery.New(discovery.Config{Issuer: c.Issuer, Logger: logger})
		if err != nil {
			return nil, nil, err
		}
		creds, err := selfRegister(ctx, c, prov, credStore, logger)
		if err != nil {
			prov.Close()
			closeAll()
			return nil, nil, err
		}
		rc.Provider = prov
		rc.ClientID, rc.ClientSecret, rc.TokenEndpointAuthMethod = creds.ClientID, creds.ClientSecret, creds.TokenEndpointAuthMethod
	}
	auth, err := rp.New(ctx, rc)
	if err != nil {
		if rc.Provider != nil {
			rc.Provider.Close()
		}
		closeAll()
		return nil, nil, err
	}
	a := &App{auth: auth, log: logger, holderKeyFile: c.HolderKeyFile, ownsProvider: rc.Provider != nil, closers: closers}
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", auth.LoadSession(http.HandlerFunc(a.home)))
	mux.Handle("GET /login", auth.LoginHandler())
	mux.Handle("GET /callback", auth.CallbackHandler())
	mux.Handle("POST /logout", auth.LogoutHandler())
	mux.Handle("GET /logout/done", auth.LogoutDoneHandler(http.HandlerFunc(a.loggedOut)))
	mux.Handle("POST /backchannel-logout", auth.BackchannelLogoutHandler())
	mux.Handle("GET /frontchannel-logout", auth.FrontchannelLogoutHandler())
	mux.Handle("GET /me", auth.RequireAuth(http.HandlerFunc(a.me)))
	mux.Handle("GET /api/whoami", auth.RequireAuthAPI(http.HandlerFunc(a.whoami)))
	mux.Handle("POST /credential", http.NewCrossOriginProtection().Handler(auth.RequireAuth(http.HandlerFunc(a.credential))))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !auth.Ready() {
			http.Error(w, "provider discovery has not succeeded yet", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ready\n")
	})
	return a, securityHeaders(mux), nil
}

// Run serves the application until ctx ends.
func Run(ctx context.Context, getenv func(string) string, logger *slog.Logger) error {
	c, err := LoadConfig(getenv)
	if err != nil {
		return err
	}
	if c.RandomKey {
		logger.Warn("SESSION_KEYS is not set: sessions use a random key and end when the process restarts")
	}
	a, h, err := New(ctx, c, logger)
	if err != nil {
		return err
	}
	defer a.auth.Close()
	ln, err := net.Listen("tcp", c.ListenAddr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	logger.Info("webapp listening", "url", "http://"+ln.Addr().String()+"/", "issuer", c.Issuer)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

// securityHeaders adds headers every page of the application carries.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Referrer-Policy", "same-origin")
		h.ServeHTTP(w, r)
	})
}

var homePage = template.Must(template.New("home").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>oidcrp reference app</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#222}
h1{font-size:1.5rem}dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem}dt{font-weight:600}
dd{margin:0;word-break:break-all}button,.button{font:inherit;padding:.5rem 1rem;border-radius:.3rem;border:1px solid #0b5cad;background:#0b5cad;color:#fff;text-decoration:none;cursor:pointer}</style></head>
<body><h1>oidcrp reference app</h1>
{{if .}}<p id="greeting">You are logged in as <strong>{{.Name}}</strong>.</p>
<dl><dt>Subject</dt><dd id="sub">{{.Subject}}</dd>{{if .Email}}<dt>Email</dt><dd id="email">{{.Email}}</dd>{{end}}
<dt>Session</dt><dd>{{.SID}}</dd><dt>Access token expires</dt><dd>{{.Expiry}}</dd></dl>
<p><a href="/me">Your session as JSON</a></p>
<form method="post" action="/logout"><input type="hidden" name="csrf_token" value="{{.CSRF}}"><button type="submit" id="logout">Log out</button></form>
{{else}}<p>You are not logged in.</p><p><a class="button" id="login" href="/login?return_to=/">Log in</a></p>{{end}}
</body></html>
`))

type homeData struct {
	Name, Subject, Email, SID, Expiry, CSRF string
}

func (a *App) home(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	s, ok := rp.SessionFrom(r.Context())
	if !ok {
		homePage.Execute(w, nil)
		return
	}
	var c struct {
		Name              string `json:"name"`
		Email             string `json:"email"`
		PreferredUsername string `json:"preferred_username"`
	}
	if err := s.IDTokenClaims(&c); err != nil {
		a.log.Warn("webapp: decode ID token claims", "err", err)
	}
	name := or(c.Name, or(c.PreferredUsername, s.Subject()))
	d := homeData{Name: name, Subject: s.Subject(), Email: c.Email, SID: or(s.SID(), "—"), CSRF: s.CSRFToken(), Expiry: "—"}
	if t := s.AccessTokenExpiry(); !t.IsZero() {
		d.Expiry = t.UTC().Format(time.RFC3339)
	}
	homePage.Execute(w, d)
}

var loggedOutPage = template.Must(template.New("out").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Logged out</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem">
{{if .}}<h1 id="logged-out">You are logged out</h1><p>Your session here and at the identity provider has ended.</p>
{{else}}<h1>Logout</h1><p>There is nothing to do here.</p>{{end}}<p><a href="/">Start page</a></p></body></html>
`))

// loggedOut is the post-logout page; it confirms the logout only when the
// logout's state matched (see rp.LogoutConfirmed).
func (a *App) loggedOut(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	loggedOutPage.Execute(w, rp.LogoutConfirmed(r.Context()))
}

func (a *App) me(w http.ResponseWriter, r *http.Request) {
	s, _ := rp.SessionFrom(r.Context())
	out := map[string]any{
		"sub":             s.Subject(),
		"sid":             s.SID(),
		"iss":             s.Issuer(),
		"id_token_claims": s.IDTokenClaimsJSON(),
		"logged_in_at":    s.CreatedAt().UTC().Format(time.RFC3339),
	}
	if t := s.AccessTokenExpiry(); !t.IsZero() {
		out["access_token_expiry"] = t.UTC().Format(time.RFC3339)
	}
	if info, ok := s.UserInfo(); ok {
		out["userinfo_claims"] = info.Raw
	}
	if claims, err := s.Claims(); err == nil {
		out["claims"] = claims
	}
	writeJSON(w, http.StatusOK, out)
}

// credentialClient returns the verifiable-credential client, creating the
// holder key on first use.
func (a *App) credentialClient() (*credentials.Client, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.creds != nil {
		return a.creds, nil
	}
	key, err := credentials.LoadOrCreateHolderKey(a.holderKeyFile)
	if err != nil {
		return nil, err
	}
	c, err := credentials.New(credentials.Config{Provider: a.auth.Provider(), Holder: key})
	if err != nil {
		return nil, err
	}
	a.creds = c
	return c, nil
}

// credential asks the provider for a verifiable credential about the
// logged-in user, bound to the application's holder key.
func (a *App) credential(w http.ResponseWriter, r *http.Request) {
	s, _ := rp.SessionFrom(r.Context())
	c, err := a.credentialClient()
	if err != nil {
		a.log.Error("webapp: credential client", "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "credentials are not available"})
		return
	}
	tok, err := s.Token(r.Context())
	if err != nil {
		a.log.Warn("webapp: access token for a credential", "err", err)
		writeJSON(w, rp.HTTPStatus(err), map[string]string{"error": "no valid access token"})
		return
	}
	cred, err := c.Request(r.Context(), tok.AccessToken, "")
	switch {
	case errors.Is(err, credentials.ErrNoEndpoint):
		writeJSON(w, http.StatusNotImplemented, map[string]string{"error": "the provider issues no verifiable credentials"})
		return
	case errors.Is(err, credentials.ErrTokenRejected):
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "the provider refused the access token"})
		return
	case err != nil:
		a.log.Warn("webapp: verifiable credential", "err", err)
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": "the provider did not issue a valid credential"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"format":             cred.Format,
		"credential":         cred.Raw,
		"issuer":             cred.Issuer,
		"subject":            cred.Subject,
		"types":              cred.Types,
		"credential_subject": cred.CredentialSubject,
		"expires_at":         cred.Expiry.UTC().Format(time.RFC3339),
	})
}

// whoami is the smallest protected route: {"sub": …}.
func (a *App) whoami(w http.ResponseWriter, r *http.Request) {
	s, _ := rp.SessionFrom(r.Context())
	sub, _ := json.Marshal(s.Subject())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(append(append([]byte(`{"sub":`), sub...), "}\n"...))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
