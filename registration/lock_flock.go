//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package registration

import (
	"context"
	"errors"
	"os"
	"sync"
	"syscall"
)

// haveFlock reports whether lockFlock works on this system.
const haveFlock = true

// lockFlock takes flock(2) LOCK_EX on the file at path, creating it, and
// polls with LOCK_NB so that ctx can end the wait. The kernel releases the
// lock when the process dies.
func lockFlock(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	var delays pollDelays
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, err
		}
		if err := sleepCtx(ctx, delays.next()); err != nil {
			f.Close()
			return nil, err
		}
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
			f.Close()
		})
	}, nil
}
