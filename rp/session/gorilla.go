package session

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
)

// gorillaValuesKey is the one sessions.Session.Values key the adapter uses.
const gorillaValuesKey = "oidcrp.session"

// GorillaStore adapts any gorilla/sessions Store (cookie, filesystem, or
// one of the many third-party backends) to [Store]. The session is kept as
// its [Session.MarshalBinary] bytes under a single Values key, so gob
// encodes one []byte rather than each field.
//
// The absolute session lifetime is the gorilla store's Options.MaxAge
// (seconds), or [DefaultMaxAge] when that is not positive. The adapter
// forces HttpOnly and SameSite=Lax (Strict is kept) on the cookie; Path,
// Domain and Secure come from the gorilla store's options. When Save sees
// that the request's gorilla session belongs to another session ID (a new
// login), it deletes that gorilla session and starts a new one, so a
// server-side gorilla store never reuses an ID known before login.
//
// The adapter calls the gorilla store's New, not Get, so it does not use
// or alter the gorilla request registry.
type GorillaStore struct {
	gs   sessions.Store
	name string
	now  func() time.Time
}

// NewGorillaStore returns a Store that keeps sessions in gs under the
// gorilla session (and cookie) name name.
func NewGorillaStore(gs sessions.Store, name string) *GorillaStore {
	return &GorillaStore{gs: gs, name: name, now: time.Now}
}

// CookiesSecure reports whether the gorilla store gives a new session the
// Secure option: the adapter keeps Secure as the gorilla store sets it, so
// this is what its cookies will carry ([CookieSecurity]). A gorilla store
// that cannot make a session for a request without cookies is trusted to
// set Secure itself.
func (st *GorillaStore) CookiesSecure() bool {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, "/", nil)
	if err != nil {
		return true
	}
	g, err := st.open(req)
	if err != nil {
		return true
	}
	return g.Options.Secure
}

// open returns the request's gorilla session. A cookie that does not
// decode or names a missing record yields a fresh session and no error.
func (st *GorillaStore) open(r *http.Request) (*sessions.Session, error) {
	if st.gs == nil || !validCookieName(st.name) {
		return nil, fmt.Errorf("session: gorilla store: nil store or invalid name %q", st.name)
	}
	g, err := st.gs.New(r, st.name)
	if err != nil && !gorillaNotFound(err) {
		return nil, fmt.Errorf("session: gorilla store: %w", err)
	}
	if g == nil || err != nil {
		g = sessions.NewSession(st.gs, st.name)
		g.IsNew = true
	}
	if g.Options == nil {
		g.Options = new(sessions.Options)
	}
	return g, nil
}

// gorillaNotFound reports errors that mean "no usable session": a cookie
// that fails to decode or verify, or a record that no longer exists.
func gorillaNotFound(err error) bool {
	var sc securecookie.Error
	return errors.As(err, &sc) && sc.IsDecode() || errors.Is(err, fs.ErrNotExist)
}

// lifetime is the absolute session lifetime for g.
func lifetime(g *sessions.Session) time.Duration {
	if g.Options != nil && g.Options.MaxAge > 0 {
		return time.Duration(g.Options.MaxAge) * time.Second
	}
	return DefaultMaxAge
}

// record decodes the session kept in g, or returns nil.
func record(g *sessions.Session) *Session {
	raw, ok := g.Values[gorillaValuesKey].([]byte)
	if !ok {
		return nil
	}
	s := new(Session)
	if s.UnmarshalBinary(raw) != nil || s.ID == "" {
		return nil
	}
	return s
}

// Load returns the session kept in the request's gorilla session, or nil
// when there is none, it does not decode, or its lifetime has ended.
func (st *GorillaStore) Load(r *http.Request) (*Session, error) {
	g, err := st.open(r)
	if err != nil {
		return nil, err
	}
	s := record(g)
	if s == nil || !st.now().Before(s.CreatedAt.Add(lifetime(g))) {
		return nil, nil
	}
	return s, nil
}

// Save stores s in the gorilla session and writes it with the gorilla
// store; the cookie expires when the session's lifetime ends.
func (st *GorillaStore) Save(w http.ResponseWriter, r *http.Request, s *Session) error {
	if s == nil || s.ID == "" {
		return fmt.Errorf("session: gorilla store: save: session without ID")
	}
	g, err := st.open(r)
	if err != nil {
		return err
	}
	now := st.now()
	fillTimes(s, now)
	expires := s.CreatedAt.Add(lifetime(g))
	if !expires.After(now) {
		return st.Delete(w, r, s)
	}
	if !g.IsNew && g.ID != "" {
		if old := record(g); old == nil || old.ID != s.ID {
			if err := st.erase(w, r, g); err != nil {
				return err
			}
			fresh := sessions.NewSession(st.gs, st.name)
			fresh.Options = g.Options
			fresh.IsNew = true
			g = fresh
		}
	}
	raw, err := s.MarshalBinary()
	if err != nil {
		return fmt.Errorf("session: gorilla store: save: %w", err)
	}
	opts := *g.Options
	opts.MaxAge = maxAgeSeconds(now, expires)
	opts.HttpOnly = true
	if opts.SameSite != http.SameSiteStrictMode {
		opts.SameSite = http.SameSiteLaxMode
	}
	g.Options = &opts
	g.Values = map[any]any{gorillaValuesKey: raw}
	if err := st.gs.Save(r, w, g); err != nil {
		return fmt.Errorf("session: gorilla store: save: %w", err)
	}
	return nil
}

// Delete has the gorilla store delete the request's gorilla session and
// expire its cookie. s is not needed and may be nil.
func (st *GorillaStore) Delete(w http.ResponseWriter, r *http.Request, _ *Session) error {
	g, err := st.open(r)
	if err != nil {
		return err
	}
	return st.erase(w, r, g)
}

// erase saves g with a negative MaxAge, which gorilla stores treat as
// "delete the record and expire the cookie".
func (st *GorillaStore) erase(w http.ResponseWriter, r *http.Request, g *sessions.Session) error {
	opts := *g.Options
	opts.MaxAge = -1
	opts.HttpOnly = true
	if opts.SameSite != http.SameSiteStrictMode {
		opts.SameSite = http.SameSiteLaxMode
	}
	g.Options = &opts
	if err := st.gs.Save(r, w, g); err != nil {
		return fmt.Errorf("session: gorilla store: delete: %w", err)
	}
	return nil
}
