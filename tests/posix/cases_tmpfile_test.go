//go:build linux

package posix

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/tests/harness"
)

// TestTmpfile (issue #16): files made with O_TMPFILE and given a name with
// linkat, as editors, package managers and systemd make files atomically,
// on every volume kind. caseTmpfile runs in a plain directory and on
// veilfs and the observations must be equal; then, on veilfs only,
// CIPHERDIR must hold exactly the linked names (nothing of the unnamed
// files, no name without its sidecar), and the files must read back the
// same after a remount.
func TestTmpfile(t *testing.T) {
	if os.Getenv("VEILFS_POSIX_PEER") == "gocryptfs" {
		t.Skip("gocryptfs has no O_TMPFILE (EOPNOTSUPP); nothing to compare with")
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			v := mountKind(t, k)
			plain := filepath.Join(t.TempDir(), "tmpfile")
			must(t, unix.Mkdir(plain, 0o755), "mkdir")
			want := caseTmpfile(t, plain)
			dir := filepath.Join(v.mnt, "tmpfile")
			must(t, unix.Mkdir(dir, 0o755), "mkdir")
			got := caseTmpfile(t, dir)
			if got != want {
				t.Fatalf("observations differ (plain vs veilfs):\n%s", lineDiff(want, got))
			}
			checkCipherdirMatches(t, v)
			before := treeContent(t, v.mnt)
			// Unmount checks that the daemon holds no backing file
			// open: an unnamed file it kept would show as "(deleted)".
			harness.Unmount(t, v.mnt)
			harness.MountVolume(t, v.cipherdir, v.mnt, harness.DefaultPassword)
			if after := treeContent(t, v.mnt); after != before {
				t.Errorf("after remount:\n%s", lineDiff(before, after))
			}
		})
	}
}

// linkEmpty gives the file open at fd the name path, as
// linkat(fd, "", AT_FDCWD, path, AT_EMPTY_PATH) does.
func linkEmpty(fd int, path string) error {
	return unix.Linkat(fd, "", unix.AT_FDCWD, path, unix.AT_EMPTY_PATH)
}

func openTmpfile(t *testing.T, dir string, flags int) int {
	t.Helper()
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_CLOEXEC|flags, 0o640)
	if err != nil {
		t.Fatalf("open(%s, O_TMPFILE|%#o): %v", filepath.Base(dir), flags, err)
	}
	return fd
}

func caseTmpfile(t *testing.T, dir string) string {
	var o obs
	sub := filepath.Join(dir, "sub")
	must(t, unix.Mkdir(sub, 0o755), "mkdir sub")
	short, long := filepath.Join(dir, "short"), filepath.Join(dir, strings.Repeat("l", 200))

	// Written and given two names, one long (a sidecar on most volume
	// kinds), and one in another directory (another IV), then closed.
	data := pattern(70000, 16) // more than one content block
	fd := openTmpfile(t, dir, unix.O_RDWR)
	pwriteAll(t, fd, data, 0)
	o.add("unnamed: %s, dir lists %v", fst(t, fd), names(t, dir))
	o.add("fchmod unnamed: %s, %s", en(unix.Fchmod(fd, 0o604)), fst(t, fd))
	o.add("pread unnamed: %s", sum(preadFull(t, fd, len(data), 0)))
	o.add("linkat short: %s", en(linkEmpty(fd, short)))
	o.add("after: fd %s, short %s", fst(t, fd), lst(short))
	o.add("linkat long: %s", en(linkEmpty(fd, long)))
	o.add("linkat sub/x: %s", en(linkEmpty(fd, filepath.Join(sub, "x"))))
	o.add("linkat short again: %s", en(linkEmpty(fd, short)))
	// The other form of the call, for callers without AT_EMPTY_PATH:
	// through the /proc link, which the kernel follows to the file.
	err := unix.Linkat(unix.AT_FDCWD, fmt.Sprintf("/proc/self/fd/%d", fd), unix.AT_FDCWD, filepath.Join(dir, "viaproc"), unix.AT_SYMLINK_FOLLOW)
	o.add("linkat via /proc: %s", en(err))
	pwriteAll(t, fd, []byte("tail"), int64(len(data)))
	data = append(data, "tail"...)
	o.add("write after link: short %s", lst(short))
	closeFD(t, fd)
	o.add("short %s", checkContent(t, short, data))
	o.add("long %s", checkContent(t, long, data))
	o.add("sub/x %s", checkContent(t, filepath.Join(sub, "x"), data))
	o.add("short after close: %s", lst(short))

	// O_TMPFILE|O_EXCL: never to get a name.
	fd = openTmpfile(t, dir, unix.O_RDWR|unix.O_EXCL)
	writeAll(t, fd, []byte("excl"))
	err = linkEmpty(fd, filepath.Join(dir, "excl"))
	if err != unix.ENOENT {
		t.Errorf("linkat of an O_TMPFILE|O_EXCL file: %v, want ENOENT", err)
	}
	o.add("O_EXCL: %s, linkat %s, name %s", fst(t, fd), en(err), lst(filepath.Join(dir, "excl")))
	closeFD(t, fd)

	// Opened again through /proc/self/fd, then named through that
	// second descriptor after the first is closed.
	fd = openTmpfile(t, dir, unix.O_WRONLY)
	writeAll(t, fd, []byte("reopened"))
	fd2, err := unix.Open(fmt.Sprintf("/proc/self/fd/%d", fd), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	o.add("reopen through /proc: %s", en(err))
	if err == nil {
		o.add("read through it: %q", preadFull(t, fd2, 100, 0))
		closeFD(t, fd)
		o.add("fchmod through it: %s", en(unix.Fchmod(fd2, 0o600)))
		o.add("linkat through it: %s", en(linkEmpty(fd2, filepath.Join(dir, "reopened"))))
		closeFD(t, fd2)
		o.add("reopened: %s %q", lst(filepath.Join(dir, "reopened")), readFile(t, filepath.Join(dir, "reopened")))
	} else {
		closeFD(t, fd)
	}

	// Never named: nothing is left once closed.
	fd = openTmpfile(t, sub, unix.O_RDWR)
	writeAll(t, fd, pattern(5000, 17))
	closeFD(t, fd)
	o.add("names: %v, sub: %v", names(t, dir), names(t, sub))
	return o.String()
}

// checkCipherdirMatches fails unless CIPHERDIR holds exactly one entry per
// plaintext name (with its long-name sidecar where the name is long) and
// one backing file per plaintext file: an unnamed file that left
// something behind, a half-made name or a link that copied the file would
// each break the count.
func checkCipherdirMatches(t *testing.T, v volume) {
	t.Helper()
	var plainNames, cipherNames int
	plainFiles, cipherFiles := map[uint64]bool{}, map[uint64]bool{}
	walkTree(t, v.mnt, func(p string, d fs.DirEntry, st *unix.Stat_t) {
		plainNames++
		if d.Type().IsRegular() {
			plainFiles[st.Ino] = true
		}
	})
	walkTree(t, v.cipherdir, func(p string, d fs.DirEntry, st *unix.Stat_t) {
		base := d.Name()
		switch {
		case base == "gocryptfs.conf" || base == "gocryptfs.diriv":
			return
		case strings.HasSuffix(base, ".name") && strings.HasPrefix(base, "gocryptfs.longname."):
			if _, err := os.Lstat(strings.TrimSuffix(p, ".name")); err != nil {
				t.Errorf("sidecar without its object: %s", p)
			}
			return
		case strings.HasPrefix(base, "gocryptfs.longname."):
			if _, err := os.Lstat(p + ".name"); err != nil {
				t.Errorf("long name without its sidecar: %s", p)
			}
		}
		cipherNames++
		if d.Type().IsRegular() {
			cipherFiles[st.Ino] = true
		}
	})
	if cipherNames != plainNames || len(cipherFiles) != len(plainFiles) {
		t.Errorf("CIPHERDIR holds %d names and %d files, the mount %d names and %d files",
			cipherNames, len(cipherFiles), plainNames, len(plainFiles))
	}
}

// walkTree calls fn for every entry below root, with its lstat.
func walkTree(t *testing.T, root string, fn func(p string, d fs.DirEntry, st *unix.Stat_t)) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		fn(p, d, &st)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// treeContent describes every entry below root: name, attributes and the
// digest of a file's content.
func treeContent(t *testing.T, root string) string {
	t.Helper()
	var o obs
	walkTree(t, root, func(p string, d fs.DirEntry, st *unix.Stat_t) {
		rel, _ := filepath.Rel(root, p)
		line := rel + " " + statLine(st)
		if d.Type().IsRegular() {
			line += " sha=" + sum(readFile(t, p))
		}
		o.add("%s", line)
	})
	return o.String()
}
