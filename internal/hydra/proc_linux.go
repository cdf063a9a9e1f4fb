package hydra

import "syscall"

// sysProcAttr makes the kernel send SIGTERM to Hydra when the process that
// started it dies, so a crashed test run leaves no server behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
