// Package testenv decides what a test does when this machine lacks something
// it needs (a tool, root, /dev/fuse, a capability of the filesystem): in an
// ordinary `go test` it skips, naming what is missing and how to get it; in a
// run that must be complete (`make test`, CI) it fails, because there a skip
// would hide that nothing was tested.
//
// Every skip of the repository's tests goes through here, except those about
// the test's own flags (testing.Short, a fuzz input out of range, a peer the
// runner chose); the platform's limits (GOOS, the kernel, the machine's
// size) skip through Platform in every run.
//
// It also holds the few helpers that the unit tests of several packages
// share (LogBuffer, MainWithoutUmask); the black-box tests under tests/ share tests/harness.
//
// It imports nothing of this module, so that the unit tests of any package
// and the black-box tests under tests/ can use it; only test code may
// (tests/arch checks that).
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"testing"
)

// StrictVar is the variable `make test` sets: every test must run.
const StrictVar = "VEILFS_TEST_STRICT"

// The variables of the older, per-need switches; `make e2e` and `make
// stress` set them, and each still makes its own need strict.
const (
	requireFUSE      = "VEILFS_REQUIRE_FUSE"
	requireGocryptfs = "VEILFS_REQUIRE_GOCRYPTFS"
	requireTools     = "VEILFS_REQUIRE_TOOLS"
)

// strictBy returns the setting that makes the run one that must be
// complete, for a need whose older switch is legacy ("" for none), or ""
// when the run may skip: VEILFS_TEST_STRICT=1 (set by `make test`), CI=true
// (set by CI services, under which .ci/run runs), or the legacy switch.
func strictBy(legacy string) string {
	switch {
	case os.Getenv(StrictVar) == "1":
		return StrictVar + "=1"
	case os.Getenv("CI") == "true":
		return "CI=true"
	case legacy != "" && os.Getenv(legacy) == "1":
		return legacy + "=1"
	}
	return ""
}

// Missing ends the test for want of what the message describes: it fails
// in a strict run and skips otherwise. msg says what is missing and how to
// get it.
func Missing(t testing.TB, msg string) {
	t.Helper()
	missing(t, "", msg)
}

func missing(t testing.TB, legacy, msg string) {
	t.Helper()
	if by := strictBy(legacy); by != "" {
		t.Fatalf("%s (a skip is a failure under %s)", msg, by)
	}
	t.Skip(msg)
}

// Platform skips, in any run, a test that this platform cannot run and no
// install would change: another GOOS, a kernel built without a filesystem
// type, a machine whose size makes the test moot. why names which.
func Platform(t testing.TB, why string) {
	t.Helper()
	t.Skip("not on this platform: " + why)
}

// NeedTool returns the path of an external program a test needs (groff,
// setpriv, ...) or of a file a package installs (bash-completion's
// script). When it is missing the test fails in a strict run and skips
// otherwise; debianPackage tells how to get it. No tool is optional: make
// deps installs every one that make test uses.
func NeedTool(t testing.TB, nameOrPath, debianPackage string) string {
	t.Helper()
	if p, ok := lookTool(nameOrPath); ok {
		return p
	}
	msg := fmt.Sprintf("%s not found: install the Debian package %s", nameOrPath, debianPackage)
	missing(t, requireTools, msg+" (make deps installs what make test needs)")
	return ""
}

// lookTool finds a program in PATH or a file at a path.
func lookTool(nameOrPath string) (string, bool) {
	if p, err := exec.LookPath(nameOrPath); err == nil {
		return p, true
	}
	if fi, err := os.Stat(nameOrPath); err == nil && !fi.IsDir() {
		return nameOrPath, true
	}
	return "", false
}

// NeedGocryptfs returns the path of Debian's gocryptfs binary, which the
// interoperability tests run beside veilfs.
func NeedGocryptfs(t testing.TB) string {
	t.Helper()
	if p := Gocryptfs(); p != "" {
		return p
	}
	missing(t, requireGocryptfs, "gocryptfs binary not found: install the Debian package gocryptfs")
	return ""
}

// Gocryptfs returns the path of the gocryptfs binary, or "" if there is none.
func Gocryptfs() string {
	if p, ok := lookTool("gocryptfs"); ok {
		return p
	}
	if p, ok := lookTool("/usr/bin/gocryptfs"); ok {
		return p
	}
	return ""
}

// NeedRoot is for tests that act as root: mount(2) of other filesystems,
// another user's identity, a mount namespace. why says what for.
func NeedRoot(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	missing(t, "", "needs root: "+why)
}

// NeedFUSE is for tests that mount: /dev/fuse must be a character device.
// The mounts are tested on Linux only, so on other systems it always skips.
func NeedFUSE(t testing.TB) {
	t.Helper()
	if runtime.GOOS != "linux" {
		Platform(t, "the mount tests run on Linux only, not on "+runtime.GOOS)
	}
	fi, err := os.Stat("/dev/fuse")
	if err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		return
	}
	msg := "/dev/fuse is not a character device"
	if err != nil {
		msg = fmt.Sprintf("/dev/fuse is not available: %v", err)
	}
	missing(t, requireFUSE, msg+" (modprobe fuse; in a container, pass --device /dev/fuse)")
}
