//go:build linux

package interop

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/tests/harness"
)

// TestTmpfileThenGocryptfs (issue #16): files veilfs made with O_TMPFILE
// and named with linkat (short and long names, a name in a subdirectory,
// two names of one file) pass gocryptfs -fsck and read back through
// gocryptfs, on every volume kind, and an unnamed file leaves nothing.
func TestTmpfileThenGocryptfs(t *testing.T) {
	requireAll(t)
	long := strings.Repeat("t", 200)
	for _, c := range []struct {
		name string
		init []string
	}{
		{"default", nil},
		{"plaintextnames", []string{"--plaintextnames"}},
		{"deterministic-names", []string{"--deterministic-names"}},
		{"aessiv", []string{"--aessiv"}},
		{"xchacha", []string{"--xchacha"}},
		{"longnamemax-62", []string{"--longnamemax", "62"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cipherdir, mntA, mntB := newDirs(t)
			harness.InitVolume(t, cipherdir, password, c.init...)
			harness.MountVolume(t, cipherdir, mntA, password)
			if err := os.Mkdir(filepath.Join(mntA, "sub"), 0o755); err != nil {
				t.Fatal(err)
			}
			want := map[string][]byte{
				"short":       harness.RandomBytes("tmpfile short", 9000),
				long:          harness.RandomBytes("tmpfile long", 4096),
				"sub/" + long: harness.RandomBytes("tmpfile sub", 1),
			}
			for name, content := range want {
				tmpfileNamed(t, filepath.Join(mntA, filepath.Dir(name)), content, filepath.Join(mntA, name))
			}
			// One file, two names; and one never named.
			want["sub/second"] = want["short"]
			if err := unix.Link(filepath.Join(mntA, "short"), filepath.Join(mntA, "sub/second")); err != nil {
				t.Fatal(err)
			}
			tmpfileNamed(t, filepath.Join(mntA, "sub"), []byte("never named"), "")
			harness.Unmount(t, mntA)

			fsckClean(t, cipherdir, password)
			harness.GocryptfsMount(t, cipherdir, mntB, password, "-ro")
			for name, content := range want {
				got, err := os.ReadFile(filepath.Join(mntB, name))
				if err != nil || !bytes.Equal(got, content) {
					t.Errorf("gocryptfs reads %s: %d bytes, %v; want the %d written", abbrev(name), len(got), err, len(content))
				}
			}
			for dir, n := range map[string]int{"": 3, "sub": 2} {
				if ents, err := os.ReadDir(filepath.Join(mntB, dir)); err != nil || len(ents) != n {
					t.Errorf("gocryptfs lists %d entries in /%s (%v), want %d", len(ents), dir, err, n)
				}
			}
			harness.GocryptfsUnmount(t, mntB)
		})
	}
}

// tmpfileNamed writes content into a file made with O_TMPFILE in dir and,
// unless name is empty, gives it that name with linkat.
func tmpfileNamed(t *testing.T, dir string, content []byte, name string) {
	t.Helper()
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 0o644)
	if err != nil {
		t.Fatalf("open(%s, O_TMPFILE): %v", dir, err)
	}
	n, err := unix.Write(fd, content)
	if err == nil && n != len(content) {
		err = unix.EIO
	}
	if err == nil && name != "" {
		err = unix.Linkat(fd, "", unix.AT_FDCWD, name, unix.AT_EMPTY_PATH)
	}
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("write %d bytes into an O_TMPFILE file, name it %s: %v", len(content), abbrev(name), err)
	}
}

// TestTmpfileBackingWithout: on a backing filesystem without O_TMPFILE
// (here a gocryptfs mount holding CIPHERDIR), open(O_TMPFILE) fails with
// the backing filesystem's EOPNOTSUPP, every time (ENOSYS would make the
// kernel give up on O_TMPFILE for the whole mount), and files are still
// made the ordinary way.
func TestTmpfileBackingWithout(t *testing.T) {
	requireAll(t)
	base, mntA, mntB := newDirs(t)
	if err := os.Mkdir(base, 0o700); err != nil {
		t.Fatal(err)
	}
	harness.GocryptfsInit(t, base, password)
	harness.GocryptfsMount(t, base, mntB, password)
	cipherdir := filepath.Join(mntB, "cipher")
	harness.InitVolume(t, cipherdir, password)
	harness.MountVolume(t, cipherdir, mntA, password)
	for i := 0; i < 2; i++ {
		fd, err := unix.Open(mntA, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 0o644)
		if err == nil {
			unix.Close(fd)
		}
		if err != unix.EOPNOTSUPP {
			t.Errorf("open(O_TMPFILE) #%d with CIPHERDIR on gocryptfs: %v, want EOPNOTSUPP", i+1, err)
		}
	}
	if err := os.WriteFile(filepath.Join(mntA, "f"), []byte("x"), 0o644); err != nil {
		t.Errorf("create after the refused O_TMPFILE: %v", err)
	}
	harness.Unmount(t, mntA)
	harness.GocryptfsUnmount(t, mntB)
}
