package interop

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/tests/harness"
)

// Names at the interesting length boundaries (FORMAT §5.4): with the default
// LongNameMax of 255, a 175-byte name still encrypts to a short name
// (EME-padded to 176 bytes, 235 base64 chars) while 176 bytes pads to 192
// and becomes a gocryptfs.longname.* entry; 255 is NAME_MAX.
var (
	name175 = strings.Repeat("s", 175)
	name176 = strings.Repeat("L", 176)
	name255 = strings.Repeat("N", 255)
	dir255  = strings.Repeat("D", 255)
)

// longTarget is a symlink target of 2000 bytes: its encrypted, base64-encoded
// form (FORMAT §6) is ~2700 bytes, far beyond any name limit but within PATH_MAX.
var longTarget = strings.Repeat("../a-long-symlink-target-component/", 60)[:2000]

// writeTree creates the interop test tree under root (an existing directory,
// usually a mountpoint). Every kind of object and every size boundary that the
// two implementations must agree on appears at least once.
func writeTree(t testing.TB, root string) {
	t.Helper()
	p := func(rel string) string { return filepath.Join(root, rel) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("write tree under %s: %v", root, err)
		}
	}
	write := func(rel string, data []byte, perm os.FileMode) {
		t.Helper()
		must(os.WriteFile(p(rel), data, perm))
		must(os.Chmod(p(rel), perm)) // umask-independent
	}

	must(os.Mkdir(p("empty-dir"), 0o755))
	must(os.MkdirAll(p("nested/a/b/c/d"), 0o755))
	write("nested/a/b/c/d/deep.txt", []byte("deep down\n"), 0o644)
	write("nested/a/top.txt", []byte("top\n"), 0o644)

	must(os.Mkdir(p("sizes"), 0o755))
	for _, n := range []int{0, 1, 4095, 4096, 4097, 8192, 12289} {
		write(fmt.Sprintf("sizes/size-%d", n), harness.RandomBytes(fmt.Sprint("size", n), n), 0o644)
	}
	write("sizes/random-1MiB", harness.RandomBytes("1MiB", 1<<20), 0o600)
	write("sizes/exec.sh", []byte("#!/bin/sh\necho hi\n"), 0o755)

	// Sparse: holes before, between and after data, crossing block boundaries.
	f, err := os.Create(p("sizes/sparse"))
	must(err)
	must(f.Truncate(5 << 20))
	_, err = f.WriteAt([]byte("data in the middle of a hole"), 1<<20+7)
	must(err)
	_, err = f.WriteAt(harness.RandomBytes("sparse", 5000), 3<<20-100)
	must(err)
	must(f.Close())
	f, err = os.Create(p("sizes/hole-only"))
	must(err)
	must(f.Truncate(100000))
	must(f.Close())

	must(os.Mkdir(p("names"), 0o755))
	for _, n := range []string{name175, name176, name255, "ünïcödé 名前 ✓", "spaces and ;'\"$ symbols", "-leading-dash", ".hidden"} {
		write("names/"+n, []byte("name: "+n+"\n"), 0o644)
	}
	must(os.Mkdir(p("names/"+dir255), 0o755)) // long-named dir holding long and short names
	write("names/"+dir255+"/"+name176, []byte("long in long\n"), 0o644)
	write("names/"+dir255+"/short", []byte("short in long\n"), 0o644)

	must(os.Mkdir(p("links"), 0o755))
	must(os.Symlink("../sizes/size-1", p("links/relative")))
	must(os.Symlink("/etc/hostname", p("links/absolute")))
	must(os.Symlink("does/not/exist", p("links/dangling")))
	must(os.Symlink(longTarget, p("links/long-target")))
	must(os.Symlink(name255, p("links/"+name176))) // long name pointing at a long name

	must(os.Mkdir(p("hard"), 0o755))
	write("hard/original", []byte("one inode, two names\n"), 0o644)
	must(os.Link(p("hard/original"), p("hard/link")))

	must(os.Mkdir(p("xattr"), 0o755))
	write("xattr/file", []byte("has attributes\n"), 0o644)
	must(unix.Setxattr(p("xattr/file"), "user.comment", []byte("hello xattr"), 0))
	must(unix.Setxattr(p("xattr/file"), "user.empty", nil, 0))
	must(unix.Setxattr(p("xattr/file"), "user.binary", harness.RandomBytes("xattr", 1000), 0))
	// gocryptfs stores "user.gocryptfs." + B64(EME(name)) (FORMAT §7), which
	// must fit XATTR_NAME_MAX (255): plaintext names up to ~170 bytes fit.
	must(unix.Setxattr(p("xattr/file"), "user."+strings.Repeat("k", 150), []byte("long attribute name"), 0))
	must(unix.Setxattr(p("xattr"), "user.on-a-dir", []byte("dir attr"), 0))
}

// snapshot describes every object under root, one sorted line each: path,
// type, permission bits, size, SHA-256 of the content, symlink target, user.*
// xattrs and hard-link peers. Two trees are equal iff their snapshots are.
func snapshot(t testing.TB, root string) []string {
	t.Helper()
	var lines []string
	inodes := map[uint64]string{} // first path seen per inode, for hard links
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if rel == "." {
			return nil
		}
		var st unix.Stat_t
		if err := unix.Lstat(path, &st); err != nil {
			return fmt.Errorf("lstat %s: %w", rel, err)
		}
		perm := st.Mode & 0o7777
		var line string
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			line = fmt.Sprintf("dir  %s perm=%04o", rel, perm)
		case unix.S_IFLNK:
			target, err := os.Readlink(path)
			if err != nil {
				return fmt.Errorf("readlink %s: %w", rel, err)
			}
			line = fmt.Sprintf("link %s size=%d target=%q", rel, st.Size, target)
		case unix.S_IFREG:
			data, err := os.ReadFile(path)
			if err != nil {
				return fmt.Errorf("read %s: %w", rel, err)
			}
			sum := sha256.Sum256(data)
			line = fmt.Sprintf("file %s perm=%04o size=%d read=%d sha256=%s nlink=%d",
				rel, perm, st.Size, len(data), hex.EncodeToString(sum[:8]), st.Nlink)
			if st.Nlink > 1 {
				if first, ok := inodes[st.Ino]; ok {
					line += " same-inode-as=" + first
				} else {
					inodes[st.Ino] = rel
				}
			}
		default:
			line = fmt.Sprintf("other %s mode=%o", rel, st.Mode)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFLNK {
			xa, err := userXattrs(path)
			if err != nil {
				return fmt.Errorf("xattrs of %s: %w", rel, err)
			}
			if xa != "" {
				line += " xattrs=" + xa
			}
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatalf("snapshot %s: %v", root, err)
	}
	slices.Sort(lines)
	return lines
}

// userXattrs lists user.* attributes as name=sha256prefix, sorted.
func userXattrs(path string) (string, error) {
	size, err := unix.Llistxattr(path, nil)
	if err != nil {
		if errors.Is(err, unix.ENOTSUP) {
			return "", nil
		}
		return "", err
	}
	buf := make([]byte, size)
	size, err = unix.Llistxattr(path, buf)
	if err != nil {
		return "", err
	}
	var out []string
	for _, name := range strings.Split(string(buf[:size]), "\x00") {
		if !strings.HasPrefix(name, "user.") {
			continue
		}
		vsize, err := unix.Lgetxattr(path, name, nil)
		if err != nil {
			return "", fmt.Errorf("getxattr %s: %w", name, err)
		}
		val := make([]byte, vsize)
		vsize, err = unix.Lgetxattr(path, name, val)
		if err != nil {
			return "", fmt.Errorf("getxattr %s: %w", name, err)
		}
		sum := sha256.Sum256(val[:vsize])
		out = append(out, fmt.Sprintf("%s(%d:%s)", name, vsize, hex.EncodeToString(sum[:4])))
	}
	slices.Sort(out)
	return strings.Join(out, ","), nil
}

// compareSnapshots reports lines missing from or unexpected in got. Long
// names are abbreviated in the output to keep failures readable.
func compareSnapshots(t testing.TB, what string, want, got []string) {
	t.Helper()
	wantSet := map[string]bool{}
	for _, l := range want {
		wantSet[l] = true
	}
	gotSet := map[string]bool{}
	for _, l := range got {
		gotSet[l] = true
	}
	var diff []string
	for _, l := range want {
		if !gotSet[l] {
			diff = append(diff, "- "+abbrev(l))
		}
	}
	for _, l := range got {
		if !wantSet[l] {
			diff = append(diff, "+ "+abbrev(l))
		}
	}
	if len(diff) > 0 {
		t.Errorf("%s: trees differ (%d objects expected, %d seen; - expected, + seen):\n%s",
			what, len(want), len(got), strings.Join(diff, "\n"))
	}
}

func abbrev(s string) string {
	for _, n := range []string{name255, dir255, name176, name175, longTarget, strings.Repeat("k", 150)} {
		s = strings.ReplaceAll(s, n, fmt.Sprintf("<%d×%c>", len(n), n[0]))
	}
	return s
}

// recorder stands in for testing.TB to observe compareSnapshots.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper()                   {}
func (r *recorder) Errorf(string, ...any)     { r.failed = true }
func (r *recorder) Fatalf(f string, a ...any) { r.TB.Fatalf(f, a...) }

// TestSnapshotSeesDifferences guards the comparison itself: the tree is
// deterministic, and a one-byte content change, an xattr change, a
// symlink retarget and a broken hard link are all reported.
func TestSnapshotSeesDifferences(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	writeTree(t, a)
	writeTree(t, b)
	base := snapshot(t, a)
	r := &recorder{TB: t}
	compareSnapshots(r, "identical", base, snapshot(t, b))
	if r.failed {
		t.Fatalf("two writes of the tree differ: writeTree is not deterministic")
	}

	mutations := map[string]func(dir string) error{
		"content": func(dir string) error {
			f, err := os.OpenFile(filepath.Join(dir, "sizes/size-4097"), os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.WriteAt([]byte{'!'}, 4096)
			return err
		},
		"xattr": func(dir string) error {
			return unix.Setxattr(filepath.Join(dir, "xattr/file"), "user.comment", []byte("changed"), 0)
		},
		"symlink": func(dir string) error {
			p := filepath.Join(dir, "links/relative")
			if err := os.Remove(p); err != nil {
				return err
			}
			return os.Symlink("../sizes/size-0", p)
		},
		"hardlink": func(dir string) error {
			p := filepath.Join(dir, "hard/link")
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if err := os.Remove(p); err != nil {
				return err
			}
			return os.WriteFile(p, data, 0o644)
		},
		"perm": func(dir string) error { return os.Chmod(filepath.Join(dir, "sizes/exec.sh"), 0o644) },
	}
	for name, mutate := range mutations {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir)
			if err := mutate(dir); err != nil {
				t.Fatal(err)
			}
			r := &recorder{TB: t}
			compareSnapshots(r, name, base, snapshot(t, dir))
			if !r.failed {
				t.Errorf("compareSnapshots missed a %s change", name)
			}
		})
	}
}
