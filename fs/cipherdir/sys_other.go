//go:build !linux

package cipherdir

import "golang.org/x/sys/unix"

// hasDefaultACL: veilfs serves ACLs on Linux only.
func hasDefaultACL(fd int) bool { return false }

// fchmodDirFD sets the mode of the directory open at fd (a plain read-only
// descriptor where there is no O_PATH).
func fchmodDirFD(fd int, mode uint32) error {
	return unix.Fchmod(fd, mode)
}

// openTmpfileAt: there is no O_TMPFILE; callers fall back to writing a
// named file.
func openTmpfileAt(dirfd int, perm uint32) (int, error) {
	return -1, unix.ENOTSUP
}

// linkTmpfileAt is never reached: openTmpfileAt always fails.
func linkTmpfileAt(fd, dirfd int, name string) error {
	return unix.ENOTSUP
}

// ENOATTR is the errno of a missing extended attribute.
const ENOATTR = unix.ENOATTR

// Fdatasync flushes fd's data: fsync where there is no fdatasync.
func Fdatasync(fd int) error { return unix.Fsync(fd) }

// Syncfs flushes the filesystem that holds fd. Without syncfs, sync(2)
// flushes every filesystem, which includes fd's.
func Syncfs(fd int) error {
	unix.Sync()
	return nil
}
