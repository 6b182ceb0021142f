//go:build linux

package fs

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/nametransform"
)

// selinuxAttr is spelled out here rather than taken from node_xattr.go, so
// that the test pins the name the kernel and coreutils use.
const selinuxAttr = "security.selinux"

// TestSecuritySelinuxUnsupported: security.selinux is an unsupported
// attribute, as on a filesystem without SELinux labels: get, set and
// remove answer EOPNOTSUPP on every kind of object, a stored one (from
// gocryptfs or an older veilfs) is not listed, and other security.* names
// work as before. ls -l then asks for it once per run instead of once per
// file (coreutils remembers EOPNOTSUPP per device, not ENODATA).
func TestSecuritySelinuxUnsupported(t *testing.T) {
	// Plain names, so that the test finds the backing file by its name;
	// xattr names are encrypted all the same (FORMAT §7).
	tm := newCountingMount(t, config.CreateOptions{PlaintextNames: true})
	f, d, l := filepath.Join(tm.mnt, "f"), filepath.Join(tm.mnt, "d"), filepath.Join(tm.mnt, "l")
	if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("f", l); err != nil {
		t.Fatal(err)
	}
	// Without CAP_SYS_ADMIN the kernel refuses to set or remove any
	// security.* attribute (EPERM) before asking us.
	wantSet := unix.EOPNOTSUPP
	if os.Geteuid() != 0 {
		wantSet = unix.EPERM
	}
	for _, p := range []string{f, d, l} {
		name := filepath.Base(p)
		mark := tm.mark()
		if _, err := unix.Lgetxattr(p, selinuxAttr, make([]byte, 256)); err != unix.EOPNOTSUPP {
			t.Errorf("%s: lgetxattr %s: %v, want EOPNOTSUPP", name, selinuxAttr, err)
		}
		if len(tm.requests(mark, "GETXATTR", fmt.Sprintf("%q", selinuxAttr))) != 1 {
			t.Errorf("%s: lgetxattr did not reach veilfs as one GETXATTR: the test checks the kernel, not veilfs", name)
		}
		if err := unix.Lsetxattr(p, selinuxAttr, []byte("system_u:object_r:user_home_t:s0"), 0); err != wantSet {
			t.Errorf("%s: lsetxattr %s: %v, want %v", name, selinuxAttr, err, wantSet)
		}
		if err := unix.Lremovexattr(p, selinuxAttr); err != wantSet {
			t.Errorf("%s: lremovexattr %s: %v, want %v", name, selinuxAttr, err, wantSet)
		}
		if os.Geteuid() != 0 {
			continue
		}
		// Any other security.* name is stored as before.
		if err := unix.Lsetxattr(p, "security.foo", []byte("bar"), 0); err != nil {
			t.Errorf("%s: lsetxattr security.foo: %v", name, err)
		}
		if got := lgetxattr(p, "security.foo"); got != `"bar"` {
			t.Errorf("%s: lgetxattr security.foo: %s, want \"bar\"", name, got)
		}
		if got := llistxattr(p); got != `["security.foo"]` {
			t.Errorf("%s: llistxattr: %s, want [security.foo]", name, got)
		}
		if err := unix.Lremovexattr(p, "security.foo"); err != nil {
			t.Errorf("%s: lremovexattr security.foo: %v", name, err)
		}
	}

	// A security.selinux stored in CIPHERDIR, as gocryptfs stores any
	// name, is left out of the listing and cannot be read.
	vol, err := cipherdir.OpenWithMasterKey(tm.cipherDir, tm.master)
	if err != nil {
		t.Fatal(err)
	}
	defer vol.Wipe()
	stored, err := vol.Names.EncryptXattrName(selinuxAttr)
	if err != nil {
		t.Fatal(err)
	}
	value := vol.EncryptXattrValue([]byte("label"))
	if err := unix.Lsetxattr(filepath.Join(tm.cipherDir, "f"), stored, value, 0); err != nil {
		t.Fatal(err)
	}
	if err := unix.Setxattr(f, "user.a", []byte("1"), 0); err != nil {
		t.Fatal(err)
	}
	if got := llistxattr(f); got != `["user.a"]` {
		t.Errorf("f: llistxattr with a stored %s: %s, want [user.a]", selinuxAttr, got)
	}
	if _, err := unix.Lgetxattr(f, selinuxAttr, make([]byte, 256)); err != unix.EOPNOTSUPP {
		t.Errorf("f: lgetxattr of a stored %s: %v, want EOPNOTSUPP", selinuxAttr, err)
	}
	// On a symlink under trusted.gocryptfs., which only root may set.
	if os.Geteuid() == 0 {
		if err := unix.Lsetxattr(filepath.Join(tm.cipherDir, "l"), nametransform.AsTrustedXattr(stored), value, 0); err != nil {
			t.Fatal(err)
		}
		if got := llistxattr(l); got != `[]` {
			t.Errorf("l: llistxattr with a stored %s: %s, want []", selinuxAttr, got)
		}
	}

	// ls -l asks every file for it until one answer says unsupported.
	for i := range 20 {
		if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("f%02d", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mark := tm.mark()
	if out, err := exec.Command("ls", "-l", d).CombinedOutput(); err != nil {
		t.Fatalf("ls -l: %v\n%s", err, out)
	}
	if got := tm.requests(mark, "GETXATTR", fmt.Sprintf("%q", selinuxAttr)); len(got) > 1 {
		t.Errorf("ls -l of 20 files sent %d GETXATTR %s, want at most one:\n%s", len(got), selinuxAttr, strings.Join(got, "\n"))
	}
}

// lgetxattr is path's attribute name, quoted, or the error.
func lgetxattr(path, name string) string {
	buf := make([]byte, 256)
	n, err := unix.Lgetxattr(path, name, buf)
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("%q", buf[:n])
}

// llistxattr is path's attribute names, sorted, or the error.
func llistxattr(path string) string {
	buf := make([]byte, 4096)
	n, err := unix.Llistxattr(path, buf)
	if err != nil {
		return err.Error()
	}
	names := strings.Split(strings.TrimSuffix(string(buf[:n]), "\x00"), "\x00")
	names = slices.DeleteFunc(names, func(s string) bool { return s == "" })
	slices.Sort(names)
	return fmt.Sprintf("%q", names)
}
