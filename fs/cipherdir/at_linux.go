package cipherdir

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// resolveFlags keep every path walk inside CIPHERDIR and refuse symlinks in
// any component: a sync client or an attacker who plants a symlink in place
// of a ciphertext directory must not redirect us (DEVELOPERS.md, safe
// against symlink races).
const resolveFlags = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS

// OpenDirAt opens the directory at the relative ciphertext path rel (slash
// separated, "" for rootfd itself) beneath rootfd without following any
// symlink. The result is an O_PATH descriptor, usable as dirfd for *at calls.
func OpenDirAt(rootfd int, rel string) (int, error) {
	if rel == "" {
		rel = "."
	}
	how := unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: resolveFlags,
	}
	fd, err := unix.Openat2(rootfd, rel, &how)
	if err != nil {
		return -1, fmt.Errorf("open directory %s: %w", rel, err)
	}
	return fd, nil
}

// OpenReadDirAt opens the directory entry name in dirfd for reading its
// entries (getdents needs a real, not O_PATH, descriptor).
func OpenReadDirAt(dirfd int, name string) (int, error) {
	how := unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: resolveFlags,
	}
	fd, err := unix.Openat2(dirfd, name, &how)
	if err != nil {
		return -1, fmt.Errorf("open directory %s: %w", name, err)
	}
	return fd, nil
}

// OpenBeneath opens rel (slash separated, relative) beneath dirfd with
// flags, without following a symlink in any component and without leaving
// dirfd: openat2 with resolveFlags. The error is the bare errno.
func OpenBeneath(dirfd int, rel string, flags int) (int, error) {
	how := unix.OpenHow{Flags: uint64(flags), Resolve: resolveFlags}
	return unix.Openat2(dirfd, rel, &how)
}
