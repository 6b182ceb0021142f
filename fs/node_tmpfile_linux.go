package fs

import "golang.org/x/sys/unix"

// openTmpfileAt opens an unnamed regular file in dirfd (Tmpfile).
func openTmpfileAt(dirfd, flags int, perm uint32) (int, error) {
	return unix.Openat(dirfd, ".", flags|unix.O_TMPFILE, perm)
}
