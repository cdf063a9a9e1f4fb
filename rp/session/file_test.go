package session

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func newFileStore(t *testing.T, dir string, clk *fakeClock, opt FileOptions) *FileStore {
	t.Helper()
	opt.Now = clk.Now
	f, err := NewFileStore(dir, mustCodec(t, secret(1)), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

func fileName(id string) string {
	h := sha256.Sum256([]byte(id))
	return hex.EncodeToString(h[:])
}

func TestFileStoreOnDisk(t *testing.T) {
	clk := newClock()
	dir := filepath.Join(t.TempDir(), "sessions")
	f := newFileStore(t, dir, clk, FileOptions{})
	ctx := context.Background()
	s := sampleSession(t, clk.Now())
	if err := f.Set(ctx, s, clk.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("directory mode = %v, %v; want 0700", fi.Mode().Perm(), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != fileName(s.ID) {
		t.Fatalf("directory holds %v, want one file named hex(sha256(id))", entries)
	}
	path := filepath.Join(dir, fileName(s.ID))
	fi, _ = os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode = %v, want 0600", fi.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	for _, secret := range []string{s.ID, s.AccessToken[:40], s.RefreshToken[:40], s.IDToken[:40], s.Subject, "janedoe@example.com"} {
		if bytes.Contains(data, []byte(secret)) {
			t.Errorf("file contains %q in plaintext", secret)
		}
	}
}

func TestFileStoreCache(t *testing.T) {
	clk := newClock()
	ctx := context.Background()
	t.Run("hit does no disk I/O", func(t *testing.T) {
		dir := t.TempDir()
		f := newFileStore(t, dir, clk, FileOptions{})
		s := sampleSession(t, clk.Now())
		if err := f.Set(ctx, s, clk.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		reads := f.reads.Load()
		if err := os.Remove(filepath.Join(dir, fileName(s.ID))); err != nil {
			t.Fatal(err)
		}
		for range 10 {
			got, err := f.Get(ctx, s.ID)
			if err != nil {
				t.Fatal(err)
			}
			sameSession(t, got, s)
		}
		if n := f.reads.Load() - reads; n != 0 {
			t.Errorf("cache hits read %d files", n)
		}
		got, _ := f.Get(ctx, s.ID)
		got.AccessToken = "mutated by caller"
		if again, _ := f.Get(ctx, s.ID); again.AccessToken != s.AccessToken {
			t.Error("caller mutation reached the cache")
		}
	})
	t.Run("unknown ID does no disk I/O", func(t *testing.T) {
		f := newFileStore(t, t.TempDir(), clk, FileOptions{})
		reads := f.reads.Load()
		if got, err := f.Get(ctx, mustID(t)); got != nil || err != nil {
			t.Errorf("Get = %v, %v", got, err)
		}
		if f.reads.Load() != reads {
			t.Error("unknown ID read a file")
		}
	})
	t.Run("disabled cache reads the file", func(t *testing.T) {
		dir := t.TempDir()
		f := newFileStore(t, dir, clk, FileOptions{CacheSize: -1})
		s := sampleSession(t, clk.Now())
		_ = f.Set(ctx, s, clk.Now().Add(time.Hour))
		reads := f.reads.Load()
		got, err := f.Get(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		sameSession(t, got, s)
		if f.reads.Load() != reads+1 {
			t.Errorf("reads = %d, want %d", f.reads.Load(), reads+1)
		}
		_ = os.Remove(filepath.Join(dir, fileName(s.ID)))
		if got, err := f.Get(ctx, s.ID); got != nil || err != nil {
			t.Errorf("Get after the file vanished = %v, %v", got, err)
		}
	})
	t.Run("LRU bound and miss", func(t *testing.T) {
		f := newFileStore(t, t.TempDir(), clk, FileOptions{CacheSize: 2})
		var ss []*Session
		for range 3 {
			s := sampleSession(t, clk.Now())
			_ = f.Set(ctx, s, clk.Now().Add(time.Hour))
			ss = append(ss, s)
		}
		if f.lru.Len() != 2 {
			t.Errorf("cache holds %d, want 2", f.lru.Len())
		}
		reads := f.reads.Load()
		got, err := f.Get(ctx, ss[0].ID) // evicted: read from disk
		if err != nil {
			t.Fatal(err)
		}
		sameSession(t, got, ss[0])
		if f.reads.Load() != reads+1 {
			t.Error("evicted entry was not read from disk")
		}
		if _, _ = f.Get(ctx, ss[0].ID); f.reads.Load() != reads+1 {
			t.Error("entry read from disk was not cached")
		}
	})
}

func TestFileStoreReopen(t *testing.T) {
	clk := newClock()
	ctx := context.Background()
	dir := t.TempDir()
	f := newFileStore(t, dir, clk, FileOptions{})
	live := sampleSession(t, clk.Now())
	expiring := sampleSession(t, clk.Now())
	_ = f.Set(ctx, live, clk.Now().Add(time.Hour))
	_ = f.Set(ctx, expiring, clk.Now().Add(time.Minute))
	_ = f.Close()
	// Leftovers: a temporary file, a file under a foreign key, an unrelated file.
	_ = os.WriteFile(filepath.Join(dir, tempPrefix+"123"), []byte("partial"), 0o600)
	foreignDir := t.TempDir()
	foreign, err := NewFileStore(foreignDir, mustCodec(t, secret(9)), FileOptions{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	fs := sampleSession(t, clk.Now())
	_ = foreign.Set(ctx, fs, clk.Now().Add(time.Hour))
	_ = foreign.Close()
	foreignData, err := os.ReadFile(filepath.Join(foreignDir, fileName(fs.ID)))
	if err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(filepath.Join(dir, fileName(fs.ID)), foreignData, 0o600)
	junkName := fileName("junk")
	_ = os.WriteFile(filepath.Join(dir, junkName), []byte("not sealed"), 0o600)
	_ = os.WriteFile(filepath.Join(dir, "README"), []byte("keep"), 0o600)

	clk.Add(2 * time.Minute)
	g := newFileStore(t, dir, clk, FileOptions{})
	reads := g.reads.Load()
	got, err := g.Get(ctx, live.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameSession(t, got, live)
	if g.reads.Load() != reads {
		t.Error("the scan at open did not warm the cache")
	}
	if s, _ := g.Get(ctx, expiring.ID); s != nil {
		t.Error("expired session loads after reopen")
	}
	for _, name := range []string{tempPrefix + "123", junkName, fileName(expiring.ID), fileName(fs.ID)} {
		if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
			t.Errorf("%s not removed at open", name)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "README")); err != nil {
		t.Error("unrelated file removed")
	}
	if n, err := g.DeleteBySID(ctx, live.Issuer, live.SID); err != nil || n != 1 {
		t.Errorf("DeleteBySID after reopen = %d, %v; want 1", n, err)
	}
	if _, err := os.Stat(filepath.Join(dir, fileName(live.ID))); !os.IsNotExist(err) {
		t.Error("DeleteBySID left the file")
	}
}

func TestFileStoreTamper(t *testing.T) {
	clk := newClock()
	ctx := context.Background()
	dir := t.TempDir()
	f := newFileStore(t, dir, clk, FileOptions{CacheSize: -1})
	a, b := sampleSession(t, clk.Now()), sampleSession(t, clk.Now())
	_ = f.Set(ctx, a, clk.Now().Add(time.Hour))
	_ = f.Set(ctx, b, clk.Now().Add(time.Hour))
	pa, pb := filepath.Join(dir, fileName(a.ID)), filepath.Join(dir, fileName(b.ID))
	t.Run("swapped file", func(t *testing.T) {
		data, _ := os.ReadFile(pa)
		_ = os.WriteFile(pb, data, 0o600)
		if got, err := f.Get(ctx, b.ID); got != nil || err != nil {
			t.Errorf("Get with another session's file = %v, %v", got, err)
		}
		if _, err := os.Stat(pb); !os.IsNotExist(err) {
			t.Error("invalid file kept")
		}
	})
	t.Run("flipped byte", func(t *testing.T) {
		data, _ := os.ReadFile(pa)
		data[len(data)/2] ^= 1
		_ = os.WriteFile(pa, data, 0o600)
		if got, err := f.Get(ctx, a.ID); got != nil || err != nil {
			t.Errorf("Get of a tampered file = %v, %v", got, err)
		}
	})
}

func TestFileStoreSweep(t *testing.T) {
	clk := newClock()
	ctx := context.Background()
	dir := t.TempDir()
	f := newFileStore(t, dir, clk, FileOptions{})
	short, long := sampleSession(t, clk.Now()), sampleSession(t, clk.Now())
	_ = f.Set(ctx, short, clk.Now().Add(time.Minute))
	_ = f.Set(ctx, long, clk.Now().Add(time.Hour))
	clk.Add(time.Minute)
	f.sweep()
	if _, err := os.Stat(filepath.Join(dir, fileName(short.ID))); !os.IsNotExist(err) {
		t.Error("expired file not swept")
	}
	if _, err := os.Stat(filepath.Join(dir, fileName(long.ID))); err != nil {
		t.Error("live file swept")
	}
	f.mu.Lock()
	n, c := len(f.meta), f.lru.Len()
	f.mu.Unlock()
	if n != 1 || c != 1 {
		t.Errorf("after sweep: %d table entries, %d cached; want 1, 1", n, c)
	}
	t.Run("background sweeper", func(t *testing.T) {
		g := newFileStore(t, t.TempDir(), clk, FileOptions{SweepInterval: time.Millisecond})
		s := sampleSession(t, clk.Now())
		_ = g.Set(ctx, s, clk.Now().Add(time.Second))
		clk.Add(time.Second)
		deadline := time.Now().Add(5 * time.Second)
		for {
			g.mu.Lock()
			n := len(g.meta)
			g.mu.Unlock()
			if n == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("background sweeper did not run")
			}
			time.Sleep(time.Millisecond)
		}
		if err := g.Close(); err != nil {
			t.Fatal(err)
		}
		if err := g.Close(); err != nil {
			t.Errorf("second Close = %v", err)
		}
	})
}

func TestNewFileStoreRejects(t *testing.T) {
	codec := mustCodec(t, secret(1))
	open := t.TempDir()
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "file")
	_ = os.WriteFile(file, nil, 0o600)
	tests := []struct {
		name  string
		dir   string
		codec *Codec
	}{
		{name: "world-writable directory", dir: open, codec: codec},
		{name: "not a directory", dir: file, codec: codec},
		{name: "nil codec", dir: t.TempDir(), codec: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if f, err := NewFileStore(tc.dir, tc.codec, FileOptions{}); err == nil {
				_ = f.Close()
				t.Fatal("NewFileStore succeeded")
			}
		})
	}
}

func TestFileStoreConcurrent(t *testing.T) {
	clk := newClock()
	ctx := context.Background()
	f := newFileStore(t, t.TempDir(), clk, FileOptions{CacheSize: 4})
	shared := sampleSession(t, clk.Now())
	_ = f.Set(ctx, shared, clk.Now().Add(time.Hour))
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			for i := range 30 {
				s := *shared
				s.AccessToken = string(rune('a'+g)) + string(rune('a'+i%26))
				if err := f.Set(ctx, &s, clk.Now().Add(time.Hour)); err != nil {
					t.Error(err)
				}
				got, err := f.Get(ctx, shared.ID)
				if err != nil || got == nil || got.ID != shared.ID {
					t.Errorf("Get = %v, %v", got, err)
				}
				other := sampleSession(t, clk.Now())
				_ = f.Set(ctx, other, clk.Now().Add(time.Hour))
				_, _ = f.DeleteBySubject(ctx, "nobody", "x")
				_ = f.Delete(ctx, other.ID)
			}
		})
	}
	wg.Wait()
}
