package cipherdir

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// resolveFlags keep every path walk inside CIPHERDIR and refuse symlinks in
// any component: a sync client or an attacker who plants a symlink in place
// of a ciphertext directory must not redirect us (DEVELOPERS.md, safe
// against symlink races).
const resolveFlags = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS

// openDirPath opens an absolute directory path (CIPHERDIR itself).
func openDirPath(path string) (int, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open directory %s: %w", path, err)
	}
	return fd, nil
}

// OpenRoot opens CIPHERDIR; all other directories are opened relative to it.
func (v *Volume) OpenRoot() (int, error) {
	return openDirPath(v.Dir)
}

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
