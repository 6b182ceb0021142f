//go:build linux

package fs

import (
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher/config"
)

// TestFstatDirRenamedOver: an open directory answers fstat after another
// directory was renamed over its name, with st_nlink 0 as on ext4 and
// tmpfs (xfstests generic/035), through the descriptor its handle keeps;
// by name it had none left to resolve (ESTALE).
func TestFstatDirRenamedOver(t *testing.T) {
	tm := newTestMount(t, config.CreateOptions{})
	a, b := filepath.Join(tm.mnt, "a"), filepath.Join(tm.mnt, "b")
	for _, d := range []string{a, b} {
		if err := unix.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	fd, err := unix.Open(a, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	var before, st unix.Stat_t
	if err := unix.Fstat(fd, &before); err != nil {
		t.Fatal(err)
	}
	if err := unix.Rename(b, a); err != nil {
		t.Fatalf("rename b over a: %v", err)
	}
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatalf("fstat of the directory renamed over: %v", err)
	}
	if st.Ino != before.Ino || st.Nlink != 0 || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		t.Errorf("fstat: ino %d (was %d) nlink %d mode %o, want the old directory with nlink 0", st.Ino, before.Ino, st.Nlink, st.Mode)
	}
}
