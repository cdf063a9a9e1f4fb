//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package registration

import (
	"context"
	"errors"
)

// haveFlock reports whether lockFlock works on this system.
const haveFlock = false

// lockFlock is not available here; FileStore uses lockPortable.
func lockFlock(context.Context, string) (func(), error) {
	return nil, errors.New("flock is not available on this system")
}
