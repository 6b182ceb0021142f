//go:build linux

package posix

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Cases of issue #16, "POSIX beyond gocryptfs": what pjdfstest and xfstests
// check and gocryptfs gets wrong or only half right.

// init adds them to the battery, after its own cases.
func init() {
	battery = append(battery,
		posixCase{"lutimes_symlink", caseLutimesSymlink},
		posixCase{"fstat_dir_renamed_over", caseFstatDirRenamedOver},
		posixCase{"overlay_upper", caseOverlayUpper},
	)
}

// caseLutimesSymlink: lutimes sets a symlink's own atime and mtime, and an
// lstat reports both as set, as tar and rsync -a expect (pjdfstest
// utimensat/05.t). Reporting st_size must not read the backing link: that
// moves its atime (relatime) on the backing filesystem.
func caseLutimesSymlink(t *testing.T, dir string) string {
	var o obs
	lengths := []int{1, 12, 100, 1000, 3000}
	link := func(n int) string { return filepath.Join(dir, fmt.Sprintf("l%d", n)) }
	for _, n := range lengths {
		must(t, unix.Symlink(strings.Repeat("t", n), link(n)), "symlink")
		a := unix.Timespec{Sec: 1234567890, Nsec: 42}
		m := unix.Timespec{Sec: 1234567891, Nsec: 43}
		err := unix.UtimesNanoAt(unix.AT_FDCWD, link(n), []unix.Timespec{a, m}, unix.AT_SYMLINK_NOFOLLOW)
		o.add("lutimes target of %d bytes: %s -> %s %s", n, en(err), times(link(n)), lst(link(n)))
	}
	// Once more after the kernel's attribute cache expired (a second in
	// veilfs): a fresh getattr must not move the atime either.
	time.Sleep(1100 * time.Millisecond)
	for _, n := range lengths {
		o.add("target of %d bytes a second later: %s %s", n, times(link(n)), lst(link(n)))
	}
	return o.String()
}

// rdevLine is the lstat line of path with its device numbers, to tell a
// whiteout (a 0,0 character device) from other objects.
func rdevLine(path string) string {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return en(err)
	}
	return fmt.Sprintf("%s rdev=%d,%d", statLine(&st), unix.Major(st.Rdev), unix.Minor(st.Rdev))
}

// listing names the entries of a directory with their d_type, sorted.
func listing(t *testing.T, dir string) string {
	var out []string
	for _, e := range readdirRaw(t, dir) {
		if e.name == "." || e.name == ".." {
			continue
		}
		name := e.name
		if len(name) > 20 {
			name = fmt.Sprintf("%s…(%d bytes)", name[:8], len(name))
		}
		out = append(out, name+":"+dtName(e.typ))
	}
	slices.Sort(out) // the order of a listing is the filesystem's own
	return "[" + strings.Join(out, " ") + "]"
}

// caseFstatDirRenamedOver: a directory that is open keeps answering fstat
// after another directory was renamed over its name, with st_nlink 0 on
// a plain directory (xfstests generic/035, t_rename_overwrite); the file
// case is in caseUnlinkOpen and caseRenameOverFile.
func caseFstatDirRenamedOver(t *testing.T, dir string) string {
	var o obs
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	must(t, unix.Mkdir(a, 0o755), "mkdir")
	must(t, unix.Mkdir(b, 0o755), "mkdir")
	fd := mustOpen(t, a, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	var before unix.Stat_t
	must(t, unix.Fstat(fd, &before), "fstat before")
	o.add("rename b over a: %s", en(unix.Rename(b, a)))
	var st unix.Stat_t
	err := unix.Fstat(fd, &st)
	if err != nil {
		o.add("fstat of the open a: %s", en(err))
	} else {
		o.add("fstat of the open a: %s same inode %v", statLine(&st), st.Ino == before.Ino)
	}
	o.add("getdents of the open a: %s", getdentsFD(fd))
	closeFD(t, fd)
	o.add("a now: %s; listing %s", lst(a), listing(t, dir))
	return o.String()
}

// getdentsFD reads the open directory fd and returns the names or errno.
func getdentsFD(fd int) string {
	buf := make([]byte, 8192)
	n, err := unix.Getdents(fd, buf)
	if err != nil {
		return en(err)
	}
	var names []string
	_, _, names = unix.ParseDirent(buf[:n], -1, names)
	return fmt.Sprintf("%q", names)
}

// backingDir finds the directory of CIPHERDIR's root with inode ino (a veilfs
// mount reports the backing inode numbers).
func backingDir(t *testing.T, cipherdir string, ino uint64) string {
	entries, err := os.ReadDir(cipherdir)
	must(t, err, "read cipherdir")
	for _, e := range entries {
		p := filepath.Join(cipherdir, e.Name())
		var st unix.Stat_t
		if unix.Lstat(p, &st) == nil && st.Ino == ino {
			return p
		}
	}
	t.Fatalf("no entry of %s has inode %d", cipherdir, ino)
	return ""
}

// caseOverlayUpper: the directory as the upper layer of an overlayfs
// mount over a plain lower directory. Deleting and renaming lower files
// leaves whiteouts in the upper layer (by RENAME_WHITEOUT where the upper
// filesystem has it), which must hide the lower files in the overlay and
// list in the upper directory, long names too.
func caseOverlayUpper(t *testing.T, dir string) string {
	if !isRoot() {
		return "skipped: not root\n"
	}
	var o obs
	lower, merged := t.TempDir(), t.TempDir()
	upper, work := filepath.Join(dir, "upper"), filepath.Join(dir, "work")
	must(t, unix.Mkdir(upper, 0o755), "mkdir upper")
	must(t, unix.Mkdir(work, 0o755), "mkdir work")
	long := strings.Repeat("o", 200)
	for _, name := range []string{"deleted", "renamed-from", long, "kept"} {
		writeFile(t, filepath.Join(lower, name), []byte(name[:4]), 0o644)
	}
	err := unix.Mount("overlay", merged, "overlay", 0, "lowerdir="+lower+",upperdir="+upper+",workdir="+work)
	o.add("mount overlay: %s", en(err))
	if err != nil {
		return o.String()
	}
	o.add("rm deleted: %s", en(unix.Unlink(filepath.Join(merged, "deleted"))))
	o.add("mv renamed-from renamed-to: %s", en(unix.Rename(filepath.Join(merged, "renamed-from"), filepath.Join(merged, "renamed-to"))))
	o.add("mv <long> long-renamed: %s", en(unix.Rename(filepath.Join(merged, long), filepath.Join(merged, "long-renamed"))))
	o.add("overlay lists %s; deleted: %s", listing(t, merged), lst(filepath.Join(merged, "deleted")))
	o.add("long-renamed: %s", checkContent(t, filepath.Join(merged, "long-renamed"), []byte("oooo")))
	must(t, unix.Unmount(merged, 0), "unmount overlay")
	o.add("upper holds %s", listing(t, upper))
	for _, name := range []string{"deleted", "renamed-from", long} {
		p := filepath.Join(upper, name)
		o.add("  %s…: %s, unlink %s", name[:4], rdevLine(p), en(unix.Unlink(p)))
	}
	return o.String()
}
