package registration

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"
)

// lockPortable takes a lock by creating the file at path exclusively. The
// holder refreshes the file's modification time every staleAge/4; a file
// older than staleAge is taken to be left by a process that died and is
// removed. This is best effort: unlike flock, two processes that both
// find the same stale file at the same moment could both proceed.
func lockPortable(ctx context.Context, path string, staleAge time.Duration) (func(), error) {
	if staleAge <= 0 {
		staleAge = DefaultStaleLockAge
	}
	var delays pollDelays
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			fmt.Fprintf(f, "pid %d since %s\n", os.Getpid(), time.Now().UTC().Format(time.RFC3339))
			f.Close()
			return holdPortable(path, staleAge), nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		if fi, err := os.Stat(path); err == nil && time.Since(fi.ModTime()) > staleAge {
			// Move it aside first so that only one waiter removes it.
			aside := fmt.Sprintf("%s.stale.%d.%d", path, os.Getpid(), time.Now().UnixNano())
			if os.Rename(path, aside) == nil {
				os.Remove(aside)
			}
			continue
		}
		if err := sleepCtx(ctx, delays.next()); err != nil {
			return nil, err
		}
	}
}

// holdPortable keeps the lock file fresh until the returned unlock runs,
// which removes it.
func holdPortable(path string, staleAge time.Duration) func() {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(staleAge / 4)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-t.C:
				os.Chtimes(path, now, now)
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stop)
			<-done
			os.Remove(path)
		})
	}
}
