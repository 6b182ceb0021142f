//go:build linux

package posix

// The atime mount options (issue 16; xfstests generic/003, generic/120),
// on every volume kind: a veilfs mount with noatime, nodiratime, strictatime or the default
// relatime must update access times as a tmpfs mounted with the same
// option does. The kernel leaves the atime of FUSE files to the daemon, so
// what shows is the atime of the files in CIPHERDIR: the daemon reads them
// without updating it under noatime and nodiratime, and for strictatime
// CIPHERDIR's own filesystem must be strictatime too (a tmpfs here).

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/internal/testenv"
	"github.com/veilfs/veilfs/tests/harness"
)

func TestAtimeMountOptions(t *testing.T) {
	harness.RequireFUSE(t)
	testenv.NeedRoot(t, "mounts tmpfs and drops caches")
	for _, k := range kinds {
		for _, opt := range []string{"relatime", "noatime", "nodiratime", "strictatime"} {
			t.Run(k.name+"/"+opt, func(t *testing.T) {
				plain := mountTmpfs(t, opt)
				backingOpt := "relatime"
				if opt == "strictatime" {
					backingOpt = "strictatime"
				}
				cdir, mnt := filepath.Join(mountTmpfs(t, backingOpt), "cipher"), t.TempDir()
				harness.InitVolume(t, cdir, harness.DefaultPassword, k.initArgs...)
				harness.MountVolume(t, cdir, mnt, harness.DefaultPassword, "-o", opt)
				want, got := atimeScenario(t, plain), atimeScenario(t, mnt)
				if got != want {
					t.Errorf("%s volume, -o %s: tmpfs and veilfs differ\ntmpfs:\n%sveilfs:\n%s", k.name, opt, want, got)
				}
			})
		}
	}
}

// mountTmpfs mounts a tmpfs with option opt on a new directory.
func mountTmpfs(t *testing.T, opt string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opt, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs -o %s: %v\n%s", opt, err, out)
	}
	t.Cleanup(func() {
		// Detached: the daemon of a veilfs mount on it may still be
		// closing its descriptors after the unmount.
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount tmpfs %s: %v", dir, err)
		}
	})
	return dir
}

// atimeScenario reads, lists and executes in dir and says which access
// times moved, with the atime flags of the mount.
func atimeScenario(t *testing.T, dir string) string {
	var b strings.Builder
	e, _ := harness.FindMount(dir)
	var flags []string
	for _, o := range strings.Split(e.Options, ",") {
		if strings.HasSuffix(o, "atime") {
			flags = append(flags, o)
		}
	}
	b.WriteString("mount flags: " + strings.Join(flags, ",") + "\n")

	f, script, d, d2 := filepath.Join(dir, "f"), filepath.Join(dir, "run.sh"), filepath.Join(dir, "d"), filepath.Join(dir, "d2")
	mustWrite(t, f, "hello", 0o644)
	mustWrite(t, script, "#!/bin/sh\nexit 0\n", 0o755)
	for _, p := range []string{d, d2} {
		if err := os.Mkdir(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite(t, filepath.Join(d, "entry"), "", 0o644)
	// atime older than mtime: relatime updates it on the next access.
	old := []unix.Timespec{{Sec: 1000000000}, {Sec: 1000000100}}
	for _, p := range []string{f, script, d, d2} {
		if err := unix.UtimesNano(p, old); err != nil {
			t.Fatal(err)
		}
	}
	moved := func(what, p string, access func()) {
		before := atimeOf(t, p)
		// Past the coarse clock of the ctime just set, and of the last
		// access.
		time.Sleep(30 * time.Millisecond)
		uncache(t, p)
		access()
		if atimeOf(t, p) != before {
			b.WriteString(what + ": atime updated\n")
		} else {
			b.WriteString(what + ": atime kept\n")
		}
	}
	read := func() {
		if _, err := os.ReadFile(f); err != nil {
			t.Fatal(err)
		}
	}
	moved("first read of a file", f, read)
	moved("second read of a file", f, read)
	moved("listing a directory", d, func() {
		if _, err := os.ReadDir(d); err != nil {
			t.Fatal(err)
		}
	})
	// Not an access of the directory: its atime stays under every option
	// (generic/003, nodiratime). veilfs scans a directory it has not
	// looked into for a second when a lookup there finds nothing, as
	// every create starts with; that scan must not count as one.
	moved("creating a file in a directory", d2, func() {
		mustWrite(t, filepath.Join(d2, "new"), "", 0o644)
	})
	moved("executing a file", script, func() {
		if out, err := exec.Command(script).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", script, err, out)
		}
	})
	return b.String()
}

func atimeOf(t *testing.T, p string) unix.Timespec {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st.Atim
}

func mustWrite(t *testing.T, p, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// uncache drops the cached pages of p, so that the next read reaches the
// filesystem (through veilfs, CIPHERDIR). A listing always does.
func uncache(t *testing.T, p string) {
	t.Helper()
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Fadvise(fd, 0, 0, unix.FADV_DONTNEED); err != nil {
		t.Fatalf("fadvise %s: %v", p, err)
	}
}
