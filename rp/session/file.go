package session

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// FileOptions configures a [FileStore]. The zero value is usable.
type FileOptions struct {
	// CacheSize is how many decoded records are kept in memory (least
	// recently used are dropped first). Default 10000; negative disables
	// the cache.
	CacheSize int
	// SweepInterval is how often expired files are removed. Default 5m.
	SweepInterval time.Duration
	// Sync makes every write fsync the file before renaming it into place,
	// so a session survives a power loss; it costs a disk flush per Save.
	Sync bool
	// Now is the clock used for expiry. Default time.Now.
	Now func() time.Time
}

// Defaults of [FileOptions].
const (
	DefaultFileCacheSize     = 10000
	DefaultFileSweepInterval = 5 * time.Minute
)

// FileStore is a [Backend] and [Indexer] that keeps one file per session
// in a directory, for a [ServerStore] in a single-process application.
//
//   - A file is named by the hex SHA-256 of the session ID; neither the ID
//     nor any plaintext is ever written: the content is the record (without
//     its ID) and its expiry, sealed with the [Codec] and bound to the file
//     name, so files cannot be swapped for one another.
//   - Writes are atomic: a temporary file (mode 0600) is renamed into
//     place. The directory is created with mode 0700.
//   - Decoded records are cached in memory (write-through, LRU bounded by
//     [FileOptions.CacheSize]); a cache hit does no disk I/O.
//   - NewFileStore scans the directory once: it removes expired files,
//     files that do not open under the Codec's keys and leftover temporary
//     files, and builds an in-memory table of every live session (expiry,
//     issuer, sid, subject) that serves the sid/subject index, the sweeper
//     and lookups of unknown IDs without touching the disk. Memory use is
//     therefore proportional to the number of live sessions.
//   - A background goroutine removes expired files; [FileStore.Close]
//     stops it.
//
// Because the table and cache live in the process, a directory must not be
// shared by several processes; use a shared store such as Redis for
// replicas.
type FileStore struct {
	dir   string
	codec *Codec
	opt   FileOptions
	reads atomic.Int64 // files read since open, for tests

	mu      sync.Mutex // guards meta, idx, lru, cache and nextGen
	meta    map[fileKey]*fileMeta
	idx     index[fileKey]
	lru     *list.List // of *cacheEntry, most recently used first
	cache   map[fileKey]*list.Element
	nextGen uint64

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// fileKey is the SHA-256 of a session ID.
type fileKey [sha256.Size]byte

// fileMeta is what the store knows of a live file without reading it.
type fileMeta struct {
	iss, sid, sub string
	expires       time.Time
	gen           uint64 // changes with every write of the file
}

type cacheEntry struct {
	key fileKey
	s   Session // with an empty ID; Get fills it in
}

const tempPrefix = ".tmp-"

// NewFileStore opens (creating it if needed) the directory dir and returns
// a FileStore sealing with codec. It fails when the directory cannot be
// created or read, or is writable by group or others.
func NewFileStore(dir string, codec *Codec, opt FileOptions) (*FileStore, error) {
	if codec == nil {
		return nil, fmt.Errorf("session: file store: nil codec")
	}
	if opt.CacheSize == 0 {
		opt.CacheSize = DefaultFileCacheSize
	}
	if opt.SweepInterval <= 0 {
		opt.SweepInterval = DefaultFileSweepInterval
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("session: file store: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("session: file store: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("session: file store: %s is not a directory", dir)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return nil, fmt.Errorf("session: file store: directory %s is writable by group or others (mode %v)", dir, fi.Mode().Perm())
	}
	f := &FileStore{
		dir:   dir,
		codec: codec,
		opt:   opt,
		meta:  make(map[fileKey]*fileMeta),
		idx:   newIndex[fileKey](),
		lru:   list.New(),
		cache: make(map[fileKey]*list.Element),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	if err := f.scan(); err != nil {
		return nil, err
	}
	go f.sweeper()
	return f, nil
}

// scan builds the table of live sessions from the directory.
func (f *FileStore) scan() error {
	entries, err := os.ReadDir(f.dir)
	if err != nil {
		return fmt.Errorf("session: file store: scan: %w", err)
	}
	now := f.opt.Now()
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, tempPrefix) {
			_ = os.Remove(filepath.Join(f.dir, name))
			continue
		}
		var k fileKey
		if len(name) != 2*len(k) || !e.Type().IsRegular() {
			continue
		}
		if _, err := hex.Decode(k[:], []byte(name)); err != nil || hex.EncodeToString(k[:]) != name {
			continue
		}
		s, expires, err := f.readFile(k)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if errors.Is(err, ErrInvalid) || err == nil && !now.Before(expires) {
			_ = os.Remove(filepath.Join(f.dir, name))
			continue
		}
		if err != nil {
			return fmt.Errorf("session: file store: scan: %w", err)
		}
		f.nextGen++
		f.meta[k] = &fileMeta{iss: s.Issuer, sid: s.SID, sub: s.Subject, expires: expires, gen: f.nextGen}
		f.idx.add(k, s.Issuer, s.SID, s.Subject)
		f.cachePutLocked(k, s)
	}
	return nil
}

func (f *FileStore) sweeper() {
	defer close(f.done)
	t := time.NewTicker(f.opt.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-t.C:
			f.sweep()
		}
	}
}

// sweep removes every expired session.
func (f *FileStore) sweep() {
	now := f.opt.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, m := range f.meta {
		if !now.Before(m.expires) {
			f.removeLocked(k)
		}
	}
}

// Close stops the background sweeper. The store must not be used after.
func (f *FileStore) Close() error {
	f.closeOnce.Do(func() {
		close(f.stop)
		<-f.done
	})
	return nil
}

func keyOf(id string) fileKey {
	// A stack buffer: a []byte(id) conversion would allocate on every load.
	var buf [128]byte
	if len(id) <= len(buf) {
		n := copy(buf[:], id)
		return sha256.Sum256(buf[:n])
	}
	return sha256.Sum256([]byte(id))
}

func (f *FileStore) path(k fileKey) string { return filepath.Join(f.dir, hex.EncodeToString(k[:])) }

// fileAAD binds a file's content to its name; the ':' cannot occur in a
// cookie name, so it never equals a cookie's additional data.
func fileAAD(k fileKey) []byte {
	return append([]byte("oidcrp-file:"), hex.EncodeToString(k[:])...)
}

// Get returns the session with the given ID, or nil when it is missing or
// expired. A cached record is returned without disk I/O.
func (f *FileStore) Get(_ context.Context, id string) (*Session, error) {
	k := keyOf(id)
	var last *Session
	for range 3 {
		now := f.opt.Now()
		f.mu.Lock()
		m := f.meta[k]
		if m == nil {
			f.mu.Unlock()
			return nil, nil
		}
		if !now.Before(m.expires) {
			f.removeLocked(k)
			f.mu.Unlock()
			return nil, nil
		}
		if el := f.cache[k]; el != nil {
			f.lru.MoveToFront(el)
			c := el.Value.(*cacheEntry).s
			f.mu.Unlock()
			c.ID = id
			return &c, nil
		}
		gen := m.gen
		f.mu.Unlock()

		s, _, err := f.readFile(k)
		f.mu.Lock()
		m = f.meta[k]
		switch {
		case m == nil:
			f.mu.Unlock()
			return nil, nil
		case m.gen != gen:
			// Rewritten while we read: read again.
			f.mu.Unlock()
			if err == nil {
				last = s
			}
			continue
		case errors.Is(err, ErrInvalid) || errors.Is(err, fs.ErrNotExist):
			f.removeLocked(k)
			f.mu.Unlock()
			return nil, nil
		case err != nil:
			f.mu.Unlock()
			return nil, fmt.Errorf("session: file store: get: %w", err)
		}
		f.cachePutLocked(k, s)
		f.mu.Unlock()
		s.ID = id
		return s, nil
	}
	if last != nil {
		last.ID = id
	}
	return last, nil
}

// readFile reads and opens the file of k.
func (f *FileStore) readFile(k fileKey) (*Session, time.Time, error) {
	data, err := os.ReadFile(f.path(k))
	f.reads.Add(1)
	if err != nil {
		return nil, time.Time{}, err
	}
	pt, ok := f.codec.openInPlace(data, fileAAD(k))
	if !ok || len(pt) < 8 {
		return nil, time.Time{}, ErrInvalid
	}
	expires := time.Unix(0, int64(binary.BigEndian.Uint64(pt))).UTC()
	s := new(Session)
	if !decodeRecord(string(pt[8:]), s) {
		return nil, time.Time{}, ErrInvalid
	}
	return s, expires, nil
}

// Set writes s to its file until expires, atomically. An expires not after
// now deletes the session instead.
func (f *FileStore) Set(ctx context.Context, s *Session, expires time.Time) error {
	if s == nil {
		return fmt.Errorf("session: file store: set: nil session")
	}
	if !expires.After(f.opt.Now()) {
		return f.Delete(ctx, s.ID)
	}
	if _, ok := encodeTime(expires); !ok {
		return fmt.Errorf("session: file store: set: expiry %v out of range", expires)
	}
	k := keyOf(s.ID)
	rec := *s
	rec.ID = ""
	buf := make([]byte, sealHeader, sealOverhead+8+rec.binarySize())
	buf = binary.BigEndian.AppendUint64(buf, uint64(expires.UnixNano()))
	buf, err := rec.AppendBinary(buf)
	if err != nil {
		return fmt.Errorf("session: file store: set: %w", err)
	}
	raw, err := f.codec.sealInPlace(buf, fileAAD(k))
	if err != nil {
		return fmt.Errorf("session: file store: set: %w", err)
	}
	tmp, err := f.writeTemp(raw)
	if err != nil {
		return fmt.Errorf("session: file store: set: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := os.Rename(tmp, f.path(k)); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("session: file store: set: %w", err)
	}
	if old := f.meta[k]; old != nil {
		f.idx.remove(k, old.iss, old.sid, old.sub)
	}
	f.nextGen++
	f.meta[k] = &fileMeta{iss: s.Issuer, sid: s.SID, sub: s.Subject, expires: expires, gen: f.nextGen}
	f.idx.add(k, s.Issuer, s.SID, s.Subject)
	f.cachePutLocked(k, &rec)
	return nil
}

// writeTemp writes data to a new temporary file (mode 0600) in the
// directory and returns its path.
func (f *FileStore) writeTemp(data []byte) (string, error) {
	t, err := os.CreateTemp(f.dir, tempPrefix+"*")
	if err != nil {
		return "", err
	}
	name := t.Name()
	_, err = t.Write(data)
	if err == nil && f.opt.Sync {
		err = t.Sync()
	}
	if cerr := t.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(name)
		return "", err
	}
	return name, nil
}

// Delete removes the session with the given ID.
func (f *FileStore) Delete(_ context.Context, id string) error {
	k := keyOf(id)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.meta[k] == nil {
		// Not known to this process; a file may still exist from a store
		// that failed to record it.
		if err := os.Remove(f.path(k)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("session: file store: delete: %w", err)
		}
		return nil
	}
	if err := f.removeLocked(k); err != nil {
		return fmt.Errorf("session: file store: delete: %w", err)
	}
	return nil
}

// DeleteBySID removes every session of the issuer's provider session sid
// and returns how many live sessions it removed. It uses the in-memory
// index and reads no file.
func (f *FileStore) DeleteBySID(_ context.Context, iss, sid string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.removeAllLocked(lookup(f.idx.bySID, iss, sid))
}

// DeleteBySubject removes every session of the issuer's subject sub and
// returns how many live sessions it removed.
func (f *FileStore) DeleteBySubject(_ context.Context, iss, sub string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.removeAllLocked(lookup(f.idx.bySub, iss, sub))
}

func (f *FileStore) removeAllLocked(keys []fileKey) (int, error) {
	now := f.opt.Now()
	n := 0
	var errs []error
	for _, k := range keys {
		if m := f.meta[k]; m != nil && now.Before(m.expires) {
			n++
		}
		errs = append(errs, f.removeLocked(k))
	}
	if err := errors.Join(errs...); err != nil {
		return n, fmt.Errorf("session: file store: %w", err)
	}
	return n, nil
}

// removeLocked forgets k and removes its file. The session is forgotten
// even when removing the file fails, so it is never served again.
func (f *FileStore) removeLocked(k fileKey) error {
	if m := f.meta[k]; m != nil {
		f.idx.remove(k, m.iss, m.sid, m.sub)
		delete(f.meta, k)
	}
	if el := f.cache[k]; el != nil {
		f.lru.Remove(el)
		delete(f.cache, k)
	}
	if err := os.Remove(f.path(k)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// cachePutLocked caches a copy of s (its ID is not kept) under k.
func (f *FileStore) cachePutLocked(k fileKey, s *Session) {
	if f.opt.CacheSize < 0 {
		return
	}
	c := *s
	c.ID = ""
	if el := f.cache[k]; el != nil {
		el.Value.(*cacheEntry).s = c
		f.lru.MoveToFront(el)
		return
	}
	f.cache[k] = f.lru.PushFront(&cacheEntry{key: k, s: c})
	for f.lru.Len() > f.opt.CacheSize {
		el := f.lru.Back()
		f.lru.Remove(el)
		delete(f.cache, el.Value.(*cacheEntry).key)
	}
}
