//go:build !linux

package main

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// protectFromDebuggers: PR_SET_DUMPABLE is Linux's; the mount says it
// could not (core dumps are still off, RLIMIT_CORE).
func protectFromDebuggers() error {
	return fmt.Errorf("not supported on %s", runtime.GOOS)
}

// dupTo makes newfd a copy of oldfd.
func dupTo(oldfd, newfd int) error {
	return unix.Dup2(oldfd, newfd)
}

// totalMemory returns the machine's RAM in bytes (sysctl hw.memsize on
// darwin, hw.physmem on FreeBSD); ok is false when it cannot be told.
func totalMemory() (total uint64, ok bool) {
	name := "hw.physmem"
	if runtime.GOOS == "darwin" {
		name = "hw.memsize"
	}
	total, err := unix.SysctlUint64(name)
	return total, err == nil && total > 0
}
