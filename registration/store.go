package registration

import (
	"context"
	"sync"
)

// CredentialStore persists the [Credentials] of one registration, for
// [Ensure] and the oidcrp command. Implementations must be safe for
// concurrent use. [FileStore] is the default; [MemoryStore] suits tests;
// a secret manager or Redis can implement it too.
type CredentialStore interface {
	// Load returns the stored credentials, or nil and a nil error when
	// none are stored. Unreadable or corrupt data is an error, not
	// "none": treating it as none would register a second client.
	Load(ctx context.Context) (*Credentials, error)
	// Save replaces the stored credentials atomically: a concurrent or
	// later Load sees either the old or the new value, never a mix, and
	// once Save returns the new value survives a crash. The store must
	// not keep c itself (Ensure and callers may reuse it).
	Save(ctx context.Context, c *Credentials) error
}

// Locker is an optional ability of a [CredentialStore], found by type
// assertion: a lock shared by every process using the store. [Ensure]
// holds it around its whole check-and-register, so that replicas booting
// at once register one client, not one each. A Redis store can implement
// it with SET NX and an expiry; [FileStore] uses a lock file.
type Locker interface {
	// Lock blocks until the lock is held or ctx ends, and returns the
	// function that releases it. unlock must be safe to call more than
	// once.
	Lock(ctx context.Context) (unlock func(), err error)
}

// MemoryStore is a [CredentialStore] and [Locker] in memory, shared by
// the goroutines of one process. The zero value is ready to use.
type MemoryStore struct {
	// mu guards creds and sem.
	mu    sync.Mutex
	creds *Credentials
	// sem is the lock: a channel with one slot, made on first use.
	sem chan struct{}
}

// Load returns a copy of the stored credentials, or nil.
func (s *MemoryStore) Load(context.Context) (*Credentials, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.creds.Clone(), nil
}

// Save stores a copy of c.
func (s *MemoryStore) Save(_ context.Context, c *Credentials) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.creds = c.Clone()
	return nil
}

// Lock takes the store's lock.
func (s *MemoryStore) Lock(ctx context.Context) (func(), error) {
	s.mu.Lock()
	if s.sem == nil {
		s.sem = make(chan struct{}, 1)
	}
	sem := s.sem
	s.mu.Unlock()
	select {
	case sem <- struct{}{}:
		var once sync.Once
		return func() { once.Do(func() { <-sem }) }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
