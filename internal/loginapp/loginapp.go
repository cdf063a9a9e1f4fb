package loginapp

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/oidcrp/oidcrp/internal/httpx"
)

// RememberFor is how long, in seconds, Hydra remembers an accepted login
// and consent (remember_for). Remembering the login is what gives SSO and
// what makes RP-initiated logout reach the logout page and the clients'
// logout URIs.
const RememberFor = 3600

// DefaultACR is the acr value sent when an Identity sets none.
const DefaultACR = "urn:oidcrp:loginapp:password"

// ErrNoAdminURL is returned by New when Config.AdminURL is empty.
var ErrNoAdminURL = errors.New("loginapp: AdminURL is required")

// Identity is who a login resolves to and what the tokens say about them.
type Identity struct {
	// Subject is the sub claim. For a User it defaults to the username.
	Subject string
	// Claims go into the ID token and userinfo (consent session.id_token),
	// filtered by the granted scopes as OpenID Connect Core 1.0 §5.4 says:
	// email and email_verified need the email scope; name, given_name,
	// family_name, preferred_username and the other profile claims need
	// profile; address and phone claims need their scopes. Claims that no
	// standard scope covers are always released.
	Claims map[string]any
	// AccessTokenClaims go into the access-token session
	// (session.access_token), which introspection shows under ext.
	AccessTokenClaims map[string]any
	// ACR is the acr claim; empty means DefaultACR.
	ACR string
	// AMR is the amr claim; nil means ["pwd"].
	AMR []string
}

// User is an account of the interactive login page.
type User struct {
	// Username is what the user types; it is also the subject unless
	// Identity.Subject is set.
	Username string
	// Password is compared in constant time.
	Password string
	// Identity describes the user to the relying party.
	Identity Identity
}

// DemoUsers returns the two accounts of the demo: alice/alice-password
// (Alice Example) and bob/bob-password (Bob Example).
func DemoUsers() []User {
	mk := func(user, given string) User {
		return User{
			Username: user,
			Password: user + "-password",
			Identity: Identity{
				Subject: user,
				Claims: map[string]any{
					"email":              user + "@example.com",
					"email_verified":     true,
					"name":               given + " Example",
					"given_name":         given,
					"family_name":        "Example",
					"preferred_username": user,
				},
				AccessTokenClaims: map[string]any{"role": "demo"},
			},
		}
	}
	return []User{mk("alice", "Alice"), mk("bob", "Bob")}
}

// Config configures the login, consent and logout provider.
type Config struct {
	// AdminURL is the base URL of Hydra's admin API, e.g.
	// http://127.0.0.1:4445. It must be https or point at a loopback host.
	AdminURL string
	// Auto, when set, makes every flow succeed without a page: logins are
	// accepted as this identity (a remembered session is accepted with the
	// subject Hydra reports), consent grants every requested scope and
	// audience, logouts are accepted. Nil means the interactive pages.
	Auto *Identity
	// Users are the accounts of the interactive login page. Nil means
	// DemoUsers. Ignored in Auto mode.
	Users []User
	// HTTPClient calls the admin API. Nil means a client with a 10 s
	// timeout and a 1 MiB body limit.
	HTTPClient *http.Client
	// Logger receives one line per failed admin call. Nil discards.
	Logger *slog.Logger
}

// handler serves the provider's pages. It is immutable after New.
type handler struct {
	admin   *client
	auto    *Identity
	users   map[string]User // by username
	subject map[string]User // by subject
	order   []User          // as configured, for the demo hint
	log     *slog.Logger
	csrfKey []byte
}

// New returns the provider as an http.Handler serving GET /login,
// /consent, /logout (and POST for their forms), /error and /logged-out.
// Point Hydra's urls.login, urls.consent, urls.logout, urls.error and
// urls.post_logout_redirect at them. Cross-origin form posts are refused
// by [http.CrossOriginProtection] and a per-browser token bound to the
// challenge.
func New(cfg Config) (http.Handler, error) {
	if cfg.AdminURL == "" {
		return nil, ErrNoAdminURL
	}
	u, err := httpx.CheckURL("loginapp: AdminURL", cfg.AdminURL, false)
	if err != nil {
		return nil, err
	}
	h := &handler{
		admin: &client{base: strings.TrimSuffix(u.String(), "/"), http: httpx.Client(cfg.HTTPClient)},
		log:   cfg.Logger,
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if cfg.Auto != nil {
		id := *cfg.Auto
		if id.Subject == "" {
			return nil, errors.New("loginapp: Auto.Subject is required")
		}
		h.auto = &id
	} else {
		users := cfg.Users
		if users == nil {
			users = DemoUsers()
		}
		if len(users) == 0 {
			return nil, errors.New("loginapp: interactive mode needs at least one user")
		}
		h.users = make(map[string]User, len(users))
		h.subject = make(map[string]User, len(users))
		for _, usr := range users {
			if usr.Username == "" || usr.Password == "" {
				return nil, errors.New("loginapp: every user needs a username and a password")
			}
			if usr.Identity.Subject == "" {
				usr.Identity.Subject = usr.Username
			}
			if _, dup := h.users[usr.Username]; dup {
				return nil, fmt.Errorf("loginapp: duplicate username %q", usr.Username)
			}
			if _, dup := h.subject[usr.Identity.Subject]; dup {
				return nil, fmt.Errorf("loginapp: duplicate subject %q", usr.Identity.Subject)
			}
			h.users[usr.Username] = usr
			h.subject[usr.Identity.Subject] = usr
			h.order = append(h.order, usr)
		}
		h.csrfKey = make([]byte, 32)
		rand.Read(h.csrfKey)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", h.loginPage)
	mux.HandleFunc("POST /login", h.loginSubmit)
	mux.HandleFunc("GET /consent", h.consentPage)
	mux.HandleFunc("POST /consent", h.consentSubmit)
	mux.HandleFunc("GET /logout", h.logoutPage)
	mux.HandleFunc("POST /logout", h.logoutSubmit)
	mux.HandleFunc("GET /error", h.errorPage)
	mux.HandleFunc("GET /logged-out", h.loggedOutPage)
	return http.NewCrossOriginProtection().Handler(mux), nil
}

// check compares a typed password with the user's in constant time.
func (h *handler) check(username, password string) (User, bool) {
	usr, ok := h.users[username]
	if !ok {
		// Compare anyway so that a missing user costs the same time.
		subtle.ConstantTimeCompare([]byte(password), []byte("\x00invalid"))
		return User{}, false
	}
	return usr, subtle.ConstantTimeCompare([]byte(password), []byte(usr.Password)) == 1
}

// identityFor returns the identity of subject: the Auto identity with that
// subject in Auto mode, the configured user otherwise.
func (h *handler) identityFor(subject string) (Identity, bool) {
	if h.auto != nil {
		id := *h.auto
		id.Subject = subject
		return id, true
	}
	usr, ok := h.subject[subject]
	return usr.Identity, ok
}

// loginAccept is the accept body for id.
func loginAccept(id Identity) acceptLogin {
	acr := id.ACR
	if acr == "" {
		acr = DefaultACR
	}
	amr := id.AMR
	if amr == nil {
		amr = []string{"pwd"}
	}
	return acceptLogin{Subject: id.Subject, Remember: true, RememberFor: RememberFor, ACR: acr, AMR: amr}
}

// consentAccept grants req's scopes and audiences with id's claims.
func consentAccept(req *consentRequest, id Identity) acceptConsent {
	scope := req.RequestedScope
	if scope == nil {
		scope = []string{}
	}
	aud := req.RequestedAccessTokenAudience
	if aud == nil {
		aud = []string{}
	}
	return acceptConsent{
		GrantScope:               scope,
		GrantAccessTokenAudience: aud,
		Remember:                 true,
		RememberFor:              RememberFor,
		Session: consentSession{
			IDToken:     releasedClaims(id.Claims, scope),
			AccessToken: maps.Clone(id.AccessTokenClaims),
		},
	}
}

// scopeClaims maps the standard scopes to the claims they release
// (OpenID Connect Core 1.0 §5.4).
var scopeClaims = map[string][]string{
	"profile": {"name", "family_name", "given_name", "middle_name", "nickname", "preferred_username",
		"profile", "picture", "website", "gender", "birthdate", "zoneinfo", "locale", "updated_at"},
	"email":   {"email", "email_verified"},
	"address": {"address"},
	"phone":   {"phone_number", "phone_number_verified"},
}

// releasedClaims returns the claims that the granted scopes release.
func releasedClaims(claims map[string]any, granted []string) map[string]any {
	out := make(map[string]any, len(claims))
	for k, v := range claims {
		needs := ""
		for scope, names := range scopeClaims {
			if slices.Contains(names, k) {
				needs = scope
				break
			}
		}
		if needs == "" || slices.Contains(granted, needs) {
			out[k] = v
		}
	}
	return out
}
