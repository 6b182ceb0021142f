package cipherdir

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// beneathTree is root/{a/b/c/f, a/b/flink -> c/f, a/up -> .., a/out -> /,
// link -> a, f} with outside/secret next to root, for the walk tests.
func beneathTree(t *testing.T) (rootfd int) {
	t.Helper()
	top := t.TempDir()
	root := filepath.Join(top, "root")
	for _, d := range []string{"a/b/c", "../outside"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"a/b/c/f", "f", "../outside/secret"} {
		if err := os.WriteFile(filepath.Join(root, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"a/b/flink": "c/f", "a/up": "..", "a/out": "/", "link": "a", "a/esc": "../../outside",
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

const (
	openDir  = unix.O_RDONLY | unix.O_DIRECTORY
	openFile = unix.O_RDONLY
)

// TestOpenBeneath runs OpenBeneath (openat2 on Linux) and the portable walk
// other systems use against the same table: whatever the implementation,
// no symlink in any component is followed and nothing outside the start
// directory is reached.
func TestOpenBeneath(t *testing.T) {
	rootfd := beneathTree(t)
	impls := map[string]func(int, string, int) (int, error){
		"OpenBeneath": OpenBeneath,
		"portable":    openBeneathPortable,
	}
	for _, tt := range []struct {
		rel   string
		flags int
		want  error // nil: opens
	}{
		{".", openDir, nil},
		{"a", openDir, nil},
		{"a/b/c", openDir, nil},
		{"a/b/c/f", openFile, nil},
		{"f", openFile, nil},
		{"f", openDir, unix.ENOTDIR},
		{"a/missing", openDir, unix.ENOENT},
		{"", openDir, unix.ENOENT},
		// symlinks, as the last component or on the way
		{"link", openDir, unix.ELOOP},
		{"link", openFile, unix.ELOOP},
		{"link/b", openDir, unix.ELOOP},
		{"a/b/flink", openFile, unix.ELOOP},
		{"a/up", openDir, unix.ELOOP},
		{"a/up/f", openFile, unix.ELOOP},
		{"a/out/etc", openDir, unix.ELOOP},
		{"a/esc/secret", openFile, unix.ELOOP},
		// leaving the start directory
		{"..", openDir, unix.EXDEV},
		{"../outside/secret", openFile, unix.EXDEV},
		{"a/../../outside", openDir, unix.EXDEV},
		{"/", openDir, unix.EXDEV},
		{"/etc/passwd", openFile, unix.EXDEV},
	} {
		for name, open := range impls {
			fd, err := open(rootfd, tt.rel, tt.flags)
			if err == nil {
				unix.Close(fd)
			}
			if !errors.Is(err, tt.want) && !(tt.want == nil && err == nil) {
				t.Errorf("%s(%q, %#x): %v, want %v", name, tt.rel, tt.flags, err, tt.want)
			}
		}
	}
}

// TestOpenBeneathPortableStrict: the portable walk accepts only plain
// names, where openat2 also takes "a/./b", "a//b" or a ".." that stays
// beneath.
func TestOpenBeneathPortableStrict(t *testing.T) {
	rootfd := beneathTree(t)
	for _, tt := range []struct {
		rel  string
		want error
	}{
		{"a/./b", unix.EINVAL},
		{"./a", unix.EINVAL},
		{"a//b", unix.EINVAL},
		{"a/b/", unix.EINVAL},
		{"a/../a", unix.EXDEV},
		{"a/b/..", unix.EXDEV},
		{"a\x00b", unix.EINVAL},
	} {
		fd, err := openBeneathPortable(rootfd, tt.rel, openDir)
		if err == nil {
			unix.Close(fd)
		}
		if !errors.Is(err, tt.want) {
			t.Errorf("openBeneathPortable(%q): %v, want %v", tt.rel, err, tt.want)
		}
	}
}

// TestOpenBeneathPortableOpensTheRightObject: what the walk opens is the
// object at the path, not merely something that exists.
func TestOpenBeneathPortableOpensTheRightObject(t *testing.T) {
	rootfd := beneathTree(t)
	fd, err := openBeneathPortable(rootfd, "a/b/c", openDir)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	var viaWalk, direct unix.Stat_t
	if err := unix.Fstat(fd, &viaWalk); err != nil {
		t.Fatal(err)
	}
	if err := unix.Fstatat(rootfd, "a/b/c", &direct, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		t.Fatal(err)
	}
	if viaWalk.Dev != direct.Dev || viaWalk.Ino != direct.Ino {
		t.Errorf("opened inode %d, a/b/c is %d", viaWalk.Ino, direct.Ino)
	}
}
