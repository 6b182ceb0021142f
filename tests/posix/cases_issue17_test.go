//go:build linux

package posix

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/tests/harness"
)

// Cases of issue #17, "fewer FUSE round trips": veilfs answers
// security.selinux with EOPNOTSUPP (fs/node_xattr.go), so user.* xattrs
// must be shown to work with the tools as before.
func init() {
	battery = append(battery, posixCase{"xattr_tools", caseXattrTools})
	veilOnly = append(veilOnly, veilCase{"selinux_label_unsupported", veilSelinuxUnsupported})
}

// caseXattrTools: user.* xattrs set with setfattr, read with getfattr,
// and kept by cp -a and rsync -aX within the filesystem, out of it into a
// plain directory and into it from one.
func caseXattrTools(t *testing.T, dir string) string {
	setfattr := harness.RequireTool(t, "setfattr", "attr")
	getfattr := harness.RequireTool(t, "getfattr", "attr")
	rsync := harness.RequireTool(t, "rsync", "rsync")
	var o obs
	run := func(cwd, name string, args ...string) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = cwd
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
		}
	}
	// dump is getfattr -R -d of tree, relative to cwd, in an order that
	// does not depend on the filesystem's listing orders.
	dump := func(cwd, tree string) string {
		t.Helper()
		cmd := exec.Command(getfattr, "-R", "-d", tree)
		cmd.Dir = cwd
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("getfattr -R -d %s: %v", tree, err)
		}
		var blocks []string
		for _, b := range strings.Split(strings.TrimSpace(string(out)), "\n\n") {
			lines := strings.Split(b, "\n")
			slices.Sort(lines[1:]) // after the "# file:" line
			blocks = append(blocks, strings.Join(lines, " "))
		}
		slices.Sort(blocks)
		return strings.Join(blocks, "\n")
	}
	// tree makes src in parent: a file with three user.* xattrs (text,
	// binary, empty), a directory with one, a symlink to the file.
	tree := func(parent string) {
		src := filepath.Join(parent, "src")
		must(t, os.Mkdir(src, 0o755), "mkdir src")
		writeFile(t, filepath.Join(src, "f"), []byte("data"), 0o644)
		must(t, os.Mkdir(filepath.Join(src, "d"), 0o755), "mkdir d")
		must(t, os.Symlink("f", filepath.Join(src, "l")), "symlink")
		run(src, setfattr, "-n", "user.x", "-v", "1", "f")
		run(src, setfattr, "-n", "user.bin", "-v", "0x00ff10", "f")
		run(src, setfattr, "-n", "user.empty", "f")
		run(src, setfattr, "-n", "user.gone", "-v", "soon", "f")
		run(src, setfattr, "-x", "user.gone", "f")
		run(src, setfattr, "-n", "user.dir", "-v", "on a directory", "d")
	}
	tree(dir)
	want := `# file: src/f user.bin=0sAP8Q user.empty="" user.x="1"`
	if got := dump(dir, "src"); !strings.Contains(got, want) {
		t.Errorf("getfattr -R -d src:\n%s\nwant the line %s", got, want)
	}
	o.add("setfattr, getfattr -d:\n%s", dump(dir, "src"))
	run(dir, "cp", "-a", "src", "cp")
	o.add("cp -a:\n%s", dump(dir, "cp"))
	run(dir, rsync, "-aX", "src/", "rsync/")
	o.add("rsync -aX:\n%s", dump(dir, "rsync"))

	out := t.TempDir()
	run(out, "cp", "-a", filepath.Join(dir, "src"), "cp")
	run(out, rsync, "-aX", filepath.Join(dir, "src")+"/", "rsync/")
	o.add("out to a plain directory, cp -a:\n%s\nrsync -aX:\n%s", dump(out, "cp"), dump(out, "rsync"))

	in := t.TempDir()
	tree(in)
	run(dir, "cp", "-a", filepath.Join(in, "src"), "in-cp")
	run(dir, rsync, "-aX", filepath.Join(in, "src")+"/", "in-rsync/")
	o.add("in from a plain directory, cp -a:\n%s\nrsync -aX:\n%s", dump(dir, "in-cp"), dump(dir, "in-rsync"))
	for _, c := range []string{"src", "cp", "rsync", "in-cp", "in-rsync"} {
		o.add("%s/f: %q", c, readFile(t, filepath.Join(dir, c, "f")))
	}
	return o.String()
}

// veilSelinuxUnsupported: security.selinux answers EOPNOTSUPP on every
// kind of object, as on a filesystem without SELinux labels, where a
// plain directory answers ENODATA (no label) on a host without SELinux;
// fs/requests_test.go counts the requests ls -l saves by it.
func veilSelinuxUnsupported(t *testing.T, v volume, dir string) {
	f, d, l := filepath.Join(dir, "f"), filepath.Join(dir, "d"), filepath.Join(dir, "l")
	writeFile(t, f, []byte("x"), 0o644)
	must(t, unix.Mkdir(d, 0o755), "mkdir")
	must(t, unix.Symlink("f", l), "symlink")
	for _, p := range []string{f, d, l} {
		if got := getx(p, "security.selinux"); got != en(unix.EOPNOTSUPP) {
			t.Errorf("%s: lgetxattr security.selinux: %s, want EOPNOTSUPP (%s)", filepath.Base(p), got, en(unix.EOPNOTSUPP))
		}
		if isRoot() {
			if err := unix.Lsetxattr(p, "security.selinux", []byte("system_u:object_r:tmp_t:s0"), 0); err != unix.EOPNOTSUPP {
				t.Errorf("%s: lsetxattr security.selinux: %v, want EOPNOTSUPP", filepath.Base(p), err)
			}
		}
	}
	// ls -l shows the files all the same, with no label marker.
	out, err := exec.Command("ls", "-l", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("ls -l: %v\n%s", err, out)
	}
	if want := "-rw-r--r-- 1 "; !strings.Contains(string(out), want) {
		t.Errorf("ls -l:\n%s\nwant a line starting %q", out, want)
	}
}
