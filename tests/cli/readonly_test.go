//go:build linux

package cli

import (
	"errors"
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

// TestMountReadOnlyCipherDir: a CIPHERDIR this user cannot write to (here
// a read-only bind mount) is mounted read-only, with a warning that says
// so, instead of read-write with every write failing later.
func TestMountReadOnlyCipherDir(t *testing.T) {
	testenv.NeedRoot(t, "makes a read-only bind mount")
	harness.RequireFUSE(t)
	dir := t.TempDir()
	harness.InitVolume(t, dir, harness.DefaultPassword)
	ro := t.TempDir()
	for _, args := range [][]string{{"--bind", dir, ro}, {"-o", "remount,bind,ro", ro}} {
		if out, err := exec.Command("mount", args...).CombinedOutput(); err != nil {
			t.Fatalf("mount %q: %v\n%s", args, err, out)
		}
	}
	// Registered first, so that it runs after the veilfs unmount.
	t.Cleanup(func() {
		if out, err := exec.Command("umount", ro).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v\n%s", ro, err, out)
		}
	})

	mnt := t.TempDir()
	res := harness.TryMount(t, ro, mnt, "--passfile", harness.Passfile(t, harness.DefaultPassword))
	if res.Code != 0 || !strings.Contains(res.Stderr, "veilfs: warning: "+ro+" is read-only (its filesystem, or its permissions): mounting it read-only") ||
		!strings.Contains(res.Stderr, "veilfs: hint: to write to the volume, make CIPHERDIR writable") {
		t.Fatalf("veilfs mount of a read-only CIPHERDIR: %v", res)
	}
	e, ok := harness.FindMount(mnt)
	if !ok || !slices.Contains(strings.Split(e.Options, ","), "ro") {
		t.Errorf("mounted with options %q, want ro", e.Options)
	}
	err := os.WriteFile(filepath.Join(mnt, "x"), nil, 0o644)
	if !errors.Is(err, syscall.EROFS) {
		t.Errorf("write to the mount: %v, want EROFS", err)
	}
	if st := statusOf(t, mnt); len(st.Options) == 0 || st.Options[0] != "ro" {
		t.Errorf("veilfs status shows options %q, want ro first", st.Options)
	}

	// A writable CIPHERDIR is still mounted read-write, without a word.
	mnt2 := t.TempDir()
	res = harness.TryMount(t, dir, mnt2, "--passfile", harness.Passfile(t, harness.DefaultPassword))
	if res.Code != 0 || strings.Contains(res.Stderr, "read-only") {
		t.Errorf("veilfs mount of a writable CIPHERDIR: %v", res)
	}
}
