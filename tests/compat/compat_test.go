package compat

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/tests/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }

// fixture is the part of fixtures.json these tests use.
type fixture struct {
	Name               string  `json:"fixture"`
	Password           string  `json:"password"`
	MasterkeyAsPrinted string  `json:"masterkey_as_printed"`
	Cipherdir          string  `json:"cipherdir"`
	Entries            []entry `json:"entries"`
	CipherXattrs       []struct {
		CipherPath  string `json:"cipher_path"`
		Name        string `json:"name"`
		ValueBase64 string `json:"value_base64"`
	} `json:"cipher_xattrs"`
}

type entry struct {
	Path   string            `json:"path"`
	Type   string            `json:"type"` // file, dir, symlink
	Size   *int64            `json:"size"`
	Sha256 string            `json:"sha256"`
	Target *string           `json:"target"`
	Xattrs map[string]string `json:"xattrs"`
	// Ciphertext side.
	CipherPath   string `json:"cipher_path"`
	CipherTarget string `json:"cipher_target"`
}

// loadFixtures returns every folder of testdata/fixtures with a
// fixtures.json, parsed. It fails if there are none: a missing checkout of
// the fixtures must not look like a pass.
func loadFixtures(t *testing.T) map[string]fixture {
	t.Helper()
	root := harness.FixturesDir(t)
	matches, err := filepath.Glob(filepath.Join(root, "*", "fixtures.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(matches) == 0 {
		t.Fatalf("no fixtures found under %s", root)
	}
	out := map[string]fixture{}
	for _, m := range matches {
		b, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		var fx fixture
		if err := json.Unmarshal(b, &fx); err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		if fx.Password == "" || fx.Cipherdir == "" || len(fx.Entries) == 0 {
			t.Fatalf("%s: incomplete manifest", m)
		}
		out[filepath.Base(filepath.Dir(m))] = fx
	}
	return out
}

func sortedKeys(m map[string]fixture) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// prepareCipherdir copies the fixture's cipher/ tree into a temp dir (the
// checkout stays untouched, and the copy lives on a filesystem with user
// xattrs), turns back into symlinks the backing symlinks that the checkout
// stores as regular files holding the link text, and re-applies the
// encrypted xattrs that git cannot store: the Go equivalent of
// testdata/fixtures/restore-xattrs.py.
func prepareCipherdir(t *testing.T, fixtureDir string, fx fixture) string {
	t.Helper()
	src := filepath.Join(fixtureDir, fx.Cipherdir)
	dst := filepath.Join(t.TempDir(), "cipher")
	copyTree(t, src, dst)
	for _, e := range fx.Entries {
		if e.Type != "symlink" {
			continue
		}
		if e.CipherPath == "" || e.CipherTarget == "" {
			t.Fatalf("%s: symlink entry without cipher_path/cipher_target", e.Path)
		}
		p := filepath.Join(dst, filepath.FromSlash(e.CipherPath))
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatalf("backing symlink of %s: %v", e.Path, err)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			if l, _ := os.Readlink(p); l != e.CipherTarget {
				t.Fatalf("backing symlink of %s points to %q, manifest says %q", e.Path, l, e.CipherTarget)
			}
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil || string(b) != e.CipherTarget {
			t.Fatalf("backing file of symlink %s holds %q (%v), want the link text %q", e.Path, b, err, e.CipherTarget)
		}
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(e.CipherTarget, p); err != nil {
			t.Fatal(err)
		}
	}
	for _, x := range fx.CipherXattrs {
		val, err := base64.StdEncoding.DecodeString(x.ValueBase64)
		if err != nil {
			t.Fatalf("cipher_xattrs %s %s: %v", x.CipherPath, x.Name, err)
		}
		p := filepath.Join(dst, filepath.FromSlash(x.CipherPath))
		if err := unix.Lsetxattr(p, x.Name, val, 0); err != nil {
			t.Fatalf("restoring xattr %s on %s: %v", x.Name, x.CipherPath, err)
		}
	}
	return dst
}

// copyTree copies a tree of regular files, directories and symlinks. Modes
// are whatever git left (gocryptfs.conf would be 0400 on a real volume; a
// reader must not depend on that).
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(l, target)
		case d.Type().IsRegular():
			in, err := os.Open(p)
			if err != nil {
				return err
			}
			defer in.Close()
			out, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
			if err != nil {
				return err
			}
			if _, err := io.Copy(out, in); err != nil {
				out.Close()
				return err
			}
			return out.Close()
		default:
			return nil
		}
	})
	if err != nil {
		t.Fatalf("copying %s: %v", src, err)
	}
}

func TestFixtures(t *testing.T) {
	harness.RequireFUSE(t)
	fixtures := loadFixtures(t)
	root := harness.FixturesDir(t)
	for _, name := range sortedKeys(fixtures) {
		fx := fixtures[name]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cipherdir := prepareCipherdir(t, filepath.Join(root, name), fx)
			mnt := t.TempDir()
			harness.MountVolume(t, cipherdir, mnt, fx.Password, "--ro")
			checkEntries(t, mnt, fx)
			checkListings(t, mnt, fx)
			checkXattrs(t, mnt, fx)
			checkReadOnly(t, mnt, fx)
		})
	}
}

// TestFixturesMasterkey mounts every fixture with the master key as printed
// by `gocryptfs -init` instead of the password. The format flags come from
// gocryptfs.conf, so none are repeated here.
func TestFixturesMasterkey(t *testing.T) {
	harness.RequireFUSE(t)
	fixtures := loadFixtures(t)
	root := harness.FixturesDir(t)
	for _, name := range sortedKeys(fixtures) {
		fx := fixtures[name]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if fx.MasterkeyAsPrinted == "" {
				t.Fatal("fixture has no masterkey_as_printed")
			}
			cipherdir := prepareCipherdir(t, filepath.Join(root, name), fx)
			mnt := t.TempDir()
			harness.MountWith(t, cipherdir, mnt, "--ro", "--masterkey", fx.MasterkeyAsPrinted)
			// The largest file exercises the most blocks; one nested
			// entry exercises name decryption below the root.
			var biggest, nested *entry
			for i := range fx.Entries {
				e := &fx.Entries[i]
				if e.Type != "file" {
					continue
				}
				if biggest == nil || *e.Size > *biggest.Size {
					biggest = e
				}
				if strings.Contains(e.Path, "/") && nested == nil {
					nested = e
				}
			}
			if biggest == nil {
				t.Fatal("fixture has no file entry")
			}
			checkFile(t, mnt, *biggest)
			if nested != nil {
				checkFile(t, mnt, *nested)
			}
		})
	}
}

func checkFile(t *testing.T, mnt string, e entry) {
	t.Helper()
	p := filepath.Join(mnt, filepath.FromSlash(e.Path))
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Errorf("%s: lstat: %v", e.Path, err)
		return
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		t.Errorf("%s: mode %o, want a regular file", e.Path, st.Mode)
		return
	}
	if e.Size != nil && st.Size != *e.Size {
		t.Errorf("%s: st_size %d, want %d", e.Path, st.Size, *e.Size)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Errorf("%s: read: %v", e.Path, err)
		return
	}
	if e.Size != nil && int64(len(data)) != *e.Size {
		t.Errorf("%s: read %d bytes, want %d", e.Path, len(data), *e.Size)
	}
	h := sha256.Sum256(data)
	if got := hex.EncodeToString(h[:]); got != e.Sha256 {
		t.Errorf("%s: sha256 %s, want %s", e.Path, got, e.Sha256)
	}
}

func checkEntries(t *testing.T, mnt string, fx fixture) {
	t.Helper()
	for _, e := range fx.Entries {
		p := filepath.Join(mnt, filepath.FromSlash(e.Path))
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			t.Errorf("%s: lstat: %v", e.Path, err)
			continue
		}
		switch e.Type {
		case "file":
			checkFile(t, mnt, e)
		case "dir":
			if st.Mode&unix.S_IFMT != unix.S_IFDIR {
				t.Errorf("%s: mode %o, want a directory", e.Path, st.Mode)
			}
		case "symlink":
			if st.Mode&unix.S_IFMT != unix.S_IFLNK {
				t.Errorf("%s: mode %o, want a symlink", e.Path, st.Mode)
				continue
			}
			if e.Target == nil {
				t.Errorf("%s: manifest has no target", e.Path)
				continue
			}
			got, err := os.Readlink(p)
			if err != nil || got != *e.Target {
				t.Errorf("%s: readlink = %q, %v; want %q", e.Path, got, err, *e.Target)
			}
			if st.Size != int64(len(*e.Target)) {
				t.Errorf("%s: lstat size %d, want len(target) = %d", e.Path, st.Size, len(*e.Target))
			}
		default:
			t.Errorf("%s: unknown type %q in manifest", e.Path, e.Type)
		}
	}
}

// checkListings compares every directory's listing with the manifest
// exactly: nothing missing, nothing extra (gocryptfs.conf, gocryptfs.diriv
// and long-name sidecars must stay hidden).
func checkListings(t *testing.T, mnt string, fx fixture) {
	t.Helper()
	want := map[string][]string{"": nil}
	for _, e := range fx.Entries {
		if e.Type == "dir" {
			if _, ok := want[e.Path]; !ok {
				want[e.Path] = nil
			}
		}
		parent := path.Dir(e.Path)
		if parent == "." {
			parent = ""
		}
		want[parent] = append(want[parent], path.Base(e.Path))
	}
	for dir, names := range want {
		sort.Strings(names)
		f, err := os.Open(filepath.Join(mnt, filepath.FromSlash(dir)))
		if err != nil {
			t.Errorf("open dir %q: %v", dir, err)
			continue
		}
		got, err := f.Readdirnames(-1)
		f.Close()
		if err != nil {
			t.Errorf("readdir %q: %v", dir, err)
			continue
		}
		sort.Strings(got)
		if strings.Join(got, "\x00") != strings.Join(names, "\x00") {
			t.Errorf("listing of %q:\n got  %q\n want %q", dir, got, names)
		}
	}
}

// checkXattrs compares each entry's user.* attributes through the mount
// with the manifest, by name and value; entries without recorded xattrs
// must have none.
func checkXattrs(t *testing.T, mnt string, fx fixture) {
	t.Helper()
	recorded := 0
	for _, e := range fx.Entries {
		recorded += len(e.Xattrs)
	}
	if recorded > 0 && len(fx.CipherXattrs) == 0 {
		t.Fatal("manifest lists plaintext xattrs but no cipher_xattrs to restore")
	}
	for _, e := range fx.Entries {
		if e.Type == "symlink" {
			continue // Linux allows no user.* attributes on symlinks
		}
		p := filepath.Join(mnt, filepath.FromSlash(e.Path))
		got := map[string]string{}
		sz, err := unix.Llistxattr(p, nil)
		if err != nil {
			t.Errorf("%s: listxattr: %v", e.Path, err)
			continue
		}
		buf := make([]byte, sz)
		sz, err = unix.Llistxattr(p, buf)
		if err != nil {
			t.Errorf("%s: listxattr: %v", e.Path, err)
			continue
		}
		for _, name := range bytes.Split(buf[:sz], []byte{0}) {
			if len(name) == 0 || !bytes.HasPrefix(name, []byte("user.")) {
				continue
			}
			vbuf := make([]byte, 65536)
			n, err := unix.Lgetxattr(p, string(name), vbuf)
			if err != nil {
				t.Errorf("%s: getxattr %s: %v", e.Path, name, err)
				continue
			}
			got[string(name)] = string(vbuf[:n])
		}
		want := e.Xattrs
		if want == nil {
			want = map[string]string{}
		}
		if len(got) != len(want) {
			t.Errorf("%s: xattrs %q, want %q", e.Path, got, want)
			continue
		}
		for k, v := range want {
			if g, ok := got[k]; !ok || g != v {
				t.Errorf("%s: xattr %s = %q (present %v), want %q", e.Path, k, g, ok, v)
			}
		}
	}
}

// checkReadOnly: the fixtures are mounted with --ro; writes must fail with
// EROFS and leave the copy untouched.
func checkReadOnly(t *testing.T, mnt string, fx fixture) {
	t.Helper()
	_, err := unix.Open(filepath.Join(mnt, "new-file"), unix.O_CREAT|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
	if err != unix.EROFS {
		t.Errorf("create on a --ro mount: %v, want EROFS", err)
	}
	for _, e := range fx.Entries {
		if e.Type == "file" {
			_, err := unix.Open(filepath.Join(mnt, filepath.FromSlash(e.Path)), unix.O_WRONLY|unix.O_CLOEXEC, 0)
			if err != unix.EROFS {
				t.Errorf("open %s for writing on a --ro mount: %v, want EROFS", e.Path, err)
			}
			break
		}
	}
}
