package e2e

import "syscall"

// childAttr makes the kernel SIGKILL a child when the test process dies
// without running its cleanups (a panic, a -timeout kill), so no member or
// node outlives the test and holds ports or disk.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
