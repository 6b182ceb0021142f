//go:build darwin || freebsd

package cipherdir

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// MountedAt returns the mountpoint where dir (an absolute, clean path) is
// mounted as a FUSE filesystem's source, or "". veilfs and gocryptfs both
// name a mount after its CIPHERDIR. Offline tools (fsck, rotate) refuse a
// mounted volume: the daemon would see its files change underneath. Here
// the mount table comes from getfsstat(2): a file system whose type names
// FUSE (FreeBSD's fusefs, macFUSE's macfuse or osxfuse) mounted from dir.
func MountedAt(dir string) (string, error) {
	n, err := unix.Getfsstat(nil, unix.MNT_NOWAIT)
	if err != nil {
		return "", fmt.Errorf("read the mount table: %w", err)
	}
	buf := make([]unix.Statfs_t, n+8) // room for mounts made meanwhile
	n, err = unix.Getfsstat(buf, unix.MNT_NOWAIT)
	if err != nil {
		return "", fmt.Errorf("read the mount table: %w", err)
	}
	for _, fs := range buf[:n] {
		if strings.Contains(unix.ByteSliceToString(fs.Fstypename[:]), "fuse") &&
			unix.ByteSliceToString(fs.Mntfromname[:]) == dir {
			return unix.ByteSliceToString(fs.Mntonname[:]), nil
		}
	}
	return "", nil
}
