//go:build linux

package cli

// mount(8), /etc/fstab and umount(8) with real mounts (cmd/veilfs/mounthelper.go).
//
// mount(8) clears PATH before it runs a helper, and looks for helpers in
// /sbin only, so it cannot be pointed at the binary under test with PATH.
// The tests that go through mount(8) run it in a private mount namespace
// (helperNS) where the binary is where an installed veilfs would be found:
// /usr/local/sbin/veilfs (first in /bin/sh's default PATH, which
// mount.fuse3 uses) and /sbin/mount.veilfs (through an overlay on
// /usr/sbin). Nothing changes outside the namespace, and its mounts are not
// seen outside it either: the tests read /proc/PID/mountinfo of a process
// in it and reach the files through /proc/PID/root.

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/internal/testenv"
	"github.com/veilfs/veilfs/tests/harness"
)

// helperNS is a private mount namespace kept alive by a sleeping process.
type helperNS struct {
	t      *testing.T
	holder *exec.Cmd
	pid    int
	// sbin reports whether /sbin/mount.veilfs exists in the namespace
	// (the overlay could be made).
	sbin bool
	// inherited are the veilfs mounts the namespace was born with: copies
	// of those that tests of other packages, run in parallel, had at that
	// moment. They are not ours to report.
	inherited map[string]bool
}

func newHelperNS(t *testing.T) *helperNS {
	t.Helper()
	harness.RequireFUSE(t)
	testenv.NeedRoot(t, "mount(8) tests make a mount namespace and run mount(8) as root")
	for _, tool := range [][2]string{{"unshare", "util-linux"}, {"nsenter", "util-linux"}, {"mount", "mount"}, {"umount", "mount"}, {"/sbin/mount.fuse3", "fuse3"}} {
		testenv.NeedTool(t, tool[0], tool[1])
	}
	bin := harness.Binary(t)
	binDir, sbinDir := t.TempDir(), t.TempDir()
	for _, l := range []string{filepath.Join(binDir, "veilfs"), filepath.Join(sbinDir, "mount.veilfs")} {
		if err := os.Symlink(bin, l); err != nil {
			t.Fatal(err)
		}
	}
	script := `set -e
mount --bind "$1" /usr/local/sbin
if mount -t overlay veilfs-test-sbin -o lowerdir="$2":/usr/sbin /usr/sbin; then echo sbin; fi
echo ready
exec sleep 3600`
	holder := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", binDir, sbinDir)
	out, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	holder.Stderr = os.Stderr
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	ns := &helperNS{t: t, holder: holder, pid: holder.Process.Pid}
	t.Cleanup(ns.close)
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("setting up the mount namespace failed: %v", holder.Wait())
			}
			if l == "sbin" {
				ns.sbin = true
			}
			if l == "ready" {
				ns.inherited = ns.veilfsMounts()
				return ns
			}
		case <-timeout:
			t.Fatal("setting up the mount namespace took more than 30s")
		}
	}
}

// run runs a command inside the namespace.
func (ns *helperNS) run(stdin string, args ...string) harness.Result {
	ns.t.Helper()
	return harness.Exec(ns.t, stdin, "nsenter", append([]string{"-t", strconv.Itoa(ns.pid), "-m", "--"}, args...)...)
}

// mount returns the topmost mount on mnt inside the namespace.
func (ns *helperNS) mount(mnt string) (harness.MountEntry, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", ns.pid))
	if err != nil {
		ns.t.Fatal(err)
	}
	var found harness.MountEntry
	ok := false
	for _, e := range harness.ParseMountinfo(string(data)) {
		if e.MountPoint == mnt {
			found, ok = e, true
		}
	}
	return found, ok
}

// path is p as seen from inside the namespace.
func (ns *helperNS) path(p string) string {
	return fmt.Sprintf("/proc/%d/root%s", ns.pid, p)
}

// veilfsMounts returns the mount points of the veilfs mounts in the
// namespace.
func (ns *helperNS) veilfsMounts() map[string]bool {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", ns.pid))
	mounts := map[string]bool{}
	for _, e := range harness.ParseMountinfo(string(data)) {
		if strings.HasPrefix(e.FSType, "fuse.veilfs") {
			mounts[e.MountPoint] = true
		}
	}
	return mounts
}

// close unmounts what the tests left mounted in the namespace, then ends it.
func (ns *helperNS) close() {
	for mnt := range ns.veilfsMounts() {
		if ns.inherited[mnt] {
			continue
		}
		ns.t.Errorf("%s is still mounted in the test namespace; unmounting it", mnt)
		if res := ns.run("", "umount", mnt); res.Code != 0 {
			ns.run("", "umount", "-l", mnt)
		}
	}
	_ = ns.holder.Process.Kill()
	_ = ns.holder.Wait()
}

// mountOptionsIn returns the options of the topmost mount on mnt in the
// mount namespace of pid, per-mount and filesystem ones together, as
// /proc/PID/mounts lists them.
func mountOptionsIn(t *testing.T, pid int, mnt string) string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/mounts", pid))
	if err != nil {
		t.Fatal(err)
	}
	opts := ""
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 4 && f[1] == mnt {
			opts = f[3]
		}
	}
	return opts
}

// waitDaemonGone fails the test if a veilfs process serving mnt is still
// running 5 s after it was unmounted.
func waitDaemonGone(t *testing.T, mnt string) {
	t.Helper()
	bin := harness.Binary(t)
	deadline := time.Now().Add(5 * time.Second)
	for {
		var left []int
		for _, pid := range veilfsProcesses(t, bin) {
			cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
			if args[len(args)-1] == mnt {
				left = append(left, pid)
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("veilfs daemon(s) %v of %s still running 5s after the unmount", left, mnt)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// helperVolume creates a volume with one file in it, and a mountpoint.
func helperVolume(t *testing.T) (cipherdir, mnt, passfile string) {
	t.Helper()
	base := t.TempDir()
	cipherdir, mnt = filepath.Join(base, "vault.enc"), filepath.Join(base, "vault")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	harness.InitVolume(t, cipherdir, password)
	harness.MountVolume(t, cipherdir, mnt, password)
	if err := os.WriteFile(filepath.Join(mnt, "note.txt"), []byte("hello from fstab\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	harness.Unmount(t, mnt)
	return cipherdir, mnt, harness.Passfile(t, password)
}

// checkMounted checks what a test expects of a mount made by mount(8):
// listed as fuse.veilfs of CIPHERDIR, the file readable, writes refused
// exactly when ro.
func checkMounted(t *testing.T, e harness.MountEntry, ok bool, root func(string) string, cipherdir, mnt string, ro bool) {
	t.Helper()
	if !ok {
		t.Fatalf("%s is not mounted", mnt)
	}
	if e.FSType != "fuse.veilfs" || e.Source != cipherdir {
		t.Errorf("mounted as %s of %s, want fuse.veilfs of %s", e.FSType, e.Source, cipherdir)
	}
	if got, err := os.ReadFile(root(filepath.Join(mnt, "note.txt"))); err != nil || string(got) != "hello from fstab\n" {
		t.Errorf("reading through the mount: %q, %v", got, err)
	}
	err := os.WriteFile(root(filepath.Join(mnt, "new.txt")), []byte("x"), 0o644)
	switch {
	case ro && !errors.Is(err, syscall.EROFS):
		t.Errorf("writing to a ro mount: %v, want EROFS", err)
	case !ro && err != nil:
		t.Errorf("writing to a rw mount: %v", err)
	}
}

// TestMountTypeFuseVeilfs: mount -t fuse.veilfs goes through mount.fuse3,
// which runs "veilfs CIPHERDIR MOUNTPOINT -o OPTIONS"; umount(8) unmounts
// and the daemon exits.
func TestMountTypeFuseVeilfs(t *testing.T) {
	cipherdir, mnt, pw := helperVolume(t)
	ns := newHelperNS(t)
	for _, tt := range []struct {
		name    string
		options string
		ro      bool
	}{
		{"rw", "passfile=" + pw, false},
		{"ro and allow_other", "passfile=" + pw + ",ro,allow_other,nofail,noatime", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := ns.run("", "mount", "-t", "fuse.veilfs", cipherdir, mnt, "-o", tt.options)
			if res.Code != 0 {
				t.Fatalf("mount -t fuse.veilfs: %v", res)
			}
			e, ok := ns.mount(mnt)
			checkMounted(t, e, ok, ns.path, cipherdir, mnt, tt.ro)
			if opts := mountOptionsIn(t, ns.pid, mnt); tt.ro && !strings.Contains(","+opts+",", ",allow_other,") {
				t.Errorf("allow_other missing from the mount's options %q", opts)
			}
			if res := ns.run("", "umount", mnt); res.Code != 0 {
				t.Fatalf("umount: %v", res)
			}
			if _, ok := ns.mount(mnt); ok {
				t.Errorf("%s still mounted after umount", mnt)
			}
			waitDaemonGone(t, mnt)
		})
	}
}

// TestMountTypeVeilfs: mount -t veilfs runs /sbin/mount.veilfs.
func TestMountTypeVeilfs(t *testing.T) {
	cipherdir, mnt, pw := helperVolume(t)
	ns := newHelperNS(t)
	if !ns.sbin {
		testenv.Missing(t, "no overlay filesystem to put mount.veilfs into /sbin of the test namespace")
	}
	res := ns.run("", "mount", "-v", "-t", "veilfs", cipherdir, mnt, "-o", "ro,passfile="+pw)
	if res.Code != 0 {
		t.Fatalf("mount -t veilfs: %v", res)
	}
	e, ok := ns.mount(mnt)
	checkMounted(t, e, ok, ns.path, cipherdir, mnt, true)
	if res := ns.run("", "umount", mnt); res.Code != 0 {
		t.Fatalf("umount: %v", res)
	}
	waitDaemonGone(t, mnt)
}

// TestMountFstab: lines of an fstab, with the options mount(8) and systemd
// put there, mounted by mountpoint alone as "mount /srv/vault" does.
func TestMountFstab(t *testing.T) {
	cipherdir, mnt, pw := helperVolume(t)
	ns := newHelperNS(t)
	// fstab escapes blanks in paths as \040; none of these has any.
	fstab := filepath.Join(t.TempDir(), "fstab")
	lines := []struct {
		name, fstype, options string
		ro                    bool
	}{
		{"fuse.veilfs", "fuse.veilfs", "passfile=" + pw + ",nofail,noauto,x-systemd.automount,x-systemd.idle-timeout=60,_netdev,nosuid,nodev", false},
		{"fuse.veilfs ro", "fuse.veilfs", "ro,passfile=" + pw + ",nofail,x-systemd.automount,x-gvfs-show,comment=backup,relatime", true},
		{"veilfs", "veilfs", "defaults,passfile=" + pw + ",nofail,noauto,x-systemd.automount,ro", true},
	}
	for _, l := range lines {
		t.Run(l.name, func(t *testing.T) {
			if l.fstype == "veilfs" && !ns.sbin {
				testenv.Missing(t, "no overlay filesystem to put mount.veilfs into /sbin of the test namespace")
			}
			line := fmt.Sprintf("%s %s %s %s 0 0\n", cipherdir, mnt, l.fstype, l.options)
			if err := os.WriteFile(fstab, []byte("# test fstab\n"+line), 0o644); err != nil {
				t.Fatal(err)
			}
			res := ns.run("", "mount", "--fstab", fstab, mnt)
			if res.Code != 0 {
				t.Fatalf("mount --fstab with %q: %v", line, res)
			}
			e, ok := ns.mount(mnt)
			checkMounted(t, e, ok, ns.path, cipherdir, mnt, l.ro)
			if res := ns.run("", "umount", mnt); res.Code != 0 {
				t.Fatalf("umount: %v", res)
			}
			waitDaemonGone(t, mnt)
		})
	}
}

// TestMountHelperFailures: a mount(8) mount that fails exits non-zero with
// veilfs's message and leaves nothing mounted and no daemon.
func TestMountHelperFailures(t *testing.T) {
	cipherdir, mnt, _ := helperVolume(t)
	wrong := harness.Passfile(t, "not the password")
	ns := newHelperNS(t)
	for _, tt := range []struct {
		name   string
		args   []string
		stderr string
	}{
		{"wrong password", []string{"mount", "-t", "fuse.veilfs", cipherdir, mnt, "-o", "passfile=" + wrong}, "veilfs: error: wrong password"},
		{"no password source", []string{"mount", "-t", "fuse.veilfs", cipherdir, mnt, "-o", "nofail"}, "add passfile=FILE to the mount options"},
		{"refused option", []string{"mount", "-t", "fuse.veilfs", cipherdir, mnt, "-o", "extpass=cat /etc/pw"}, "extpass= is not accepted"},
		{"missing CIPHERDIR", []string{"mount", "-t", "fuse.veilfs", cipherdir + ".missing", mnt, "-o", "passfile=" + wrong}, "does not exist"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := len(veilfsProcesses(t, harness.Binary(t)))
			res := ns.run("", tt.args...)
			if res.Code == 0 {
				ns.run("", "umount", mnt)
				t.Fatalf("%q succeeded", tt.args)
			}
			if !strings.Contains(res.Stderr, tt.stderr) {
				t.Errorf("mount(8) exit %d, stderr %q does not contain %q", res.Code, res.Stderr, tt.stderr)
			}
			if _, ok := ns.mount(mnt); ok {
				t.Errorf("%s is mounted after a failed mount", mnt)
			}
			if n := len(veilfsProcesses(t, harness.Binary(t))); n > before {
				t.Errorf("%d veilfs process(es) left after a failed mount", n-before)
			}
		})
	}
}

// TestMountVeilfsLink: the mount.veilfs link run directly, as mount(8) runs
// it, and a wrong password through it.
func TestMountVeilfsLink(t *testing.T) {
	cipherdir, mnt, pw := helperVolume(t)
	link := filepath.Join(t.TempDir(), "mount.veilfs")
	if err := os.Symlink(harness.Binary(t), link); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { forceUnmount(mnt) })

	res := harness.Exec(t, "", link, cipherdir, mnt, "-o", "passfile="+harness.Passfile(t, "wrong"))
	if res.Code != 12 || !strings.Contains(res.Stderr, "wrong password") {
		t.Errorf("mount.veilfs with a wrong password: %v, want exit 12", res)
	}
	if m, _ := isMounted(mnt); m {
		t.Fatalf("%s mounted after a wrong password", mnt)
	}

	res = harness.Exec(t, "", link, cipherdir, mnt, "-n", "-o", "ro,passfile="+pw+",nofail,x-systemd.automount")
	if res.Code != 0 {
		t.Fatalf("mount.veilfs: %v", res)
	}
	e, ok := harness.FindMount(mnt)
	checkMounted(t, e, ok, func(p string) string { return p }, cipherdir, mnt, true)
	if res := harness.Exec(t, "", "umount", mnt); res.Code != 0 {
		t.Fatalf("umount: %v", res)
	}
	if m, _ := isMounted(mnt); m {
		t.Errorf("%s still mounted after umount", mnt)
	}
	waitDaemonGone(t, mnt)
}

// TestMountOnAutofs: with x-systemd.automount, systemd mounts the volume on
// top of an autofs mount at MOUNTPOINT, which it set up at boot. Here the
// test plays systemd's part: it makes a direct autofs mount (whose
// requests nobody answers: opening the mountpoint would hang) and mounts
// on it with mount.veilfs.
func TestMountOnAutofs(t *testing.T) {
	cipherdir, mnt, pw := helperVolume(t)
	testenv.NeedRoot(t, "makes an autofs mount")
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	readEnd := os.NewFile(uintptr(p[0]), "autofs-read")
	// A process group that is not ours: to autofs, our processes are then
	// ordinary users of the mountpoint, not its daemon.
	other := exec.Command("sleep", "600")
	other.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = other.Process.Kill(); _ = other.Wait() }()
	data := fmt.Sprintf("fd=%d,pgrp=%d,minproto=5,maxproto=5,direct", p[1], other.Process.Pid)
	if err := unix.Mount("systemd-1", mnt, "autofs", 0, data); err != nil {
		unix.Close(p[1])
		readEnd.Close()
		if errors.Is(err, unix.ENODEV) {
			// A kernel built without autofs (and no module to load): the
			// platform, not something make deps could install.
			testenv.Platform(t, "the kernel has no autofs filesystem")
		}
		testenv.Missing(t, fmt.Sprintf("cannot make an autofs mount: %v", err))
	}
	unix.Close(p[1]) // the kernel holds its own reference
	t.Cleanup(func() {
		if e, ok := harness.FindMount(mnt); ok && e.IsFUSE() {
			_ = unix.Unmount(mnt, unix.MNT_DETACH) // veilfs, left by a failed check
		}
		readEnd.Close()
		if err := unix.Unmount(mnt, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount autofs from %s: %v", mnt, err)
		}
	})

	link := filepath.Join(t.TempDir(), "mount.veilfs")
	if err := os.Symlink(harness.Binary(t), link); err != nil {
		t.Fatal(err)
	}
	// Were the mountpoint opened, the open would wait for the automount
	// nobody serves; harness.Exec kills it after its timeout (the wait is
	// killable), and the failure says "killed".
	res := harness.Exec(t, "", link, cipherdir, mnt, "-o", "passfile="+pw+",x-systemd.automount")
	if res.Code != 0 {
		t.Fatalf("mount.veilfs on an autofs mountpoint: %v", res)
	}
	e, ok := harness.FindMount(mnt)
	checkMounted(t, e, ok, func(p string) string { return p }, cipherdir, mnt, false)
	if res := harness.Exec(t, "", "umount", mnt); res.Code != 0 {
		t.Fatalf("umount: %v", res)
	}
	if e, ok := harness.FindMount(mnt); !ok || e.FSType != "autofs" {
		t.Errorf("after umount the top of %s is %+v, want the autofs mount", mnt, e)
	}
	waitDaemonGone(t, mnt)
}
