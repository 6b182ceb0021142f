package view

import (
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/nametransform"
)

// reverseVectors are names and IVs of real reverse views: the plaintext
// trees below were made reverse volumes with gocryptfs 2.3
// (gocryptfs -init -reverse), mounted with gocryptfs -reverse, and the
// names, .name sidecars and gocryptfs.diriv contents of the view copied
// from `find MNT`. The master keys come from gocryptfs-xray -dumpmasterkey.
var reverseVectors = []struct {
	name   string
	master string
	opts   config.CreateOptions
	// paths maps a plaintext path to its view path.
	paths map[string]string
	// sidecars maps the view path of a long name to its sidecar's content.
	sidecars map[string]string
	// dirIVs maps a view directory to its virtual gocryptfs.diriv.
	dirIVs map[string]string
}{
	{
		name:   "default",
		master: "f2c783ceb5daca98be85e46dac9dfa1ccf07d3621eb8a3fc2982112581fbc6ce",
		paths: map[string]string{
			"hello.txt":                              "NzJ8y5mGecX5AtQjJ2oZ7g",
			"sub":                                    "bPliMSEWJnQuvyCHndzaow",
			"sub/inner.txt":                          "bPliMSEWJnQuvyCHndzaow/e5mOVgZMg5Oi1S7r0ICEvA",
			"sub/deeper":                             "bPliMSEWJnQuvyCHndzaow/9TphYr2MMSLWAqV1PpE2Qw",
			"sub/" + strings.Repeat("L", 200):        "bPliMSEWJnQuvyCHndzaow/gocryptfs.longname.E4MPGo0gfDg2nCYmsmt4JfuehwrbFlPEUHwd-W0TIF0",
			"sub/deeper/" + strings.Repeat("D", 180): "bPliMSEWJnQuvyCHndzaow/9TphYr2MMSLWAqV1PpE2Qw/gocryptfs.longname.owgze2CPTBsoT63kdq0mnJ6YM0Dbgu-NOsnQVf5wOoI",
		},
		sidecars: map[string]string{
			"bPliMSEWJnQuvyCHndzaow/gocryptfs.longname.E4MPGo0gfDg2nCYmsmt4JfuehwrbFlPEUHwd-W0TIF0":                        "8DmFsvYnQL87guY3CSuwKcEI8SU0Zkq2ENEkycRyHEH_VxozIBCEN-Fausixq-N5D61ChqJ3dFuc1ZhJFDQDtE48JpoyfixtVt7WIlr_J4zKSK5Xk8VJbtgbbmc-tkQrkVKe3BrXNyU1MDboAf7dglnXwQXxK2NYlGQTOw9MpBFp8TliD8OOH-M4u2ZP-V4myPHdvWTdcP0dHp22Olr8qMLzuIWBs8A6_fL3LV5URJ9koM5FeKUffdy8boulwoUzDtNgsDdSUSdXxxNZC-FmNw",
			"bPliMSEWJnQuvyCHndzaow/9TphYr2MMSLWAqV1PpE2Qw/gocryptfs.longname.owgze2CPTBsoT63kdq0mnJ6YM0Dbgu-NOsnQVf5wOoI": "At-yKlIdI9CToK-FQy37jVS6Q66g__2U14Tf3b7MB-gkErAaV9xTBraYu9NEYHeNZwzhQh74L3_PXpQS_BP7ib08M5mRrErMMuQW_INSk2zsOJVXW_zXb2LX6eyBrBwJKHO8wrPv0ntRgV7cTcvu1fgKWruFmtNvX74Y6UIXNavwL_v0CFl7GcbEAK5DEsPkkf9lEy2zG8ZM9iQnOnbfHEt_juoY4oJVq40TyWA9Evbkw0hR5HouKiuJ1aDFnQHq",
		},
		dirIVs: map[string]string{
			"":                       "a8f7bac432ddc1cb3dc74e684d6ae48b",
			"bPliMSEWJnQuvyCHndzaow": "ae133990f6c6b2f798d176f100010331",
			"bPliMSEWJnQuvyCHndzaow/9TphYr2MMSLWAqV1PpE2Qw":                                                                "01609bf487f32f699b4875e01ef69b85",
			"bPliMSEWJnQuvyCHndzaow/9TphYr2MMSLWAqV1PpE2Qw/gocryptfs.longname.owgze2CPTBsoT63kdq0mnJ6YM0Dbgu-NOsnQVf5wOoI": "e8ee7bb1fc413523f414ff5bc302d440",
		},
	},
	{
		// gocryptfs -init -reverse -deterministic-names -longnamemax 62
		name:   "deterministic-longnamemax62",
		master: "b7a127cd50500b4b00052d4aab283eead189870dc3955ffc55b75b0c233d87bc",
		opts:   config.CreateOptions{DeterministicNames: true, LongNameMax: 62},
		paths: map[string]string{
			"hello.txt": "9k3_-54BX0WeXCDzqaEpww",
			"sub":       "zatXBD3_oa7vedSAZvFBlA",
			"sub/a-name-that-is-long-enough-to-be-hashed-with-62.txt": "zatXBD3_oa7vedSAZvFBlA/gocryptfs.longname.Z-eF7hnGv0AXDF5NjDbogLtQd_cMojNClliAFfYAHhw",
		},
		sidecars: map[string]string{
			"zatXBD3_oa7vedSAZvFBlA/gocryptfs.longname.Z-eF7hnGv0AXDF5NjDbogLtQd_cMojNClliAFfYAHhw": "Ajow4A2SfLdi5tk0q5Oi9qcGFHzB3hlBqyTULw-CSfPcLU5pHS7-ws_Op_vIE4fchS9tf4BK-8HiWpLM1hRIMQ",
		},
	},
}

// newReverseVolume opens a reverse volume on a new plaintext directory
// holding the given plaintext paths (the last component of each a file,
// the rest directories), with master given in hex.
func newReverseVolume(t *testing.T, masterHex string, opts config.CreateOptions, paths []string) (*cipherdir.Volume, int) {
	t.Helper()
	dir := t.TempDir()
	for _, p := range paths {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(full); err == nil && fi.IsDir() {
			continue // a directory listed before its own entries
		}
		if err := os.WriteFile(full, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	master, err := hex.DecodeString(masterHex)
	if err != nil {
		t.Fatal(err)
	}
	conf, err := config.New(master, []byte("pw"), config.CreateOptions{
		PlaintextNames: opts.PlaintextNames, DeterministicNames: opts.DeterministicNames,
		LongNameMax: opts.LongNameMax, AESSIV: true, LogN: 10,
	})
	if err != nil {
		t.Fatal(err)
	}
	v, err := cipherdir.OpenWithConfig(dir, conf, master)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Wipe)
	root, err := v.OpenRoot()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(root) })
	return v, root
}

func TestReversePathsGocryptfsVectors(t *testing.T) {
	for _, vec := range reverseVectors {
		t.Run(vec.name, func(t *testing.T) {
			// Directories first, so that newReverseVolume makes them as such.
			plains := slices.Sorted(func(yield func(string) bool) {
				for p := range vec.paths {
					if !yield(p) {
						return
					}
				}
			})
			slices.SortFunc(plains, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
			v, root := newReverseVolume(t, vec.master, vec.opts, plains)
			for plain, want := range vec.paths {
				// Pure computation, and with the tree at hand.
				for _, fd := range []int{-1, root} {
					p, err := EncryptPath(v, fd, plain)
					if err != nil {
						t.Fatalf("encrypt %q: %v", plain, err)
					}
					if got := p.Cipher(); got != want {
						t.Errorf("encrypt %q (rootfd %d) = %s, gocryptfs shows %s", plain, fd, got, want)
					}
					if p.Exists != (fd >= 0) {
						t.Errorf("encrypt %q (rootfd %d): Exists = %v", plain, fd, p.Exists)
					}
				}
				p, role, err := DecryptPath(v, root, want)
				if err != nil || role != cipherdir.RoleEntry || p.Plain() != "/"+plain || !p.Exists {
					t.Errorf("decrypt %s = %v, %v, %v; want /%s", want, p, role, err, plain)
				}
			}
			for view, want := range vec.sidecars {
				dir, base := view[:strings.LastIndexByte(view, '/')], view[strings.LastIndexByte(view, '/')+1:]
				var plain string
				for pl, vw := range vec.paths {
					if vw == view {
						plain = pl
					}
				}
				_, cname, err := Name(v, plain[strings.LastIndexByte(plain, '/')+1:], dir)
				if err != nil || cname != want {
					t.Errorf("sidecar of %s = %q, %v; gocryptfs shows %q", view, cname, err, want)
				}
				// The sidecar decrypts to the entry whose name it holds.
				p, role, err := DecryptPath(v, root, view+nametransform.LongNameSuffix)
				if err != nil || role != cipherdir.RoleSidecar || p.Plain() != "/"+plain || p.Steps[len(p.Steps)-1].Disk != base {
					t.Errorf("decrypt sidecar %s.name = %v, %v, %v", view, p, role, err)
				}
			}
			for view, want := range vec.dirIVs {
				if got := hex.EncodeToString(DirIV(v, view)); got != want {
					t.Errorf("diriv of %q = %s, gocryptfs shows %s", view, got, want)
				}
			}
		})
	}
}

// reverseModes are the name modes of the round-trip tests.
var reverseModes = map[string]config.CreateOptions{
	"default":       {},
	"plaintext":     {PlaintextNames: true},
	"deterministic": {DeterministicNames: true},
	"longnamemax62": {LongNameMax: 62},
}

const testMasterHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

func TestReversePathRoundTrip(t *testing.T) {
	long := strings.Repeat("ä", 100) // 200 bytes: long in every encrypted mode
	paths := []string{
		"a/b/c.txt",
		"a/" + long + "/d",
		"a/" + long + "/gocryptfs.diriv",
		"x y/" + long,
		"top.txt",
	}
	for mode, opts := range reverseModes {
		t.Run(mode, func(t *testing.T) {
			v, root := newReverseVolume(t, testMasterHex, opts, paths)
			check := []string{"", "a", "a/b", "a/" + long, "x y"}
			check = append(check, paths...)
			for _, plain := range check {
				p, err := EncryptPath(v, root, plain)
				if err != nil {
					t.Fatalf("encrypt %q: %v", plain, err)
				}
				if !p.Exists {
					t.Errorf("encrypt %q: Exists not set", plain)
				}
				wantDir := !slices.Contains(paths, plain)
				if p.IsDir != wantDir {
					t.Errorf("encrypt %q: IsDir = %v", plain, p.IsDir)
				}
				if opts.PlaintextNames && p.Cipher() != plain {
					t.Errorf("plaintext names: %q encrypts to %q", plain, p.Cipher())
				}
				back, role, err := DecryptPath(v, root, p.Cipher())
				if err != nil || role != cipherdir.RoleEntry {
					t.Fatalf("decrypt %q (of %q): %v, %v", p.Cipher(), plain, role, err)
				}
				if back.Plain() != p.Plain() || back.Cipher() != p.Cipher() {
					t.Errorf("round trip of %q: %s -> %s", plain, p.Cipher(), back.Plain())
				}
				// A leading "/" changes nothing.
				if q, err := EncryptPath(v, root, "/"+plain); err != nil || q.Cipher() != p.Cipher() {
					t.Errorf("encrypt /%s = %v, %v", plain, q, err)
				}
			}
		})
	}
}

// TestReverseViewFiles: RestoreFiles lists, for a reverse path, the files
// of the view a copy of it needs: the names the view shows, with its
// virtual gocryptfs.diriv files and sidecars.
func TestReverseViewFiles(t *testing.T) {
	long := strings.Repeat("n", 200)
	v, root := newReverseVolume(t, testMasterHex, config.CreateOptions{}, []string{"d/" + long + "/f"})
	p, err := EncryptPath(v, root, "d/"+long+"/f")
	if err != nil {
		t.Fatal(err)
	}
	d, l, f := p.Steps[0].Disk, p.Steps[1].Disk, p.Steps[2].Disk
	want := []string{
		d + "/" + l + "/" + f,
		d + "/" + l + "/gocryptfs.diriv",
		d + "/" + l + ".name",
		d + "/gocryptfs.diriv",
		"gocryptfs.diriv",
	}
	if got := v.RestoreFiles(p); !slices.Equal(got, want) {
		t.Errorf("RestoreFiles:\n got %q\nwant %q", got, want)
	}
	if !strings.HasPrefix(l, "gocryptfs.longname.") {
		t.Errorf("long name step %q is not hashed", l)
	}
}

func TestReverseDecryptOwnFiles(t *testing.T) {
	long := strings.Repeat("n", 200)
	v, root := newReverseVolume(t, testMasterHex, config.CreateOptions{}, []string{"d/" + long})
	p, err := EncryptPath(v, root, "d/"+long)
	if err != nil {
		t.Fatal(err)
	}
	d, l := p.Steps[0].Disk, p.Steps[1].Disk
	tests := []struct {
		view  string
		role  cipherdir.FileRole
		plain string
	}{
		{"gocryptfs.conf", cipherdir.RoleConfig, "/"},
		{"gocryptfs.diriv", cipherdir.RoleDirIV, "/"},
		{d + "/gocryptfs.diriv", cipherdir.RoleDirIV, "/d"},
		{d + "/" + l + ".name", cipherdir.RoleSidecar, "/d/" + long},
		{"/" + d + "/" + l, cipherdir.RoleEntry, "/d/" + long},
	}
	for _, tt := range tests {
		p, role, err := DecryptPath(v, root, tt.view)
		if err != nil || role != tt.role || p.Plain() != tt.plain {
			t.Errorf("decrypt %s = %v, %v, %v; want %s %s", tt.view, p, role, err, tt.role, tt.plain)
		}
	}
}

func TestReversePathErrors(t *testing.T) {
	long := strings.Repeat("n", 200)
	v, root := newReverseVolume(t, testMasterHex, config.CreateOptions{}, []string{"file", "d/x"})
	if err := os.Symlink("d", filepath.Join(v.Dir, "link")); err != nil {
		t.Fatal(err)
	}
	encrypt := func(p string) string {
		t.Helper()
		vp, err := EncryptPath(v, -1, p)
		if err != nil {
			t.Fatal(err)
		}
		return vp.Cipher()
	}

	// Encrypting: the config is not in the view; a path through a file or
	// a symlink is not a path of the tree; a missing path is computed.
	for p, want := range map[string]error{
		config.ReverseFilename:                 ErrNotInView,
		"file/below":                           cipherdir.ErrNotInTree,
		"link/x":                               cipherdir.ErrNotInTree,
		"../outside":                           cipherdir.ErrNotInTree,
		"d/" + config.ReverseFilename + "/../": cipherdir.ErrNotInTree,
	} {
		if _, err := EncryptPath(v, root, p); !errors.Is(err, want) {
			t.Errorf("encrypt %q: %v, want %v", p, err, want)
		}
	}
	// Below the root the name is an ordinary one.
	if _, err := EncryptPath(v, root, "d/"+config.ReverseFilename); err != nil {
		t.Errorf("encrypt d/%s: %v", config.ReverseFilename, err)
	}
	p, err := EncryptPath(v, root, "gone/deeper/"+long)
	if err != nil || p.Exists || p.Steps[2].Sidecar == "" {
		t.Errorf("missing path: %+v, %v", p, err)
	}

	// Decrypting.
	gone := encrypt("gone/" + long)
	for view, want := range map[string]error{
		"nonsense!":                          nametransform.ErrCorruptName,
		"gocryptfs.longname.AAAA":            ErrNotInView,
		encrypt("d") + "/gocryptfs.conf":     ErrNotInView,
		"gocryptfs.diriv/x":                  cipherdir.ErrNotInTree,
		encrypt("file") + "/" + encrypt("x"): cipherdir.ErrNotInTree,
		encrypt("link") + "/" + encrypt("x"): cipherdir.ErrNotInTree,
		encrypt("d/" + long):                 ErrNotInView, // no such entry in d
		gone:                                 unix.ENOENT,
	} {
		if _, _, err := DecryptPath(v, root, view); !errors.Is(err, want) {
			t.Errorf("decrypt %q: %v, want %v", view, err, want)
		}
	}
	// A short name decrypts without its plaintext: from a backup of a
	// file deleted since.
	if p, role, err := DecryptPath(v, root, encrypt("gone/old.txt")); err != nil || role != cipherdir.RoleEntry || p.Plain() != "/gone/old.txt" || p.Exists {
		t.Errorf("decrypt a deleted file: %+v, %v, %v", p, role, err)
	}
}
