package cipherdir

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// openDirPath opens an absolute directory path (CIPHERDIR itself).
func openDirPath(path string) (int, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open directory %s: %w", path, err)
	}
	return fd, nil
}

// scanDir opens dirfd's directory again for reading its entries, for one
// of veilfs's own scans (IV conflict copies, lost names, a conflict copy's
// name). Those are no reads by a user, and they run on every create in a
// directory the mount has not looked into for a while: with O_NOATIME
// they leave the directory's access time alone, as a mount with
// nodiratime promises (xfstests generic/003). Where O_NOATIME is refused
// (a directory of another user, without CAP_FOWNER), it opens without.
func scanDir(dirfd int) (int, error) {
	const flags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC
	if ONoatime != 0 {
		fd, err := unix.Openat(dirfd, ".", flags|ONoatime, 0)
		if err != unix.EPERM {
			return fd, err
		}
	}
	return unix.Openat(dirfd, ".", flags, 0)
}

// OpenRoot opens CIPHERDIR; all other directories are opened relative to it.
func (v *Volume) OpenRoot() (int, error) {
	return openDirPath(v.Dir)
}

// JoinPath joins ciphertext path components.
func JoinPath(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "/" + name
}

// ValidDiskName reports whether a name read from or about to be used in a
// ciphertext directory is a single, harmless path component.
func ValidDiskName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\x00")
}

func closeFD(fd int) { _ = unix.Close(fd) }
