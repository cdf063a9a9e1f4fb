package session

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// ErrInvalid reports a sealed value or encoded record that is malformed,
// tampered with, truncated, or sealed under a foreign key or name.
var ErrInvalid = errors.New("session: invalid or tampered data")

// ErrTooLarge reports a session that does not fit: more cookie chunks than
// [CookieOptions.MaxChunks], or an encoded record over 1 MiB.
var ErrTooLarge = errors.New("session: too large")

// Store loads and saves the session that belongs to an HTTP request.
//
// A missing, expired or tampered session is not an error: Load returns
// (nil, nil). Errors are for system failures only (an unreachable backend,
// a full disk). Implementations are safe for concurrent use.
type Store interface {
	// Load returns the request's session, or nil when it has none.
	Load(r *http.Request) (*Session, error)
	// Save stores s and sets the cookie(s) that point to it; the cookies
	// expire when the session's absolute lifetime ends. A zero
	// s.CreatedAt or s.LastSeen is set to the current time first.
	Save(w http.ResponseWriter, r *http.Request, s *Session) error
	// Delete removes the session's record (if the store keeps one) and
	// expires every cookie the store uses. s may be nil.
	Delete(w http.ResponseWriter, r *http.Request, s *Session) error
}

// IDDeleter is implemented by stores that keep records on the server side
// ([ServerStore]): DeleteID removes one session by its ID without a request,
// e.g. when an administrator ends it. Deleting a missing ID is not an
// error. Cookie stores cannot do this and do not implement it.
type IDDeleter interface {
	DeleteID(ctx context.Context, id string) error
}

// Indexer is implemented by stores and backends that index sessions by the
// provider's session ID and by subject, so that a back-channel logout
// (OpenID Connect Back-Channel Logout 1.0 §2.7) can end the matching
// sessions at once. Both methods return how many sessions they removed.
//
// [ServerStore] always has these methods; they fail with an error wrapping
// errors.ErrUnsupported when its Backend is not an Indexer. Use [IndexerOf]
// to find out beforehand. Stores without an index (the cookie store) leave
// the relying party to use [Revocations] instead.
type Indexer interface {
	DeleteBySID(ctx context.Context, iss, sid string) (int, error)
	DeleteBySubject(ctx context.Context, iss, sub string) (int, error)
}

// IndexerOf returns st's Indexer when it has a working one: st itself when
// it implements Indexer, except a [ServerStore] whose Backend does not.
func IndexerOf(st Store) (Indexer, bool) {
	if ss, ok := st.(*ServerStore); ok {
		if _, ok := ss.backend.(Indexer); !ok {
			return nil, false
		}
		return ss, true
	}
	ix, ok := st.(Indexer)
	return ix, ok
}

// CookieSecurity is implemented by stores that can say whether the cookies
// they set carry the Secure attribute ([CookieStore], [ServerStore] and
// [GorillaStore]).
// The relying party refuses, at start, a store that sets cookies without
// Secure for an https application: such a cookie would also be sent over
// plain http to the same host, where anyone on the path can read it.
type CookieSecurity interface {
	CookiesSecure() bool
}

// CookiesSecure reports whether the store's cookies carry Secure.
func (st *CookieStore) CookiesSecure() bool { return st.opt.Secure }

// CookiesSecure reports whether the store's cookie carries Secure.
func (st *ServerStore) CookiesSecure() bool { return st.opt.Secure }

// Locker is implemented by stores that can hold a short lease on a key, so
// that only one request at a time (across replicas, for a shared store)
// refreshes a session's tokens and a rotated refresh token is never lost.
// Lock blocks until it holds the lease, ctx ends, or an error occurs; the
// lease ends at unlock or after ttl, whichever comes first.
type Locker interface {
	Lock(ctx context.Context, key string, ttl time.Duration) (unlock func(), err error)
}

// Backend keeps session records for a [ServerStore]. Get returns (nil, nil)
// for a missing or expired record. Set stores s until expires, replacing
// any record with the same ID. Delete of a missing ID is not an error.
// Implementations must be safe for concurrent use and must not keep a
// reference to the *Session passed to Set nor share one returned by Get.
type Backend interface {
	Get(ctx context.Context, id string) (*Session, error)
	Set(ctx context.Context, s *Session, expires time.Time) error
	Delete(ctx context.Context, id string) error
}

// Compile-time checks of the implementations in this package.
var (
	_ Store     = (*CookieStore)(nil)
	_ Store     = (*ServerStore)(nil)
	_ IDDeleter = (*ServerStore)(nil)
	_ Indexer   = (*ServerStore)(nil)
	_ Store     = (*GorillaStore)(nil)
	_ Backend   = (*MemoryBackend)(nil)
	_ Indexer   = (*MemoryBackend)(nil)
	_ Backend   = (*FileStore)(nil)
	_ Indexer   = (*FileStore)(nil)
)
