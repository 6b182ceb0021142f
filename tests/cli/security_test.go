//go:build linux

package cli_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/veilfs/veilfs/internal/testenv"
	"github.com/veilfs/veilfs/tests/harness"
)

// asNobody runs a shell command as uid/gid 65534 and returns its exit code.
func asNobody(t *testing.T, script string) int {
	t.Helper()
	out, err := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sh", "-c", script).CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("setpriv: %v: %s", err, out)
	}
	return 0
}

// TestAllowOther: with --allow-other another user sees exactly what a plain
// directory lets them see (the kernel checks permissions against our
// attributes), and what they create is theirs. Without it they see nothing.
func TestAllowOther(t *testing.T) {
	testenv.NeedRoot(t, "acts as another user")
	testenv.NeedTool(t, "setpriv", "util-linux")
	harness.RequireFUSE(t)
	base := harness.WorldDir(t)
	plain, mnt, cdir := filepath.Join(base, "plain"), filepath.Join(base, "mnt"), filepath.Join(base, "cipher")
	for _, d := range []string{plain, mnt} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	harness.InitVolume(t, cdir, harness.DefaultPassword)
	harness.MountVolume(t, cdir, mnt, harness.DefaultPassword, "--allow-other")
	// The mount's root mirrors CIPHERDIR, which init creates 0700; open it
	// up like the plain directory (chmod through the mount reaches it).
	must(t, os.Chmod(mnt, 0o755))

	type check struct {
		name, script string
	}
	checks := []check{
		{"read public", "cat $D/public"},
		{"read private", "cat $D/private"},
		{"list private dir", "ls $D/closed"},
		{"write read-only file", "echo x >> $D/public"},
		{"create in open dir", "echo mine > $D/open/new && test -O $D/open/new && test -G $D/open/new"},
		{"create in root-owned dir", "touch $D/nope"},
		{"unlink in sticky dir", "rm -f $D/sticky/roots"},
		// A write by a user without CAP_FSETID clears setuid, and setgid
		// when the group may execute (the server's job under killpriv v2).
		{"write clears setuid", "echo x >> $D/suid && test ! -u $D/suid"},
		{"write clears setgid", "echo x >> $D/sgid && test ! -g $D/sgid"},
		{"write by a non-member clears setgid without group exec", "echo x >> $D/sgid-nox && test ! -g $D/sgid-nox"},
		{"truncate clears setuid", "truncate -s 1 $D/suid2 && test ! -u $D/suid2"},
		{"O_TRUNC clears setuid", "echo y > $D/suid3 && test ! -u $D/suid3"},
	}
	results := map[string][2]int{}
	for i, dir := range []string{plain, mnt} {
		for name, content := range map[string]string{"public": "pub", "private": "priv"} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		must(t, os.Chmod(filepath.Join(dir, "private"), 0o600))
		must(t, os.Mkdir(filepath.Join(dir, "closed"), 0o700))
		must(t, os.Mkdir(filepath.Join(dir, "open"), 0o777))
		must(t, os.Chmod(filepath.Join(dir, "open"), 0o777))
		must(t, os.Mkdir(filepath.Join(dir, "sticky"), 0o777))
		must(t, syscall.Chmod(filepath.Join(dir, "sticky"), 0o1777))
		must(t, os.WriteFile(filepath.Join(dir, "sticky", "roots"), nil, 0o666))
		for name, mode := range map[string]uint32{"suid": 0o4777, "sgid": 0o2777, "sgid-nox": 0o2767, "suid2": 0o4777, "suid3": 0o4777} {
			must(t, os.WriteFile(filepath.Join(dir, name), []byte("data"), 0o644))
			must(t, syscall.Chmod(filepath.Join(dir, name), mode))
		}
		for _, c := range checks {
			r := results[c.name]
			r[i] = asNobody(t, "D="+dir+"; "+c.script)
			results[c.name] = r
		}
	}
	for _, c := range checks {
		if r := results[c.name]; r[0] != r[1] {
			t.Errorf("%s: exit %d in a plain directory, %d through veilfs", c.name, r[0], r[1])
		}
	}
	// The checks must not all agree trivially: some are meant to fail.
	if results["read private"][0] == 0 || results["read public"][0] != 0 || results["create in open dir"][0] != 0 ||
		results["write clears setuid"][0] != 0 || results["write by a non-member clears setgid without group exec"][0] != 0 {
		t.Fatalf("plain-directory baseline is not what the test assumes: %v", results)
	}
}

// TestNoAllowOther: without --allow-other, other users cannot even look.
func TestNoAllowOther(t *testing.T) {
	testenv.NeedRoot(t, "acts as another user")
	testenv.NeedTool(t, "setpriv", "util-linux")
	harness.RequireFUSE(t)
	base := harness.WorldDir(t)
	mnt := filepath.Join(base, "mnt")
	must(t, os.Mkdir(mnt, 0o755))
	cdir := filepath.Join(base, "cipher")
	harness.InitVolume(t, cdir, harness.DefaultPassword)
	harness.MountVolume(t, cdir, mnt, harness.DefaultPassword)
	must(t, os.WriteFile(filepath.Join(mnt, "f"), []byte("x"), 0o644))
	if code := asNobody(t, "ls "+mnt); code == 0 {
		t.Fatal("another user listed a mount made without --allow-other")
	}
}

// TestPlantedSymlinkEscape: whoever controls CIPHERDIR (a sync service)
// replaces an encrypted directory with a symlink to a directory outside.
// Access through the mount must fail, never reach the outside directory.
func TestPlantedSymlinkEscape(t *testing.T) {
	cdir, mnt := harness.NewVolume(t)
	must(t, os.MkdirAll(filepath.Join(mnt, "d", "sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(mnt, "d", "sub", "f"), []byte("inside"), 0o644))
	harness.Unmount(t, mnt)

	// Move the ciphertext of d somewhere outside and link it back in:
	// the ciphertext there would still decrypt fine, so only refusing the
	// symlink keeps us inside CIPHERDIR.
	var cd string
	entries, _ := os.ReadDir(cdir)
	for _, e := range entries {
		if e.IsDir() {
			cd = e.Name()
		}
	}
	outside := filepath.Join(t.TempDir(), "outside")
	must(t, os.Rename(filepath.Join(cdir, cd), outside))
	must(t, os.Symlink(outside, filepath.Join(cdir, cd)))

	harness.MountVolume(t, cdir, mnt, harness.DefaultPassword)
	if got, err := os.ReadFile(filepath.Join(mnt, "d", "sub", "f")); err == nil {
		t.Fatalf("read %q through a planted symlink outside CIPHERDIR", got)
	}
	if err := os.WriteFile(filepath.Join(mnt, "d", "sub", "g"), []byte("x"), 0o644); err == nil {
		t.Fatal("wrote through a planted symlink outside CIPHERDIR")
	}
	if left, _ := os.ReadDir(outside); len(left) != 2 { // diriv + sub
		t.Fatalf("outside directory changed: %v", left)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestSymlinkSwapWhileMounted: the same swap while the kernel still holds
// d as a directory. The daemon caches each directory's descriptor for the
// kernel's entry timeout (1 s, as gocryptfs does); a descriptor follows its
// directory, so for that long operations may still reach the moved
// directory (our own ciphertext, wherever it now is). Once the entry
// expires, the daemon resolves d again, relative to CIPHERDIR, and must
// refuse the symlink (openat2 with RESOLVE_NO_SYMLINKS): from then on
// nothing reaches the outside directory.
func TestSymlinkSwapWhileMounted(t *testing.T) {
	cdir, mnt := harness.NewVolume(t)
	must(t, os.MkdirAll(filepath.Join(mnt, "d", "sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(mnt, "d", "sub", "f"), []byte("inside"), 0o644))
	cd := firstDir(t, cdir)
	outside := filepath.Join(t.TempDir(), "outside")
	must(t, os.Rename(filepath.Join(cdir, cd), outside))
	must(t, os.Symlink(outside, filepath.Join(cdir, cd)))

	// Poll with fresh names until the daemon refuses (bounded well above
	// the 1 s cache lifetime; this asserts the bound, not a speed).
	var err error
	for i := 0; i < 50; i++ {
		_, err = os.Stat(filepath.Join(mnt, "d", "sub", fmt.Sprintf("probe%d", i)))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err == nil || errors.Is(err, os.ErrNotExist) {
		t.Fatalf("lookups through a symlink outside CIPHERDIR still answered after 5 s: %v", err)
	}
	before, _ := os.ReadDir(filepath.Join(outside, firstDir(t, outside)))
	if err := os.WriteFile(filepath.Join(mnt, "d", "sub", "planted"), []byte("x"), 0o644); err == nil {
		t.Error("created a file through a symlink outside CIPHERDIR")
	}
	if after, _ := os.ReadDir(filepath.Join(outside, firstDir(t, outside))); len(after) != len(before) {
		t.Fatalf("outside directory changed after the refusal: %v -> %v", before, after)
	}
}

func firstDir(t *testing.T, dir string) string {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.IsDir() {
			return e.Name()
		}
	}
	t.Fatalf("no directory in %s", dir)
	return ""
}
