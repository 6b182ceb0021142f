package interop

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/tests/harness"
)

// TestExtraUnlockersInterop: a volume with two extra unlockers (veilfs keys:
// a password and a keyfile) is still a gocryptfs volume. A tree written
// through a veilfs mount opened with the keyfile passes gocryptfs -fsck and
// reads back through gocryptfs with the primary password, which alone
// gocryptfs knows. gocryptfs -passwd then rewrites gocryptfs.conf without
// the unlockers (as docs/commands.md and SECURITY.md say): only the primary works
// afterwards, in both implementations.
func TestExtraUnlockersInterop(t *testing.T) {
	requireAll(t)
	want := reference(t)
	cipherdir, mntA, mntB := newDirs(t)
	harness.InitVolume(t, cipherdir, password)

	const second = "the second password"
	keyfile := filepath.Join(t.TempDir(), "usb.key")
	for _, args := range [][]string{
		{"--new-passfile", harness.Passfile(t, second), "--label", "second"},
		{"--new-keyfile", keyfile, "--label", "usb"},
	} {
		all := append([]string{"keys", "add", "--passfile", harness.Passfile(t, password)}, args...)
		if res := harness.Run(t, "", append(all, cipherdir)...); res.Code != 0 {
			t.Fatalf("veilfs %s: %v", strings.Join(all, " "), res)
		}
	}

	harness.MountWith(t, cipherdir, mntA, "--keyfile", keyfile)
	writeTree(t, mntA)
	compareSnapshots(t, "veilfs mount opened with a keyfile vs plain dir", want, snapshot(t, mntA))
	harness.Unmount(t, mntA)

	fsckClean(t, cipherdir, password)
	harness.GocryptfsMount(t, cipherdir, mntB, password, "-ro")
	compareSnapshots(t, "gocryptfs -ro mount (primary password) of a volume with extra unlockers vs plain dir", want, snapshot(t, mntB))
	harness.GocryptfsUnmount(t, mntB)
	// gocryptfs knows nothing of the second password.
	if out, code := harness.GocryptfsFsck(t, cipherdir, second); code != 12 {
		t.Errorf("gocryptfs -fsck with an extra unlocker's password: exit %d, want 12\n%s", code, out)
	}

	// veilfs mounts with the second password and sees the same tree.
	harness.MountVolume(t, cipherdir, mntA, second, "--ro")
	compareSnapshots(t, "veilfs mount opened with an extra password vs plain dir", want, snapshot(t, mntA))
	harness.Unmount(t, mntA)

	// gocryptfs -passwd drops the extra unlockers (with -passfile it takes
	// the new password from the same file: the primary stays the same).
	if res := harness.GocryptfsRun(t, "", "-passwd", "-passfile", harness.Passfile(t, password), cipherdir); res.Code != 0 {
		t.Fatalf("gocryptfs -passwd: %v", res)
	}
	conf, err := os.ReadFile(filepath.Join(cipherdir, "gocryptfs.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(conf), "VeilfsUnlockers") {
		t.Errorf("gocryptfs -passwd kept VeilfsUnlockers (update docs/commands.md and SECURITY.md):\n%s", conf)
	}
	if res := harness.TryMount(t, cipherdir, mntA, "--keyfile", keyfile); res.Code != 12 {
		t.Errorf("veilfs mount --keyfile after gocryptfs -passwd: %v, want exit 12", res)
	}
	harness.MountVolume(t, cipherdir, mntA, password, "--ro")
	compareSnapshots(t, "veilfs mount after gocryptfs -passwd vs plain dir", want, snapshot(t, mntA))
	harness.Unmount(t, mntA)
}
