//go:build linux

package interop

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/internal/testenv"
	"github.com/veilfs/veilfs/tests/harness"
)

// TestACLBothWays: POSIX ACLs set through veilfs --acl are read by
// gocryptfs -acl and the other way round (FORMAT §7: both store them under
// their own names, values as they are), and a user an ACL denies is
// denied through either mount.
func TestACLBothWays(t *testing.T) {
	requireAll(t)
	testenv.NeedRoot(t, "acts as uid 65534 on a mount with allow_other")
	setfacl := harness.RequireTool(t, "setfacl", "acl")
	getfacl := harness.RequireTool(t, "getfacl", "acl")
	setpriv := harness.RequireTool(t, "setpriv", "util-linux")
	base := harness.WorldDir(t)
	cipherdir := filepath.Join(base, "cipher")
	mntA, mntB := filepath.Join(base, "mnt-a"), filepath.Join(base, "mnt-b")
	for _, d := range []string{mntA, mntB} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	run := func(name string, args ...string) string {
		t.Helper()
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	facls := func(mnt string) string {
		return run(getfacl, "-c", "-p", filepath.Join(mnt, "v"), filepath.Join(mnt, "vd"), filepath.Join(mnt, "g"), filepath.Join(mnt, "vd", "inherited"))
	}
	// denied checks that uid 65534 cannot read mnt/v, which only an ACL
	// entry forbids (mode 0644).
	denied := func(mnt string) {
		t.Helper()
		out, err := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "cat", filepath.Join(mnt, "v")).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "Permission denied") {
			t.Errorf("uid 65534 reading %s/v: %v %s, want Permission denied", mnt, err, out)
		}
	}

	harness.InitVolume(t, cipherdir, password)
	harness.MountVolume(t, cipherdir, mntA, password, "--acl", "--allow-other")
	if err := os.Chmod(mntA, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mntA, "v"), []byte("by veilfs\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run(setfacl, "-m", "u:nobody:---,g:daemon:rw", filepath.Join(mntA, "v"))
	if err := os.Mkdir(filepath.Join(mntA, "vd"), 0o755); err != nil {
		t.Fatal(err)
	}
	run(setfacl, "-d", "-m", "u:nobody:rwx", filepath.Join(mntA, "vd"))
	denied(mntA)
	harness.Unmount(t, mntA)

	harness.GocryptfsMount(t, cipherdir, mntB, password, "-acl", "-allow_other")
	denied(mntB)
	if err := os.WriteFile(filepath.Join(mntB, "g"), []byte("by gocryptfs\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run(setfacl, "-m", "u:nobody:r", filepath.Join(mntB, "g"))
	if err := os.WriteFile(filepath.Join(mntB, "vd", "inherited"), nil, 0o666); err != nil {
		t.Fatal(err)
	}
	viaGocryptfs := facls(mntB)
	harness.GocryptfsUnmount(t, mntB)

	harness.MountVolume(t, cipherdir, mntA, password, "-o", "acl,allow_other") // -o as --acl
	if got := facls(mntA); got != viaGocryptfs {
		t.Errorf("ACLs through veilfs:\n%s\nthrough gocryptfs:\n%s", got, viaGocryptfs)
	}
	for _, want := range []string{"user:nobody:---", "group:daemon:rw-", "default:user:nobody:rwx", "user:nobody:r--"} {
		if !strings.Contains(viaGocryptfs, want) {
			t.Errorf("ACLs through gocryptfs lack %q:\n%s", want, viaGocryptfs)
		}
	}
	out, err := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "cat", filepath.Join(mntA, "g")).CombinedOutput()
	if err != nil || string(out) != "by gocryptfs\n" {
		t.Errorf("uid 65534 reading g (mode 0600, ACL u:nobody:r set through gocryptfs): %v %s", err, out)
	}
	denied(mntA)
	harness.Unmount(t, mntA)
	fsckClean(t, cipherdir, password)
}
