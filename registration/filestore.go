package registration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// DefaultCredentialsFile is where [Ensure] keeps credentials when
// [Options.Store] is nil.
const DefaultCredentialsFile = "oidcrp-client.json"

// DefaultStaleLockAge is how old the portable lock file may get before it
// is taken to belong to a process that died; see [FileStore.Lock].
const DefaultStaleLockAge = 30 * time.Second

// FileStore keeps credentials in a JSON file, mode 0600, replaced
// atomically (written to a temporary file in the same directory, synced,
// renamed over the old one, and the directory synced). It is a
// [CredentialStore] and a [Locker].
type FileStore struct {
	path string
	// portable selects the portable lock even where flock exists.
	portable bool
	// staleAge is the portable lock's takeover age.
	staleAge time.Duration
}

// NewFileStore returns a store for the file at path (which need not
// exist yet; its directory must).
func NewFileStore(path string) *FileStore {
	return &FileStore{path: path, staleAge: DefaultStaleLockAge}
}

// Path returns the file's path.
func (s *FileStore) Path() string { return s.path }

// Load reads the file. A missing or empty file means no credentials.
func (s *FileStore) Load(context.Context) (*Credentials, error) {
	b, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("registration: load credentials: %w", err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, nil
	}
	c := new(Credentials)
	if err := json.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("registration: load credentials from %s: %w", s.path, err)
	}
	if c.ClientID == "" {
		return nil, fmt.Errorf("registration: load credentials from %s: no client_id", s.path)
	}
	return c, nil
}

// Save writes c atomically with mode 0600.
func (s *FileStore) Save(_ context.Context, c *Credentials) error {
	if c == nil {
		return errors.New("registration: save credentials: nil")
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("registration: save credentials: %w", err)
	}
	b = append(b, '\n')
	if err := writeFileAtomic(s.path, b); err != nil {
		return fmt.Errorf("registration: save credentials: %w", err)
	}
	return nil
}

// Remove deletes the file; a missing file is not an error.
func (s *FileStore) Remove(context.Context) error {
	if err := os.Remove(s.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("registration: remove credentials: %w", err)
	}
	return nil
}

// Lock takes an exclusive lock shared by every process using the file:
// flock(2) on "<path>.lock" where the system has it (Linux, the BSDs,
// macOS), released by the kernel when the process dies. Elsewhere it
// creates "<path>.lock" exclusively and removes it on unlock; a holder
// refreshes the file's time while it holds the lock, and a lock file not
// refreshed for [DefaultStaleLockAge] is taken over as left behind by a
// process that died. Lock polls until the lock is free or ctx ends. The
// flock file is left in place after unlock: removing it would let two
// processes lock different files of the same name.
func (s *FileStore) Lock(ctx context.Context) (func(), error) {
	var (
		unlock func()
		err    error
	)
	if s.portable || !haveFlock {
		unlock, err = lockPortable(ctx, s.path+".lock", s.staleAge)
	} else {
		unlock, err = lockFlock(ctx, s.path+".lock")
	}
	if err != nil {
		return nil, fmt.Errorf("registration: lock %s: %w", s.path, err)
	}
	return unlock, nil
}

// writeFileAtomic writes data to a temporary file next to path, syncs it,
// renames it over path and syncs the directory.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	if runtime.GOOS == "windows" {
		return nil // directories cannot be synced there
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// pollDelays yields growing waits for lock polling: 2 ms doubling to
// 50 ms.
type pollDelays struct{ d time.Duration }

func (p *pollDelays) next() time.Duration {
	if p.d == 0 {
		p.d = 2 * time.Millisecond
	} else {
		p.d = min(p.d*2, 50*time.Millisecond)
	}
	return p.d
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
