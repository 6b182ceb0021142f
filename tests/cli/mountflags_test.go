//go:build linux

package cli

// nosuid and nodev on every veilfs mount (SECURITY.md, mount flags; issue 14
// finding 3). Whoever can write CIPHERDIR (a sync provider, anyone with the
// shared folder) writes files the mount shows with the modes they chose:
// without nosuid a setuid-root program planted there runs as root for
// every user of the machine, without nodev a planted device node opens the
// device. mount.fuse3 as root appends "dev,suid" to every mount that does
// not say nodev or nosuid, and go-fuse's mount(2) honoured them, so the
// README's own fstab line gave an unprivileged user euid 0. Each way of
// mounting is checked in mountinfo; only --suid/--dev and veilfs_suid/
// veilfs_dev lift the flags.

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/internal/testenv"
	"github.com/veilfs/veilfs/tests/harness"
)

// checkFlags checks the per-mount options of a mountinfo entry: nosuid
// and nodev present, or both absent when lifted.
func checkFlags(t *testing.T, how, options string, lifted bool) {
	t.Helper()
	opts := "," + options + ","
	for _, flag := range []string{"nosuid", "nodev"} {
		has := strings.Contains(opts, ","+flag+",")
		switch {
		case !lifted && !has:
			t.Errorf("%s: mount options %q lack %s", how, options, flag)
		case lifted && has:
			t.Errorf("%s with --suid --dev: mount options %q still have %s", how, options, flag)
		}
	}
}

// TestMountNosuidNodevCLI: veilfs mount in the background and in the
// foreground, with -o suid,dev (which cannot be told from mount.fuse3's
// defaults) and without, is nosuid,nodev; --suid --dev and -o
// veilfs_suid,veilfs_dev lift both.
func TestMountNosuidNodevCLI(t *testing.T) {
	for _, tt := range []struct {
		name       string
		foreground bool
		args       []string
		lifted     bool
	}{
		{"background", false, nil, false},
		{"foreground", true, nil, false},
		{"background -o suid,dev", false, []string{"-o", "suid,dev"}, false},
		{"foreground -o dev,suid", true, []string{"-o", "dev,suid,allow_other"}, false},
		{"background --suid --dev", false, []string{"--suid", "--dev"}, true},
		{"foreground --suid --dev", true, []string{"--suid", "--dev"}, true},
		{"background -o veilfs_suid,veilfs_dev", false, []string{"-o", "veilfs_suid,veilfs_dev"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.lifted {
				testenv.NeedRoot(t, "only root may lift nosuid and nodev")
			}
			cdir, mnt := filepath.Join(t.TempDir(), "cipher"), t.TempDir()
			harness.InitVolume(t, cdir, password)
			if tt.foreground {
				m := harness.MustForeground(t, cdir, mnt, password, tt.args...)
				defer m.Stop()
			} else {
				harness.MountVolume(t, cdir, mnt, password, tt.args...)
				defer harness.Unmount(t, mnt)
			}
			e, _ := harness.FindMount(mnt)
			checkFlags(t, tt.name, e.Options, tt.lifted)
		})
	}
}

// TestMountSuidRefusedForReverse: --suid is refused with --reverse, where
// it could mean nothing (the view's files are ciphertext).
func TestMountSuidRefusedForReverse(t *testing.T) {
	harness.RequireFUSE(t)
	plain, mnt := t.TempDir(), t.TempDir()
	res := harness.Run(t, "", "init", "--reverse", "--scryptn", "10", "--passfile", harness.Passfile(t, password), plain)
	if res.Code != 0 {
		t.Fatalf("init --reverse: %v", res)
	}
	res = harness.TryMount(t, plain, mnt, "--reverse", "--suid", "--passfile", harness.Passfile(t, password))
	if res.Code != 1 || !strings.Contains(res.Stderr, "no meaning with --reverse") {
		t.Errorf("mount --reverse --suid: %v, want a usage error (exit 1)", res)
	}
}

// TestMountNosuidNodevHelper: mount -t fuse.veilfs (mount.fuse3, which
// appends dev,suid), mount -t veilfs (mount.veilfs) and fstab lines through
// mount --fstab, as root, are nosuid,nodev unless veilfs_suid,veilfs_dev.
func TestMountNosuidNodevHelper(t *testing.T) {
	cipherdir, mnt, pw := helperVolume(t)
	ns := newHelperNS(t)
	fstab := filepath.Join(t.TempDir(), "fstab")
	for _, tt := range []struct {
		name   string
		fstab  string   // an fstab line's type and options, or
		args   []string // mount(8)'s arguments
		lifted bool
	}{
		{name: "mount -t fuse.veilfs", args: []string{"-t", "fuse.veilfs", cipherdir, mnt, "-o", "passfile=" + pw}},
		{name: "mount -t fuse.veilfs -o suid,dev", args: []string{"-t", "fuse.veilfs", cipherdir, mnt, "-o", "passfile=" + pw + ",suid,dev"}},
		{name: "mount -t veilfs -o suid,dev", args: []string{"-t", "veilfs", cipherdir, mnt, "-o", "passfile=" + pw + ",suid,dev"}},
		{name: "fstab fuse.veilfs (docs/fstab-systemd.md line)", fstab: "fuse.veilfs passfile=" + pw + ",nofail"},
		{name: "fstab fuse.veilfs allow_other", fstab: "fuse.veilfs passfile=" + pw + ",allow_other,suid"},
		{name: "fstab veilfs", fstab: "veilfs passfile=" + pw + ",dev,suid"},
		{name: "fstab fuse.veilfs veilfs_suid,veilfs_dev", fstab: "fuse.veilfs passfile=" + pw + ",veilfs_suid,veilfs_dev", lifted: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if tt.fstab != "" {
				line := fmt.Sprintf("%s %s %s 0 0\n", cipherdir, mnt, tt.fstab)
				if err := os.WriteFile(fstab, []byte(line), 0o644); err != nil {
					t.Fatal(err)
				}
				args = []string{"--fstab", fstab, mnt}
			}
			if !ns.sbin && (strings.HasPrefix(tt.fstab, "veilfs ") || strings.Contains(strings.Join(args, " "), "-t veilfs ")) {
				testenv.Missing(t, "no overlay filesystem to put mount.veilfs into /sbin of the test namespace")
			}
			if res := ns.run("", append([]string{"mount"}, args...)...); res.Code != 0 {
				t.Fatalf("mount %q: %v", args, res)
			}
			e, ok := ns.mount(mnt)
			if !ok {
				t.Fatalf("%s is not mounted", mnt)
			}
			checkFlags(t, tt.name, e.Options, tt.lifted)
			if res := ns.run("", "umount", mnt); res.Code != 0 {
				t.Fatalf("umount: %v", res)
			}
			waitDaemonGone(t, mnt)
		})
	}
}

// TestPlantedSetuidAndDevice is the attack itself, as root with
// allow_other and the "suid,dev" mount.fuse3 appends: a setuid-root copy
// of id(1) and a device node (1:3, what /dev/null is) put in the volume by
// whoever writes CIPHERDIR (here through the mount, which writes the same
// ciphertext) give another user euid 0 and an open device only when
// --suid and --dev ask for it.
func TestPlantedSetuidAndDevice(t *testing.T) {
	harness.RequireFUSE(t)
	testenv.NeedRoot(t, "plants a setuid-root program")
	setpriv := harness.RequireTool(t, "setpriv", "util-linux")
	idPath := harness.RequireTool(t, "id", "coreutils")
	for _, lifted := range []bool{false, true} {
		t.Run(fmt.Sprintf("lifted=%v", lifted), func(t *testing.T) {
			// Other users must reach the mount: a 0755 base, not t.TempDir's 0700.
			base, err := os.MkdirTemp("", "veilfs-suid-")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(base) })
			cdir, mnt := filepath.Join(base, "cipher"), filepath.Join(base, "mnt")
			for _, d := range []string{base, mnt} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			harness.InitVolume(t, cdir, password)
			if err := os.Chmod(cdir, 0o755); err != nil {
				t.Fatal(err)
			}
			// Without the opt-in, with what mount.fuse3 appends as root.
			args := []string{"--allow-other", "-o", "suid,dev"}
			if lifted {
				args = []string{"--allow-other", "--suid", "--dev"}
			}
			harness.MountVolume(t, cdir, mnt, password, args...)
			defer harness.Unmount(t, mnt)

			prog, err := os.ReadFile(idPath)
			if err != nil {
				t.Fatal(err)
			}
			planted := filepath.Join(mnt, "id")
			if err := os.WriteFile(planted, prog, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := unix.Chmod(planted, 0o4755); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", planted, "-u").CombinedOutput()
			if err != nil {
				t.Fatalf("running the planted program as uid 65534: %v\n%s", err, out)
			}
			euid := strings.TrimSpace(string(out))
			if want := map[bool]string{false: "65534", true: "0"}[lifted]; euid != want {
				e, _ := harness.FindMount(mnt)
				t.Errorf("planted setuid-root id -u as uid 65534 printed %s, want %s (mount options %q)", euid, want, e.Options)
			}

			dev := filepath.Join(mnt, "null")
			if err := unix.Mknod(dev, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
				t.Fatalf("mknod through the mount: %v", err)
			}
			f, err := os.OpenFile(dev, os.O_WRONLY, 0)
			switch {
			case !lifted && !errors.Is(err, syscall.EACCES):
				t.Errorf("opening a planted device node on a nodev mount: %v, want EACCES", err)
			case lifted && err != nil:
				t.Errorf("opening a planted device node with --dev: %v", err)
			}
			if f != nil {
				f.Close()
			}
		})
	}
}
