// Package pkg tests the packaging: `make install` / `make uninstall` into a
// DESTDIR, and `make deb` installed into and removed from a scratch dpkg
// root. Nothing is installed on the machine itself, so the tests cannot
// conflict with a veilfs the user installed.
package pkg

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/internal/testenv"
	"github.com/veilfs/veilfs/tests/harness"
)

// A version as `git describe` gives it, so that the outcome does not depend
// on the checkout: the deb version is derived from it.
const (
	testVersion    = "v1.2.3-4-gabcdef0"
	testDebVersion = "1.2.3+4.gabcdef0"
)

// runMake runs a target of the Makefile with the build output in out, and
// returns its output.
func runMake(t *testing.T, out string, args ...string) string {
	t.Helper()
	makeBin := harness.RequireTool(t, "make", "make")
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	cmd := exec.Command(makeBin, append([]string{"--no-print-directory", "OUT=" + out, "GO=" + goBin, "VERSION=" + testVersion}, args...)...)
	cmd.Dir = harness.ModuleRoot(t)
	output, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make %s: %v\n%s", strings.Join(args, " "), err, output)
	}
	return string(output)
}

// systemdUnits are the unit files `make install` installs (its wildcard).
func systemdUnits(t *testing.T) []string {
	var units []string
	for _, ext := range []string{"service", "timer", "target", "mount", "path"} {
		m, _ := filepath.Glob(filepath.Join(harness.ModuleRoot(t), "contrib", "systemd", "*."+ext))
		for _, p := range m {
			units = append(units, filepath.Base(p))
		}
	}
	return units
}

// tree lists the files and symlinks under root (relative, sorted), skipping
// the directories named in skip.
func tree(t *testing.T, root string, skip ...string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			if slices.Contains(skip, rel) {
				return filepath.SkipDir
			}
			return nil
		}
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func checkVersion(t *testing.T, bin string) {
	t.Helper()
	out, err := exec.Command(bin, "--version").Output()
	if err != nil || !strings.HasPrefix(string(out), "veilfs "+testVersion+" ") {
		t.Errorf("%s --version: %v %q", bin, err, out)
	}
}

// checkManPage renders the page as man(1) would, or with groff where man-db
// is not installed (minimal Debian images), and fails on any warning.
func checkManPage(t *testing.T, page string) {
	t.Helper()
	groff := harness.RequireTool(t, "groff", "groff-base")
	var cmd *exec.Cmd
	if man, err := exec.LookPath("man"); err == nil {
		cmd = exec.Command(man, "--warnings", "-l", page)
		cmd.Env = append(os.Environ(), "MANWIDTH=80", "MANPAGER=cat", "PAGER=cat")
	} else {
		src, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(page, ".gz") {
			zr, err := gzip.NewReader(bytes.NewReader(src))
			if err != nil {
				t.Fatal(err)
			}
			if src, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		}
		cmd = exec.Command(groff, "-man", "-Tutf8", "-ww")
		cmd.Stdin = bytes.NewReader(src)
	}
	out, err := cmd.CombinedOutput()
	if err != nil || bytes.Contains(out, []byte("warning")) || !bytes.Contains(out, []byte("veilfs mount")) {
		t.Errorf("%s %s: %v\n%.2000s", cmd.Path, page, err, out)
	}
}

// installedFiles is what `make install` puts under prefix (relative, no
// leading slash), and the mount helper link at helper unless that is "",
// sorted.
func installedFiles(t *testing.T, prefix, helper string) []string {
	var want []string
	if helper != "" {
		want = append(want, helper)
	}
	for _, f := range []string{
		"bin/veilfs",
		"share/bash-completion/completions/veilfs",
		"share/fish/vendor_completions.d/veilfs.fish",
		"share/man/man1/veilfs.1",
		"share/zsh/site-functions/_veilfs",
	} {
		want = append(want, filepath.Join(prefix, f))
	}
	for _, u := range systemdUnits(t) {
		want = append(want, filepath.Join(prefix, "lib/systemd/user", u))
	}
	slices.Sort(want)
	return want
}

// checkTree fails unless the files under root are exactly want.
func checkTree(t *testing.T, root string, want []string) {
	t.Helper()
	if got := tree(t, root); !slices.Equal(got, want) {
		t.Fatalf("installed files:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestInstallUninstall(t *testing.T) {
	out, dest := t.TempDir(), t.TempDir()
	args := []string{"DESTDIR=" + dest, "PREFIX=/usr/local"}
	runMake(t, out, append([]string{"install"}, args...)...)

	checkTree(t, dest, installedFiles(t, "usr/local", "sbin/mount.veilfs"))
	if target, err := os.Readlink(filepath.Join(dest, "sbin/mount.veilfs")); err != nil || target != "/usr/local/bin/veilfs" {
		t.Errorf("mount.veilfs -> %q (%v), want /usr/local/bin/veilfs", target, err)
	}
	if fi, err := os.Stat(filepath.Join(dest, "usr/local/bin/veilfs")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("binary mode: %v %v", fi.Mode(), err)
	}
	checkVersion(t, filepath.Join(dest, "usr/local/bin/veilfs"))
	for _, f := range []string{"usr/local/share/bash-completion/completions/veilfs", "usr/local/share/zsh/site-functions/_veilfs", "usr/local/share/fish/vendor_completions.d/veilfs.fish"} {
		if b, err := os.ReadFile(filepath.Join(dest, f)); err != nil || !bytes.Contains(b, []byte("__complete")) {
			t.Errorf("%s is not a veilfs completion script (%v)", f, err)
		}
	}
	checkManPage(t, filepath.Join(dest, "usr/local/share/man/man1/veilfs.1"))

	// A file of someone else's beside ours must survive the uninstall.
	other := filepath.Join(dest, "usr/local/bin/other")
	if err := os.WriteFile(other, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	runMake(t, out, append([]string{"uninstall"}, args...)...)
	if got := tree(t, dest); !slices.Equal(got, []string{"usr/local/bin/other"}) {
		t.Errorf("left after uninstall: %q", got)
	}
}

// systemHelpers are the mount helper links mount(8) would find, as Lstat
// describes them ("" when absent): what an install into a prefix of its
// own must leave alone.
func systemHelpers() map[string]string {
	out := map[string]string{}
	for _, p := range []string{"/sbin/mount.veilfs", "/usr/sbin/mount.veilfs"} {
		if fi, err := os.Lstat(p); err == nil {
			target, _ := os.Readlink(p)
			out[p] = fmt.Sprintf("%v %v -> %q", fi.Mode(), fi.ModTime().UnixNano(), target)
		}
	}
	return out
}

// TestInstallPrefix: `make install PREFIX=DIR` (a user's ~/.local, a
// staging directory) puts every file under DIR, the mount helper link in
// DIR/sbin pointing at DIR/bin/veilfs, and says how to link it from /sbin,
// where mount(8) looks. It used to plant /sbin/mount.veilfs pointing into
// DIR.
func TestInstallPrefix(t *testing.T) {
	out, prefix := t.TempDir(), t.TempDir()
	before := systemHelpers()
	output := runMake(t, out, "install", "PREFIX="+prefix)
	if after := systemHelpers(); !maps.Equal(before, after) {
		t.Errorf("make install PREFIX=%s changed the system's mount helpers: %v, was %v", prefix, after, before)
	}
	checkTree(t, prefix, installedFiles(t, ".", "sbin/mount.veilfs"))
	if target, err := os.Readlink(filepath.Join(prefix, "sbin/mount.veilfs")); err != nil || target != prefix+"/bin/veilfs" {
		t.Errorf("mount.veilfs -> %q (%v), want %s/bin/veilfs", target, err, prefix)
	}
	if !strings.Contains(output, "ln -sfn "+prefix+"/bin/veilfs /sbin/mount.veilfs") {
		t.Errorf("make install does not say how to link the helper from /sbin:\n%s", output)
	}
	runMake(t, out, "uninstall", "PREFIX="+prefix)
	if left := tree(t, prefix); len(left) > 0 {
		t.Errorf("left after uninstall: %q", left)
	}
}

// TestInstallPrefixAsUser: a user without root installs into a prefix of
// their own completely (it used to stop at the /sbin link, before the man
// page and completions), and where the helper's directory is not theirs
// (MOUNTHELPERDIR=/sbin) that link alone is skipped, with a note.
func TestInstallPrefixAsUser(t *testing.T) {
	testenv.NeedRoot(t, "acts as another user")
	setpriv := harness.RequireTool(t, "setpriv", "util-linux")
	// Built as root, beforehand: the user has no Go build cache, and -o
	// keeps make from rebuilding when a source in the tree is touched.
	out := harness.WorldDir(t)
	runMake(t, out, "man", "completions")
	asUser := func(prefix string, args ...string) string {
		t.Helper()
		cmd := exec.Command(setpriv, append([]string{"--reuid=65534", "--regid=65534", "--clear-groups",
			"make", "--no-print-directory", "OUT=" + out, "VERSION=" + testVersion,
			"-o", out + "/veilfs", "-o", out + "/veilfs.1", "-o", out + "/completions/veilfs.bash",
			"-o", out + "/completions/_veilfs", "-o", out + "/completions/veilfs.fish",
			"install", "PREFIX=" + prefix}, args...)...)
		cmd.Dir = harness.ModuleRoot(t)
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("make install PREFIX=%s %v as uid 65534: %v\n%s", prefix, args, err, b)
		}
		return string(b)
	}
	base := harness.WorldDir(t)
	for _, name := range []string{"home", "other"} {
		if err := os.Mkdir(filepath.Join(base, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(filepath.Join(base, name), 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}

	prefix := filepath.Join(base, "home")
	asUser(prefix)
	checkTree(t, prefix, installedFiles(t, ".", "sbin/mount.veilfs"))
	checkManPage(t, filepath.Join(prefix, "share/man/man1/veilfs.1"))

	prefix = filepath.Join(base, "other")
	before := systemHelpers()
	output := asUser(prefix, "MOUNTHELPERDIR=/sbin")
	if !strings.Contains(output, "mount.veilfs skipped") {
		t.Errorf("no note that the helper was skipped:\n%s", output)
	}
	if after := systemHelpers(); !maps.Equal(before, after) {
		t.Errorf("the system's mount helpers changed: %v, was %v", after, before)
	}
	checkTree(t, prefix, installedFiles(t, ".", ""))
}

func TestDeb(t *testing.T) {
	dpkgDeb := harness.RequireTool(t, "dpkg-deb", "dpkg")
	dpkg := harness.RequireTool(t, "dpkg", "dpkg")
	out := t.TempDir()
	runMake(t, out, "deb")
	deb := filepath.Join(out, "veilfs_"+testDebVersion+"_"+debArch()+".deb")
	if _, err := os.Stat(deb); err != nil {
		entries, _ := os.ReadDir(out)
		t.Fatalf("no %s: %v (have %v)", filepath.Base(deb), err, entries)
	}

	fields, err := exec.Command(dpkgDeb, "-f", deb, "Package", "Version", "Architecture", "Depends").Output()
	if err != nil {
		t.Fatal(err)
	}
	wantFields := "Package: veilfs\nVersion: " + testDebVersion + "\nArchitecture: " + debArch() + "\nDepends: fuse3\n"
	if string(fields) != wantFields {
		t.Errorf("control fields:\n%s\nwant:\n%s", fields, wantFields)
	}

	listing, err := exec.Command(dpkgDeb, "-c", deb).Output()
	if err != nil {
		t.Fatal(err)
	}
	wantFiles := []string{
		"./usr/bin/veilfs",
		"./usr/sbin/mount.veilfs -> ../bin/veilfs",
		"./usr/share/man/man1/veilfs.1.gz",
		"./usr/share/bash-completion/completions/veilfs",
		"./usr/share/zsh/vendor-completions/_veilfs",
		"./usr/share/fish/vendor_completions.d/veilfs.fish",
		"./usr/share/doc/veilfs/copyright",
		"./usr/share/doc/veilfs/changelog.Debian.gz",
	}
	for _, u := range systemdUnits(t) {
		wantFiles = append(wantFiles, "./usr/lib/systemd/user/"+u)
	}
	var gotFiles []string
	for _, line := range strings.Split(strings.TrimSpace(string(listing)), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || strings.HasPrefix(f[0], "d") {
			continue
		}
		if !strings.HasPrefix(f[1], "root/root") {
			t.Errorf("not owned by root: %s", line)
		}
		gotFiles = append(gotFiles, strings.Join(f[5:], " "))
	}
	slices.Sort(wantFiles)
	slices.Sort(gotFiles)
	if !slices.Equal(gotFiles, wantFiles) {
		t.Errorf("dpkg-deb -c:\n%s\nwant:\n%s", strings.Join(gotFiles, "\n"), strings.Join(wantFiles, "\n"))
	}

	// Install into a scratch root: its own dpkg database, nothing touches
	// the machine's. fuse3 is not in that database, hence --force-depends.
	root := t.TempDir()
	for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates", "var/log"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"var/lib/dpkg/status", "var/lib/dpkg/available"} {
		if err := os.WriteFile(filepath.Join(root, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runDpkg := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(dpkg, append([]string{"--root=" + root, "--log=" + filepath.Join(root, "var/log/dpkg.log")}, args...)...)
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("dpkg %s: %v\n%s", strings.Join(args, " "), err, b)
		}
		return string(b)
	}
	runDpkg("--force-depends", "-i", deb)
	t.Cleanup(func() { _ = exec.Command(dpkg, "--root="+root, "-r", "veilfs").Run() })

	checkVersion(t, filepath.Join(root, "usr/bin/veilfs"))
	checkVersion(t, filepath.Join(root, "usr/sbin/mount.veilfs"))
	checkManPage(t, filepath.Join(root, "usr/share/man/man1/veilfs.1.gz"))
	for _, f := range []string{"usr/share/bash-completion/completions/veilfs", "usr/share/zsh/vendor-completions/_veilfs", "usr/share/fish/vendor_completions.d/veilfs.fish"} {
		if b, err := os.ReadFile(filepath.Join(root, f)); err != nil || !bytes.Contains(b, []byte("__complete")) {
			t.Errorf("%s is not a veilfs completion script (%v)", f, err)
		}
	}
	if listed := runDpkg("-L", "veilfs"); !strings.Contains(listed, "/usr/bin/veilfs") {
		t.Errorf("dpkg -L veilfs: %s", listed)
	}

	runDpkg("-r", "veilfs")
	if left := tree(t, root, "var"); len(left) > 0 {
		t.Errorf("left after dpkg -r: %q", left)
	}
	if entries, _ := os.ReadDir(root); len(entries) != 1 {
		t.Errorf("directories left after dpkg -r: %v", entries)
	}
}

// debArch is Debian's name for the architecture Go builds for.
func debArch() string {
	switch runtime.GOARCH {
	case "386":
		return "i386"
	case "arm":
		return "armhf"
	}
	return runtime.GOARCH
}
