//go:build !linux

package hydra

import "syscall"

// sysProcAttr returns nil: only Linux can tie Hydra's life to its parent's.
func sysProcAttr() *syscall.SysProcAttr { return nil }
