package main

import (
	"errors"

	"golang.org/x/sys/unix"
)

// cipherDirReadOnly reports whether this process cannot write to CIPHERDIR
// dir: its filesystem is mounted read-only (a read-only bind mount, a
// CD-ROM, a snapshot) or its root directory is not writable for us
// (chmod a-w). A read-write mount of it would fail every write with a
// bare error, long after the mount seemed to work; mount mounts it
// read-only instead, and says so. Any other error of access(2) tells
// nothing and is left to the mount to meet.
func cipherDirReadOnly(dir string) bool {
	err := unix.Access(dir, unix.W_OK)
	return errors.Is(err, unix.EROFS) || errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM)
}
