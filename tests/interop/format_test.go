package interop

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/tests/harness"
)

// TestFormatRecordInterop: veilfs's format record (VeilfsFormat in
// gocryptfs.conf, a MAC over the format fields under a key derived from
// the master key) leaves the volume a gocryptfs volume: a tree written
// through veilfs passes gocryptfs -fsck and reads back through gocryptfs.
// gocryptfs -passwd then rewrites the config without the record (as
// SECURITY.md says); veilfs still mounts it, as it mounts any volume
// gocryptfs made, and writes the record again at its next veilfs passwd.
func TestFormatRecordInterop(t *testing.T) {
	requireAll(t)
	want := reference(t)
	cipherdir, mntA, mntB := newDirs(t)
	harness.InitVolume(t, cipherdir, password)
	confPath := filepath.Join(cipherdir, "gocryptfs.conf")
	hasRecord := func() bool {
		b, err := os.ReadFile(confPath)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Contains(string(b), `"VeilfsFormat"`)
	}
	if !hasRecord() {
		t.Fatal("veilfs init wrote no format record")
	}

	harness.MountVolume(t, cipherdir, mntA, password)
	writeTree(t, mntA)
	harness.Unmount(t, mntA)
	fsckClean(t, cipherdir, password)
	harness.GocryptfsMount(t, cipherdir, mntB, password, "-ro")
	compareSnapshots(t, "gocryptfs -ro mount of a volume with a format record vs plain dir", want, snapshot(t, mntB))
	harness.GocryptfsUnmount(t, mntB)

	if res := harness.GocryptfsRun(t, "", "-passwd", "-passfile", harness.Passfile(t, password), cipherdir); res.Code != 0 {
		t.Fatalf("gocryptfs -passwd: %v", res)
	}
	if hasRecord() {
		t.Error("gocryptfs -passwd kept VeilfsFormat (update SECURITY.md and docs/commands.md)")
	}
	harness.MountVolume(t, cipherdir, mntA, password, "--ro")
	compareSnapshots(t, "veilfs mount after gocryptfs -passwd vs plain dir", want, snapshot(t, mntA))
	harness.Unmount(t, mntA)

	pw := harness.Passfile(t, password)
	if res := harness.Run(t, "", "passwd", "--passfile", pw, "--new-passfile", pw, cipherdir); res.Code != 0 {
		t.Fatalf("veilfs passwd: %v", res)
	}
	if !hasRecord() {
		t.Error("veilfs passwd did not write the format record again")
	}
	fsckClean(t, cipherdir, password)
}
