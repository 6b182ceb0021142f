//go:build !linux

package harness

import "golang.org/x/sys/unix"

// lazyUnmount: there is no lazy unmount here; a forced one is the nearest.
// The harness does not mount on these systems (RequireFUSE), so this only
// keeps it compiling for `make cross`.
func lazyUnmount(mnt string) error { return unix.Unmount(mnt, unix.MNT_FORCE) }
