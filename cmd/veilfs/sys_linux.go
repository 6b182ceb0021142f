package main

import "golang.org/x/sys/unix"

// The Linux calls of the mount and unlock paths; sys_other.go has what
// other systems get instead.

// protectFromDebuggers makes this process not dumpable: it cannot be
// ptraced and its /proc/PID/mem, environ and fd belong to root.
func protectFromDebuggers() error {
	return unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
}

// dupTo makes newfd a copy of oldfd.
func dupTo(oldfd, newfd int) error {
	return unix.Dup3(oldfd, newfd, 0)
}

// totalMemory returns the machine's RAM in bytes; ok is false when it
// cannot be told.
func totalMemory() (total uint64, ok bool) {
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) != nil {
		return 0, false
	}
	return uint64(si.Totalram) * uint64(si.Unit), true
}
