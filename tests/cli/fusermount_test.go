//go:build linux

package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/internal/testenv"
	"github.com/veilfs/veilfs/tests/harness"
)

// TestFusermountRefusal: when fusermount3 refuses a user's mount, the
// error says why (the device closed to users, user_allow_other missing from
// /etc/fuse.conf) with fusermount3's exit status decoded; it was
// "fusermount exited with code 256" and no hint. The user asks for
// --allow-other; which causes apply depends on this machine, and the test
// expects exactly those.
func TestFusermountRefusal(t *testing.T) {
	harness.RequireFUSE(t)
	testenv.NeedRoot(t, "acts as another user")
	setpriv := harness.RequireTool(t, "setpriv", "util-linux")
	deviceOK := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "sh", "-c", "exec 3<>/dev/fuse").Run() == nil
	userAllowOther := false
	if conf, err := os.ReadFile("/etc/fuse.conf"); err == nil {
		for _, line := range strings.Split(string(conf), "\n") {
			userAllowOther = userAllowOther || strings.TrimSpace(line) == "user_allow_other"
		}
	}
	if deviceOK && userAllowOther {
		testenv.Missing(t, "this machine lets uid 65534 mount with --allow-other (/etc/fuse.conf says user_allow_other): fusermount3 has nothing to refuse")
	}

	base := harness.WorldDir(t)
	cdir, mnt, pf := filepath.Join(base, "cipher"), filepath.Join(base, "mnt"), filepath.Join(base, "pass")
	harness.InitVolume(t, cdir, harness.DefaultPassword)
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pf, []byte(harness.DefaultPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("chown", "-R", "65534:65534", cdir, mnt, pf).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v\n%s", err, out)
	}

	out, code := veilfsAsUser(t, nil, false, "mount", "--allow-other", "--passfile", pf, cdir, mnt)
	if _, mounted := harness.FindMount(mnt); mounted {
		harness.Detach(mnt)
		t.Fatalf("mounted as uid 65534 with --allow-other:\n%s", out)
	}
	if code != 3 || strings.Contains(out, "code 256") || !strings.Contains(out, "fusermount3 failed (exit status 1)") {
		t.Errorf("exit %d, want 3 with the status decoded:\n%s", code, out)
	}
	if !deviceOK && !strings.Contains(out, "you may not open /dev/fuse") {
		t.Errorf("uid 65534 cannot open /dev/fuse, and the error does not say so:\n%s", out)
	}
	if !userAllowOther && !strings.Contains(out, "user_allow_other") {
		t.Errorf("/etc/fuse.conf lacks user_allow_other, and the error does not say so:\n%s", out)
	}
}
