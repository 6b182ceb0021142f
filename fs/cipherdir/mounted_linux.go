package cipherdir

import (
	"bytes"
	"errors"
	"fmt"
	"os"
)

// MountedAt returns the mountpoint where dir (an absolute, clean path) is
// mounted as a FUSE filesystem's source, or "". veilfs and gocryptfs both
// name a mount after its CIPHERDIR. Offline tools (fsck, rotate) refuse a
// mounted volume: the daemon would see its files change underneath.
// Without /proc nothing can be told, and "" is returned.
func MountedAt(dir string) (string, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", nil
		}
		return "", fmt.Errorf("read the mount table: %w", err)
	}
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		// id parent maj:min root mountpoint options [optional...] - fstype source superopts
		pre, post, ok := bytes.Cut(line, []byte(" - "))
		if !ok {
			continue
		}
		f, pf := bytes.Fields(post), bytes.Fields(pre)
		if len(f) < 2 || len(pf) < 5 || !bytes.HasPrefix(f[0], []byte("fuse")) {
			continue
		}
		if unescapeMount(string(f[1])) == dir {
			return unescapeMount(string(pf[4])), nil
		}
	}
	return "", nil
}
