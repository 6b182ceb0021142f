// Package mounttable reads this machine's mount table: /proc/self/mountinfo
// on Linux, getfsstat(2) on the BSDs and darwin. It is the one parser of
// it, for `veilfs unmount` and `status`, the one-writer check of `mount`,
// and the offline tools that refuse a mounted CIPHERDIR (MountedAt).
// No logging; callers word the errors.
package mounttable

import (
	"strconv"
	"strings"
)

// Entry is one mount.
type Entry struct {
	// Source is what was mounted: for veilfs and gocryptfs, CIPHERDIR.
	Source string
	// Mountpoint is where it is mounted.
	Mountpoint string
	// FSType is the filesystem type as the kernel names it, with a FUSE
	// subtype on Linux: "fuse.veilfs", "fuse.gocryptfs", "ext4".
	FSType string
	// ReadOnly is set when the mount or its filesystem is read-only.
	ReadOnly bool
}

// VeilfsType is the FSType of a veilfs mount on Linux.
const VeilfsType = "fuse.veilfs"

// Find returns the last (topmost) entry of table mounted on mountpoint, or
// nil if nothing is.
func Find(table []Entry, mountpoint string) *Entry {
	var found *Entry
	for i := range table {
		if table[i].Mountpoint == mountpoint {
			found = &table[i]
		}
	}
	return found
}

// Veilfs returns the veilfs mounts of table, in its order.
func Veilfs(table []Entry) []Entry {
	var out []Entry
	for _, e := range table {
		if e.FSType == VeilfsType {
			out = append(out, e)
		}
	}
	return out
}

// MountedAt returns the mountpoint where dir (an absolute, clean path) is
// mounted as a FUSE filesystem's source, or "". veilfs and gocryptfs both
// name a mount after its CIPHERDIR. Offline tools (fsck, rotate) refuse a
// mounted volume: the daemon would see its files change underneath.
// Without /proc (Linux) nothing can be told, and "" is returned.
func MountedAt(dir string) (string, error) {
	table, err := read()
	if err != nil {
		return "", err
	}
	for _, e := range table {
		if IsFUSE(e.FSType) && e.Source == dir {
			return e.Mountpoint, nil
		}
	}
	return "", nil
}

// Unescape undoes the octal escapes (\040 for space, \011, \012, \134)
// the kernel writes into the fields of the mount table. A backslash not
// followed by three octal digits of a byte value stays as it is.
func Unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
