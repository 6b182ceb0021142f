package mounttable

import (
	"bytes"
	"slices"
	"strings"
)

// ParseMountinfo parses the text of /proc/PID/mountinfo (proc(5)). Each
// line is
//
//	id parent maj:min root mountpoint options [optional...] - fstype source superoptions
//
// and a line that does not have that shape is skipped. It is plain text
// processing, so it builds and is tested on every system.
func ParseMountinfo(data []byte) []Entry {
	var out []Entry
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		f := strings.Fields(string(line))
		// The optional fields end at the first "-" after the options.
		sep := slices.Index(f[min(6, len(f)):], "-")
		if len(f) < 6 || sep < 0 {
			continue
		}
		sep += 6
		if len(f) < sep+3 {
			continue
		}
		// /proc/mounts shows "ro" when either the mount or its
		// filesystem (the super options) is read-only; so does ReadOnly.
		ro := slices.Contains(strings.Split(f[5], ","), "ro")
		if len(f) > sep+3 && slices.Contains(strings.Split(f[sep+3], ","), "ro") {
			ro = true
		}
		out = append(out, Entry{
			Source:     Unescape(f[sep+2]),
			Mountpoint: Unescape(f[4]),
			FSType:     f[sep+1],
			ReadOnly:   ro,
		})
	}
	return out
}
