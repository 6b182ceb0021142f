//go:build linux

package posix

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func caseRenameOverFile(t *testing.T, dir string) string {
	var o obs
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	writeFile(t, a, []byte("content A"), 0o600)
	writeFile(t, b, []byte("content B, longer"), 0o644)
	// Keep an fd on the victim: it must still read the old content.
	fd := mustOpen(t, b, unix.O_RDONLY, 0)
	must(t, unix.Rename(a, b), "rename a b")
	o.add("a=%s b=%s", lst(a), lst(b))
	o.add("b content %s", checkContent(t, b, []byte("content A")))
	old := preadFull(t, fd, 100, 0)
	o.add("old fd reads %q fstat=%s", old, fst(t, fd))
	if string(old) != "content B, longer" {
		t.Errorf("fd of the replaced file reads %q", old)
	}
	closeFD(t, fd)
	o.add("names=%v", names(t, dir))
	// Rename a file onto itself and onto a hard link of itself: no-ops.
	must(t, unix.Rename(b, b), "rename b b")
	must(t, unix.Link(b, filepath.Join(dir, "c")), "link")
	err := unix.Rename(b, filepath.Join(dir, "c"))
	o.add("rename onto own hard link: %s names=%v nlink=%d", en(err), names(t, dir), nlinkOf(t, filepath.Join(dir, "c")))
	return o.String()
}

func caseRenameDirOverDir(t *testing.T, dir string) string {
	var o obs
	d1, d2, d3 := filepath.Join(dir, "d1"), filepath.Join(dir, "d2"), filepath.Join(dir, "d3")
	must(t, unix.Mkdir(d1, 0o750), "mkdir")
	must(t, unix.Mkdir(d2, 0o755), "mkdir")
	must(t, unix.Mkdir(d3, 0o755), "mkdir")
	writeFile(t, filepath.Join(d1, "inside"), []byte("in d1"), 0o644)
	writeFile(t, filepath.Join(d3, "x"), []byte("in d3"), 0o644)
	err := unix.Rename(d1, d2)
	o.add("dir over empty dir: %s d1=%s d2=%s", en(err), lst(d1), lst(d2))
	o.add("moved content: %s", checkContent(t, filepath.Join(d2, "inside"), []byte("in d1")))
	err = unix.Rename(d2, d3)
	o.add("dir over non-empty dir: %s", en(err))
	if err != unix.ENOTEMPTY && err != unix.EEXIST {
		t.Errorf("rename dir over non-empty dir: %v, want ENOTEMPTY", err)
	}
	o.add("both intact: %v %v", names(t, d2), names(t, d3))
	// The renamed directory is fully usable: create, list, remove inside.
	writeFile(t, filepath.Join(d2, "new"), []byte("n"), 0o644)
	must(t, unix.Mkdir(filepath.Join(d2, "sub"), 0o755), "mkdir in renamed dir")
	writeFile(t, filepath.Join(d2, "sub", "deep"), []byte("deep"), 0o644)
	o.add("renamed dir listing %v sub %v", names(t, d2), names(t, filepath.Join(d2, "sub")))
	o.add("names=%v", names(t, dir))
	return o.String()
}

func caseRenameErrors(t *testing.T, dir string) string {
	var o obs
	f, d, e := filepath.Join(dir, "f"), filepath.Join(dir, "d"), filepath.Join(dir, "e")
	writeFile(t, f, []byte("f"), 0o644)
	must(t, unix.Mkdir(d, 0o755), "mkdir")
	must(t, unix.Mkdir(e, 0o755), "mkdir")
	o.add("file over dir: %s", en(unix.Rename(f, d)))
	o.add("dir over file: %s", en(unix.Rename(d, f)))
	o.add("dir into own subdir: %s", en(unix.Rename(d, filepath.Join(d, "sub"))))
	o.add("missing source: %s", en(unix.Rename(filepath.Join(dir, "missing"), filepath.Join(dir, "x"))))
	o.add("into missing dir: %s", en(unix.Rename(f, filepath.Join(dir, "nodir", "x"))))
	o.add("under a file: %s", en(unix.Rename(f, filepath.Join(f, "x"))))
	o.add("RENAME_NOREPLACE onto existing: %s", en(unix.Renameat2(unix.AT_FDCWD, d, unix.AT_FDCWD, e, unix.RENAME_NOREPLACE)))
	o.add("RENAME_NOREPLACE onto new: %s", en(unix.Renameat2(unix.AT_FDCWD, f, unix.AT_FDCWD, filepath.Join(dir, "g"), unix.RENAME_NOREPLACE)))
	o.add("names=%v", names(t, dir))
	return o.String()
}

func caseRenameAcrossDirs(t *testing.T, dir string) string {
	var o obs
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	must(t, unix.Mkdir(a, 0o755), "mkdir")
	must(t, unix.Mkdir(b, 0o755), "mkdir")
	data := pattern(9000, 20)
	writeFile(t, filepath.Join(a, "f"), data, 0o640)
	fd := mustOpen(t, filepath.Join(a, "f"), unix.O_RDWR, 0)
	must(t, unix.Rename(filepath.Join(a, "f"), filepath.Join(b, "g")), "rename across dirs")
	// The open fd keeps working after the move, for reads and writes.
	pwriteAll(t, fd, []byte("via old fd"), 100)
	copy(data[100:], "via old fd")
	closeFD(t, fd)
	o.add("a=%v b=%v g=%s %s", names(t, a), names(t, b), lst(filepath.Join(b, "g")), checkContent(t, filepath.Join(b, "g"), data))

	// Move a populated directory tree and read through the new path.
	tree := filepath.Join(a, "tree")
	must(t, unix.Mkdir(tree, 0o755), "mkdir")
	must(t, unix.Mkdir(filepath.Join(tree, "x"), 0o755), "mkdir")
	writeFile(t, filepath.Join(tree, "x", "leaf"), []byte("leaf"), 0o644)
	must(t, unix.Symlink("x/leaf", filepath.Join(tree, "ln")), "symlink")
	must(t, unix.Rename(tree, filepath.Join(b, "moved")), "rename dir across")
	o.add("moved leaf %s", checkContent(t, filepath.Join(b, "moved", "x", "leaf"), []byte("leaf")))
	o.add("via symlink %s", checkContent(t, filepath.Join(b, "moved", "ln"), []byte("leaf")))
	o.add("old path: %s", lst(tree))
	// Names in the moved tree can be created and renamed again (stale
	// directory IVs would break this on veilfs).
	writeFile(t, filepath.Join(b, "moved", "x", "after"), []byte("after"), 0o644)
	must(t, unix.Rename(filepath.Join(b, "moved", "x", "after"), filepath.Join(a, "back")), "rename back")
	o.add("back %s", checkContent(t, filepath.Join(a, "back"), []byte("after")))
	// Rename over an existing file in another directory.
	writeFile(t, filepath.Join(a, "victim"), []byte("old"), 0o644)
	must(t, unix.Rename(filepath.Join(b, "g"), filepath.Join(a, "victim")), "rename over across")
	o.add("victim %s", checkContent(t, filepath.Join(a, "victim"), data))
	o.add("final a=%v b=%v", names(t, a), names(t, b))
	return o.String()
}

func caseUnlinkOpen(t *testing.T, dir string) string {
	var o obs
	p := filepath.Join(dir, "f")
	data := pattern(6000, 21)
	writeFile(t, p, data, 0o644)
	fd := mustOpen(t, p, unix.O_RDWR, 0)
	must(t, unix.Unlink(p), "unlink")
	o.add("stat after unlink: %s names=%v", lst(p), names(t, dir))
	o.add("fstat after unlink: %s", fst(t, fd))
	got := preadFull(t, fd, 10000, 0)
	if string(got) != string(data) {
		t.Errorf("read through fd after unlink: %s", firstDiff(got, data))
	}
	pwriteAll(t, fd, []byte("still writable"), 5990)
	data = append(data[:5990], "still writable"...)
	got = preadFull(t, fd, 10000, 0)
	if string(got) != string(data) {
		t.Errorf("read after write to unlinked file: %s", firstDiff(got, data))
	}
	o.add("after write: fstat=%s sha=%s", fst(t, fd), sum(got))
	must(t, unix.Ftruncate(fd, 10), "ftruncate unlinked")
	o.add("after ftruncate: fstat=%s read=%q", fst(t, fd), preadFull(t, fd, 100, 0))
	// A new file with the same name is independent of the open one.
	writeFile(t, p, []byte("new"), 0o644)
	o.add("old fd still reads %q; new file %s", preadFull(t, fd, 100, 0), checkContent(t, p, []byte("new")))
	closeFD(t, fd)
	o.add("unlink missing: %s", en(unix.Unlink(filepath.Join(dir, "missing"))))
	o.add("unlink dir: %s", en(unix.Unlink(dir)))
	return o.String()
}

func caseHardlinks(t *testing.T, dir string) string {
	var o obs
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	writeFile(t, a, []byte("x"), 0o644)
	must(t, unix.Link(a, b), "link")
	o.add("right after link: a=%s b=%s", lst(a), lst(b))
	if n := nlinkOf(t, a); n != 2 {
		t.Errorf("st_nlink of a right after link() = %d, want 2", n)
	}
	if n := nlinkOf(t, b); n != 2 {
		t.Errorf("st_nlink of b right after link() = %d, want 2", n)
	}
	var sa, sb unix.Stat_t
	must(t, unix.Stat(a, &sa), "stat")
	must(t, unix.Stat(b, &sb), "stat")
	o.add("same inode: %v", sa.Ino == sb.Ino && sa.Dev == sb.Dev)

	// Write through b, keep the fd open, look at a.
	fd := mustOpen(t, b, unix.O_WRONLY, 0)
	data := pattern(10000, 22)
	pwriteAll(t, fd, data, 5000)
	model := append([]byte("x"), make([]byte, 4999)...)
	model = append(model, data...)
	o.add("after write via b (fd open): stat a=%s", lst(a))
	if s := sizeOf(t, a); s != 15000 {
		t.Errorf("size of a right after writing 15000 bytes via b = %d", s)
	}
	closeFD(t, fd)
	o.add("a %s", checkContent(t, a, model))
	// And the other way round, truncating via a.
	must(t, unix.Truncate(a, 7000), "truncate a")
	o.add("after truncate via a: stat b=%s", lst(b))
	if s := sizeOf(t, b); s != 7000 {
		t.Errorf("size of b after truncate(a, 7000) = %d", s)
	}
	o.add("b %s", checkContent(t, b, model[:7000]))

	// Third link in a subdirectory, then unlink names one by one.
	must(t, unix.Mkdir(filepath.Join(dir, "sub"), 0o755), "mkdir")
	c := filepath.Join(dir, "sub", "c")
	must(t, unix.Link(b, c), "link into subdir")
	o.add("three links: a=%s c=%s", lst(a), lst(c))
	must(t, unix.Unlink(a), "unlink a")
	o.add("after unlink a: a=%s b=%s c=%s", lst(a), lst(b), lst(c))
	if n := nlinkOf(t, b); n != 2 {
		t.Errorf("st_nlink of b after unlinking a = %d, want 2", n)
	}
	o.add("c %s", checkContent(t, c, model[:7000]))
	must(t, unix.Rename(c, a), "rename c a")
	o.add("after rename c->a: a=%s b=%s", lst(a), lst(b))
	must(t, unix.Unlink(b), "unlink b")
	o.add("last link: a=%s %s", lst(a), checkContent(t, a, model[:7000]))

	// Errors.
	o.add("link to existing name: %s", en(unix.Link(a, a)))
	o.add("link a dir: %s", en(unix.Link(filepath.Join(dir, "sub"), filepath.Join(dir, "dirlink"))))
	o.add("link missing: %s", en(unix.Link(filepath.Join(dir, "missing"), filepath.Join(dir, "x"))))
	// Hard link to a symlink links the symlink itself.
	must(t, unix.Symlink("a", filepath.Join(dir, "sl")), "symlink")
	must(t, unix.Linkat(unix.AT_FDCWD, filepath.Join(dir, "sl"), unix.AT_FDCWD, filepath.Join(dir, "sl2"), 0), "link symlink")
	tgt, err := readlink(filepath.Join(dir, "sl2"))
	o.add("hard link to symlink: %s target=%q %s", en(err), tgt, lst(filepath.Join(dir, "sl2")))
	o.add("names=%v", names(t, dir))
	return o.String()
}

func readlink(p string) (string, error) {
	buf := make([]byte, 8192)
	n, err := unix.Readlink(p, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

func caseSymlinks(t *testing.T, dir string) string {
	var o obs
	writeFile(t, filepath.Join(dir, "target.txt"), []byte("via link"), 0o644)
	must(t, unix.Mkdir(filepath.Join(dir, "sub"), 0o755), "mkdir")
	links := []struct{ name, target string }{
		{"rel", "target.txt"},
		{"abs", "/etc/hostname"},
		{"dotdot", "../" + filepath.Base(dir) + "/target.txt"},
		{"sub/up", "../target.txt"},
		{"dirlink", "sub"},
		{"dangling", "does/not/exist"},
		{"spaces", "a b  c\td"},
		{"unicode", "ünï/文件/😀"},
		{"long3000", strings.Repeat("L", 3000)},
		{"one", "x"},
	}
	for _, l := range links {
		p := filepath.Join(dir, l.name)
		must(t, unix.Symlink(l.target, p), "symlink "+l.name)
		got, err := readlink(p)
		if got != l.target {
			t.Errorf("readlink %s = %q (%v), want %q", l.name, got, err, l.target)
		}
		var st unix.Stat_t
		must(t, unix.Lstat(p, &st), "lstat")
		if st.Size != int64(len(l.target)) {
			t.Errorf("lstat size of %s = %d, want len(target) = %d", l.name, st.Size, len(l.target))
		}
		o.add("%s: readlink ok=%v lstat=%s", l.name, got == l.target, statLine(&st))
	}
	o.add("follow rel %s", checkContent(t, filepath.Join(dir, "rel"), []byte("via link")))
	o.add("follow sub/up %s", checkContent(t, filepath.Join(dir, "sub", "up"), []byte("via link")))
	o.add("follow dotdot %s", checkContent(t, filepath.Join(dir, "dotdot"), []byte("via link")))
	var st unix.Stat_t
	o.add("stat dirlink follows: %s %s", en(unix.Stat(filepath.Join(dir, "dirlink"), &st)), fileType(st.Mode))
	o.add("stat dangling: %s", en(unix.Stat(filepath.Join(dir, "dangling"), &st)))
	o.add("listing via dirlink: %v", names(t, filepath.Join(dir, "dirlink")))
	_, err := readlink(filepath.Join(dir, "target.txt"))
	o.add("readlink regular file: %s", en(err))
	o.add("symlink over existing: %s", en(unix.Symlink("x", filepath.Join(dir, "rel"))))
	o.add("empty target: %s", en(unix.Symlink("", filepath.Join(dir, "empty"))))
	// Rename and unlink symlinks; the target stays.
	must(t, unix.Rename(filepath.Join(dir, "rel"), filepath.Join(dir, "sub", "rel2")), "rename symlink")
	got, _ := readlink(filepath.Join(dir, "sub", "rel2"))
	o.add("renamed symlink reads %q, follows: %s", got, lst(filepath.Join(dir, "sub", "rel2")))
	must(t, unix.Unlink(filepath.Join(dir, "sub", "rel2")), "unlink symlink")
	o.add("after unlink target: %s", lst(filepath.Join(dir, "target.txt")))
	o.add("names=%v", names(t, dir))
	return o.String()
}

func caseNameMax(t *testing.T, dir string) string {
	var o obs
	n255 := strings.Repeat("n", 255)
	n256 := strings.Repeat("n", 256)
	euro255 := strings.Repeat("€", 85) // 3 bytes each
	euro256 := euro255 + "a"
	for _, n := range []string{n255, euro255} {
		p := filepath.Join(dir, n)
		fd, err := unix.Open(p, unix.O_CREAT|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
		o.add("create %d bytes: %s", len(n), en(err))
		if err == nil {
			writeAll(t, fd, []byte(n[:10]))
			closeFD(t, fd)
		}
		o.add("stat: %s", lst(p))
	}
	o.add("names=%d %v", len(names(t, dir)), names(t, dir)[0] == euro255)
	// Every way of making a 255-byte name works, 256 fails.
	for _, l := range []int{255, 256} {
		o.add("mkdir %d: %s", l, en(unix.Mkdir(filepath.Join(dir, strings.Repeat("m", l)), 0o755)))
		o.add("symlink %d: %s", l, en(unix.Symlink("t", filepath.Join(dir, strings.Repeat("s", l)))))
		o.add("link %d: %s", l, en(unix.Link(filepath.Join(dir, n255), filepath.Join(dir, strings.Repeat("l", l)))))
		o.add("rename to %d: %s", l, en(unix.Rename(filepath.Join(dir, euro255), filepath.Join(dir, strings.Repeat("r", l)))))
		if l == 255 {
			o.add("255-byte names: mkdir %s symlink %s link %s rename %s", lst(filepath.Join(dir, strings.Repeat("m", l))),
				lst(filepath.Join(dir, strings.Repeat("s", l))), lst(filepath.Join(dir, strings.Repeat("l", l))), lst(filepath.Join(dir, strings.Repeat("r", l))))
			must(t, unix.Rename(filepath.Join(dir, strings.Repeat("r", 255)), filepath.Join(dir, euro255)), "rename back")
		}
	}
	_, err := unix.Open(filepath.Join(dir, n256), unix.O_CREAT|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
	o.add("create 256: %s", en(err))
	_, err = unix.Open(filepath.Join(dir, euro256), unix.O_CREAT|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
	o.add("create 256 (utf-8): %s", en(err))
	if err != unix.ENAMETOOLONG {
		t.Errorf("creating a 256-byte name: %v, want ENAMETOOLONG", err)
	}
	o.add("stat 256: %s", lst(filepath.Join(dir, n256)))
	o.add("rmdir 255: %s unlink 255: %s", en(unix.Rmdir(filepath.Join(dir, strings.Repeat("m", 255)))), en(unix.Unlink(filepath.Join(dir, n255))))
	o.add("names=%d", len(names(t, dir)))
	return o.String()
}

// caseLongNames exercises names around every long-name threshold (62 for
// --longnamemax 62, 175/176 for the default 255): create, list, rename
// between long and short, link, and remove.
func caseLongNames(t *testing.T, dir string) string {
	var o obs
	lengths := []int{1, 30, 40, 41, 42, 50, 61, 62, 63, 64, 100, 174, 175, 176, 177, 200, 254, 255}
	name := func(prefix byte, n int) string {
		s := fmt.Sprintf("%c%d-", prefix, n)
		return s + strings.Repeat(string(prefix), n-len(s))
	}
	var all []string
	for _, n := range lengths {
		if n < 6 {
			continue
		}
		f, d, l := name('f', n), name('d', n), name('l', n)
		writeFile(t, filepath.Join(dir, f), []byte(f), 0o644)
		must(t, unix.Mkdir(filepath.Join(dir, d), 0o755), "mkdir "+d)
		writeFile(t, filepath.Join(dir, d, f), []byte("inner"), 0o644)
		must(t, unix.Symlink(f, filepath.Join(dir, l)), "symlink")
		all = append(all, f, d, l)
	}
	sort.Strings(all)
	got := names(t, dir)
	if strings.Join(got, "/") != strings.Join(all, "/") {
		t.Errorf("listing differs from created names:\ngot  %q\nwant %q", got, all)
	}
	o.add("listing exact: %v (%d)", strings.Join(got, "/") == strings.Join(all, "/"), len(got))
	for _, n := range lengths {
		if n < 6 {
			continue
		}
		f, d, l := name('f', n), name('d', n), name('l', n)
		o.add("%d: %s | %s | %s", n, checkContent(t, filepath.Join(dir, f), []byte(f)), checkContent(t, filepath.Join(dir, d, f), []byte("inner")), checkContent(t, filepath.Join(dir, l), []byte(f)))
		// long <-> short renames, link, then remove everything.
		short := fmt.Sprintf("s%d", n)
		must(t, unix.Rename(filepath.Join(dir, f), filepath.Join(dir, short)), "rename to short")
		must(t, unix.Rename(filepath.Join(dir, short), filepath.Join(dir, name('g', n))), "rename to long")
		must(t, unix.Link(filepath.Join(dir, name('g', n)), filepath.Join(dir, name('h', n))), "link long")
		o.add("%d after renames: g=%s h=%s", n, lst(filepath.Join(dir, name('g', n))), lst(filepath.Join(dir, name('h', n))))
		must(t, unix.Rename(filepath.Join(dir, d), filepath.Join(dir, name('e', n))), "rename dir")
		o.add("%d renamed dir content: %s", n, checkContent(t, filepath.Join(dir, name('e', n), f), []byte("inner")))
		must(t, unix.Unlink(filepath.Join(dir, name('e', n), f)), "unlink")
		must(t, unix.Rmdir(filepath.Join(dir, name('e', n))), "rmdir")
		must(t, unix.Unlink(filepath.Join(dir, name('g', n))), "unlink")
		must(t, unix.Unlink(filepath.Join(dir, name('h', n))), "unlink")
		must(t, unix.Unlink(filepath.Join(dir, l)), "unlink")
	}
	o.add("empty at end: %v", names(t, dir))
	return o.String()
}

func caseOddNames(t *testing.T, dir string) string {
	var o obs
	odd := []string{
		"ünïcødé 文件 😀.txt",
		"caf\u00e9",  // NFC
		"cafe\u0301", // NFD: a different name on Linux
		" leading space",
		"trailing space ",
		"-dash",
		"new\nline",
		"tab\tchar",
		"back\\slash",
		"quote'\"",
		"...",
		".hidden",
		"gocryptfs.diriv",
		"gocryptfs.conf",
		"gocryptfs.longname.abc",
		"gocryptfs.longname.abc.name",
		"\x01\x7f\xff",
		"a=b,c;d",
		strings.Repeat("文", 85), // 255 bytes
	}
	for i, n := range odd {
		writeFile(t, filepath.Join(dir, n), []byte(fmt.Sprint(i)), 0o644)
	}
	got := names(t, dir)
	want := append([]string(nil), odd...)
	sort.Strings(want)
	if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
		t.Errorf("listing of odd names:\ngot  %q\nwant %q", got, want)
	}
	o.add("listing %q", got)
	for i, n := range odd {
		o.add("%q: %s", n, checkContent(t, filepath.Join(dir, n), []byte(fmt.Sprint(i))))
	}
	o.add("dot: %s dotdot: %s", en(unix.Mkdir(filepath.Join(dir, "."), 0o755)), en(unix.Mkdir(filepath.Join(dir, ".."), 0o755)))
	return o.String()
}

func caseReaddirDtype(t *testing.T, dir string) string {
	var o obs
	writeFile(t, filepath.Join(dir, "reg"), []byte("r"), 0o644)
	must(t, unix.Mkdir(filepath.Join(dir, "dir"), 0o755), "mkdir")
	must(t, unix.Symlink("reg", filepath.Join(dir, "lnk")), "symlink")
	must(t, unix.Mkfifo(filepath.Join(dir, "fifo"), 0o644), "mkfifo")
	sockErr := unix.Mknod(filepath.Join(dir, "sock"), unix.S_IFSOCK|0o644, 0)
	o.add("mknod socket: %s", en(sockErr))
	ents := readdirRaw(t, dir)
	sort.Slice(ents, func(i, j int) bool { return ents[i].name < ents[j].name })
	want := map[string]string{".": "dir", "..": "dir", "reg": "reg", "dir": "dir", "lnk": "lnk", "fifo": "fifo", "sock": "sock"}
	for _, e := range ents {
		o.add("%s: %s", e.name, dtName(e.typ))
		if w := want[e.name]; w != "" && w != dtName(e.typ) && e.typ != unix.DT_UNKNOWN {
			t.Errorf("d_type of %s = %s, want %s", e.name, dtName(e.typ), w)
		}
		if e.typ == unix.DT_UNKNOWN && e.name != "." && e.name != ".." {
			t.Errorf("d_type of %s is DT_UNKNOWN", e.name)
		}
	}
	// Listing the same directory twice gives the same result (offsets
	// are stable).
	again := readdirRaw(t, dir)
	o.add("second listing: %d entries", len(again))
	return o.String()
}

func caseRmdirErrors(t *testing.T, dir string) string {
	var o obs
	d := filepath.Join(dir, "d")
	must(t, unix.Mkdir(d, 0o755), "mkdir")
	writeFile(t, filepath.Join(d, "f"), nil, 0o644)
	err := unix.Rmdir(d)
	o.add("rmdir with file inside: %s", en(err))
	if err != unix.ENOTEMPTY {
		t.Errorf("rmdir of non-empty dir: %v, want ENOTEMPTY", err)
	}
	must(t, unix.Unlink(filepath.Join(d, "f")), "unlink")
	must(t, unix.Mkdir(filepath.Join(d, "sub"), 0o755), "mkdir")
	o.add("rmdir with subdir inside: %s", en(unix.Rmdir(d)))
	must(t, unix.Rmdir(filepath.Join(d, "sub")), "rmdir sub")
	must(t, unix.Symlink("x", filepath.Join(d, "l")), "symlink")
	o.add("rmdir with symlink inside: %s", en(unix.Rmdir(d)))
	must(t, unix.Unlink(filepath.Join(d, "l")), "unlink")
	writeFile(t, filepath.Join(dir, "file"), nil, 0o644)
	o.add("rmdir file: %s", en(unix.Rmdir(filepath.Join(dir, "file"))))
	o.add("rmdir missing: %s", en(unix.Rmdir(filepath.Join(dir, "missing"))))
	o.add("rmdir d/.: %s", en(unix.Rmdir(filepath.Join(d)+"/.")))
	o.add("rmdir empty: %s after=%s", en(unix.Rmdir(d)), lst(d))
	// Re-create with the same name: a fresh, empty directory.
	must(t, unix.Mkdir(d, 0o700), "mkdir again")
	o.add("recreated: %s names=%v", lst(d), names(t, d))
	writeFile(t, filepath.Join(d, "g"), []byte("g"), 0o644)
	o.add("usable: %s", checkContent(t, filepath.Join(d, "g"), []byte("g")))
	return o.String()
}

func caseMkdirErrors(t *testing.T, dir string) string {
	var o obs
	d := filepath.Join(dir, "d")
	must(t, unix.Mkdir(d, 0o755), "mkdir")
	err := unix.Mkdir(d, 0o755)
	o.add("mkdir existing dir: %s", en(err))
	if err != unix.EEXIST {
		t.Errorf("mkdir existing: %v, want EEXIST", err)
	}
	writeFile(t, filepath.Join(dir, "f"), nil, 0o644)
	o.add("mkdir over file: %s", en(unix.Mkdir(filepath.Join(dir, "f"), 0o755)))
	must(t, unix.Symlink("nowhere", filepath.Join(dir, "l")), "symlink")
	o.add("mkdir over dangling symlink: %s", en(unix.Mkdir(filepath.Join(dir, "l"), 0o755)))
	o.add("mkdir in missing parent: %s", en(unix.Mkdir(filepath.Join(dir, "no", "x"), 0o755)))
	o.add("mkdir under a file: %s", en(unix.Mkdir(filepath.Join(dir, "f", "x"), 0o755)))
	// Deep nesting.
	p := dir
	for i := 0; i < 20; i++ {
		p = filepath.Join(p, fmt.Sprintf("level%02d", i))
		must(t, unix.Mkdir(p, 0o755), "mkdir deep")
	}
	writeFile(t, filepath.Join(p, "bottom"), []byte("bottom"), 0o644)
	o.add("deep: %s", checkContent(t, filepath.Join(p, "bottom"), []byte("bottom")))
	o.add("names=%v", names(t, dir))
	return o.String()
}

func caseDir5000(t *testing.T, dir string) string {
	var o obs
	d := filepath.Join(dir, "big")
	must(t, unix.Mkdir(d, 0o755), "mkdir")
	const n = 5000
	want := make([]string, 0, n)
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("entry-%05d", i)
		if i%250 == 0 {
			name += "-" + strings.Repeat("x", 180) // some long names in the mix
		}
		fd, err := unix.Open(filepath.Join(d, name), unix.O_CREAT|unix.O_WRONLY|unix.O_EXCL|unix.O_CLOEXEC, 0o644)
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		unix.Close(fd)
		want = append(want, name)
	}
	sort.Strings(want)
	ents := readdirRaw(t, d)
	var got []string
	dots := 0
	seen := map[string]int{}
	for _, e := range ents {
		if e.name == "." || e.name == ".." {
			dots++
			continue
		}
		seen[e.name]++
		got = append(got, e.name)
		if e.typ != unix.DT_REG {
			t.Errorf("%s: d_type %s", e.name, dtName(e.typ))
			break
		}
	}
	sort.Strings(got)
	dups := 0
	for _, c := range seen {
		if c > 1 {
			dups++
		}
	}
	exact := strings.Join(got, "/") == strings.Join(want, "/")
	if !exact || dups > 0 {
		t.Errorf("readdir of %d entries: got %d names, %d duplicated, exact=%v", n, len(got), dups, exact)
	}
	o.add("entries=%d dots=%d duplicates=%d exact=%v", len(got), dots, dups, exact)
	// Every entry is reachable by name.
	for i := 0; i < n; i += 499 {
		o.add("%s: %s", want[i][:11], lst(filepath.Join(d, want[i])))
	}
	for _, name := range want {
		if err := unix.Unlink(filepath.Join(d, name)); err != nil {
			t.Fatalf("unlink %s: %v", name, err)
		}
	}
	o.add("after unlink all: %v rmdir: %s", names(t, d), en(unix.Rmdir(d)))
	return o.String()
}
