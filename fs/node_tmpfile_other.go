//go:build !linux

package fs

import "golang.org/x/sys/unix"

// openTmpfileAt: there is no O_TMPFILE here, and no FUSE_TMPFILE either.
func openTmpfileAt(dirfd, flags int, perm uint32) (int, error) { return -1, unix.EOPNOTSUPP }
