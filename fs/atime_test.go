//go:build linux

package fs

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher/config"
)

// TestAtimeFlags: the atime options become mount(2) flags in order, later
// ones winning, and the daemon's policy is what the kernel would make of
// the flags (MS_STRICTATIME clears noatime).
func TestAtimeFlags(t *testing.T) {
	for _, tt := range []struct {
		in    []string
		flags uintptr
		want  atimePolicy
	}{
		{nil, 0, atimePolicy{}},
		{[]string{"nosuid", "noatime"}, unix.MS_NOATIME, atimePolicy{noatime: true}},
		{[]string{"noatime", "atime"}, 0, atimePolicy{}},
		{[]string{"nodiratime"}, unix.MS_NODIRATIME, atimePolicy{nodiratime: true}},
		{[]string{"nodiratime", "diratime", "relatime"}, unix.MS_RELATIME, atimePolicy{}},
		{[]string{"relatime", "norelatime", "strictatime"}, unix.MS_STRICTATIME, atimePolicy{}},
		{[]string{"noatime", "strictatime"}, unix.MS_NOATIME | unix.MS_STRICTATIME, atimePolicy{}},
		{[]string{"strictatime", "nostrictatime", "noatime", "nodiratime"}, unix.MS_NOATIME | unix.MS_NODIRATIME, atimePolicy{noatime: true, nodiratime: true}},
	} {
		flags, p := atimeFlags(tt.in)
		if flags != tt.flags || p != tt.want {
			t.Errorf("%q: flags %#x policy %+v, want %#x %+v", tt.in, flags, p, tt.flags, tt.want)
		}
	}
}

// TestAtimeMountOptions: as root (go-fuse's mount(2)) the atime options
// become flags and leave the strings, which the kernel would refuse; for
// fusermount3 only the ones it knows stay.
func TestAtimeMountOptions(t *testing.T) {
	in := []string{"nosuid", "noatime", "nodiratime", "strictatime", "default_permissions"}
	got, flags := atimeMountOptions(slices.Clone(in), unix.MS_NOSUID)
	want, wantFlags := []string{"nosuid", "noatime", "default_permissions"}, uintptr(unix.MS_NOSUID)
	if os.Geteuid() == 0 {
		want = []string{"nosuid", "default_permissions"}
		wantFlags |= unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_STRICTATIME
	}
	if !slices.Equal(got, want) || flags != wantFlags {
		t.Errorf("%q: %q flags %#x, want %q %#x", in, got, flags, want, wantFlags)
	}
}

// TestNoatimeReads: under noatime, reading a file and listing a directory
// through the mount leave their access times (in CIPHERDIR) alone; the
// backing filesystem (relatime) would move them (xfstests generic/120).
func TestNoatimeReads(t *testing.T) {
	tm := newTestMountWith(t, config.CreateOptions{}, Options{ExtraMountOptions: []string{"noatime"}})
	f, d := filepath.Join(tm.mnt, "f"), filepath.Join(tm.mnt, "d")
	if err := os.WriteFile(f, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(d, 0o755); err != nil {
		t.Fatal(err)
	}
	// atime older than mtime: relatime would update it on the next read.
	old := []unix.Timespec{{Sec: 1000000000}, {Sec: 1000000100}}
	for _, p := range []string{f, d} {
		if err := unix.UtimesNano(p, old); err != nil {
			t.Fatal(err)
		}
	}
	fd, err := unix.Open(f, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	_ = unix.Fadvise(fd, 0, 0, unix.FADV_DONTNEED) // the read must reach us
	if _, err := unix.Read(fd, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	unix.Close(fd)
	if _, err := os.ReadDir(d); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{f, d} {
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err != nil {
			t.Fatal(err)
		}
		if st.Atim != old[0] {
			t.Errorf("%s: atime %d after a read under noatime, want %d", filepath.Base(p), st.Atim.Sec, old[0].Sec)
		}
	}
}
