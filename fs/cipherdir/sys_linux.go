package cipherdir

import (
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"
)

// hasDefaultACL reports whether the directory open at fd (O_PATH or not)
// has a default ACL, which the directories made in it inherit.
func hasDefaultACL(fd int) bool {
	n, err := unix.Getxattr(fmt.Sprintf("/proc/self/fd/%d", fd), "system.posix_acl_default", nil)
	return err == nil && n > 0
}

// fchmodDirFD sets the mode of the directory open at fd, an O_PATH
// descriptor (on which fchmod fails), through /proc/self/fd.
func fchmodDirFD(fd int, mode uint32) error {
	return unix.Fchmodat(unix.AT_FDCWD, fmt.Sprintf("/proc/self/fd/%d", fd), mode, 0)
}

// openTmpfileAt opens an unnamed regular file in dirfd for writing
// (O_TMPFILE), for linkTmpfileAt to give a name once written.
func openTmpfileAt(dirfd int, perm uint32) (int, error) {
	return unix.Openat(dirfd, ".", unix.O_WRONLY|unix.O_TMPFILE|unix.O_CLOEXEC, perm)
}

// linkTmpfileAt links the file of openTmpfileAt under name in dirfd. It
// fails with ENOENT on a machine without /proc.
func linkTmpfileAt(fd, dirfd int, name string) error {
	return unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), dirfd, name, unix.AT_SYMLINK_FOLLOW)
}

// The system calls below differ between Linux and the other systems; the
// offline tools (rotate, fsck) and the mounts use these names so that the
// Linux build keeps its calls and the others get their nearest equivalent.

// ENOATTR is the errno of a missing extended attribute.
const ENOATTR = unix.ENODATA

// Fdatasync flushes fd's data (and the metadata needed to read it back).
func Fdatasync(fd int) error { return unix.Fdatasync(fd) }

// Syncfs flushes the filesystem that holds fd.
func Syncfs(fd int) error { return unix.Syncfs(fd) }
