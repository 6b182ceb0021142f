//go:build !linux

package cipherdir

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Without openat2 (RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS, Linux only) every
// path inside CIPHERDIR is walked one component at a time by
// openBeneathPortable, which keeps the same property: no symlink in any
// component is followed, and the walk never leaves the starting directory.
// There is no O_PATH either: directories are opened O_RDONLY, so a
// directory veilfs cannot read cannot be walked through.

// OpenDirAt opens the directory at the relative ciphertext path rel (slash
// separated, "" for rootfd itself) beneath rootfd without following any
// symlink. The result is a read-only descriptor, usable as dirfd for *at
// calls.
func OpenDirAt(rootfd int, rel string) (int, error) {
	if rel == "" {
		rel = "."
	}
	fd, err := openBeneathPortable(rootfd, rel, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return -1, fmt.Errorf("open directory %s: %w", rel, err)
	}
	return fd, nil
}

// OpenReadDirAt opens the directory entry name in dirfd for reading its
// entries.
func OpenReadDirAt(dirfd int, name string) (int, error) {
	fd, err := openBeneathPortable(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return -1, fmt.Errorf("open directory %s: %w", name, err)
	}
	return fd, nil
}

// OpenBeneath opens rel (slash separated, relative) beneath dirfd with
// flags, without following a symlink in any component and without leaving
// dirfd (openBeneathPortable). The error is the bare errno.
func OpenBeneath(dirfd int, rel string, flags int) (int, error) {
	return openBeneathPortable(dirfd, rel, flags)
}
