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
