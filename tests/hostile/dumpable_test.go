//go:build linux

package hostile_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/veilfs/veilfs/internal/testenv"
	"github.com/veilfs/veilfs/tests/harness"
)

// TestDaemonNotDumpable: a mount daemon, foreground or background, is not
// dumpable (PR_SET_DUMPABLE 0), so other processes of its user can neither
// ptrace it nor read its memory, which holds the volume's keys. The kernel
// shows it in the owner of /proc/PID/mem: root for a non-dumpable process,
// the process's own user otherwise. That is visible only for a daemon of
// another user than root, so the daemon runs as uid 65534, with the two
// capabilities it needs to mount without fusermount3 (this test's
// machine may not let users open /dev/fuse): ambient capabilities keep the
// daemon dumpable by default (an exec that gains none leaves it so), so
// the owner tells what veilfs did.
func TestDaemonNotDumpable(t *testing.T) {
	harness.RequireFUSE(t)
	testenv.NeedRoot(t, "runs a daemon as another user")
	setpriv := harness.RequireTool(t, "setpriv", "util-linux")
	for _, fg := range []bool{true, false} {
		t.Run(map[bool]string{true: "foreground", false: "background"}[fg], func(t *testing.T) {
			base := t.TempDir()
			cdir, mnt := filepath.Join(base, "cipher"), filepath.Join(base, "mnt")
			if err := os.Mkdir(mnt, 0o755); err != nil {
				t.Fatal(err)
			}
			harness.InitVolume(t, cdir, pw)
			pf := harness.Passfile(t, pw)
			args := []string{"--reuid=65534", "--regid=65534", "--clear-groups",
				"--inh-caps=+sys_admin,+dac_override", "--ambient-caps=+sys_admin,+dac_override",
				harness.Binary(t), "mount", "--passfile", pf}
			if fg {
				args = append(args, "-f")
			}
			cmd := exec.Command(setpriv, append(args, cdir, mnt)...)
			cmd.Env = append(os.Environ(), "VEILFS_STATE_DIR="+filepath.Join(base, "state"))
			cmd.Dir = "/"
			var out strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var waitErr error
			exited := make(chan struct{})
			go func() { waitErr = cmd.Wait(); close(exited) }()
			t.Cleanup(func() {
				if _, ok := harness.FindMount(mnt); ok {
					if res := harness.Run(t, "", "unmount", mnt); res.Code != 0 {
						harness.Detach(mnt)
					}
				}
				if fg {
					_ = cmd.Process.Signal(syscall.SIGTERM)
					<-exited
				}
			})
			deadline := time.Now().Add(20 * time.Second)
			for {
				if _, ok := harness.FindMount(mnt); ok {
					break
				}
				if time.Now().After(deadline) {
					_ = cmd.Process.Kill()
					<-exited
					t.Fatalf("%s not mounted after 20s:\n%s", mnt, out.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
			if !fg {
				// The parent returns once the daemon serves; until then it
				// is a second process with the mountpoint as its last
				// argument, and it never serves, so it stays dumpable.
				<-exited
				if waitErr != nil {
					t.Fatalf("veilfs mount: %v\n%s", waitErr, out.String())
				}
			}
			pid := daemonPID(t, mnt)
			var st syscall.Stat_t
			if err := syscall.Stat(fmt.Sprintf("/proc/%d/mem", pid), &st); err != nil {
				t.Fatal(err)
			}
			status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
			if !strings.Contains(string(status), "\nUid:\t65534") {
				t.Fatalf("daemon %d does not run as uid 65534:\n%s", pid, status)
			}
			if st.Uid != 0 {
				t.Errorf("/proc/%d/mem of the mount daemon belongs to uid %d: it is dumpable, and every process of its user can read its keys", pid, st.Uid)
			}
		})
	}
}
