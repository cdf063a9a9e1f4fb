package session

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// ServerStore is a [Store] that keeps session records in a [Backend] and
// puts only the session ID in the cookie. The ID is 256 random bits and is
// not sealed: it reveals nothing, and guessing one is infeasible. A server
// store lets the relying party end a session from the server side (logout
// on every replica, back-channel logout through [Indexer]) and keeps
// request headers small; the price is a backend lookup per request.
//
// The cookie uses only Name, Path, Secure and MaxAge of [CookieOptions];
// the ID token is kept in the record and Load always returns it.
//
// ServerStore implements [IDDeleter], and [Indexer] by delegating to its
// Backend (see [IndexerOf]).
type ServerStore struct {
	backend Backend
	opt     CookieOptions
	err     error // from CookieOptions.Validate, returned by every method
}

// NewServerStore returns a ServerStore over b. Zero fields of opt take
// their defaults. If opt is invalid ([CookieOptions.Validate]) or b is nil,
// every method returns that error.
func NewServerStore(b Backend, opt CookieOptions) *ServerStore {
	err := opt.Validate()
	if err == nil && b == nil {
		err = fmt.Errorf("session: server store: nil backend")
	}
	return &ServerStore{backend: b, opt: opt.withDefaults(), err: err}
}

// cookieID returns the session ID the request's cookie names, if any.
func (st *ServerStore) cookieID(r *http.Request) (string, bool) {
	if r == nil {
		return "", false
	}
	var slots cookieSlots
	scanCookies(r.Header, st.opt.Name, &slots)
	if slots.mainSet&1 == 0 || !validID(slots.main[0]) {
		return "", false
	}
	return slots.main[0], true
}

// Load looks up the session named by the request's cookie. A malformed
// ID, a missing record and a session past its absolute lifetime give
// (nil, nil); a backend failure is returned.
func (st *ServerStore) Load(r *http.Request) (*Session, error) {
	if st.err != nil {
		return nil, st.err
	}
	id, ok := st.cookieID(r)
	if !ok {
		return nil, nil
	}
	s, err := st.get(r.Context(), id)
	if err != nil {
		return nil, fmt.Errorf("session: server store: load: %w", err)
	}
	return s, nil
}

// LoadID returns the session with the given ID, read from the backend, as
// [ServerStore.Load] would for a request carrying that ID: a malformed ID,
// a missing record and a session past its absolute lifetime give
// (nil, nil); a backend failure is returned. It lets the relying party
// read a session again without a request, for example after waiting for
// another replica's refresh of it to finish.
func (st *ServerStore) LoadID(ctx context.Context, id string) (*Session, error) {
	if st.err != nil {
		return nil, st.err
	}
	if !validID(id) {
		return nil, nil
	}
	s, err := st.get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("session: server store: load id: %w", err)
	}
	return s, nil
}

// get reads the record of a well-formed ID and refuses a record of another
// ID or past its absolute lifetime.
func (st *ServerStore) get(ctx context.Context, id string) (*Session, error) {
	s, err := st.backend.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if s == nil || s.ID != id || !st.opt.Now().Before(s.CreatedAt.Add(st.opt.MaxAge)) {
		return nil, nil
	}
	return s, nil
}

// Save stores s in the backend until its absolute lifetime ends and sets
// the ID cookie. When the request carried the ID of a different session
// (a new login), that record is deleted, so an ID known before login is
// worthless after it. Saving a session whose lifetime has ended deletes
// it. s.ID must be a session ID as made by [NewID].
func (st *ServerStore) Save(w http.ResponseWriter, r *http.Request, s *Session) error {
	if st.err != nil {
		return st.err
	}
	if s == nil || !validID(s.ID) {
		return fmt.Errorf("session: server store: save: session without a valid ID")
	}
	now := st.opt.Now()
	fillTimes(s, now)
	expires := s.CreatedAt.Add(st.opt.MaxAge)
	if !expires.After(now) {
		return st.Delete(w, r, s)
	}
	ctx := context.Background()
	if r != nil {
		ctx = r.Context()
	}
	if err := st.backend.Set(ctx, s, expires); err != nil {
		return fmt.Errorf("session: server store: save: %w", err)
	}
	if old, ok := st.cookieID(r); ok && old != s.ID {
		if err := st.backend.Delete(ctx, old); err != nil {
			return fmt.Errorf("session: server store: save: delete previous session: %w", err)
		}
	}
	setCookie(w.Header(), st.opt.Name, s.ID, st.opt.Path, expires, maxAgeSeconds(now, expires), st.opt.Secure)
	return nil
}

// SaveID writes the record of s without touching any cookie: for code that
// updates a session outside the request that carries it, such as a token
// refresh shared by several requests. The browser's cookie names the same
// ID, so its next request finds the new record.
func (st *ServerStore) SaveID(ctx context.Context, s *Session) error {
	if st.err != nil {
		return st.err
	}
	if s == nil || !validID(s.ID) {
		return fmt.Errorf("session: server store: save: session without a valid ID")
	}
	now := st.opt.Now()
	fillTimes(s, now)
	expires := s.CreatedAt.Add(st.opt.MaxAge)
	if !expires.After(now) {
		return st.backend.Delete(ctx, s.ID)
	}
	if err := st.backend.Set(ctx, s, expires); err != nil {
		return fmt.Errorf("session: server store: save: %w", err)
	}
	return nil
}

// Delete removes the record of s and of the session the request's cookie
// names (when they differ) and expires the cookie. s may be nil.
func (st *ServerStore) Delete(w http.ResponseWriter, r *http.Request, s *Session) error {
	if st.err != nil {
		return st.err
	}
	ctx := context.Background()
	if r != nil {
		ctx = r.Context()
	}
	var errs []error
	if s != nil && s.ID != "" {
		errs = append(errs, st.backend.Delete(ctx, s.ID))
	}
	if id, ok := st.cookieID(r); ok && (s == nil || id != s.ID) {
		errs = append(errs, st.backend.Delete(ctx, id))
	}
	setCookie(w.Header(), st.opt.Name, "", st.opt.Path, time.Time{}, -1, st.opt.Secure)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("session: server store: delete: %w", err)
	}
	return nil
}

// DeleteID removes the session with the given ID from the backend.
func (st *ServerStore) DeleteID(ctx context.Context, id string) error {
	if st.err != nil {
		return st.err
	}
	if err := st.backend.Delete(ctx, id); err != nil {
		return fmt.Errorf("session: server store: delete id: %w", err)
	}
	return nil
}

// DeleteBySID removes every session of the issuer's provider session sid.
// It fails with an error wrapping errors.ErrUnsupported when the backend is
// not an [Indexer].
func (st *ServerStore) DeleteBySID(ctx context.Context, iss, sid string) (int, error) {
	ix, err := st.indexer()
	if err != nil {
		return 0, err
	}
	n, err := ix.DeleteBySID(ctx, iss, sid)
	if err != nil {
		return n, fmt.Errorf("session: server store: delete by sid: %w", err)
	}
	return n, nil
}

// DeleteBySubject removes every session of the issuer's subject sub. It
// fails with an error wrapping errors.ErrUnsupported when the backend is
// not an [Indexer].
func (st *ServerStore) DeleteBySubject(ctx context.Context, iss, sub string) (int, error) {
	ix, err := st.indexer()
	if err != nil {
		return 0, err
	}
	n, err := ix.DeleteBySubject(ctx, iss, sub)
	if err != nil {
		return n, fmt.Errorf("session: server store: delete by subject: %w", err)
	}
	return n, nil
}

func (st *ServerStore) indexer() (Indexer, error) {
	if st.err != nil {
		return nil, st.err
	}
	ix, ok := st.backend.(Indexer)
	if !ok {
		return nil, fmt.Errorf("session: server store: backend %T has no sid/sub index: %w", st.backend, errors.ErrUnsupported)
	}
	return ix, nil
}
