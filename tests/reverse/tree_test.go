//go:build linux

package reverse

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/tests/harness"
)

const password = "reverse password ✓"

// Format constants (FORMAT §4.1, §4.2): AES-SIV, which reverse mode always uses.
const (
	headerSize = 18
	plainBS    = 4096
	cipherBS   = 4128
	overhead   = cipherBS - plainBS
)

// cipherSize is FORMAT §4.5's size of a file of p plaintext bytes.
func cipherSize(p int64) int64 {
	if p == 0 {
		return 0
	}
	return headerSize + p + overhead*((p+plainBS-1)/plainBS)
}

// Names and sizes at the boundaries that matter (FORMAT §5.4): with the
// default limit a plaintext name of 176 bytes or more becomes a
// gocryptfs.longname.* entry; with --longnamemax 62 a 47-byte name (64
// base64 characters) does, while a 31-byte one (43) does not.
var (
	rootLong   = strings.Repeat("R", 210)
	long200    = strings.Repeat("l", 200)
	long255    = strings.Repeat("N", 255)
	longDir    = strings.Repeat("D", 230)
	name47     = strings.Repeat("m", 47)
	name31     = strings.Repeat("s", 31)
	longTarget = strings.Repeat("../a-long-symlink-target-component/", 60)[:2000]
)

// Sizes of the tree's files that the tests find again in a view by size.
const (
	bigSize   = 4<<20 + 7 // multi-block; unique in the tree
	hardSize  = 10007     // the hard-linked file; unique in the tree
	sparseLen = 1 << 20
)

// treeOpts selects the optional parts of the test tree.
type treeOpts struct {
	big bool // the multi-MiB file (bigSize bytes) at sizes/big
}

// writeTree creates the reverse test tree in root (an existing directory).
// Every kind of object the view must encrypt appears at least once; file
// mtimes are set to fixed values with nanoseconds so that a comparison of
// mtimes means something.
func writeTree(t testing.TB, root string, o treeOpts) {
	t.Helper()
	p := func(rel string) string { return filepath.Join(root, rel) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("writing the plaintext tree in %s: %v", root, err)
		}
	}
	var files []string
	write := func(rel string, data []byte, perm os.FileMode) {
		t.Helper()
		must(os.WriteFile(p(rel), data, perm))
		must(os.Chmod(p(rel), perm)) // umask-independent
		files = append(files, rel)
	}

	must(os.Mkdir(p("empty-dir"), 0o755))
	must(os.Mkdir(p("private"), 0o700))
	write("private/secret", []byte("only for me\n"), 0o600)

	must(os.Mkdir(p("sizes"), 0o755))
	for _, n := range []int{0, 1, 4095, 4096, 4097} {
		write(fmt.Sprintf("sizes/size-%d", n), harness.RandomBytes(fmt.Sprint("size", n), n), 0o644)
	}
	write("sizes/exec.sh", []byte("#!/bin/sh\necho hi\n"), 0o755)
	write("sizes/read-only", []byte("read only\n"), 0o444)
	if o.big {
		write("sizes/big", harness.RandomBytes("big", bigSize), 0o640)
	}
	// Sparse: a hole, data crossing a block boundary, a hole to the end.
	f, err := os.Create(p("sizes/sparse"))
	must(err)
	must(f.Truncate(sparseLen))
	_, err = f.WriteAt(harness.RandomBytes("sparse", 5000), 400000)
	must(err)
	must(f.Close())
	files = append(files, "sizes/sparse")

	write(rootLong, []byte("a long name in the root\n"), 0o644)
	must(os.Mkdir(p("names"), 0o755))
	for _, n := range []string{long200, long255, name47, name31, "ünïcödé 名前 ✓", "name with  spaces ", " leading space", "-leading-dash", ".hidden"} {
		write("names/"+n, []byte("name: "+n+"\n"), 0o644)
	}
	must(os.Mkdir(p("names/"+longDir), 0o755)) // a long-named directory holding long and short names
	write("names/"+longDir+"/"+long200, []byte("long in long\n"), 0o644)
	write("names/"+longDir+"/short", []byte("short in long\n"), 0o644)

	must(os.Mkdir(p("links"), 0o755))
	must(os.Symlink("../sizes/size-1", p("links/relative")))
	must(os.Symlink("/etc/hostname", p("links/absolute")))
	must(os.Symlink("does/not/exist", p("links/dangling")))
	must(os.Symlink(longTarget, p("links/long-target")))
	must(os.Symlink("relative", p("links/"+long200))) // a long name that is a symlink

	must(os.Mkdir(p("hard"), 0o755))
	write("hard/a", harness.RandomBytes("hard", hardSize), 0o644)
	must(os.Link(p("hard/a"), p("hard/b")))

	deep := "deep"
	for i := 1; i <= 24; i++ {
		deep = filepath.Join(deep, fmt.Sprintf("level-%02d", i))
	}
	must(os.MkdirAll(p(deep), 0o755))
	write(filepath.Join(deep, "bottom.txt"), []byte("at the bottom\n"), 0o644)

	// Special files pass through as they are (as in a forward volume).
	must(unix.Mkfifo(p("fifo"), 0o640))

	write("xattr.txt", []byte("has a user xattr in the plaintext\n"), 0o644)
	if err := unix.Setxattr(p("xattr.txt"), "user.comment", []byte("not for the view"), 0); err != nil && !errors.Is(err, unix.ENOTSUP) {
		must(err)
	}

	for i, rel := range files {
		mt := time.Unix(1_600_000_000+int64(i)*1000, int64(123_456_789+i))
		must(os.Chtimes(p(rel), mt, mt))
	}
}

// entry is one object of a tree as the tests compare it.
type entry struct {
	path   string // relative to the root, "/"-separated
	typ    string // dir, file, link, other
	perm   uint32
	size   int64
	sum    string // SHA-256 prefix of a file's content
	target string // a symlink's target
	mtime  int64  // nanoseconds
	nlink  uint64
	ino    uint64
}

// snapshot reads every object below root (not root itself), sorted by path.
// skip, if not nil, leaves out paths (and, for directories, what is below).
// A read error fails the test and shows as sum "ERROR(...)" in the entry,
// so that two trees with the same error never compare equal silently.
func snapshot(t testing.TB, root string, skip func(rel string) bool) []entry {
	t.Helper()
	var out []entry
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if skip != nil && skip(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		var st unix.Stat_t
		if err := unix.Lstat(path, &st); err != nil {
			return fmt.Errorf("lstat %s: %w", abbrev(rel), err)
		}
		e := entry{path: rel, perm: st.Mode & 0o7777, size: st.Size, mtime: st.Mtim.Nano(), nlink: uint64(st.Nlink), ino: st.Ino}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			e.typ = "dir"
		case unix.S_IFLNK:
			e.typ = "link"
			target, err := os.Readlink(path)
			if err != nil {
				t.Errorf("readlink %s: %v", abbrev(path), err)
				target = fmt.Sprintf("ERROR(%v)", err)
			}
			e.target = target
		case unix.S_IFREG:
			e.typ = "file"
			data, err := os.ReadFile(path)
			if err != nil {
				t.Errorf("read %s: %v", abbrev(path), err)
				e.sum = fmt.Sprintf("ERROR(%v)", err)
			} else {
				e.sum = sha(data)
				if int64(len(data)) != e.size {
					t.Errorf("%s: stat says %d bytes, read gave %d", abbrev(path), e.size, len(data))
				}
			}
		default:
			e.typ = fmt.Sprintf("other(%o)", st.Mode&unix.S_IFMT)
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", root, err)
	}
	return out
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:12])
}

// skipReverseConf leaves out the reverse config in the root of a plaintext
// directory: the view shows it as gocryptfs.conf, which a forward mount of a
// copy hides, so it is not part of the tree that comes back.
func skipReverseConf(rel string) bool { return rel == ".gocryptfs.reverse.conf" }

// plainLines renders a plaintext tree for comparison: types, permission
// bits, sizes and content, symlink targets and the mtimes of regular files.
func plainLines(es []entry) []string {
	var out []string
	for _, e := range es {
		switch e.typ {
		case "dir":
			out = append(out, fmt.Sprintf("dir  %s perm=%04o", e.path, e.perm))
		case "file":
			out = append(out, fmt.Sprintf("file %s perm=%04o size=%d sha=%s mtime=%d", e.path, e.perm, e.size, e.sum, e.mtime))
		case "link":
			out = append(out, fmt.Sprintf("link %s target=%q", e.path, e.target))
		default:
			out = append(out, fmt.Sprintf("%s %s perm=%04o", e.typ, e.path, e.perm))
		}
	}
	return out
}

// isVirtual reports whether a view path is one of the files reverse mode
// makes up: directory IVs, long-name sidecars and the config in the root.
func isVirtual(rel string) bool {
	base := filepath.Base(rel)
	return base == "gocryptfs.diriv" ||
		rel == "gocryptfs.conf" ||
		strings.HasPrefix(base, "gocryptfs.longname.") && strings.HasSuffix(base, ".name")
}

// viewOpts says what viewLines includes.
type viewOpts struct {
	mtimes      bool               // mtimes of the objects that are not virtual
	skipContent func(e entry) bool // leave out the content (not the size) of these
}

// viewLines renders a ciphertext view for comparison: every name, type,
// permission bits, size, content hash and symlink target (which is
// ciphertext in the view).
func viewLines(es []entry, o viewOpts) []string {
	var out []string
	for _, e := range es {
		var l string
		switch e.typ {
		case "dir":
			l = fmt.Sprintf("dir  %s perm=%04o", e.path, e.perm)
		case "file":
			sum := e.sum
			if o.skipContent != nil && o.skipContent(e) {
				sum = "(not compared)"
			}
			l = fmt.Sprintf("file %s perm=%04o size=%d sha=%s", e.path, e.perm, e.size, sum)
		case "link":
			l = fmt.Sprintf("link %s perm=%04o size=%d target=%q", e.path, e.perm, e.size, e.target)
		default:
			l = fmt.Sprintf("%s %s perm=%04o", e.typ, e.path, e.perm)
		}
		if o.mtimes && !isVirtual(e.path) && e.typ != "dir" {
			l += fmt.Sprintf(" mtime=%d", e.mtime)
		}
		out = append(out, l)
	}
	return out
}

// compareLines reports lines missing from or unexpected in got, with long
// names abbreviated.
func compareLines(t testing.TB, what string, want, got []string) {
	t.Helper()
	if d := diffLines(want, got); d != "" {
		t.Errorf("%s: trees differ (%d objects expected, %d seen; - expected, + seen):\n%s", what, len(want), len(got), d)
	}
}

func diffLines(want, got []string) string {
	count := map[string]int{} // want minus got, per line
	for _, l := range want {
		count[l]++
	}
	for _, l := range got {
		count[l]--
	}
	var diff []string
	for _, l := range want {
		if count[l] > 0 {
			count[l]--
			diff = append(diff, "- "+abbrev(l))
		}
	}
	for _, l := range got {
		if count[l] < 0 {
			count[l]++
			diff = append(diff, "+ "+abbrev(l))
		}
	}
	const maxLines = 60
	if len(diff) > maxLines {
		diff = append(diff[:maxLines], fmt.Sprintf("... and %d more", len(diff)-maxLines))
	}
	return strings.Join(diff, "\n")
}

// abbrev shortens the tree's long names and targets in messages.
func abbrev(s string) string {
	for _, n := range []string{longTarget, long255, longDir, rootLong, long200, name47, name31} {
		s = strings.ReplaceAll(s, n, fmt.Sprintf("<%d×%c>", len(n), n[0]))
	}
	return s
}

// find returns the entries of es that match.
func find(es []entry, match func(e entry) bool) []entry {
	var out []entry
	for _, e := range es {
		if match(e) {
			out = append(out, e)
		}
	}
	return out
}

// findOneBySize returns the one regular, non-virtual file of the view with
// this size, failing the test if there is not exactly one.
func findOneBySize(t testing.TB, es []entry, size int64) entry {
	t.Helper()
	got := find(es, func(e entry) bool { return e.typ == "file" && !isVirtual(e.path) && e.size == size })
	if len(got) != 1 {
		t.Fatalf("want exactly one file of %d bytes in the view, found %d: %v", size, len(got), got)
	}
	return got[0]
}

// newDirs returns a fresh plaintext directory (existing, empty) and n
// empty mountpoints.
func newDirs(t *testing.T, n int) (plain string, mnts []string) {
	t.Helper()
	base := t.TempDir()
	plain = filepath.Join(base, "plain")
	if err := os.Mkdir(plain, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		m := filepath.Join(base, fmt.Sprintf("mnt-%d", i))
		if err := os.Mkdir(m, 0o755); err != nil {
			t.Fatal(err)
		}
		mnts = append(mnts, m)
	}
	return plain, mnts
}

// initReverse runs `veilfs init --reverse --scryptn 10 --passfile P [extra] PLAINDIR`.
func initReverse(t testing.TB, plain string, extra ...string) {
	t.Helper()
	harness.InitVolume(t, plain, password, append([]string{"--reverse"}, extra...)...)
}

// mountReverse runs `veilfs mount --reverse --passfile P [extra] PLAINDIR MNT`.
func mountReverse(t testing.TB, plain, mnt string, extra ...string) {
	t.Helper()
	harness.MountVolume(t, plain, mnt, password, append([]string{"--reverse"}, extra...)...)
}

// copyView copies a view with `cp -a` to dst (which must not exist), as a
// backup would.
func copyView(t testing.TB, view, dst string) {
	t.Helper()
	if out, err := exec.Command("cp", "-a", view, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp -a %s %s: %v\n%s", view, dst, err, out)
	}
}

// veilfsOK runs veilfs and fails the test unless it exits 0.
func veilfsOK(t testing.TB, args ...string) harness.Result {
	t.Helper()
	res := harness.Run(t, "", args...)
	if res.Code != 0 {
		t.Fatalf("veilfs %s: %v", abbrev(strings.Join(args, " ")), res)
	}
	return res
}

// pathEncrypt returns `veilfs path encrypt` of plainPath: the path in the
// reverse view, relative to its root.
func pathEncrypt(t testing.TB, pf, plain, plainPath string) string {
	t.Helper()
	out := veilfsOK(t, "path", "encrypt", "--passfile", pf, plain, plainPath).Stdout
	if !strings.HasSuffix(out, "\n") || strings.Count(out, "\n") != 1 {
		t.Fatalf("path encrypt %s: want one line, got %q", abbrev(plainPath), abbrev(out))
	}
	return strings.TrimPrefix(strings.TrimSuffix(out, "\n"), "./")
}

// pathDecrypt returns `veilfs path decrypt` of a view path, without the
// leading "/" that veilfs prints.
func pathDecrypt(t testing.TB, pf, plain, viewPath string) string {
	t.Helper()
	out := veilfsOK(t, "path", "decrypt", "--passfile", pf, plain, viewPath).Stdout
	if !strings.HasSuffix(out, "\n") || strings.Count(out, "\n") != 1 {
		t.Fatalf("path decrypt %s: want one line, got %q", viewPath, abbrev(out))
	}
	return strings.TrimPrefix(strings.TrimSuffix(out, "\n"), "/")
}

// checkViewLayout checks the made-up parts of a view with encrypted names
// and directory IVs (the default init): gocryptfs.conf in the root holding
// exactly .gocryptfs.reverse.conf, a 16-byte 0444 gocryptfs.diriv in every
// directory (all different), a sidecar whose content hashes to its name
// for every long name, only base64url names otherwise, and a regular file
// of cipherSize(n) bytes for every plaintext file of n bytes.
func checkViewLayout(t *testing.T, plain, view string, viewTree []entry) {
	t.Helper()
	conf, err := os.ReadFile(filepath.Join(plain, ".gocryptfs.reverse.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(view, "gocryptfs.conf")); err != nil {
		t.Errorf("gocryptfs.conf in the root of the view: %v", err)
	} else if string(got) != string(conf) {
		t.Errorf("gocryptfs.conf in the view differs from .gocryptfs.reverse.conf:\n%s\nwant\n%s", got, conf)
	}

	byPath := map[string]entry{}
	for _, e := range viewTree {
		byPath[e.path] = e
	}
	ivs := map[string]string{}
	dirs := append([]string{""}, pathsOf(find(viewTree, func(e entry) bool { return e.typ == "dir" }))...)
	for _, d := range dirs {
		ivPath := filepath.Join(view, d, "gocryptfs.diriv")
		var st unix.Stat_t
		if err := unix.Lstat(ivPath, &st); err != nil {
			t.Errorf("directory %q of the view has no gocryptfs.diriv: %v", d, err)
			continue
		}
		iv, err := os.ReadFile(ivPath)
		switch {
		case err != nil:
			t.Errorf("read %s: %v", ivPath, err)
		case st.Mode&unix.S_IFMT != unix.S_IFREG || st.Mode&0o7777 != 0o444 || st.Size != 16 || len(iv) != 16:
			t.Errorf("%s: mode %o, size %d, read %d bytes; want a 0444 regular file of 16 bytes", ivPath, st.Mode, st.Size, len(iv))
		case string(iv) == string(make([]byte, 16)):
			t.Errorf("%s is all zero", ivPath)
		default:
			if other, dup := ivs[string(iv)]; dup {
				t.Errorf("directories %q and %q of the view have the same IV", other, d)
			}
			ivs[string(iv)] = d
		}
	}

	var wantSizes, gotSizes []int64
	for _, e := range snapshot(t, plain, skipReverseConf) {
		if e.typ == "file" {
			wantSizes = append(wantSizes, cipherSize(e.size))
		}
	}
	for _, e := range viewTree {
		base := filepath.Base(e.path)
		switch {
		case isVirtual(e.path):
			if !strings.HasSuffix(base, ".name") {
				continue
			}
			obj := strings.TrimSuffix(e.path, ".name")
			if _, ok := byPath[obj]; !ok {
				t.Errorf("sidecar %s without its object", e.path)
			}
			cname, err := os.ReadFile(filepath.Join(view, e.path))
			if err != nil {
				t.Errorf("read sidecar: %v", err)
				continue
			}
			h := sha256.Sum256(cname)
			if want := "gocryptfs.longname." + base64.RawURLEncoding.EncodeToString(h[:]); filepath.Base(obj) != want {
				t.Errorf("sidecar %s holds a name that hashes to %s", e.path, want)
			}
			if e.perm != 0o444 || e.typ != "file" || len(cname) <= 255 {
				t.Errorf("sidecar %s: %s perm %04o, %d bytes; want a 0444 file holding a name longer than 255", e.path, e.typ, e.perm, len(cname))
			}
		case strings.HasPrefix(base, "gocryptfs.longname."):
			if _, ok := byPath[e.path+".name"]; !ok {
				t.Errorf("long name %s without its .name sidecar", e.path)
			}
		default:
			if strings.Trim(base, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" || len(base) < 22 {
				t.Errorf("view name %q is not an encrypted name", abbrev(e.path))
			}
		}
		if e.typ == "file" && !isVirtual(e.path) {
			gotSizes = append(gotSizes, e.size)
		}
	}
	slices.Sort(wantSizes)
	slices.Sort(gotSizes)
	if !slices.Equal(wantSizes, gotSizes) {
		t.Errorf("sizes of the view's files are not the ciphertext sizes of the plaintext files:\nwant %v\ngot  %v", wantSizes, gotSizes)
	}
}

func pathsOf(es []entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.path)
	}
	return out
}
