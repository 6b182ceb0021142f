//go:build linux

package posix

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func caseChmod(t *testing.T, dir string) string {
	var o obs
	p := filepath.Join(dir, "f")
	writeFile(t, p, []byte("data"), 0o644)
	for _, m := range []uint32{0o600, 0o755, 0o4755, 0o2755, 0o6711, 0o1644, 0o000, 0o777} {
		err := unix.Chmod(p, m)
		o.add("chmod %04o: %s -> %s", m, en(err), lst(p))
		var st unix.Stat_t
		if unix.Stat(p, &st) == nil && err == nil && st.Mode&0o7777 != m {
			t.Errorf("mode after chmod %04o = %04o", m, st.Mode&0o7777)
		}
	}
	must(t, unix.Chmod(p, 0o000), "chmod 0")
	if isRoot() {
		// root reads despite mode 0
		o.add("root reads mode-0 file: %s", checkContent(t, p, []byte("data")))
	}
	fd := mustOpen(t, p, unix.O_RDONLY, 0)
	o.add("fchmod 0640: %s fstat=%s stat=%s", en(unix.Fchmod(fd, 0o640)), fst(t, fd), lst(p))
	closeFD(t, fd)
	d := filepath.Join(dir, "d")
	must(t, unix.Mkdir(d, 0o755), "mkdir")
	o.add("chmod dir 01777: %s -> %s", en(unix.Chmod(d, 0o1777)), lst(d))
	o.add("chmod dir 0700: %s -> %s", en(unix.Chmod(d, 0o700)), lst(d))
	must(t, unix.Symlink("f", filepath.Join(dir, "l")), "symlink")
	o.add("chmod via symlink 0604: %s target=%s link=%s", en(unix.Chmod(filepath.Join(dir, "l"), 0o604)), lst(p), lst(filepath.Join(dir, "l")))
	o.add("chmod missing: %s", en(unix.Chmod(filepath.Join(dir, "missing"), 0o644)))
	return o.String()
}

func caseChown(t *testing.T, dir string) string {
	if !isRoot() {
		return "skipped: not root\n"
	}
	var o obs
	p := filepath.Join(dir, "f")
	writeFile(t, p, []byte("data"), 0o644)
	o.add("chown 1234:5678: %s -> %s", en(unix.Chown(p, 1234, 5678)), lst(p))
	o.add("chown -1:4321: %s -> %s", en(unix.Chown(p, -1, 4321)), lst(p))
	o.add("chown 99:-1: %s -> %s", en(unix.Chown(p, 99, -1)), lst(p))
	fd := mustOpen(t, p, unix.O_RDONLY, 0)
	o.add("fchown 7:8: %s fstat=%s", en(unix.Fchown(fd, 7, 8)), fst(t, fd))
	closeFD(t, fd)
	must(t, unix.Symlink("f", filepath.Join(dir, "l")), "symlink")
	o.add("lchown 42:43: %s link=%s target=%s", en(unix.Lchown(filepath.Join(dir, "l"), 42, 43)), lst(filepath.Join(dir, "l")), lst(p))
	o.add("chown via symlink 44:45: %s link=%s target=%s", en(unix.Chown(filepath.Join(dir, "l"), 44, 45)), lst(filepath.Join(dir, "l")), lst(p))
	d := filepath.Join(dir, "d")
	must(t, unix.Mkdir(d, 0o755), "mkdir")
	o.add("chown dir: %s -> %s", en(unix.Chown(d, 1000, 1000)), lst(d))
	// Files created by root in a directory owned by someone else are still
	// owned by root (no setgid on the dir).
	writeFile(t, filepath.Join(d, "g"), nil, 0o644)
	o.add("new file in chowned dir: %s", lst(filepath.Join(d, "g")))
	// setgid directory: new entries inherit the group.
	must(t, unix.Chmod(d, 0o2775), "chmod g+s")
	writeFile(t, filepath.Join(d, "h"), nil, 0o644)
	must(t, unix.Mkdir(filepath.Join(d, "sub"), 0o755), "mkdir")
	o.add("setgid dir: %s file=%s subdir=%s", lst(d), lst(filepath.Join(d, "h")), lst(filepath.Join(d, "sub")))
	return o.String()
}

func tsString(ts unix.Timespec) string { return fmt.Sprintf("%d.%09d", ts.Sec, ts.Nsec) }

func times(path string) string {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return en(err)
	}
	return fmt.Sprintf("atime=%s mtime=%s", tsString(st.Atim), tsString(st.Mtim))
}

func caseUtimens(t *testing.T, dir string) string {
	var o obs
	p := filepath.Join(dir, "f")
	writeFile(t, p, []byte("data"), 0o644)
	set := func(path string, flags int, a, m unix.Timespec) string {
		return en(unix.UtimesNanoAt(unix.AT_FDCWD, path, []unix.Timespec{a, m}, flags))
	}
	a1 := unix.Timespec{Sec: 1500000000, Nsec: 123456789}
	m1 := unix.Timespec{Sec: 1600000000, Nsec: 987654321}
	o.add("set both: %s %s", set(p, 0, a1, m1), times(p))
	var st unix.Stat_t
	must(t, unix.Lstat(p, &st), "lstat")
	if st.Atim != a1 || st.Mtim != m1 {
		t.Errorf("times after utimensat = %s / %s, want %s / %s", tsString(st.Atim), tsString(st.Mtim), tsString(a1), tsString(m1))
	}
	omit := unix.Timespec{Nsec: unix.UTIME_OMIT}
	o.add("omit atime: %s %s", set(p, 0, omit, unix.Timespec{Sec: 1700000000, Nsec: 1}), times(p))
	must(t, unix.Lstat(p, &st), "lstat")
	if st.Atim != a1 {
		t.Errorf("UTIME_OMIT changed atime to %s", tsString(st.Atim))
	}
	o.add("omit mtime: %s %s", set(p, 0, unix.Timespec{Sec: 1400000000, Nsec: 999999999}, omit), times(p))
	o.add("far future: %s %s", set(p, 0, unix.Timespec{Sec: 1 << 33, Nsec: 5}, unix.Timespec{Sec: 1<<33 + 1, Nsec: 6}), times(p))
	o.add("epoch: %s %s", set(p, 0, unix.Timespec{}, unix.Timespec{Sec: 0, Nsec: 1}), times(p))

	before := time.Now().Add(-2 * time.Second)
	now := unix.Timespec{Nsec: unix.UTIME_NOW}
	err := unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{now, now}, 0)
	after := time.Now().Add(2 * time.Second)
	must(t, unix.Lstat(p, &st), "lstat")
	at, mt := time.Unix(st.Atim.Unix()), time.Unix(st.Mtim.Unix())
	nowOK := at.After(before) && at.Before(after) && mt.After(before) && mt.Before(after)
	if err == nil && !nowOK {
		t.Errorf("UTIME_NOW gave atime %v mtime %v, not within [%v, %v]", at, mt, before, after)
	}
	o.add("UTIME_NOW: %s within range: %v", en(err), nowOK)

	// futimes (microseconds) through an fd.
	fd := mustOpen(t, p, unix.O_RDWR, 0)
	err = unix.Futimes(fd, []unix.Timeval{{Sec: 1300000000, Usec: 123456}, {Sec: 1300000001, Usec: 654321}})
	o.add("futimes: %s %s", en(err), times(p))
	// A write moves mtime forward from the old value.
	writeAll(t, fd, []byte("more"))
	closeFD(t, fd)
	must(t, unix.Lstat(p, &st), "lstat")
	moved := st.Mtim.Sec > 1300000001
	if !moved {
		t.Errorf("mtime after write = %s, not updated", tsString(st.Mtim))
	}
	o.add("write updates mtime: %v", moved)

	d := filepath.Join(dir, "d")
	must(t, unix.Mkdir(d, 0o755), "mkdir")
	o.add("dir: %s %s", set(d, 0, a1, m1), times(d))
	l := filepath.Join(dir, "l")
	must(t, unix.Symlink("f", l), "symlink")
	must(t, unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{a1, m1}, 0), "reset")
	// Only the symlink's mtime is compared: with encrypted names the
	// filesystem has to readlink the backing symlink to report st_size,
	// and that read updates the backing atime (relatime), in gocryptfs too.
	res := set(l, unix.AT_SYMLINK_NOFOLLOW, unix.Timespec{Sec: 1234567890, Nsec: 42}, unix.Timespec{Sec: 1234567891, Nsec: 43})
	var lt unix.Stat_t
	must(t, unix.Lstat(l, &lt), "lstat link")
	o.add("symlink nofollow: %s link mtime=%s target %s", res, tsString(lt.Mtim), times(p))
	o.add("via symlink: %s link-target %s", set(l, 0, unix.Timespec{Sec: 1111111111}, unix.Timespec{Sec: 1111111112}), times(p))
	o.add("missing: %s", set(filepath.Join(dir, "missing"), 0, a1, m1))
	return o.String()
}

func caseXattrFile(t *testing.T, dir string) string {
	var o obs
	p := filepath.Join(dir, "f")
	writeFile(t, p, []byte("data"), 0o644)
	list := func() string {
		l, err := userXattrs(p)
		if err != nil {
			return en(err)
		}
		return fmt.Sprintf("%q", l)
	}
	o.add("fresh list: %s", list())
	o.add("set user.a: %s", en(unix.Setxattr(p, "user.a", []byte("va"), 0)))
	o.add("set user.empty: %s", en(unix.Setxattr(p, "user.empty", nil, 0)))
	bin := make([]byte, 256)
	for i := range bin {
		bin[i] = byte(i)
	}
	o.add("set user.bin: %s", en(unix.Setxattr(p, "user.bin", bin, 0)))
	long := pattern(1000, 30)
	longName := "user." + strings.Repeat("n", 95)
	o.add("set 100-byte name, 1000-byte value: %s", en(unix.Setxattr(p, longName, long, 0)))
	o.add("get user.a=%s user.empty=%s", getx(p, "user.a"), getx(p, "user.empty"))
	if g := getx(p, "user.bin"); g != fmt.Sprintf("%q", bin) {
		t.Errorf("user.bin read back as %s", g)
	}
	if g := getx(p, longName); g != fmt.Sprintf("%q", long) {
		t.Errorf("long xattr value differs")
	}
	o.add("get user.bin ok, long ok")
	sz, err := unix.Getxattr(p, "user.a", nil)
	o.add("size query: %d %s", sz, en(err))
	_, err = unix.Getxattr(p, "user.bin", make([]byte, 10))
	o.add("buffer too small: %s", en(err))
	o.add("list: %s", list())
	o.add("XATTR_CREATE on existing: %s", en(unix.Setxattr(p, "user.a", []byte("x"), unix.XATTR_CREATE)))
	o.add("XATTR_REPLACE on missing: %s", en(unix.Setxattr(p, "user.nope", []byte("x"), unix.XATTR_REPLACE)))
	o.add("XATTR_CREATE on new: %s", en(unix.Setxattr(p, "user.c", []byte("created"), unix.XATTR_CREATE)))
	o.add("XATTR_REPLACE on existing: %s -> %s", en(unix.Setxattr(p, "user.a", []byte("replaced, longer"), unix.XATTR_REPLACE)), getx(p, "user.a"))
	o.add("overwrite shorter: %s -> %s", en(unix.Setxattr(p, "user.a", []byte("s"), 0)), getx(p, "user.a"))
	o.add("get missing: %s", getx(p, "user.missing"))
	o.add("remove user.a: %s then get: %s", en(unix.Removexattr(p, "user.a")), getx(p, "user.a"))
	if g := getx(p, "user.a"); g != "ENODATA" {
		t.Errorf("getxattr after removexattr: %s, want ENODATA", g)
	}
	o.add("remove again: %s", en(unix.Removexattr(p, "user.a")))
	o.add("list: %s", list())
	if isRoot() {
		o.add("set trusted.t: %s get: %s", en(unix.Setxattr(p, "trusted.t", []byte("trusted"), 0)), getx(p, "trusted.t"))
	}
	o.add("list: %s", list())
	// Through an fd.
	fd := mustOpen(t, p, unix.O_RDONLY, 0)
	o.add("fsetxattr: %s", en(unix.Fsetxattr(fd, "user.fd", []byte("via fd"), 0)))
	buf := make([]byte, 100)
	n, err := unix.Fgetxattr(fd, "user.fd", buf)
	o.add("fgetxattr: %s %q", en(err), buf[:max(n, 0)])
	o.add("fremovexattr: %s", en(unix.Fremovexattr(fd, "user.c")))
	closeFD(t, fd)
	// xattrs survive rename and are shared by hard links.
	must(t, unix.Rename(p, filepath.Join(dir, "g")), "rename")
	must(t, unix.Link(filepath.Join(dir, "g"), filepath.Join(dir, "h")), "link")
	o.add("after rename via g: %s via h: %s", getx(filepath.Join(dir, "g"), "user.fd"), getx(filepath.Join(dir, "h"), "user.fd"))
	must(t, unix.Setxattr(filepath.Join(dir, "h"), "user.vialink", []byte("1"), 0), "setxattr via link")
	o.add("set via link, read via other name: %s", getx(filepath.Join(dir, "g"), "user.vialink"))
	o.add("missing file: %s", getx(filepath.Join(dir, "missing"), "user.a"))
	return o.String()
}

func caseXattrDir(t *testing.T, dir string) string {
	var o obs
	d := filepath.Join(dir, "d")
	must(t, unix.Mkdir(d, 0o755), "mkdir")
	o.add("set on dir: %s get: %s", en(unix.Setxattr(d, "user.dirattr", []byte("on a directory"), 0)), getx(d, "user.dirattr"))
	l, err := userXattrs(d)
	o.add("list dir: %q %s", l, en(err))
	// Content of the dir stays usable (xattrs must not disturb name
	// encryption metadata).
	writeFile(t, filepath.Join(d, "f"), []byte("x"), 0o644)
	o.add("names %v", names(t, d))
	o.add("remove on dir: %s get: %s", en(unix.Removexattr(d, "user.dirattr")), getx(d, "user.dirattr"))
	must(t, unix.Symlink("d", filepath.Join(dir, "l")), "symlink")
	o.add("lsetxattr user.* on symlink: %s", en(unix.Lsetxattr(filepath.Join(dir, "l"), "user.x", []byte("y"), 0)))
	ll, err := userXattrs(filepath.Join(dir, "l"))
	o.add("llistxattr symlink: %q %s", ll, en(err))
	o.add("lgetxattr symlink: %s", getx(filepath.Join(dir, "l"), "user.x"))
	must(t, unix.Setxattr(d, "user.again", []byte("1"), 0), "setxattr")
	buf := make([]byte, 10)
	n, err := unix.Getxattr(filepath.Join(dir, "l"), "user.again", buf)
	o.add("getxattr following symlink: %s %q", en(err), buf[:max(n, 0)])
	// Many attributes on one file.
	p := filepath.Join(dir, "many")
	writeFile(t, p, nil, 0o644)
	for i := 0; i < 40; i++ {
		must(t, unix.Setxattr(p, fmt.Sprintf("user.k%02d", i), []byte(fmt.Sprintf("v%d", i)), 0), "setxattr many")
	}
	ml, err := userXattrs(p)
	o.add("40 attributes: %d listed %s first=%s last=%s", len(ml), en(err), getx(p, "user.k00"), getx(p, "user.k39"))
	return o.String()
}

func caseStatfs(t *testing.T, dir string) string {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatalf("statfs: %v", err)
	}
	if st.Bsize <= 0 || st.Blocks == 0 || st.Bfree > st.Blocks || st.Bavail > st.Blocks || st.Files < st.Ffree || st.Namelen <= 0 {
		t.Errorf("implausible statfs: %+v", st)
	}
	// Writing 1 MiB must not make free space grow.
	writeFile(t, filepath.Join(dir, "f"), make([]byte, 1<<20), 0o644)
	var st2 unix.Statfs_t
	fd := mustOpen(t, filepath.Join(dir, "f"), unix.O_RDONLY, 0)
	err := unix.Fstatfs(fd, &st2)
	closeFD(t, fd)
	if err != nil {
		t.Fatalf("fstatfs: %v", err)
	}
	if st2.Blocks == 0 || st2.Bsize <= 0 {
		t.Errorf("implausible fstatfs: %+v", st2)
	}
	return "statfs ok\n"
}

func caseMkfifo(t *testing.T, dir string) string {
	var o obs
	p := filepath.Join(dir, "fifo")
	o.add("mkfifo: %s %s", en(unix.Mkfifo(p, 0o640)), lst(p))
	o.add("mkfifo existing: %s", en(unix.Mkfifo(p, 0o640)))
	r, err := unix.Open(p, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	must(t, err, "open fifo for reading")
	w, err := unix.Open(p, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	must(t, err, "open fifo for writing")
	writeAll(t, w, []byte("ping"))
	buf := make([]byte, 10)
	n, err := unix.Read(r, buf)
	o.add("read from fifo: %s %q", en(err), buf[:max(n, 0)])
	closeFD(t, w)
	closeFD(t, r)
	must(t, unix.Rename(p, filepath.Join(dir, "fifo2")), "rename fifo")
	o.add("renamed: %s names=%v", lst(filepath.Join(dir, "fifo2")), names(t, dir))
	o.add("unlink: %s", en(unix.Unlink(filepath.Join(dir, "fifo2"))))
	return o.String()
}

func caseMknod(t *testing.T, dir string) string {
	if !isRoot() {
		return "skipped: not root\n"
	}
	var o obs
	devLine := func(p string) string {
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return en(err)
		}
		return fmt.Sprintf("%s rdev=%d:%d", statLine(&st), unix.Major(st.Rdev), unix.Minor(st.Rdev))
	}
	c := filepath.Join(dir, "chr")
	o.add("mknod chr 1:3: %s %s", en(unix.Mknod(c, unix.S_IFCHR|0o640, int(unix.Mkdev(1, 3)))), devLine(c))
	b := filepath.Join(dir, "blk")
	o.add("mknod blk 7:200: %s %s", en(unix.Mknod(b, unix.S_IFBLK|0o600, int(unix.Mkdev(7, 200)))), devLine(b))
	r := filepath.Join(dir, "reg")
	o.add("mknod reg: %s %s", en(unix.Mknod(r, unix.S_IFREG|0o604, 0)), devLine(r))
	o.add("mknod existing: %s", en(unix.Mknod(c, unix.S_IFCHR|0o640, int(unix.Mkdev(1, 3)))))
	must(t, unix.Rename(c, filepath.Join(dir, "chr2")), "rename")
	o.add("renamed: %s", devLine(filepath.Join(dir, "chr2")))
	o.add("names=%v", names(t, dir))
	return o.String()
}

// caseModes relies on the umask 0 set by TestMain: every mode must come out
// exactly as requested.
func caseModes(t *testing.T, dir string) string {
	var o obs
	check := func(what, p string, want uint32) {
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			t.Errorf("%s: %v", what, err)
			return
		}
		// Direct check on the permission bits; what happens to
		// setuid/setgid/sticky on creation is the kernel's business and
		// is only compared with the plain run.
		if st.Mode&0o777 != want&0o777 {
			t.Errorf("%s: mode %04o, want %04o", what, st.Mode&0o7777, want)
		}
		o.add("%s: %s", what, statLine(&st))
	}
	for _, m := range []uint32{0o640, 0o777, 0o600, 0o000, 0o755, 0o4755, 0o1777} {
		p := filepath.Join(dir, fmt.Sprintf("f%04o", m))
		fd, err := unix.Open(p, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_CLOEXEC, m)
		if err != nil {
			t.Fatalf("create %04o: %v", m, err)
		}
		closeFD(t, fd)
		check(fmt.Sprintf("create %04o", m), p, m)
	}
	for _, m := range []uint32{0o750, 0o777, 0o700, 0o1777, 0o2755} {
		p := filepath.Join(dir, fmt.Sprintf("d%04o", m))
		must(t, unix.Mkdir(p, m), "mkdir")
		check(fmt.Sprintf("mkdir %04o", m), p, m)
	}
	must(t, unix.Mkfifo(filepath.Join(dir, "fifo"), 0o666), "mkfifo")
	check("mkfifo 0666", filepath.Join(dir, "fifo"), 0o666)
	must(t, unix.Symlink("x", filepath.Join(dir, "sl")), "symlink")
	check("symlink", filepath.Join(dir, "sl"), 0o777)
	// Files created inside a 0777 directory, and inside a 0700 one.
	fd := mustOpen(t, filepath.Join(dir, "d0777", "inner"), unix.O_CREAT|unix.O_WRONLY, 0o666)
	closeFD(t, fd)
	check("inner 0666", filepath.Join(dir, "d0777", "inner"), 0o666)
	return o.String()
}
