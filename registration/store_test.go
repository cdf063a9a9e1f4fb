package registration

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestFileStore(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "client.json")
	s := NewFileStore(path)
	ctx := t.Context()

	if c, err := s.Load(ctx); c != nil || err != nil {
		t.Fatalf("Load of a missing file = %v, %v; want nil, nil", c, err)
	}
	want := &Credentials{ClientID: "a", ClientSecret: "s", RegistrationAccessToken: "t", Requested: wanted()}
	if err := s.Save(ctx, want); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	got, err := s.Load(ctx)
	if err != nil || got.ClientSecret != "s" || got.Requested.ClientName != "test app" {
		t.Fatalf("Load = %v, %v", got, err)
	}
	// Overwrite: atomic, no temporary files left behind.
	want.ClientSecret = "s2"
	if err := s.Save(ctx, want); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after saving, want only the file", len(entries))
	}
	if got, _ := s.Load(ctx); got.ClientSecret != "s2" {
		t.Error("second Save not visible")
	}
	if err := s.Remove(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(ctx); err != nil {
		t.Errorf("Remove of a missing file = %v", err)
	}
	if c, _ := s.Load(ctx); c != nil {
		t.Error("credentials survived Remove")
	}
}

func TestFileStoreLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
		wantNil bool
	}{
		{name: "empty file means none", content: "", wantNil: true},
		{name: "blank file means none", content: " \n", wantNil: true},
		{name: "corrupt", content: `{"client_id":`},
		{name: "no client_id", content: `{"client_secret":"x"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.json")
			os.WriteFile(path, []byte(tc.content), 0o600)
			c, err := NewFileStore(path).Load(t.Context())
			if tc.wantNil {
				if c != nil || err != nil {
					t.Fatalf("Load = %v, %v; want nil, nil", c, err)
				}
				return
			}
			if err == nil {
				t.Fatal("corrupt credentials loaded without error (that would register a duplicate)")
			}
		})
	}
}

func TestFileStoreSaveIntoMissingDirectory(t *testing.T) {
	s := NewFileStore(filepath.Join(t.TempDir(), "missing", "c.json"))
	if err := s.Save(t.Context(), &Credentials{ClientID: "a"}); err == nil {
		t.Fatal("Save into a missing directory succeeded")
	}
}

func TestFileStoreLock(t *testing.T) {
	for _, portable := range []bool{false, true} {
		name := "flock"
		if portable || !haveFlock {
			name = "portable"
		}
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.json")
			newStore := func() *FileStore { s := NewFileStore(path); s.portable = portable; return s }

			// Mutual exclusion between separate stores on the same file.
			var inside, maxInside atomic.Int32
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					unlock, err := newStore().Lock(t.Context())
					if err != nil {
						t.Error(err)
						return
					}
					n := inside.Add(1)
					for {
						m := maxInside.Load()
						if n <= m || maxInside.CompareAndSwap(m, n) {
							break
						}
					}
					time.Sleep(2 * time.Millisecond)
					inside.Add(-1)
					unlock()
					unlock() // idempotent
				})
			}
			wg.Wait()
			if maxInside.Load() != 1 {
				t.Fatalf("%d holders at once", maxInside.Load())
			}

			// A waiter gives up when its context ends.
			unlock, err := newStore().Lock(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
			defer cancel()
			if _, err := newStore().Lock(ctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Lock while held = %v, want DeadlineExceeded", err)
			}
			unlock()
			unlock2, err := newStore().Lock(t.Context())
			if err != nil {
				t.Fatalf("Lock after unlock = %v", err)
			}
			unlock2()
		})
	}
}

func TestPortableLockTakesOverAStaleLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.json.lock")
	// A lock file left by a process that died a minute ago.
	os.WriteFile(path, []byte("pid 1\n"), 0o600)
	old := time.Now().Add(-time.Minute)
	os.Chtimes(path, old, old)

	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	// A stale age of 600 ms leaves the holder's heartbeat (every 200 ms)
	// room to run late on a loaded machine.
	unlock, err := lockPortable(ctx, path, 600*time.Millisecond)
	if err != nil {
		t.Fatalf("stale lock not taken over: %v", err)
	}
	// While held, the holder keeps the file fresh: no takeover.
	time.Sleep(1200 * time.Millisecond)
	ctx2, cancel2 := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel2()
	if _, err := lockPortable(ctx2, path, 600*time.Millisecond); err == nil {
		t.Fatal("a held lock was taken over")
	}
	unlock()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock file left after unlock: %v", err)
	}
}

func TestMemoryStore(t *testing.T) {
	var s MemoryStore
	ctx := t.Context()
	if c, err := s.Load(ctx); c != nil || err != nil {
		t.Fatalf("empty Load = %v, %v", c, err)
	}
	in := &Credentials{ClientID: "a", Requested: wanted()}
	s.Save(ctx, in)
	in.Requested.ClientName = "changed after save"
	got, _ := s.Load(ctx)
	if got.Requested.ClientName != "test app" {
		t.Error("the store kept the caller's value")
	}
	got.ClientID = "changed after load"
	if again, _ := s.Load(ctx); again.ClientID != "a" {
		t.Error("Load returned the stored value itself")
	}
	unlock, err := s.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := s.Lock(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock while held = %v", err)
	}
	unlock()
	unlock()
	if u, err := s.Lock(ctx); err != nil {
		t.Fatal(err)
	} else {
		u()
	}
}
