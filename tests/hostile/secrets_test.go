//go:build linux

package hostile_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/tests/harness"
)

const pw = "pw-that-must-never-leak-7f3a"

// TestSecretsInForegroundDaemon extends tests/cli's
// TestPasswordNotInDaemonArgs to the foreground daemon and its log: for
// every way of giving the password, neither /proc/PID/cmdline, environ nor
// everything the daemon logs (stderr in -f mode, including corruption
// reports and a clean unmount) contains it, and core dumps are off.
func TestSecretsInForegroundDaemon(t *testing.T) {
	harness.RequireFUSE(t)
	cases := []struct {
		name  string
		stdin string
		args  func(t *testing.T) []string
	}{
		{"passfile", "", func(t *testing.T) []string { return []string{"--passfile", harness.Passfile(t, pw)} }},
		{"extpass", "", func(t *testing.T) []string {
			return []string{"--extpass", "cat " + harness.Passfile(t, pw)}
		}},
		{"stdin", pw + "\n", func(t *testing.T) []string { return nil }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cdir, mnt := filepath.Join(t.TempDir(), "cipher"), t.TempDir()
			harness.InitVolume(t, cdir, pw)
			m, err := harness.StartForeground(t, cdir, mnt, c.stdin, c.args(t)...)
			if err != nil {
				t.Fatal(err)
			}
			// Make the daemon log: a corrupt file and an undecryptable name.
			if err := os.WriteFile(filepath.Join(mnt, "f"), bytes.Repeat([]byte("x"), 5000), 0o644); err != nil {
				t.Fatal(err)
			}
			ents, _ := os.ReadDir(cdir)
			for _, e := range ents {
				if !strings.HasPrefix(e.Name(), "gocryptfs.") {
					b, _ := os.ReadFile(filepath.Join(cdir, e.Name()))
					b[100] ^= 1
					os.WriteFile(filepath.Join(cdir, e.Name()), b, 0o644)
				}
			}
			os.WriteFile(filepath.Join(cdir, "QUJDRA"), nil, 0o644)
			os.ReadFile(filepath.Join(mnt, "f"))
			os.ReadDir(mnt)
			checkProc(t, m.PID())
			m.Stop()
			log := m.Log()
			if !strings.Contains(log, "corrupt ciphertext") || !strings.Contains(log, "skipping undecryptable") {
				t.Errorf("the daemon logged no corruption, so the log check below proves little:\n%s", log)
			}
			if strings.Contains(log, pw) {
				t.Errorf("the daemon log contains the password:\n%s", log)
			}
		})
	}
}

// checkProc greps the process's command line and environment for the
// password and checks that core dumps are disabled.
func checkProc(t *testing.T, pid int) {
	t.Helper()
	for _, f := range []string{"cmdline", "environ"} {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, f))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(pw)) {
			t.Errorf("/proc/%d/%s contains the password", pid, f)
		}
	}
	limits, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(limits), "\n") {
		if strings.HasPrefix(line, "Max core file size") {
			if f := strings.Fields(line); len(f) < 6 || f[4] != "0" || f[5] != "0" {
				t.Errorf("daemon %d may dump core (the dump would hold the keys): %q", pid, line)
			}
			return
		}
	}
	t.Errorf("no core limit in /proc/%d/limits", pid)
}

// TestBackgroundDaemonNoCore: the daemon of a background mount has core
// dumps off too (tests/cli covers its cmdline and environment).
func TestBackgroundDaemonNoCore(t *testing.T) {
	cdir, mnt := filepath.Join(t.TempDir(), "cipher"), t.TempDir()
	harness.InitVolume(t, cdir, pw)
	harness.MountVolume(t, cdir, mnt, pw)
	pid := daemonPID(t, mnt)
	checkProc(t, pid)
	if e, _ := harness.FindMount(mnt); strings.Contains(e.Options, "allow_other") || mountsLine(mnt, "allow_other") {
		t.Errorf("allow_other without --allow-other: %s", e.Options)
	}
	harness.Unmount(t, mnt)
}

// daemonPID finds the veilfs process serving mnt.
func daemonPID(t *testing.T, mnt string) int {
	t.Helper()
	exe, _ := filepath.EvalSymlinks(harness.Binary(t))
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if x, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); x != exe {
			continue
		}
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		args := strings.Split(strings.TrimRight(string(cmd), "\x00"), "\x00")
		if args[len(args)-1] == mnt {
			return pid
		}
	}
	t.Fatalf("no daemon for %s", mnt)
	return 0
}

// mountsLine reports whether mnt's line in /proc/mounts has option opt.
func mountsLine(mnt, opt string) bool {
	b, _ := os.ReadFile("/proc/mounts")
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 3 && f[1] == mnt {
			for _, o := range strings.Split(f[3], ",") {
				if o == opt {
					return true
				}
			}
		}
	}
	return false
}

// TestAllowOtherOnlyOnRequest: /proc/mounts shows allow_other exactly when
// --allow-other (or -o allow_other) was given, foreground or not.
func TestAllowOtherOnlyOnRequest(t *testing.T) {
	cdir := filepath.Join(t.TempDir(), "cipher")
	harness.InitVolume(t, cdir, pw)
	for _, c := range []struct {
		args []string
		want bool
	}{{nil, false}, {[]string{"--allow-other"}, true}, {[]string{"-o", "allow_other"}, true}} {
		mnt := t.TempDir()
		m := mustFGPw(t, cdir, mnt, c.args...)
		if got := mountsLine(mnt, "allow_other"); got != c.want {
			t.Errorf("mount -f %v: allow_other in /proc/mounts = %v, want %v", c.args, got, c.want)
		}
		m.Stop()
	}
}

func mustFGPw(t *testing.T, cdir, mnt string, extra ...string) *harness.Foreground {
	t.Helper()
	m, err := harness.StartForeground(t, cdir, mnt, "", append([]string{"--passfile", harness.Passfile(t, pw)}, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestConfigMode: gocryptfs.conf is 0400 after init and after passwd, and
// passwd leaves no temporary file.
func TestConfigMode(t *testing.T) {
	cdir := filepath.Join(t.TempDir(), "cipher")
	harness.InitVolume(t, cdir, pw)
	conf := filepath.Join(cdir, "gocryptfs.conf")
	check := func(when string) {
		fi, err := os.Stat(conf)
		if err != nil || fi.Mode().Perm() != 0o400 {
			t.Errorf("%s: gocryptfs.conf mode %v (%v), want 0400", when, fi.Mode(), err)
		}
		if _, err := os.Lstat(conf + ".tmp"); err == nil {
			t.Errorf("%s: gocryptfs.conf.tmp left behind", when)
		}
	}
	check("after init")
	res := harness.Run(t, "", "passwd", "--scryptn", "10", "--passfile", harness.Passfile(t, pw),
		"--new-passfile", harness.Passfile(t, pw+"2"), cdir)
	if res.Code != 0 {
		t.Fatalf("passwd: %v", res)
	}
	check("after passwd")
	if strings.Contains(res.Stdout+res.Stderr, pw) {
		t.Errorf("passwd printed a password: %v", res)
	}
	// umask must not widen it either.
	cdir2 := filepath.Join(t.TempDir(), "cipher")
	cmd := exec.Command("/bin/sh", "-c", `umask 000 && exec "$0" "$@"`, harness.Binary(t), "init", "--scryptn", "10",
		"--passfile", harness.Passfile(t, pw), cdir2)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("init with umask 000: %v\n%s", err, out)
	}
	if fi, _ := os.Stat(filepath.Join(cdir2, "gocryptfs.conf")); fi == nil || fi.Mode().Perm() != 0o400 {
		t.Errorf("init with umask 000: gocryptfs.conf mode %v, want 0400", fi.Mode())
	}
}
