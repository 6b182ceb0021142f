//go:build linux

package fs

import (
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSecurityOptions: whatever suid/dev the caller's options hold (mount.fuse3
// appends "dev,suid" as root), the mount is nosuid,nodev unless Options opt in,
// both as mount(2) flags and as the strings fusermount3 reads.
func TestSecurityOptions(t *testing.T) {
	for _, tt := range []struct {
		name      string
		in        []string
		suid, dev bool
		want      []string
	}{
		{"defaults of mount.fuse3", []string{"noatime", "dev", "suid"}, false, false, []string{"noatime", "nosuid", "nodev"}},
		{"nothing", nil, false, false, []string{"nosuid", "nodev"}},
		{"suid opted in", []string{"nosuid"}, true, false, []string{"suid", "nodev"}},
		{"both opted in", []string{"nodev", "nosuid"}, true, true, []string{"suid", "dev"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, flags := securityOptions(slices.Clone(tt.in), Options{Suid: tt.suid, Dev: tt.dev})
			if !slices.Equal(got, tt.want) {
				t.Errorf("options %q, want %q", got, tt.want)
			}
			// go-fuse's direct mount starts from these flags and applies the
			// strings in order; 0 would mean "its default".
			if flags != unix.MS_NOSUID|unix.MS_NODEV {
				t.Errorf("flags %#x, want MS_NOSUID|MS_NODEV", flags)
			}
		})
	}
}
