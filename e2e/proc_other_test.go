//go:build !linux

package e2e

import "syscall"

// childAttr has nothing to add off Linux: there t.Cleanup alone stops the
// children.
func childAttr() *syscall.SysProcAttr { return nil }
