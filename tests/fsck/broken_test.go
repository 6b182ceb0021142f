//go:build linux

package fsck

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/veilfs/veilfs/internal/testenv"
	"github.com/veilfs/veilfs/tests/harness"
)

const pw = harness.DefaultPassword

var longName = strings.Repeat("L", 200) // stored as gocryptfs.longname.* with a sidecar

// content of each file of the template, by plaintext path.
var files = map[string][]byte{
	"a.txt":          bytes.Repeat([]byte("0123456789abcdef"), 320), // 5120 bytes: two blocks
	"small.txt":      []byte("hello, world\n"),
	"d/inner.txt":    []byte("inner\n"),
	"d/sub/deep.txt": []byte("deep\n"),
	"d2/x.txt":       []byte("x\n"),
	longName:         []byte("long\n"),
}

// template is a volume written through a veilfs mount, unmounted; each
// case works on a copy of it.
type template struct {
	dir    string
	cipher map[string]string // plaintext path -> ciphertext path
}

// buildTemplate writes the template through a mount. Each test builds its
// own (a mount and unmount take well under a second), so that nothing
// outlives the test that made it.
func buildTemplate(t *testing.T) *template {
	t.Helper()
	harness.RequireFUSE(t)
	base := t.TempDir()
	tp := &template{dir: filepath.Join(base, "cipher")}
	mnt := filepath.Join(base, "mnt")
	must(t, os.Mkdir(mnt, 0o755))
	harness.InitVolume(t, tp.dir, pw)
	harness.MountVolume(t, tp.dir, mnt, pw)
	for _, d := range []string{"d/sub", "d2", "empty", "empty2"} {
		must(t, os.MkdirAll(filepath.Join(mnt, d), 0o755))
	}
	for p, b := range files {
		must(t, os.WriteFile(filepath.Join(mnt, p), b, 0o644))
	}
	must(t, os.Symlink("a.txt", filepath.Join(mnt, "link")))
	must(t, syscall.Setxattr(filepath.Join(mnt, "a.txt"), "user.note", []byte("value"), 0))
	// veilfs shows the backing inode numbers: map plaintext to ciphertext.
	tp.cipher = harness.CiphertextPaths(t, tp.dir, mnt, append(slices.Collect(mapKeys(files)), "d", "d/sub", "d2", "empty", "empty2", "link")...)
	harness.Unmount(t, mnt)
	return tp
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// copyVolume returns a fresh copy of the template (modes, xattrs and all).
func (tp *template) copyVolume(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "cipher")
	if out, err := exec.Command("cp", "-a", tp.dir, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v: %s", err, out)
	}
	return dst
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// brokenCase breaks a copy of the template one way.
type brokenCase struct {
	name    string
	breakIt func(t *testing.T, tp *template, dir string)
	kinds   []string // what veilfs fsck reports
	code    int      // its exit code
	// gocryptfs is whether gocryptfs -fsck finds a problem too; where it
	// does not, why says why the two differ.
	gocryptfs bool
	why       string
	left      []string // error kinds after --repair
	// quarantined is the plaintext path whose entry --repair moves to
	// quarantine ("" for none); it must show there through a mount, under
	// a name starting with qname.
	quarantined, qname string
	// unreadable are the files that do not read back after the repair.
	unreadable []string
	// after checks the volume after the repair, through a mount.
	after func(t *testing.T, mnt string)
	// gocryptfsAfter: gocryptfs -fsck finds nothing after the repair.
	gocryptfsAfter bool
}

var brokenCases = []brokenCase{
	{name: "missing diriv",
		breakIt: func(t *testing.T, tp *template, dir string) {
			must(t, os.Remove(filepath.Join(dir, tp.cipher["d2"], "gocryptfs.diriv")))
		},
		kinds: []string{"missing-diriv"}, code: 26, gocryptfs: true,
		left: []string{"missing-diriv"}, unreadable: []string{"d2/x.txt"}},
	{name: "missing diriv of an empty directory",
		breakIt: func(t *testing.T, tp *template, dir string) {
			must(t, os.Remove(filepath.Join(dir, tp.cipher["empty"], "gocryptfs.diriv")))
		},
		kinds: []string{"missing-diriv"}, code: 26, gocryptfs: true,
		after: func(t *testing.T, mnt string) {
			must(t, os.WriteFile(filepath.Join(mnt, "empty", "new.txt"), []byte("works"), 0o644))
		}},
	{name: "truncated header",
		breakIt: func(t *testing.T, tp *template, dir string) {
			must(t, os.Truncate(filepath.Join(dir, tp.cipher["small.txt"]), 10))
		},
		kinds: []string{"bad-header"}, code: 26,
		why:         "gocryptfs 2.3 logs a file shorter than its header as corrupt but does not count it",
		quarantined: "small.txt", qname: "small.txt"},
	{name: "flipped bit in a block",
		breakIt: func(t *testing.T, tp *template, dir string) {
			p := filepath.Join(dir, tp.cipher["a.txt"])
			b, err := os.ReadFile(p)
			must(t, err)
			b[18+4128+100] ^= 0x04
			must(t, os.WriteFile(p, b, 0o644))
		},
		kinds: []string{"bad-block"}, code: 26, gocryptfs: true,
		left: []string{"bad-block"}, unreadable: []string{"a.txt"}},
	{name: "orphan sidecar",
		breakIt: func(t *testing.T, tp *template, dir string) {
			must(t, os.WriteFile(filepath.Join(dir, "gocryptfs.longname.0000000000000000000000000000000000000000000.name"), []byte("x"), 0o444))
		},
		kinds: []string{"orphan-sidecar"}, code: 26,
		why: "gocryptfs skips every .name file in a listing and never looks at one without its entry"},
	{name: "bad config",
		breakIt: func(t *testing.T, tp *template, dir string) {
			p := filepath.Join(dir, "gocryptfs.conf")
			os.Chmod(p, 0o600)
			must(t, os.WriteFile(p, []byte(`{"Creator": "veilfs", "Version": 2`), 0o400))
		},
		kinds: []string{"bad-config"}, code: 26, gocryptfs: true,
		left: []string{"bad-config"}},
	{name: "duplicated diriv",
		breakIt: func(t *testing.T, tp *template, dir string) {
			// empty2 becomes a copy of d2 made in CIPHERDIR, IV and all.
			dst := filepath.Join(dir, tp.cipher["empty2"])
			must(t, os.RemoveAll(dst))
			if out, err := exec.Command("cp", "-a", filepath.Join(dir, tp.cipher["d2"]), dst).CombinedOutput(); err != nil {
				t.Fatalf("cp: %v: %s", err, out)
			}
		},
		kinds: []string{"dup-diriv"}, code: 26,
		why: "two directories sharing an IV decrypt fine; only their names leak equality",
		after: func(t *testing.T, mnt string) {
			b, err := os.ReadFile(filepath.Join(mnt, "empty2", "x.txt"))
			if err != nil || string(b) != "x\n" {
				t.Errorf("empty2/x.txt after re-encryption: %q, %v", b, err)
			}
		}},
	{name: "undecryptable name",
		breakIt: func(t *testing.T, tp *template, dir string) {
			p := filepath.Join(dir, tp.cipher["d/inner.txt"])
			must(t, os.Rename(p, p[:len(p)-3]))
		},
		kinds: []string{"bad-name"}, code: 26, gocryptfs: true,
		quarantined: "d/inner.txt", qname: "d%2F"},
	{name: "truncated last block",
		breakIt: func(t *testing.T, tp *template, dir string) {
			must(t, os.Truncate(filepath.Join(dir, tp.cipher["a.txt"]), 18+4128+20))
		},
		kinds: []string{"truncated"}, code: 26, gocryptfs: true,
		left: []string{"truncated"}, unreadable: []string{"a.txt"}},
	{name: "conflict copy",
		breakIt: func(t *testing.T, tp *template, dir string) {
			p := filepath.Join(dir, tp.cipher["small.txt"])
			b, err := os.ReadFile(p)
			must(t, err)
			must(t, os.WriteFile(p+".sync-conflict-20261127-101500-ABCDEFG", b, 0o644))
		},
		kinds: []string{"conflict-copy"}, code: 0, gocryptfs: true,
		why: "gocryptfs cannot decrypt a conflict copy's name and counts it as corrupt; veilfs shows it in the mount and notes it"},
	{name: "long name without its sidecar",
		breakIt: func(t *testing.T, tp *template, dir string) {
			must(t, os.Remove(filepath.Join(dir, tp.cipher[longName]+".name")))
		},
		kinds: []string{"bad-sidecar"}, code: 26, gocryptfs: true,
		// Nothing on this machine remembers the name (the template was
		// mounted at another path): the file gets the name a mount
		// showed it under, as a real name gocryptfs reads too.
		unreadable: []string{longName}, gocryptfsAfter: true,
		after: func(t *testing.T, mnt string) {
			entries, err := os.ReadDir(mnt)
			must(t, err)
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), "lost name ") {
					if b, err := os.ReadFile(filepath.Join(mnt, e.Name())); err != nil || !bytes.Equal(b, files[longName]) {
						t.Errorf("%s: %q, %v", e.Name(), b, err)
					}
					return
				}
			}
			t.Errorf("no lost name in the root: %v", entries)
		}},
}

// TestBrokenVolumes: each way of breaking a volume is reported as exactly
// that problem, with the exit code, compared with gocryptfs -fsck; then
// --repair, a second check that finds only what cannot be repaired, and a
// mount that shows the repaired volume and the quarantined entry.
func TestBrokenVolumes(t *testing.T) {
	harness.RequireGocryptfs(t)
	tp := buildTemplate(t)
	for _, bc := range brokenCases {
		t.Run(bc.name, func(t *testing.T) {
			t.Parallel()
			dir := tp.copyVolume(t)
			bc.breakIt(t, tp, dir)

			r, res := fsck(t, dir, pw)
			if got := r.kinds(false); !slices.Equal(got, bc.kinds) || res.Code != bc.code {
				t.Fatalf("kinds %q exit %d, want %q exit %d\n%v", got, res.Code, bc.kinds, bc.code, res)
			}
			for _, p := range r.Problems {
				if p.CipherPath == "" || p.Detail == "" || p.Repaired {
					t.Errorf("problem %+v", p)
				}
				if p.Kind == "bad-block" && (p.Block == nil || *p.Block != 1) {
					t.Errorf("bad block %v, want 1", p.Block)
				}
			}
			gout, gcode := harness.GocryptfsFsck(t, dir, pw)
			if found := gcode != 0; found != bc.gocryptfs {
				t.Errorf("gocryptfs -fsck found a problem: %v, want %v (%s)\n%s", found, bc.gocryptfs, bc.why, gout)
			}
			t.Logf("veilfs exit %d %q; gocryptfs exit %d", res.Code, r.kinds(false), gcode)

			fixed, res := fsck(t, dir, pw, "--repair")
			wantCode := 0
			if len(bc.left) > 0 {
				wantCode = 26
			}
			if res.Code != wantCode || !slices.Equal(fixed.kinds(false), bc.kinds) {
				t.Fatalf("--repair: exit %d, want %d\n%v", res.Code, wantCode, res)
			}
			again, res := fsck(t, dir, pw)
			if got := again.kinds(true); !slices.Equal(got, bc.left) || res.Code != wantCode {
				t.Fatalf("after --repair: %q exit %d, want %q\n%v", got, res.Code, bc.left, res)
			}
			if bc.gocryptfsAfter {
				if gout, gcode := harness.GocryptfsFsck(t, dir, pw); gcode != 0 {
					t.Errorf("gocryptfs -fsck after --repair: exit %d\n%s", gcode, gout)
				}
			}
			if slices.Contains(bc.left, "bad-config") {
				return // nothing mounts
			}

			mnt := t.TempDir()
			harness.MountVolume(t, dir, mnt, pw)
			defer harness.Unmount(t, mnt)
			if bc.quarantined != "" {
				q := fixed.Summary.Quarantine
				if q == "" {
					t.Fatalf("no quarantine directory:\n%s", res.Stdout)
				}
				entries, err := os.ReadDir(filepath.Join(mnt, q))
				if err != nil || len(entries) != 1 {
					t.Fatalf("the mount shows %v in /%s (%v)", entries, q, err)
				}
				if bc.quarantined == "d/inner.txt" {
					// Only its name was broken: the content reads back.
					b, err := os.ReadFile(filepath.Join(mnt, q, entries[0].Name()))
					if err != nil || !bytes.Equal(b, files[bc.quarantined]) {
						t.Errorf("the quarantined %s reads %q, %v", entries[0].Name(), b, err)
					}
				}
				if !strings.HasPrefix(entries[0].Name(), bc.qname) {
					t.Errorf("the quarantined name %q does not say where it came from", entries[0].Name())
				}
			}
			for p, want := range files {
				if p == bc.quarantined || slices.Contains(bc.unreadable, p) {
					continue
				}
				if b, err := os.ReadFile(filepath.Join(mnt, p)); err != nil || !bytes.Equal(b, want) {
					t.Errorf("%s after the repair: %v", p, err)
				}
			}
			if bc.after != nil {
				bc.after(t, mnt)
			}
		})
	}
}

// TestRefusesMounted: fsck does not touch a mounted volume, before asking
// for a password.
func TestRefusesMounted(t *testing.T) {
	tp := buildTemplate(t)
	dir := tp.copyVolume(t)
	mnt := t.TempDir()
	harness.MountVolume(t, dir, mnt, pw)
	res := harness.Run(t, "", "fsck", "--repair", dir) // no password on stdin: refused before asking
	harness.Unmount(t, mnt)
	if res.Code != 11 || !strings.Contains(res.Stderr, "is mounted on "+mnt) || !strings.Contains(res.Stderr, "unmount it") {
		t.Errorf("fsck of a mounted volume: %v", res)
	}
}

// TestProgressBar: a progress bar on a terminal, none with --json or when
// standard error is not a terminal.
func TestProgressBar(t *testing.T) {
	testenv.NeedTool(t, "script", "bsdutils") // the pty to run on
	tp := buildTemplate(t)
	dir := tp.copyVolume(t)
	pass := harness.Passfile(t, pw)
	onTerminal := func(args string) string {
		cmd := fmt.Sprintf("%s fsck --passfile %s %s %s", harness.Binary(t), pass, args, dir)
		out, err := exec.Command("script", "-qec", cmd, "/dev/null").CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", cmd, err, out)
		}
		return string(out)
	}
	if out := onTerminal(""); !strings.Contains(out, "checking 0/") || !strings.Contains(out, "fsck summary: no problems found") {
		t.Errorf("on a terminal: %q", out)
	}
	if out := onTerminal("--json"); strings.Contains(out, "checking") {
		t.Errorf("--json on a terminal: %q", out)
	}
	if res := harness.Run(t, "", "fsck", "--passfile", pass, dir); res.Code != 0 || res.Stderr != "" {
		t.Errorf("not on a terminal: %v", res)
	}
}
