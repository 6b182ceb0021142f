//go:build linux

package cli

import (
	"encoding/json"
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

// veilfsOK runs the binary and fails the test unless it exits 0.
func veilfsOK(t *testing.T, stdin string, args ...string) harness.Result {
	t.Helper()
	res := harness.Run(t, stdin, args...)
	if res.Code != 0 {
		t.Fatalf("veilfs %s: %v", strings.Join(args, " "), res)
	}
	return res
}

// lsJSONEntry is the part of `veilfs ls --json` the tests read.
type lsJSONEntry struct {
	Type       string  `json:"type"`
	Size       *int64  `json:"size"`
	Name       *string `json:"name"`
	Path       *string `json:"path"`
	CipherPath string  `json:"cipher_path"`
	Sidecar    string  `json:"sidecar"`
	Conflict   *struct {
		Client, Label string
	} `json:"conflict"`
	Role  string `json:"role"`
	Error string `json:"error"`
}

func lsJSON(t *testing.T, args ...string) []lsJSONEntry {
	t.Helper()
	res := veilfsOK(t, "", append([]string{"ls", "--json"}, args...)...)
	var out []lsJSONEntry
	if err := json.Unmarshal([]byte(res.Stdout), &out); err != nil {
		t.Fatalf("ls --json: %v\n%s", err, res.Stdout)
	}
	return out
}

// treeEntry is one object of a plaintext tree: its type as ls prints it
// and its size (a file's length, a symlink target's; -1 for others).
type treeEntry struct {
	typ  string
	size int64
}

// walkMount returns the tree under mnt, keyed by path from its root.
func walkMount(t *testing.T, mnt string) map[string]treeEntry {
	t.Helper()
	out := map[string]treeEntry{}
	err := filepath.WalkDir(mnt, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == mnt {
			return err
		}
		rel, _ := filepath.Rel(mnt, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		e := treeEntry{"file", info.Size()}
		switch {
		case d.IsDir():
			e = treeEntry{"dir", -1}
		case d.Type()&fs.ModeSymlink != 0:
			e.typ = "symlink"
		}
		out[filepath.ToSlash(rel)] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// snapshot records everything about a ciphertext tree that a write would
// change: names, types, modes, sizes, contents' mtimes and ctimes.
func snapshot(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		out = append(out, fmt.Sprintf("%s %o %d %d.%d %d.%d", p, st.Mode, st.Size,
			st.Mtim.Sec, st.Mtim.Nsec, st.Ctim.Sec, st.Ctim.Nsec))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPathRoundTrip: on every kind of volume, for a tree written through a
// mount (nested directories, spaces, Unicode, names over every long-name
// limit, a symlink), while it is mounted: `path encrypt` prints a path that
// exists in CIPHERDIR with the right type (relative and --absolute), `path
// decrypt` gives the plaintext path back from either form, `--all` lists
// only files that exist, and `ls -R --json` lists exactly the tree the
// mount shows. A deleted file's name is still computed. Unmounted, none
// of the commands changes anything in CIPHERDIR.
func TestPathRoundTrip(t *testing.T) {
	harness.RequireFUSE(t)
	long := strings.Repeat("Ł", 100)      // 200 bytes: a long name everywhere but plaintext names
	mid := strings.Repeat("m", 50) + ".t" // long only with --longnamemax 62
	tree := []struct {
		path string
		kind byte // f file, d directory, l symlink
	}{
		{"top.txt", 'f'},
		{"dir", 'd'},
		{"dir/sub dir", 'd'},
		{"dir/sub dir/file with spaces.txt", 'f'},
		{"dir/" + mid, 'f'},
		{"dir/link", 'l'},
		{"Ünïcødé ✓", 'd'},
		{"Ünïcødé ✓/日本語 😀.txt", 'f'},
		{long, 'd'},
		{long + "/" + mid, 'd'},
		{long + "/" + mid + "/" + strings.Repeat("z", 255), 'f'},
	}
	for _, vol := range []struct {
		name  string
		flags []string
	}{
		{"default", nil},
		{"plaintextnames", []string{"--plaintextnames"}},
		{"deterministic-names", []string{"--deterministic-names"}},
		{"longnamemax62", []string{"--longnamemax", "62"}},
	} {
		t.Run(vol.name, func(t *testing.T) {
			t.Parallel()
			cipherdir, mnt := harness.NewVolume(t, vol.flags...)
			pw := harness.Passfile(t, harness.DefaultPassword)
			for i, e := range tree {
				p := filepath.Join(mnt, e.path)
				var err error
				switch e.kind {
				case 'f':
					err = os.WriteFile(p, []byte(strings.Repeat("x", i*1000)), 0o644)
				case 'd':
					err = os.Mkdir(p, 0o755)
				case 'l':
					err = os.Symlink("../top.txt", p)
				}
				if err != nil {
					t.Fatal(err)
				}
			}

			for _, e := range tree {
				rel := strings.TrimSuffix(veilfsOK(t, "", "path", "encrypt", "--passfile", pw, cipherdir, e.path).Stdout, "\n")
				var st unix.Stat_t
				if err := unix.Lstat(filepath.Join(cipherdir, rel), &st); err != nil {
					t.Errorf("path encrypt %s printed %s: %v", e.path, rel, err)
					continue
				}
				wantType := map[byte]uint32{'f': unix.S_IFREG, 'd': unix.S_IFDIR, 'l': unix.S_IFLNK}[e.kind]
				if st.Mode&unix.S_IFMT != wantType {
					t.Errorf("path encrypt %s printed %s, of mode %o", e.path, rel, st.Mode)
				}
				abs := veilfsOK(t, "", "path", "encrypt", "--absolute", "--passfile", pw, cipherdir, "/"+e.path).Stdout
				if abs != filepath.Join(cipherdir, rel)+"\n" {
					t.Errorf("path encrypt --absolute /%s = %q, want %s", e.path, abs, filepath.Join(cipherdir, rel))
				}
				for _, cp := range []string{rel, filepath.Join(cipherdir, rel)} {
					if got := veilfsOK(t, "", "path", "decrypt", "--passfile", pw, cipherdir, cp).Stdout; got != "/"+e.path+"\n" {
						t.Errorf("path decrypt %s = %q, want /%s", cp, got, e.path)
					}
				}
				all := veilfsOK(t, "", "path", "encrypt", "--all", "--passfile", pw, cipherdir, e.path)
				lines := strings.Split(strings.TrimSuffix(all.Stdout, "\n"), "\n")
				if lines[0] != rel || all.Stderr != "" {
					t.Errorf("path encrypt --all %s: first line %q, want %s; stderr %q", e.path, lines[0], rel, all.Stderr)
				}
				for _, l := range lines {
					if _, err := os.Lstat(filepath.Join(cipherdir, l)); err != nil {
						t.Errorf("path encrypt --all %s lists %s: %v", e.path, l, err)
					}
				}
			}

			// ls -R lists what the mount shows, nothing more or less.
			want := walkMount(t, mnt)
			got := map[string]treeEntry{}
			for _, e := range lsJSON(t, "-R", "--passfile", pw, cipherdir) {
				if e.Path == nil || e.Name == nil || e.Error != "" {
					t.Errorf("ls -R: entry %+v", e)
					continue
				}
				te := treeEntry{e.Type, -1}
				if e.Size != nil {
					te.size = *e.Size
				}
				got[strings.TrimPrefix(*e.Path, "/")] = te
			}
			if len(got) != len(want) {
				t.Errorf("ls -R lists %d entries, the mount %d", len(got), len(want))
			}
			for p, w := range want {
				if got[p] != w {
					t.Errorf("%s: ls -R says %+v, the mount %+v", p, got[p], w)
				}
			}
			// A subdirectory, by its plaintext path: paths in it are relative.
			sub := lsJSON(t, "--passfile", pw, cipherdir, "dir/sub dir")
			if len(sub) != 1 || *sub[0].Path != "/dir/sub dir/file with spaces.txt" {
				t.Errorf("ls dir/sub dir: %+v", sub)
			}

			// A deleted file keeps its name; it decrypts back.
			before := veilfsOK(t, "", "path", "encrypt", "--passfile", pw, cipherdir, "top.txt").Stdout
			if err := os.Remove(filepath.Join(mnt, "top.txt")); err != nil {
				t.Fatal(err)
			}
			res := veilfsOK(t, "", "path", "encrypt", "--passfile", pw, cipherdir, "top.txt")
			if res.Stdout != before || !strings.Contains(res.Stderr, "not in CIPHERDIR now") {
				t.Errorf("path encrypt of a deleted file: %v, want %q and a hint", res, before)
			}
			if got := veilfsOK(t, "", "path", "decrypt", "--passfile", pw, cipherdir, strings.TrimSpace(before)).Stdout; got != "/top.txt\n" {
				t.Errorf("path decrypt of a deleted file's name: %q", got)
			}

			harness.Unmount(t, mnt)
			snap := snapshot(t, cipherdir)
			veilfsOK(t, "", "ls", "-R", "-a", "--passfile", pw, cipherdir)
			veilfsOK(t, "", "ls", "-R", "--json", "--passfile", pw, cipherdir)
			veilfsOK(t, "", "path", "encrypt", "--all", "--passfile", pw, cipherdir, tree[len(tree)-1].path)
			veilfsOK(t, "", "path", "decrypt", "--passfile", pw, cipherdir, strings.TrimSpace(before))
			if after := snapshot(t, cipherdir); !slices.Equal(snap, after) {
				t.Errorf("CIPHERDIR changed:\nbefore %q\nafter  %q", snap, after)
			}
		})
	}
}

// TestPathMissingDirectory: in a volume with per-directory IVs, the names
// below a deleted directory cannot be computed: path encrypt says which
// directory, with its ciphertext path, and exits 11.
func TestPathMissingDirectory(t *testing.T) {
	harness.RequireFUSE(t)
	cipherdir, mnt := harness.NewVolume(t)
	pw := harness.Passfile(t, harness.DefaultPassword)
	if err := os.MkdirAll(filepath.Join(mnt, "a", "gone"), 0o755); err != nil {
		t.Fatal(err)
	}
	gone := strings.TrimSpace(veilfsOK(t, "", "path", "encrypt", "--passfile", pw, cipherdir, "a/gone").Stdout)
	if err := os.Remove(filepath.Join(mnt, "a", "gone")); err != nil {
		t.Fatal(err)
	}
	res := harness.Run(t, "", "path", "encrypt", "--passfile", pw, cipherdir, "a/gone/file.txt")
	if res.Code != 11 || !strings.Contains(res.Stderr, "directory /a/gone is not in CIPHERDIR") ||
		!strings.Contains(res.Stderr, gone) || !strings.Contains(res.Stderr, "gocryptfs.diriv") {
		t.Errorf("path encrypt below a deleted directory: %v, want exit 11 naming /a/gone and %s", res, gone)
	}
}

// TestPathConflictCopies: a ciphertext file renamed the way a sync client
// names a conflict copy decrypts to the name a mount shows for it, which
// ls lists and path encrypt maps back to the copy; the mount agrees.
func TestPathConflictCopies(t *testing.T) {
	harness.RequireFUSE(t)
	cipherdir, mnt := harness.NewVolume(t)
	pw := harness.Passfile(t, harness.DefaultPassword)
	long := strings.Repeat("l", 180) + ".txt"
	for _, name := range []string{"a.txt", "b.txt", long} {
		if err := os.WriteFile(filepath.Join(mnt, name), []byte("mine "+name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cipherOf := map[string]string{}
	for _, name := range []string{"a.txt", "b.txt", long} {
		cipherOf[name] = strings.TrimSpace(veilfsOK(t, "", "path", "encrypt", "--passfile", pw, cipherdir, name).Stdout)
	}
	harness.Unmount(t, mnt)

	hash := strings.TrimPrefix(cipherOf[long], "gocryptfs.longname.")
	cases := []struct {
		orig, renamed, shown, client string
	}{
		{"a.txt", cipherOf["a.txt"] + " (laptop's conflicted copy 2026-11-27)", "a (conflict 2026-11-27 laptop).txt", "Dropbox"},
		{"b.txt", cipherOf["b.txt"] + ".sync-conflict-20261127-093015-ABCDEF7", "b (conflict 2026-11-27 09:30:15 ABCDEF7).txt", "Syncthing"},
		{long, "gocryptfs.longname (conflicted copy 2026-11-27)." + hash, strings.TrimSuffix(long, ".txt") + " (conflict 2026-11-27).txt", "Dropbox"},
	}
	for _, c := range cases {
		if err := os.Rename(filepath.Join(cipherdir, cipherOf[c.orig]), filepath.Join(cipherdir, c.renamed)); err != nil {
			t.Fatal(err)
		}
	}
	listed := map[string]lsJSONEntry{}
	for _, e := range lsJSON(t, "--passfile", pw, cipherdir) {
		listed[e.CipherPath] = e
	}
	for _, c := range cases {
		if got := veilfsOK(t, "", "path", "decrypt", "--passfile", pw, cipherdir, c.renamed).Stdout; got != "/"+c.shown+"\n" {
			t.Errorf("path decrypt %q = %q, want /%s", c.renamed, got, c.shown)
		}
		if got := veilfsOK(t, "", "path", "encrypt", "--passfile", pw, cipherdir, c.shown).Stdout; got != c.renamed+"\n" {
			t.Errorf("path encrypt %q = %q, want the copy %q", c.shown, got, c.renamed)
		}
		e := listed[c.renamed]
		if e.Name == nil || *e.Name != c.shown || e.Conflict == nil || e.Conflict.Client != c.client {
			t.Errorf("ls lists %q as %+v, want %q, a %s conflict copy", c.renamed, e, c.shown, c.client)
		}
	}
	if table := veilfsOK(t, "", "ls", "--passfile", pw, cipherdir).Stdout; !strings.Contains(table, "Syncthing conflict copy") {
		t.Errorf("ls table has no conflict note:\n%s", table)
	}

	// The mount shows the same names, with the content of the copies.
	harness.MountVolume(t, cipherdir, mnt, harness.DefaultPassword)
	for _, c := range cases {
		data, err := os.ReadFile(filepath.Join(mnt, c.shown))
		if err != nil || string(data) != "mine "+c.orig {
			t.Errorf("the mount's %q: %q, %v", c.shown, data, err)
		}
	}
}

// TestPathUnlockers: path and ls open the volume with every unlocker, give
// the same answers with each, and refuse a wrong one with exit 12.
func TestPathUnlockers(t *testing.T) {
	harness.RequireFUSE(t)
	cipherdir := filepath.Join(t.TempDir(), "cipher")
	mnt := t.TempDir()
	pw := harness.Passfile(t, password)
	key := masterKeyOf(t, veilfsOK(t, "", "init", "--scryptn", "10", "--passfile", pw, cipherdir).Stdout)
	keyfile := filepath.Join(t.TempDir(), "keyfile")
	pw2 := harness.Passfile(t, "alice's own password")
	veilfsOK(t, "", "keys", "add", "--passfile", pw, "--label", "usb", "--new-keyfile", keyfile, cipherdir)
	veilfsOK(t, "", "keys", "add", "--passfile", pw, "--label", "alice", "--new-passfile", pw2, cipherdir)
	harness.MountVolume(t, cipherdir, mnt, password)
	if err := os.MkdirAll(filepath.Join(mnt, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mnt, "d", "f.txt"), []byte("content"), 0o644); err != nil {
		t.Fatal(err)
	}
	harness.Unmount(t, mnt)

	keyFile := filepath.Join(t.TempDir(), "masterkey")
	os.WriteFile(keyFile, []byte(key+"\n"), 0o600)
	wrongKey := strings.Repeat("0", 64)
	ref := strings.TrimSpace(veilfsOK(t, "", "path", "encrypt", "--passfile", pw, cipherdir, "d/f.txt").Stdout)
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		code  int
	}{
		{"password on stdin", password + "\n", nil, 0},
		{"extra password", "", []string{"--passfile", pw2}, 0},
		{"extpass", "", []string{"--extpass", "cat " + pw}, 0},
		{"keyfile", "", []string{"--keyfile", keyfile}, 0},
		{"masterkey", "", []string{"--masterkey", key}, 0},
		{"masterkey-file", "", []string{"--masterkey-file", keyFile}, 0},
		{"masterkey stdin", key + "\n", []string{"--masterkey", "-"}, 0},
		{"wrong password", "", []string{"--passfile", harness.Passfile(t, "nope")}, 12},
		{"wrong master key", "", []string{"--masterkey", wrongKey}, 12},
		{"two unlockers", "", []string{"--passfile", pw, "--keyfile", keyfile}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, cmd := range [][]string{
				{"path", "encrypt"}, {"path", "decrypt"}, {"ls"},
			} {
				args := append(append(slices.Clone(cmd), tc.args...), cipherdir)
				want := ref + "\n"
				switch cmd[len(cmd)-1] {
				case "encrypt":
					args = append(args, "d/f.txt")
				case "decrypt":
					args = append(args, ref)
					want = "/d/f.txt\n"
				case "ls":
					args = append(args, "d")
					want = "f.txt"
				}
				res := harness.Run(t, tc.stdin, args...)
				if res.Code != tc.code || (tc.code == 0 && !strings.Contains(res.Stdout, want)) {
					t.Errorf("veilfs %s: %v; want exit %d and %q", strings.Join(args, " "), res, tc.code, want)
				}
			}
		})
	}
}
