package harness

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/internal/testenv"
)

// Gocryptfs returns the path of the gocryptfs binary, or "" if there is none.
func Gocryptfs() string { return testenv.Gocryptfs() }

// RequireGocryptfs skips the test when the gocryptfs binary is missing, or
// fails it when the run must be complete (internal/testenv).
func RequireGocryptfs(t testing.TB) {
	t.Helper()
	testenv.NeedGocryptfs(t)
}

// GocryptfsRun runs gocryptfs with args and returns the result.
func GocryptfsRun(t testing.TB, stdin string, args ...string) Result {
	t.Helper()
	RequireGocryptfs(t)
	return execProgram(t, stdin, false, Gocryptfs(), args...)
}

// GocryptfsInit runs `gocryptfs -init -scryptn 10 -passfile P [extra] CIPHERDIR`
// and fails the test unless it exits 0.
func GocryptfsInit(t testing.TB, cipherdir, password string, extra ...string) {
	t.Helper()
	args := append([]string{"-init", "-scryptn", "10", "-passfile", Passfile(t, password)}, extra...)
	args = append(args, cipherdir)
	if res := GocryptfsRun(t, "", args...); res.Code != 0 {
		t.Fatalf("gocryptfs %s: %v", strings.Join(args, " "), res)
	}
}

// GocryptfsMount runs `gocryptfs -passfile P [extra] CIPHERDIR MNT` (which
// returns once the daemon serves), checks the mount, and registers a cleanup
// that unmounts it.
func GocryptfsMount(t testing.TB, cipherdir, mnt, password string, extra ...string) {
	t.Helper()
	RequireFUSE(t)
	RequireGocryptfs(t)
	args := append([]string{"-passfile", Passfile(t, password)}, extra...)
	args = append(args, cipherdir, mnt)
	t.Cleanup(func() { cleanupMount(t, mnt, fusermountUnmounter) })
	trackMount(canonical(mnt), nil)
	res := execProgram(t, "", true, Gocryptfs(), args...)
	if res.Code != 0 {
		t.Fatalf("gocryptfs %s: %v", strings.Join(args, " "), res)
	}
	// gocryptfs keeps a cache of directory fds, so only the exit check
	// applies to it.
	trackMount(canonical(mnt), attachDaemon(t, Gocryptfs(), cipherdir, mnt, false))
	e, ok := FindMount(mnt)
	if !ok {
		t.Fatalf("gocryptfs exited 0 but %s is not in /proc/self/mountinfo\n%v", mnt, res)
	}
	if !e.IsFUSE() {
		t.Fatalf("%s is mounted with type %q, want fuse.*", mnt, e.FSType)
	}
}

// GocryptfsUnmount unmounts a gocryptfs mount (fusermount3 -u, with retries).
func GocryptfsUnmount(t testing.TB, mnt string) {
	t.Helper()
	if err := unmountRetry(mnt, fusermountUnmounter); err != nil {
		t.Errorf("unmount %s: %v", mnt, err)
		forceUnmount(mnt)
		return
	}
	daemonOf(canonical(mnt)).checkExited(t, mnt)
}

func fusermountUnmounter(mnt string) error {
	out, err := exec.Command("fusermount3", "-u", mnt).CombinedOutput()
	if err != nil {
		return fmt.Errorf("fusermount3 -u: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// GocryptfsFsck runs `gocryptfs -fsck -passfile P CIPHERDIR` and returns its
// combined stdout and stderr and its exit code.
func GocryptfsFsck(t testing.TB, cipherdir, password string, extra ...string) (output string, code int) {
	t.Helper()
	args := append([]string{"-fsck", "-passfile", Passfile(t, password)}, extra...)
	res := GocryptfsRun(t, "", append(args, cipherdir)...)
	return res.Stdout + res.Stderr, res.Code
}
