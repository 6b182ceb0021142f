//go:build darwin || freebsd

package mounttable

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// Read returns the mount table from getfsstat(2).
func Read() ([]Entry, error) {
	n, err := unix.Getfsstat(nil, unix.MNT_NOWAIT)
	if err != nil {
		return nil, err
	}
	buf := make([]unix.Statfs_t, n+8) // room for mounts made meanwhile
	n, err = unix.Getfsstat(buf, unix.MNT_NOWAIT)
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, n)
	for _, fs := range buf[:n] {
		out = append(out, Entry{
			Source:     unix.ByteSliceToString(fs.Mntfromname[:]),
			Mountpoint: unix.ByteSliceToString(fs.Mntonname[:]),
			FSType:     unix.ByteSliceToString(fs.Fstypename[:]),
			ReadOnly:   uint64(fs.Flags)&unix.MNT_RDONLY != 0,
		})
	}
	return out, nil
}

// read is Read for MountedAt.
func read() ([]Entry, error) {
	table, err := Read()
	if err != nil {
		return nil, fmt.Errorf("read the mount table: %w", err)
	}
	return table, nil
}

// IsFUSE reports whether fsType is a FUSE filesystem's: FreeBSD's fusefs,
// macFUSE's macfuse or osxfuse.
func IsFUSE(fsType string) bool {
	return strings.Contains(fsType, "fuse")
}
