//go:build linux

package posix

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/internal/testenv"
	"github.com/veilfs/veilfs/tests/harness"
)

func init() {
	veilOnly = append(veilOnly, veilCase{"acl_without_option", veilACLWithoutOption})
}

// aclTools are the programs the ACL cases run: setfacl and getfacl (as
// xfstests generic/053, 099 and 105 do), and setpriv to act as uid 65534.
type aclTools struct{ setfacl, getfacl, setpriv string }

// TestACL: on a mount with --acl, POSIX ACLs behave as on the plain
// directory: setfacl and getfacl, the mode's group bits as the mask,
// default ACLs inherited, and the kernel enforcing them for another user
// (uid 65534, through --allow-other).
func TestACL(t *testing.T) {
	testenv.NeedRoot(t, "acts as uid 65534 on a mount with --allow-other")
	harness.RequireFUSE(t)
	tools := aclTools{
		setfacl: harness.RequireTool(t, "setfacl", "acl"),
		getfacl: harness.RequireTool(t, "getfacl", "acl"),
		setpriv: harness.RequireTool(t, "setpriv", "util-linux"),
	}
	base := harness.WorldDir(t)
	cipherdir, mnt, plain := filepath.Join(base, "cipher"), filepath.Join(base, "mnt"), filepath.Join(base, "plain")
	for _, d := range []string{mnt, plain} {
		must(t, unix.Mkdir(d, 0o755), "mkdir")
	}
	harness.InitVolume(t, cipherdir, harness.DefaultPassword)
	harness.MountVolume(t, cipherdir, mnt, harness.DefaultPassword, "--acl", "--allow-other")
	must(t, unix.Chmod(mnt, 0o755), "chmod the mount's root")
	veil := filepath.Join(mnt, "acl")
	must(t, unix.Mkdir(veil, 0o755), "mkdir")
	want := caseACL(t, tools, plain)
	got := caseACL(t, tools, veil)
	if got != want {
		t.Errorf("observations differ (plain vs veilfs --acl):\n%s", lineDiff(want, got))
	}
}

func caseACL(t *testing.T, tools aclTools, dir string) string {
	var o obs
	// run runs a program in dir, as root or as uid 65534, and reports its
	// output and how it ended; names are relative, so that messages
	// compare.
	run := func(nobody bool, name string, args ...string) string {
		if nobody {
			args = append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", name}, args...)
			name = tools.setpriv
		}
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		res := strings.TrimSpace(strings.ReplaceAll(string(out), "\n", " | "))
		if err != nil {
			return fmt.Sprintf("%s (%v)", res, err)
		}
		return res
	}
	facl := func(p string) string { return run(false, tools.getfacl, "-c", "-p", p) }
	mode := func(p string) string {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(dir, p), &st); err != nil {
			return en(err)
		}
		return fmt.Sprintf("%04o uid=%d", st.Mode&07777, st.Uid)
	}
	acls := func(p string) string {
		l, err := listxattr(filepath.Join(dir, p))
		return fmt.Sprintf("%q %s", slices.DeleteFunc(l, func(n string) bool { return !strings.HasPrefix(n, "system.") }), en(err))
	}

	// A named user denied what "other" may.
	writeFile(t, filepath.Join(dir, "a"), []byte("secret\n"), 0o644)
	o.add("setfacl u:nobody:--- a: %q", run(false, tools.setfacl, "-m", "u:nobody:---", "a"))
	o.add("  getfacl: %s; mode %s; acls listed %s", facl("a"), mode("a"), acls("a"))
	o.add("  nobody reads: %s", run(true, "cat", "a"))
	o.add("  root reads: %s", run(false, "cat", "a"))
	o.add("  nobody sets an ACL on root's file: %s", run(true, tools.setfacl, "-m", "u:nobody:rw", "a"))
	// A named user granted what the mode does not.
	writeFile(t, filepath.Join(dir, "b"), []byte("shared\n"), 0o600)
	o.add("setfacl u:nobody:r b: %q", run(false, tools.setfacl, "-m", "u:nobody:r", "b"))
	o.add("  getfacl: %s; mode %s", facl("b"), mode("b"))
	o.add("  nobody reads: %s", run(true, "cat", "b"))
	o.add("  nobody writes: %s", run(true, "sh", "-c", "echo x >> b"))
	o.add("chmod 600 b (the mask): %s", en(unix.Chmod(filepath.Join(dir, "b"), 0o600)))
	o.add("  getfacl: %s; mode %s", facl("b"), mode("b"))
	o.add("  nobody reads: %s", run(true, "cat", "b"))
	// Default ACLs: inherited by what is created in the directory.
	must(t, unix.Mkdir(filepath.Join(dir, "d"), 0o755), "mkdir d")
	o.add("setfacl default and access u:nobody:rwx d: %q %q", run(false, tools.setfacl, "-d", "-m", "u:nobody:rwx", "d"),
		run(false, tools.setfacl, "-m", "u:nobody:rwx", "d"))
	o.add("  getfacl: %s; mode %s; acls listed %s", facl("d"), mode("d"), acls("d"))
	o.add("  nobody creates d/n: %q", run(true, "sh", "-c", "echo hi > d/n"))
	o.add("  d/n: %s; mode %s", facl("d/n"), mode("d/n"))
	writeFile(t, filepath.Join(dir, "d", "r"), nil, 0o666)
	o.add("  root creates d/r 0666: %s; mode %s", facl("d/r"), mode("d/r"))
	must(t, unix.Mkdir(filepath.Join(dir, "d", "sub"), 0o777), "mkdir d/sub")
	o.add("  mkdir d/sub 0777: %s; mode %s", facl("d/sub"), mode("d/sub"))
	must(t, unix.Mkdir(filepath.Join(dir, "d", "ro"), 0o555), "mkdir d/ro")
	o.add("  mkdir d/ro 0555: %s; mode %s", facl("d/ro"), mode("d/ro"))
	// Removing them.
	o.add("setfacl -b a: %q", run(false, tools.setfacl, "-b", "a"))
	o.add("  getfacl: %s; mode %s; acls listed %s", facl("a"), mode("a"), acls("a"))
	o.add("  nobody reads: %s", run(true, "cat", "a"))
	o.add("setfacl -k d: %q getfacl: %s", run(false, tools.setfacl, "-k", "d"), facl("d"))
	return o.String()
}

// listxattr lists every attribute name of path (without following a
// symlink).
func listxattr(path string) ([]string, error) {
	buf := make([]byte, 64<<10)
	n, err := unix.Llistxattr(path, buf)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range strings.Split(string(buf[:n]), "\x00") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// veilACLWithoutOption: without --acl the kernel does not enforce ACLs,
// so veilfs stores none: setting one fails as on a filesystem mounted
// noacl, and one stored by a gocryptfs -acl mount (under its own name,
// FORMAT §7) is neither listed nor read, and gives no EIO either.
func veilACLWithoutOption(t *testing.T, v volume, dir string) {
	p := filepath.Join(dir, "f")
	writeFile(t, p, nil, 0o644)
	// The value setfacl -m u:65534:r sends: version 2, then user::rw-,
	// user:65534:r--, group::r--, mask::r--, other::r--.
	acl := []byte{2, 0, 0, 0}
	for _, e := range []struct {
		tag, perm uint16
		id        uint32
	}{{1, 6, ^uint32(0)}, {2, 4, 65534}, {4, 4, ^uint32(0)}, {0x10, 4, ^uint32(0)}, {0x20, 4, ^uint32(0)}} {
		acl = append(acl, byte(e.tag), byte(e.tag>>8), byte(e.perm), byte(e.perm>>8),
			byte(e.id), byte(e.id>>8), byte(e.id>>16), byte(e.id>>24))
	}
	if err := unix.Setxattr(p, "system.posix_acl_access", acl, 0); err != unix.EOPNOTSUPP {
		t.Errorf("setxattr system.posix_acl_access without --acl: %v, want EOPNOTSUPP", err)
	}
	// What gocryptfs -acl leaves on the backing file.
	if os.Geteuid() != 0 {
		return
	}
	backing := backingPath(t, v, p)
	if err := unix.Setxattr(backing, "system.posix_acl_access", acl, 0); err != nil {
		t.Fatalf("setting an ACL on the backing file: %v", err)
	}
	if l, err := listxattr(p); err != nil || len(l) != 0 {
		t.Errorf("listxattr without --acl: %q %v, want nothing", l, err)
	}
	if _, err := unix.Getxattr(p, "system.posix_acl_access", make([]byte, 100)); err != unix.EOPNOTSUPP {
		t.Errorf("getxattr system.posix_acl_access without --acl: %v, want EOPNOTSUPP", err)
	}
	if _, err := os.ReadFile(p); err != nil {
		t.Errorf("reading the file: %v", err)
	}
}

// backingPath finds the backing file of the plaintext file p by its inode
// number, which veilfs passes on. The other cases of the battery run at the
// same time in the same volume, so entries vanish during the walk: those
// are skipped, not errors.
func backingPath(t *testing.T, v volume, p string) string {
	var st unix.Stat_t
	must(t, unix.Stat(p, &st), "stat")
	var found string
	err := filepath.Walk(v.cipherdir, func(path string, fi os.FileInfo, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		var s unix.Stat_t
		if fi.Mode().IsRegular() && unix.Lstat(path, &s) == nil && s.Ino == st.Ino {
			found = path
		}
		return nil
	})
	if err != nil || found == "" {
		t.Fatalf("backing file of %s not found (%v)", p, err)
	}
	return found
}
