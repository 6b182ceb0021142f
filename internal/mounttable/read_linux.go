package mounttable

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// Read returns the mount table of this process's mount namespace, from
// /proc/self/mountinfo.
func Read() ([]Entry, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	return ParseMountinfo(data), nil
}

// read is Read for MountedAt: without /proc nothing can be told, which is
// no error.
func read() ([]Entry, error) {
	table, err := Read()
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read the mount table: %w", err)
	}
	return table, nil
}

// IsFUSE reports whether fsType is a FUSE filesystem's: "fuse", "fuseblk"
// or "fuse.SUBTYPE".
func IsFUSE(fsType string) bool {
	return strings.HasPrefix(fsType, "fuse")
}
