// Package interop checks, against the real Debian gocryptfs binary, that a
// volume written by veilfs is a valid gocryptfs volume and vice versa: same
// tree through either implementation, `gocryptfs -fsck` clean, same config
// flags for every init option, and passwords changed by one accepted by the
// other.
package interop

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/tests/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }

const password = "interop password ✓"

// requireAll skips (or, under make test, fails) when FUSE or gocryptfs is missing.
func requireAll(t *testing.T) {
	t.Helper()
	harness.RequireFUSE(t)
	harness.RequireGocryptfs(t)
}

// newDirs returns a fresh, empty cipherdir path (not yet created) and two
// empty mountpoints.
func newDirs(t *testing.T) (cipherdir, mntA, mntB string) {
	t.Helper()
	base := t.TempDir()
	cipherdir = filepath.Join(base, "cipher")
	mntA = filepath.Join(base, "mnt-a")
	mntB = filepath.Join(base, "mnt-b")
	for _, d := range []string{mntA, mntB} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return cipherdir, mntA, mntB
}

func fsckClean(t *testing.T, cipherdir, pw string) {
	t.Helper()
	out, code := harness.GocryptfsFsck(t, cipherdir, pw)
	if code != 0 {
		t.Errorf("gocryptfs -fsck %s: exit %d\n%s", cipherdir, code, out)
	}
}

// reference writes the test tree into a plain directory and returns its
// snapshot: what every mount is compared against.
func reference(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	writeTree(t, dir)
	return snapshot(t, dir)
}

// TestVeilfsWritesGocryptfsReads: a tree written through veilfs passes
// gocryptfs -fsck and reads back identically through a gocryptfs -ro mount.
func TestVeilfsWritesGocryptfsReads(t *testing.T) {
	requireAll(t)
	want := reference(t)
	cipherdir, mntA, mntB := newDirs(t)

	harness.InitVolume(t, cipherdir, password)
	veilfsWritesGocryptfsReads(t, want, cipherdir, mntA, mntB)
}

// veilfsWritesGocryptfsReads writes the tree through a veilfs mount of
// cipherdir, checks it there, then checks that gocryptfs -fsck is clean and
// that a gocryptfs mount shows the same tree.
func veilfsWritesGocryptfsReads(t *testing.T, want []string, cipherdir, mntA, mntB string) {
	t.Helper()
	harness.MountVolume(t, cipherdir, mntA, password)
	writeTree(t, mntA)
	compareSnapshots(t, "veilfs mount vs plain dir", want, snapshot(t, mntA))
	harness.Unmount(t, mntA)

	fsckClean(t, cipherdir, password)

	harness.GocryptfsMount(t, cipherdir, mntB, password, "-ro")
	compareSnapshots(t, "gocryptfs -ro mount of a veilfs volume vs plain dir", want, snapshot(t, mntB))
	harness.GocryptfsUnmount(t, mntB)
}

// TestGocryptfsWritesVeilfsReads: the reverse direction, then veilfs adds to
// the gocryptfs-made volume and gocryptfs reads the result.
func TestGocryptfsWritesVeilfsReads(t *testing.T) {
	requireAll(t)
	want := reference(t)
	cipherdir, mntA, mntB := newDirs(t)
	if err := os.Mkdir(cipherdir, 0o700); err != nil {
		t.Fatal(err)
	}

	harness.GocryptfsInit(t, cipherdir, password)
	harness.GocryptfsMount(t, cipherdir, mntB, password)
	writeTree(t, mntB)
	compareSnapshots(t, "gocryptfs mount vs plain dir", want, snapshot(t, mntB))
	harness.GocryptfsUnmount(t, mntB)

	harness.MountVolume(t, cipherdir, mntA, password)
	compareSnapshots(t, "veilfs mount of a gocryptfs volume vs plain dir", want, snapshot(t, mntA))

	// veilfs writes a second copy of the tree into the same volume, and
	// modifies some of gocryptfs's files in place.
	if err := os.Mkdir(filepath.Join(mntA, "more"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeTree(t, filepath.Join(mntA, "more"))
	appendTo(t, filepath.Join(mntA, "sizes/size-4095"), "+veilfs")
	appendTo(t, filepath.Join(mntA, "names", name176), "+veilfs")
	if err := os.Rename(filepath.Join(mntA, "nested/a/top.txt"), filepath.Join(mntA, "nested", name255)); err != nil {
		t.Fatal(err)
	}
	afterVeilfs := snapshot(t, mntA)
	harness.Unmount(t, mntA)

	fsckClean(t, cipherdir, password)
	harness.GocryptfsMount(t, cipherdir, mntB, password, "-ro")
	compareSnapshots(t, "gocryptfs mount after veilfs wrote into it vs veilfs view", afterVeilfs, snapshot(t, mntB))
	harness.GocryptfsUnmount(t, mntB)
}

func appendTo(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// infoRe picks the lines of `gocryptfs -info` that describe the format (not
// the creator or the random salt).
var infoRe = regexp.MustCompile(`(?m)^(FeatureFlags|contentEncryption|EncryptedKey|ScryptObject):.*$`)

func gocryptfsInfo(t *testing.T, cipherdir string) string {
	t.Helper()
	out, err := exec.Command("gocryptfs", "-info", cipherdir).CombinedOutput()
	if err != nil {
		t.Fatalf("gocryptfs -info %s: %v\n%s", cipherdir, err, out)
	}
	return strings.Join(infoRe.FindAllString(string(out), -1), "\n")
}

// confFields returns the format-relevant fields of gocryptfs.conf.
func confFields(t *testing.T, cipherdir string) (version int, longNameMax int) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(cipherdir, "gocryptfs.conf"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Version     int
		LongNameMax int
	}
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatalf("parse %s/gocryptfs.conf: %v", cipherdir, err)
	}
	return c.Version, c.LongNameMax
}

// TestInitOptions: for each init option, veilfs writes the same config flags
// gocryptfs would, and a tree veilfs writes under it passes gocryptfs -fsck
// and reads back through gocryptfs.
func TestInitOptions(t *testing.T) {
	requireAll(t)
	cases := []struct {
		name      string
		veilfs    []string
		gocryptfs []string
	}{
		{"default", nil, nil},
		{"plaintextnames", []string{"--plaintextnames"}, []string{"-plaintextnames"}},
		{"deterministic-names", []string{"--deterministic-names"}, []string{"-deterministic-names"}},
		{"aessiv", []string{"--aessiv"}, []string{"-aessiv"}},
		{"xchacha", []string{"--xchacha"}, []string{"-xchacha"}},
		{"longnamemax-100", []string{"--longnamemax", "100"}, []string{"-longnamemax", "100"}},
	}
	want := reference(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cipherdir, mntA, mntB := newDirs(t)
			peer := filepath.Join(t.TempDir(), "peer")
			if err := os.Mkdir(peer, 0o700); err != nil {
				t.Fatal(err)
			}
			harness.InitVolume(t, cipherdir, password, c.veilfs...)
			harness.GocryptfsInit(t, peer, password, c.gocryptfs...)

			if got, exp := gocryptfsInfo(t, cipherdir), gocryptfsInfo(t, peer); got != exp {
				t.Errorf("gocryptfs -info differs\nveilfs init %v:\n%s\ngocryptfs -init %v:\n%s", c.veilfs, got, c.gocryptfs, exp)
			}
			gv, gl := confFields(t, cipherdir)
			pv, pl := confFields(t, peer)
			if gv != pv || gl != pl {
				t.Errorf("gocryptfs.conf Version/LongNameMax: veilfs %d/%d, gocryptfs %d/%d", gv, gl, pv, pl)
			}

			veilfsWritesGocryptfsReads(t, want, cipherdir, mntA, mntB)
		})
	}
}

// TestPasswdThenGocryptfs: after `veilfs passwd`, gocryptfs accepts the new
// password and rejects the old one, and the data is intact.
func TestPasswdThenGocryptfs(t *testing.T) {
	requireAll(t)
	cipherdir, mntA, mntB := newDirs(t)
	harness.InitVolume(t, cipherdir, password)
	harness.MountVolume(t, cipherdir, mntA, password)
	if err := os.WriteFile(filepath.Join(mntA, "secret.txt"), []byte("still here\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	harness.Unmount(t, mntA)

	const newPassword = "a brand new password"
	res := harness.Run(t, "", "passwd", "--passfile", harness.Passfile(t, password),
		"--new-passfile", harness.Passfile(t, newPassword), cipherdir)
	if res.Code != 0 {
		t.Fatalf("veilfs passwd: %v", res)
	}

	// The old password no longer opens the volume in gocryptfs (exit 12, wrong password).
	if out, code := harness.GocryptfsFsck(t, cipherdir, password); code != 12 {
		t.Errorf("gocryptfs -fsck with the old password: exit %d, want 12\n%s", code, out)
	}
	fsckClean(t, cipherdir, newPassword)

	harness.GocryptfsMount(t, cipherdir, mntB, newPassword, "-ro")
	data, err := os.ReadFile(filepath.Join(mntB, "secret.txt"))
	if err != nil || string(data) != "still here\n" {
		t.Errorf("read secret.txt through gocryptfs after passwd: %q, %v", data, err)
	}
	harness.GocryptfsUnmount(t, mntB)
}
