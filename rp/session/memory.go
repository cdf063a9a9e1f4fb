package session

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// MemoryBackend is an in-process [Backend] and [Indexer] for a
// [ServerStore]: handy for tests and for an application that runs as a
// single process. Sessions are lost when the process ends. Expired records
// are never returned and are dropped in amortized sweeps as new ones are
// stored, so memory stays proportional to the live sessions.
type MemoryBackend struct {
	now func() time.Time

	mu      sync.RWMutex // guards items, idx and sweepAt
	items   map[string]*memItem
	idx     index[string]
	sweepAt int // sweep expired items when len(items) reaches this
}

type memItem struct {
	s       Session
	expires time.Time
}

// minSweep is the smallest number of records at which MemoryBackend sweeps.
const minSweep = 1024

// NewMemoryBackend returns an empty MemoryBackend.
func NewMemoryBackend() *MemoryBackend {
	return &MemoryBackend{now: time.Now, items: make(map[string]*memItem), idx: newIndex[string](), sweepAt: minSweep}
}

// Get returns a copy of the record with the given ID, or nil when it is
// missing or expired.
func (m *MemoryBackend) Get(_ context.Context, id string) (*Session, error) {
	now := m.now()
	m.mu.RLock()
	defer m.mu.RUnlock()
	it := m.items[id]
	if it == nil || !now.Before(it.expires) {
		return nil, nil
	}
	c := it.s
	return &c, nil
}

// Set stores a copy of s until expires. An expires not after now deletes
// the record instead.
func (m *MemoryBackend) Set(_ context.Context, s *Session, expires time.Time) error {
	if s == nil {
		return fmt.Errorf("session: memory backend: set: nil session")
	}
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.deleteLocked(s.ID)
	if !expires.After(now) {
		return nil
	}
	m.items[s.ID] = &memItem{s: *s, expires: expires}
	m.idx.add(s.ID, s.Issuer, s.SID, s.Subject)
	if len(m.items) >= m.sweepAt {
		for id, it := range m.items {
			if !now.Before(it.expires) {
				m.deleteLocked(id)
			}
		}
		m.sweepAt = max(minSweep, 2*len(m.items))
	}
	return nil
}

// Delete removes the record with the given ID.
func (m *MemoryBackend) Delete(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.deleteLocked(id)
	return nil
}

// DeleteBySID removes every record of the issuer's provider session sid
// and returns how many live records it removed.
func (m *MemoryBackend) DeleteBySID(_ context.Context, iss, sid string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.deleteAllLocked(lookup(m.idx.bySID, iss, sid)), nil
}

// DeleteBySubject removes every record of the issuer's subject sub and
// returns how many live records it removed.
func (m *MemoryBackend) DeleteBySubject(_ context.Context, iss, sub string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.deleteAllLocked(lookup(m.idx.bySub, iss, sub)), nil
}

func (m *MemoryBackend) deleteAllLocked(ids []string) int {
	now := m.now()
	n := 0
	for _, id := range ids {
		if it := m.items[id]; it != nil && now.Before(it.expires) {
			n++
		}
		m.deleteLocked(id)
	}
	return n
}

func (m *MemoryBackend) deleteLocked(id string) {
	it := m.items[id]
	if it == nil {
		return
	}
	m.idx.remove(id, it.s.Issuer, it.s.SID, it.s.Subject)
	delete(m.items, id)
}
