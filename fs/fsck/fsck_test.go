package fsck

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/fs/syncmem"
	"github.com/veilfs/veilfs/nametransform"
)

var (
	longL = strings.Repeat("L", 200) // a hashed long name with the default limit
	longM = strings.Repeat("M", 200)
	sizes = map[string]int{"a.txt": 5000, "dir/b.txt": 100, "dir/sub/c.txt": 10, "dir2/d.txt": 30, "dir2/e.txt": 4096,
		longL: 77, "dir/" + longM: 88}
)

// populate writes the tree every test starts from: files of several sizes
// (0 bytes, header only, two blocks, a sparse one), subdirectories, an
// empty directory, long names, a symlink and xattrs.
func populate(tv *tvol) {
	for _, d := range []string{"dir", "dir/sub", "dir2", "emptydir"} {
		tv.mkdir(d)
	}
	for _, p := range slices.Sorted(maps.Keys(sizes)) {
		tv.writeFile(p, payload(p, sizes[p]))
	}
	tv.writeFile("empty.txt", nil)
	tv.writeHeaderOnly("header-only")
	tv.writeFile("sparse.bin", append(make([]byte, 2*cipher.PlainBlockSize), payload("sparse", 100)...), 0, 1)
	tv.symlink("link", "a.txt")
	tv.setxattr("a.txt", "user.x", []byte("value"))
	tv.setxattr("a.txt", "user.empty", nil)
	tv.setxattr("dir", "user.d", []byte("dir value"))
}

var volumeKinds = []struct {
	name string
	opts config.CreateOptions
}{
	{"default", config.CreateOptions{}},
	{"plaintextnames", config.CreateOptions{PlaintextNames: true}},
	{"deterministic-names", config.CreateOptions{DeterministicNames: true}},
	{"aessiv", config.CreateOptions{AESSIV: true}},
	{"xchacha", config.CreateOptions{XChaCha: true}},
	{"longnamemax-62", config.CreateOptions{LongNameMax: 62}},
}

// A healthy volume of every kind is clean, and neither a check nor a
// repair changes a byte of it.
func TestCleanVolumes(t *testing.T) {
	for _, k := range volumeKinds {
		t.Run(k.name, func(t *testing.T) {
			tv := newVolume(t, k.opts)
			populate(tv)
			before := snapshot(t, tv.dir)
			for _, repair := range []bool{false, true} {
				rep := tv.check(Options{Repair: repair})
				if len(rep.Problems) != 0 || !rep.Summary.Clean || !rep.Summary.Complete {
					t.Fatalf("repair=%v: want a clean report, got\n%s", repair, dumpReport(rep))
				}
				if s := rep.Summary; s.Dirs != 5 || s.Files != 10 || s.Symlinks != 1 || s.Bytes == 0 {
					t.Errorf("repair=%v: summary counts %+v", repair, s)
				}
			}
			if after := snapshot(t, tv.dir); !maps.Equal(before, after) {
				t.Errorf("fsck changed the volume")
			}
		})
	}
}

// brokenCase breaks a populated default volume one way.
type brokenCase struct {
	name    string
	opts    config.CreateOptions
	setup   func(tv *tvol) // before breakIt, e.g. an extra unlocker
	breakIt func(t *testing.T, tv *tvol)
	want    []Kind // the kinds reported, sorted
	block   *uint64
	// repaired: --repair fixes the problems (those of kind Error).
	repaired bool
	// left: the error kinds a check after the repair still reports.
	left []Kind
	// after checks the volume after the repair.
	after func(t *testing.T, tv *tvol)
}

func ptr[T any](v T) *T { return &v }

func truncate(t *testing.T, p string, size int64) {
	t.Helper()
	if err := os.Truncate(p, size); err != nil {
		t.Fatal(err)
	}
}

func patch(t *testing.T, p string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func writeRaw(t *testing.T, p string, b []byte) {
	t.Helper()
	os.Remove(p)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// copyDir copies the ciphertext directory of plaintext src to a new entry
// dst, as a user copying inside CIPHERDIR (or a sync client duplicating a
// folder) would: the copy keeps the IV.
func copyDir(t *testing.T, tv *tvol, src, dst string) {
	t.Helper()
	fd, _, disk, cname := tv.resolve(dst)
	defer unix.Close(fd)
	if tv.v.IsLong(disk) {
		t.Fatal("long destination names are not supported here")
	}
	_ = cname
	if out, err := exec.Command("cp", "-a", tv.abs(src), filepath.Join(filepath.Dir(tv.abs(src)), disk)).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
}

var brokenCases = []brokenCase{
	{name: "missing diriv of an empty directory",
		breakIt: func(t *testing.T, tv *tvol) {
			os.Remove(filepath.Join(tv.abs("emptydir"), nametransform.DirIVFilename))
		},
		want: []Kind{MissingDirIV}, repaired: true},
	{name: "missing diriv",
		breakIt: func(t *testing.T, tv *tvol) {
			os.Remove(filepath.Join(tv.abs("dir2"), nametransform.DirIVFilename))
		},
		want: []Kind{MissingDirIV}, left: []Kind{MissingDirIV}},
	{name: "missing diriv, its IV in a renamed copy",
		// A rename on one machine raced an edit inside the directory on
		// another: the sync client recreated the old directory without
		// its IV. The copy's IV decrypts every name: restored, and the
		// two directories then share an IV, which the repair also fixes.
		breakIt: func(t *testing.T, tv *tvol) {
			copyDir(t, tv, "dir2", "dir2renamed")
			os.Remove(filepath.Join(tv.abs("dir2"), nametransform.DirIVFilename))
		},
		want: []Kind{DupDirIV, MissingDirIV}, repaired: true},
	{name: "diriv of 5 bytes in an empty directory",
		breakIt: func(t *testing.T, tv *tvol) {
			writeRaw(t, filepath.Join(tv.abs("emptydir"), nametransform.DirIVFilename), []byte("short"))
		},
		want: []Kind{BadDirIV}, repaired: true},
	{name: "all-zero diriv",
		breakIt: func(t *testing.T, tv *tvol) {
			writeRaw(t, filepath.Join(tv.abs("dir2"), nametransform.DirIVFilename), make([]byte, 16))
		},
		want: []Kind{BadDirIV}, left: []Kind{BadDirIV}},
	{name: "duplicated diriv",
		breakIt: func(t *testing.T, tv *tvol) { copyDir(t, tv, "dir2", "dir2copy") },
		want:    []Kind{DupDirIV}, repaired: true,
		after: func(t *testing.T, tv *tvol) {
			if a, b := tv.list("dir2"), tv.list("dir2copy"); !slices.Equal(a, b) || len(a) != 2 {
				t.Errorf("dir2 %q, dir2copy %q", a, b)
			}
			for _, n := range []string{"d.txt", "e.txt"} {
				if got, err := tv.readFile("dir2copy/" + n); err != nil || string(got) != string(payload("dir2/"+n, sizes["dir2/"+n])) {
					t.Errorf("dir2copy/%s: %v", n, err)
				}
			}
		}},
	{name: "duplicated diriv nested",
		breakIt: func(t *testing.T, tv *tvol) { copyDir(t, tv, "dir", "dircopy") },
		want:    []Kind{DupDirIV, DupDirIV}, repaired: true,
		after: func(t *testing.T, tv *tvol) {
			if a, b := tv.list("dir"), tv.list("dircopy"); !slices.Equal(a, b) || !slices.Contains(b, longM) {
				t.Errorf("dir %q, dircopy %q", a, b)
			}
			if got, err := tv.readFile("dircopy/sub/c.txt"); err != nil || len(got) != 10 {
				t.Errorf("dircopy/sub/c.txt: %v", err)
			}
			if got, err := tv.readFile("dircopy/" + longM); err != nil || len(got) != 88 {
				t.Errorf("dircopy/%s: %v", longM, err)
			}
		}},
	{name: "duplicated diriv of an empty directory",
		breakIt: func(t *testing.T, tv *tvol) { copyDir(t, tv, "emptydir", "emptycopy") },
		want:    []Kind{DupDirIV}, repaired: true},
	{name: "undecryptable name",
		breakIt: func(t *testing.T, tv *tvol) {
			p := tv.abs("a.txt")
			os.Rename(p, p[:len(p)-3]) // no longer a whole number of blocks
		},
		want: []Kind{BadName}, repaired: true,
		after: func(t *testing.T, tv *tvol) {
			q := tv.list("veilfs-quarantine-20261127-101500")
			if len(q) != 1 {
				t.Fatalf("quarantine holds %q", q)
			}
			got, err := tv.readFile("veilfs-quarantine-20261127-101500/" + q[0])
			if err != nil || string(got) != string(payload("a.txt", 5000)) {
				t.Errorf("the quarantined file does not read back: %v", err)
			}
		}},
	{name: "undecryptable directory name",
		breakIt: func(t *testing.T, tv *tvol) {
			p := tv.abs("dir2")
			os.Rename(p, p[:len(p)-3])
		},
		want: []Kind{BadName}, repaired: true,
		after: func(t *testing.T, tv *tvol) {
			q := tv.list("veilfs-quarantine-20261127-101500")
			if len(q) != 1 || !slices.Equal(tv.list("veilfs-quarantine-20261127-101500/"+q[0]), []string{"d.txt", "e.txt"}) {
				t.Errorf("quarantine holds %q", q)
			}
		}},
	{name: "long name with a damaged sidecar",
		breakIt: func(t *testing.T, tv *tvol) {
			side := nametransform.SidecarName(tv.abs(longL))
			b, _ := os.ReadFile(side)
			b[10] ^= 1
			writeRaw(t, side, b)
		},
		want: []Kind{BadSidecar}, repaired: true,
		after: func(t *testing.T, tv *tvol) {
			names, _ := filepath.Glob(filepath.Join(tv.dir, "gocryptfs.longname.*"))
			if len(names) != 0 {
				t.Errorf("left in the root: %q", names)
			}
		}},
	{name: "long name without its sidecar",
		breakIt: func(t *testing.T, tv *tvol) { os.Remove(nametransform.SidecarName(tv.abs(longL))) },
		want:    []Kind{BadSidecar}, repaired: true,
		after: func(t *testing.T, tv *tvol) {
			// Renamed in place to the name a mount showed (lostnames.go).
			if lost := nametransform.LostLongName(tv.cpath(longL)); !slices.Contains(tv.list(""), lost) {
				t.Errorf("the root lists %q, without %q", tv.list(""), lost)
			}
		}},
	{name: "orphaned sidecar",
		breakIt: func(t *testing.T, tv *tvol) {
			writeRaw(t, filepath.Join(tv.abs("dir"), "gocryptfs.longname.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.name"), []byte("x"))
		},
		want: []Kind{OrphanSidecar}, repaired: true},
	{name: "header cut short",
		breakIt: func(t *testing.T, tv *tvol) { truncate(t, tv.abs("a.txt"), 10) },
		want:    []Kind{BadHeader}, repaired: true,
		after: func(t *testing.T, tv *tvol) {
			if q := tv.list("veilfs-quarantine-20261127-101500"); !slices.Equal(q, []string{"a.txt"}) {
				t.Errorf("quarantine holds %q", q)
			}
		}},
	{name: "header version 3",
		breakIt: func(t *testing.T, tv *tvol) { patch(t, tv.abs("dir/b.txt"), 0, []byte{0, 3}) },
		want:    []Kind{BadHeader}, repaired: true,
		after: func(t *testing.T, tv *tvol) {
			if q := tv.list("veilfs-quarantine-20261127-101500"); !slices.Equal(q, []string{"dir%2Fb.txt"}) {
				t.Errorf("quarantine holds %q", q)
			}
		}},
	{name: "flipped bit in a block",
		breakIt: func(t *testing.T, tv *tvol) {
			p := tv.abs("a.txt")
			b, _ := os.ReadFile(p)
			off := cipher.HeaderSize + tv.v.Content.CipherBlockSize() + 40
			patch(t, p, int64(off), []byte{b[off] ^ 0x10})
		},
		want: []Kind{BadBlock}, block: ptr[uint64](1), left: []Kind{BadBlock}},
	{name: "truncated last block",
		breakIt: func(t *testing.T, tv *tvol) {
			truncate(t, tv.abs("a.txt"), int64(cipher.HeaderSize+tv.v.Content.CipherBlockSize()+20))
		},
		want: []Kind{Truncated}, left: []Kind{Truncated}},
	{name: "symlink target that does not decrypt",
		breakIt: func(t *testing.T, tv *tvol) {
			p := tv.abs("link")
			os.Remove(p)
			os.Symlink(base64.RawURLEncoding.EncodeToString(make([]byte, 48)), p)
		},
		want: []Kind{BadSymlink}, left: []Kind{BadSymlink}},
	{name: "xattr value that does not decrypt",
		breakIt: func(t *testing.T, tv *tvol) {
			n, _ := tv.v.Names.EncryptXattrName("user.x")
			unix.Lsetxattr(tv.abs("a.txt"), n, make([]byte, 40), 0)
		},
		want: []Kind{BadXattr}, left: []Kind{BadXattr}},
	{name: "xattr name that does not decrypt",
		breakIt: func(t *testing.T, tv *tvol) {
			unix.Lsetxattr(tv.abs("dir"), nametransform.XattrStorePrefix+"AAAA", []byte("x"), 0)
		},
		want: []Kind{BadXattr}, left: []Kind{BadXattr}},
	{name: "empty gocryptfs.conf.tmp",
		breakIt: func(t *testing.T, tv *tvol) { writeRaw(t, filepath.Join(tv.dir, "gocryptfs.conf.tmp"), nil) },
		want:    []Kind{EmptyLeftover}, repaired: true},
	{name: "empty rotation temporary",
		breakIt: func(t *testing.T, tv *tvol) { writeRaw(t, filepath.Join(tv.abs("dir"), "gocryptfs.rotate.tmp"), nil) },
		want:    []Kind{EmptyLeftover}, repaired: true},
	{name: "IV of an interrupted rmdir",
		breakIt: func(t *testing.T, tv *tvol) {
			writeRaw(t, filepath.Join(tv.abs("dir"), "gocryptfs.diriv.rmdir.1234"), payload("iv", 16))
		},
		want: []Kind{Leftover}, left: []Kind{Leftover}},
	{name: "unknown reserved name",
		breakIt: func(t *testing.T, tv *tvol) { writeRaw(t, filepath.Join(tv.dir, "gocryptfs.whatever"), []byte("x")) },
		want:    []Kind{Leftover}, left: []Kind{Leftover}},
	{name: "conflict copy",
		breakIt: func(t *testing.T, tv *tvol) {
			p := tv.abs("dir/b.txt")
			if err := os.Link(p, p+" (laptop's conflicted copy 2026-11-27)"); err != nil {
				t.Fatal(err)
			}
		},
		want: []Kind{ConflictCopy}},
	{name: "unison's conflict copy of gocryptfs.diriv",
		breakIt: func(t *testing.T, tv *tvol) {
			writeRaw(t, filepath.Join(tv.abs("dir2"), "gocryptfs (conflict_on_2026-12-07).diriv"), []byte("0123456789abcdef"))
		},
		want: []Kind{ConflictCopy}},
	{name: "damaged unlocker",
		setup: func(tv *tvol) {
			if err := tv.conf.AddKeyfileUnlocker(tv.master, "usb", payload("keyfile", 64)); err != nil {
				tv.t.Fatal(err)
			}
			if err := tv.conf.Save(filepath.Join(tv.dir, config.Filename+".new")); err != nil {
				tv.t.Fatal(err)
			}
			os.Rename(filepath.Join(tv.dir, config.Filename+".new"), filepath.Join(tv.dir, config.Filename))
		},
		breakIt: func(t *testing.T, tv *tvol) {
			p := filepath.Join(tv.dir, config.Filename)
			var j map[string]any
			b, _ := os.ReadFile(p)
			json.Unmarshal(b, &j)
			u := j["VeilfsUnlockers"].([]any)[0].(map[string]any)
			k, _ := base64.StdEncoding.DecodeString(u["EncryptedPublicKey"].(string))
			k[20] ^= 1
			u["EncryptedPublicKey"] = base64.StdEncoding.EncodeToString(k)
			b, _ = json.Marshal(j)
			writeRaw(t, p, b)
		},
		want: []Kind{BadUnlocker}, left: []Kind{BadUnlocker}},
	{name: "names under a lost IV",
		breakIt: func(t *testing.T, tv *tvol) {
			// The directory made on two machines: the sync client kept the
			// other machine's IV and this one's as a conflict copy.
			dir := tv.abs("dir2")
			iv, _ := os.ReadFile(filepath.Join(dir, nametransform.DirIVFilename))
			writeRaw(t, filepath.Join(dir, "gocryptfs.diriv (conflicted copy 2026-11-27)"), iv)
			other := make([]byte, 16)
			rand.Read(other)
			writeRaw(t, filepath.Join(dir, nametransform.DirIVFilename), other)
		},
		want: []Kind{BadName, BadName, ConflictCopy}, repaired: true,
		after: func(t *testing.T, tv *tvol) {
			if got := tv.list("dir2"); !slices.Equal(got, []string{"d.txt", "e.txt"}) {
				t.Errorf("dir2 shows %q", got)
			}
		}},
	{name: "names under a lost IV, one of them with a bad header",
		breakIt: func(t *testing.T, tv *tvol) {
			dir := tv.abs("dir2")
			truncate(t, tv.abs("dir2/e.txt"), 3)
			iv, _ := os.ReadFile(filepath.Join(dir, nametransform.DirIVFilename))
			writeRaw(t, filepath.Join(dir, "gocryptfs.diriv.sync-conflict-20261127-101500-ABCDEFG"), iv)
			other := make([]byte, 16)
			rand.Read(other)
			writeRaw(t, filepath.Join(dir, nametransform.DirIVFilename), other)
		},
		// The repair re-encrypts both names, then finds e.txt's header in
		// the same run (so the repair run reports one problem more).
		want: []Kind{BadHeader, BadName, BadName, ConflictCopy}, repaired: true,
		after: func(t *testing.T, tv *tvol) {
			if got := tv.list("veilfs-quarantine-20261127-101500"); !slices.Equal(got, []string{"dir2%2Fe.txt"}) {
				t.Errorf("quarantine holds %q", got)
			}
		}},
	{name: "replaced diriv",
		breakIt: func(t *testing.T, tv *tvol) {
			// A valid IV, but not the one the names were encrypted under:
			// every name fails, and moving them all away would be a guess.
			other := make([]byte, 16)
			rand.Read(other)
			writeRaw(t, filepath.Join(tv.abs("dir2"), nametransform.DirIVFilename), other)
		},
		want: []Kind{BadName, BadName}, left: []Kind{BadName, BadName}},
	{name: "replaced diriv, one name decrypts by chance",
		breakIt: func(t *testing.T, tv *tvol) {
			// Names carry no MAC: under a wrong IV one in 256 still
			// decrypts, to random bytes. That must neither hide the
			// replaced IV nor get the other name quarantined.
			var cnames []string
			for _, p := range []string{"dir2/d.txt", "dir2/e.txt"} {
				fd, _, _, cname := tv.resolve(p)
				unix.Close(fd)
				cnames = append(cnames, cname)
			}
			other := make([]byte, 16)
			for decrypting := 0; decrypting != 1; {
				rand.Read(other)
				decrypting = 0
				for _, c := range cnames {
					if p, err := tv.v.Names.DecryptName(c, other); err == nil && !nametransform.Plausible(p) {
						decrypting++
					}
				}
			}
			writeRaw(t, filepath.Join(tv.abs("dir2"), nametransform.DirIVFilename), other)
		},
		want: []Kind{BadName, BadName}, left: []Kind{BadName, BadName}},
	{name: "hard-linked file with a bad header",
		breakIt: func(t *testing.T, tv *tvol) {
			fd, _, disk, _ := tv.resolve("dir/alink")
			unix.Close(fd)
			if err := os.Link(tv.abs("a.txt"), filepath.Join(tv.abs("dir"), disk)); err != nil {
				t.Fatal(err)
			}
			truncate(t, tv.abs("a.txt"), 5)
		},
		want: []Kind{BadHeader, BadHeader}, repaired: true,
		after: func(t *testing.T, tv *tvol) {
			if q := tv.list("veilfs-quarantine-20261127-101500"); !slices.Equal(q, []string{"a.txt", "dir%2Falink"}) {
				t.Errorf("quarantine holds %q", q)
			}
		}},
}

// Each way of breaking a volume is reported as exactly its kind; a check
// changes nothing; --repair fixes what it may, and a second check then
// reports only what cannot be repaired.
func TestBroken(t *testing.T) {
	for _, bc := range brokenCases {
		t.Run(bc.name, func(t *testing.T) {
			tv := newVolume(t, bc.opts)
			populate(tv)
			if bc.setup != nil {
				bc.setup(tv)
			}
			bc.breakIt(t, tv)

			before := snapshot(t, tv.dir)
			rep := tv.check(Options{})
			if after := snapshot(t, tv.dir); !maps.Equal(before, after) {
				t.Errorf("a check without --repair changed the volume")
			}
			got := kinds(rep)
			slices.Sort(got)
			want := make([]string, len(bc.want))
			for i, k := range bc.want {
				want[i] = string(k)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("kinds %q, want %q:\n%s", got, want, dumpReport(rep))
			}
			for _, p := range rep.Problems {
				if p.Repaired || p.Action != "" {
					t.Errorf("reported as repaired without --repair: %+v", p)
				}
				if p.Kind == BadBlock && (p.Block == nil || bc.block == nil || *p.Block != *bc.block) {
					t.Errorf("bad block %v, want %v", p.Block, bc.block)
				}
			}
			onlyInfo := len(errorKinds(rep)) == 0
			if rep.Summary.Clean != onlyInfo {
				t.Errorf("summary says clean=%v:\n%s", rep.Summary.Clean, dumpReport(rep))
			}

			fixed := tv.check(Options{Repair: true})
			if k := kinds(fixed); !slices.Equal(slices.Sorted(slices.Values(k)), got) {
				t.Errorf("the repair run found %q, the check %q", kinds(fixed), kinds(rep))
			}
			for _, p := range fixed.Problems {
				if p.Severity == Error && p.Repaired != bc.repaired {
					t.Errorf("repaired=%v, want %v:\n%s", p.Repaired, bc.repaired, dumpReport(fixed))
				}
			}
			again := tv.check(Options{})
			var left []string
			for _, k := range bc.left {
				left = append(left, string(k))
			}
			if got := errorKinds(again); !slices.Equal(got, left) {
				t.Errorf("after the repair: %q, want %q:\n%s", got, left, dumpReport(again))
			}
			if bc.after != nil {
				bc.after(t, tv)
			}
		})
	}
}

// A master-key rotation in progress stops the check at once.
func TestRotationStops(t *testing.T) {
	tv := newVolume(t, config.CreateOptions{})
	populate(tv)
	tv.conf.SetRotating(true)
	rep, err := Run(tv.dir, tv.conf, tv.master, Options{Repair: true})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(kinds(rep), []string{string(Rotating)}) || rep.Summary.Complete || rep.Summary.Clean ||
		!strings.Contains(rep.Problems[0].Detail, "veilfs rotate") {
		t.Errorf("got\n%s", dumpReport(rep))
	}
}

func TestConfigProblem(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o600)
		return p
	}
	tv := newVolume(t, config.CreateOptions{})
	good := string(tv.conf.Marshal())
	tests := []struct {
		name    string
		path    string
		damaged bool
	}{
		{"missing", filepath.Join(dir, "nothing"), false},
		{"not JSON", write("garbage", "{not json"), true},
		{"empty", write("empty", ""), true},
		{"version 1", write("v1", strings.Replace(good, `"Version": 2`, `"Version": 1`, 1)), true},
		{"version 3: newer", write("v3", strings.Replace(good, `"Version": 2`, `"Version": 3`, 1)), false},
		{"unknown flag: newer", write("flag", strings.Replace(good, `"HKDF",`, `"HKDF", "Quantum",`, 1)), false},
		{"conflicting flags", write("conflict", strings.Replace(good, `"HKDF",`, `"HKDF", "PlaintextNames",`, 1)), true},
		{"short key", write("key", strings.Replace(good, `"EncryptedKey": "`, `"EncryptedKey": "AAAA`, 1)), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Load(tt.path)
			if err == nil {
				t.Fatal("the config loaded")
			}
			p, damaged := ConfigProblem(err)
			if damaged != tt.damaged {
				t.Fatalf("damaged=%v for %v", damaged, err)
			}
			if damaged && (p.Kind != BadConfig || p.CipherPath != config.Filename || !strings.Contains(p.Detail, "restore")) {
				t.Errorf("problem %+v", p)
			}
		})
	}
	if _, ok := ConfigProblem(errors.New("x")); !ok {
		t.Error("an unknown error is not damage")
	}
}

// Progress is reported with totals from the first walk.
func TestProgress(t *testing.T) {
	tv := newVolume(t, config.CreateOptions{})
	populate(tv)
	var last Progress
	calls := 0
	tv.check(Options{Progress: func(p Progress) { last = p; calls++ }})
	if calls < 2 || last.TotalFiles != 10 || last.Files != last.TotalFiles || last.TotalBytes == 0 || last.Bytes > last.TotalBytes {
		t.Errorf("%d calls, last %+v", calls, last)
	}
}

// TestMissingDirIVFromMemory: the only copy of a lost gocryptfs.diriv is
// this machine's IV memory (a mount read the directory before a sync
// client recreated it without its IV). fsck finds it there; without the
// memory nothing decrypts and nothing is guessed.
func TestMissingDirIVFromMemory(t *testing.T) {
	tv := newVolume(t, config.CreateOptions{})
	populate(tv)
	ivPath := filepath.Join(tv.abs("dir2"), nametransform.DirIVFilename)
	iv, err := os.ReadFile(ivPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(ivPath); err != nil {
		t.Fatal(err)
	}
	if rep := tv.check(Options{Repair: true}); !slices.Equal(errorKinds(rep), []string{string(MissingDirIV)}) || rep.Problems[0].Repaired {
		t.Fatalf("without memory: %s", dumpReport(rep))
	}
	mem := filepath.Join(t.TempDir(), "ivs")
	syncmem.OpenIVs(mem).Record("some/old/path", iv)
	rep := tv.check(Options{Repair: true, IVMemory: mem})
	if len(rep.Problems) != 1 || !rep.Problems[0].Repaired || !strings.Contains(rep.Problems[0].Action, "memory") {
		t.Fatalf("with memory: %s", dumpReport(rep))
	}
	if got, err := os.ReadFile(ivPath); err != nil || !bytes.Equal(got, iv) {
		t.Errorf("restored IV %x (%v), want %x", got, err, iv)
	}
	if rep := tv.check(Options{}); len(errorKinds(rep)) != 0 {
		t.Errorf("after the repair: %s", dumpReport(rep))
	}
}

// TestTriage: each state fsck tells before a key is asked for, with the
// config loaded once and the report of a check that stops at it.
func TestTriage(t *testing.T) {
	confPath := func(tv *tvol) string { return filepath.Join(tv.dir, config.Filename) }
	replaceConf := func(tv *tvol, data []byte) {
		p := confPath(tv)
		os.Remove(p)
		if err := os.WriteFile(p, data, 0o400); err != nil {
			t.Fatal(err)
		}
	}

	tv := newVolume(t, config.CreateOptions{})
	got, err := Triage(tv.dir)
	if err != nil || got.State != Checkable || got.Config == nil || got.Err != nil || got.Report(tv.dir, false) != nil {
		t.Fatalf("a sound volume: %+v, %v", got, err)
	}

	tv.conf.SetRotating(true)
	replaceConf(tv, tv.conf.Marshal())
	got, err = Triage(tv.dir)
	if err != nil || got.State != RotationUnfinished || got.Config == nil || !got.Config.Rotating() {
		t.Fatalf("a rotation in progress: %+v, %v", got, err)
	}
	if rep := got.Report(tv.dir, true); !slices.Equal(kinds(rep), []string{string(Rotating)}) || rep.Summary.Complete || !rep.Summary.Repair {
		t.Errorf("rotation report:\n%s", dumpReport(rep))
	}

	replaceConf(tv, []byte("{not json"))
	got, err = Triage(tv.dir)
	if err != nil || got.State != DamagedConfig || got.Err == nil || got.Config != nil {
		t.Fatalf("a damaged config: %+v, %v", got, err)
	}
	if rep := got.Report(tv.dir, false); !slices.Equal(kinds(rep), []string{string(BadConfig)}) || rep.Summary.Complete ||
		rep.Summary.Stopped == "" || !strings.Contains(rep.Problems[0].Detail, "restore") {
		t.Errorf("damaged-config report:\n%s", dumpReport(rep))
	}

	good := newVolume(t, config.CreateOptions{}).conf.Marshal()
	replaceConf(tv, []byte(strings.Replace(string(good), `"Version": 2`, `"Version": 3`, 1)))
	got, err = Triage(tv.dir)
	var verr *config.VersionError
	if err != nil || got.State != UnusableConfig || !errors.As(got.Err, &verr) || got.Report(tv.dir, false) != nil {
		t.Fatalf("a newer config: %+v, %v", got, err)
	}

	os.Remove(confPath(tv))
	got, err = Triage(tv.dir)
	if err != nil || got.State != UnusableConfig || !errors.Is(got.Err, fs.ErrNotExist) {
		t.Fatalf("no config: %+v, %v", got, err)
	}

	// A reverse volume's PLAINDIR is told before its config is read.
	if err := os.WriteFile(filepath.Join(tv.dir, config.ReverseFilename), []byte("{not json"), 0o400); err != nil {
		t.Fatal(err)
	}
	got, err = Triage(tv.dir)
	if err != nil || got.State != ReverseVolume || got.Config != nil || got.Err != nil {
		t.Fatalf("a reverse volume: %+v, %v", got, err)
	}
}

// TestAssumedConfigProblem: a volume checked with the master key because
// its gocryptfs.conf could not be used is reported broken, saying why, the
// format assumed and how to write a config.
func TestAssumedConfigProblem(t *testing.T) {
	tv := newVolume(t, config.CreateOptions{})
	rep, err := Run(tv.dir, tv.conf, tv.master, Options{UnusableConfig: "it is gone", AssumedFormat: "some format"})
	if err != nil {
		t.Fatal(err)
	}
	want := "it is gone; checked with the master key and the format assumed (some format); write a new gocryptfs.conf: veilfs init --masterkey-file FILE [format options] " + tv.dir
	if !slices.Equal(kinds(rep), []string{string(BadConfig)}) || rep.Problems[0].Detail != want || rep.Problems[0].CipherPath != config.Filename {
		t.Errorf("got\n%s", dumpReport(rep))
	}
}
