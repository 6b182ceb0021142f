//go:build linux

package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/tests/harness"
)

// TestSecondWriterRefused: a CIPHERDIR mounted read-write is not mounted
// read-write a second time on the same machine (it was, silently, and the
// two daemons' caches and undo journals then worked against each other):
// exit 3, naming the mount that has it, with nothing mounted. Read-only
// second mounts, and --force, are allowed; `veilfs help mount` documents
// the rule and its exit code.
func TestSecondWriterRefused(t *testing.T) {
	cdir, first := harness.NewVolume(t)
	pf := harness.Passfile(t, harness.DefaultPassword)
	second := t.TempDir()
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(cdir, link); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{cdir, link} {
		res := harness.TryMount(t, dir, second, "--passfile", pf)
		if res.Code != 3 || !strings.Contains(res.Stderr, "mounted read-write already, on "+first) || !strings.Contains(res.Stderr, "--ro") {
			t.Errorf("second read-write mount of %s: %v; want exit 3 naming %s and suggesting --ro", dir, res, first)
		}
		if _, ok := harness.FindMount(second); ok {
			t.Fatalf("%s was mounted a second time read-write", dir)
		}
	}

	harness.MountVolume(t, cdir, second, harness.DefaultPassword, "--ro")
	harness.Unmount(t, second)
	harness.MountVolume(t, cdir, second, harness.DefaultPassword, "--force")
	harness.Unmount(t, second)

	if res := harness.Run(t, "", "help", "mount"); !strings.Contains(res.Stdout, "is refused with exit code 3") {
		t.Errorf("veilfs help mount does not document the refusal:\n%s", res.Stdout)
	}
}

// TestSecondWriterBesideGocryptfs: a CIPHERDIR that gocryptfs mounts
// read-write is refused the same way.
func TestSecondWriterBesideGocryptfs(t *testing.T) {
	harness.RequireGocryptfs(t)
	cdir, first, second := t.TempDir(), t.TempDir(), t.TempDir()
	harness.GocryptfsInit(t, cdir, harness.DefaultPassword)
	harness.GocryptfsMount(t, cdir, first, harness.DefaultPassword)
	res := harness.TryMount(t, cdir, second, "--passfile", harness.Passfile(t, harness.DefaultPassword))
	if res.Code != 3 || !strings.Contains(res.Stderr, first) || !strings.Contains(res.Stderr, "fuse.gocryptfs") {
		t.Errorf("veilfs mount beside gocryptfs: %v; want exit 3 naming %s", res, first)
	}
	harness.MountVolume(t, cdir, second, harness.DefaultPassword, "--ro")
}
