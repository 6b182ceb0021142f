//go:build linux

package stress

import (
	"bytes"
	"debug/buildinfo"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/tests/harness"
)

// settle bounds how long the fd-leak and exit checks wait: FUSE RELEASE is
// sent asynchronously after close(2) (the same bound as the harness uses).
const settle = 5 * time.Second

// volumeKind is one row of the volume matrix.
type volumeKind struct {
	name     string
	initArgs []string
}

var allKinds = []volumeKind{
	{"default", nil},
	{"xchacha", []string{"--xchacha"}},
	{"aessiv", []string{"--aessiv"}},
	{"plaintextnames", []string{"--plaintextnames"}},
}

// newCipherdir creates a volume of kind k in a temp dir.
func newCipherdir(t testing.TB, k volumeKind) string {
	t.Helper()
	harness.RequireFUSE(t)
	cipherdir := t.TempDir()
	harness.InitVolume(t, cipherdir, harness.DefaultPassword, k.initArgs...)
	return cipherdir
}

// lockedBuffer collects a process's output while it runs and wakes waiters
// on every write.
type lockedBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newLockedBuffer() *lockedBuffer { return &lockedBuffer{changed: make(chan struct{})} }

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	close(b.changed)
	b.changed = make(chan struct{})
	return n, err
}

func (b *lockedBuffer) snapshot() (string, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String(), b.changed
}

func (b *lockedBuffer) String() string { s, _ := b.snapshot(); return s }

// fgMount is a veilfs daemon started with `mount -f` by this package, so
// that its stderr (race reports, panics, corruption reports) is ours.
type fgMount struct {
	t         testing.TB
	bin       string
	cipherdir string // canonical
	mnt       string
	cmd       *exec.Cmd
	pid       int
	stderr    *lockedBuffer
	exited    chan struct{} // closed once the process has been waited for
	exitErr   error
	dev       uint64 // st_dev of the mount, for /sys/fs/fuse/connections
	baseFDs   []string
	baseAll   int
	unmounted bool
	checked   bool
}

// mountFG mounts cipherdir on mnt with a foreground daemon and returns once
// the daemon reports that it is serving and the mount is in mountinfo. A
// cleanup unmounts it (if the test did not) and checks the daemon's output.
func mountFG(t testing.TB, cipherdir, mnt string) *fgMount {
	t.Helper()
	harness.RequireFUSE(t)
	bin := harness.Binary(t)
	pass := harness.Passfile(t, harness.DefaultPassword)
	cd, err := filepath.EvalSymlinks(cipherdir)
	if err != nil {
		t.Fatal(err)
	}
	m := &fgMount{t: t, bin: bin, cipherdir: cd, mnt: mnt, stderr: newLockedBuffer(), exited: make(chan struct{})}
	m.cmd = exec.Command(bin, "mount", "-f", "--passfile", pass, cipherdir, mnt)
	m.cmd.Stdout = m.stderr
	m.cmd.Stderr = m.stderr
	// Pdeathsig: if the test process dies (go test -timeout), the daemon
	// gets SIGTERM and unmounts instead of leaving a mount behind.
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := m.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	m.pid = m.cmd.Process.Pid
	go func() {
		m.exitErr = m.cmd.Wait()
		close(m.exited)
	}()
	t.Cleanup(m.cleanup)

	// Readiness: the daemon logs "serving" once MountVolume returned, i.e.
	// the kernel accepted the mount and requests are served.
	deadline := time.After(time.Minute)
	for {
		out, changed := m.stderr.snapshot()
		if strings.Contains(out, "serving ") {
			break
		}
		select {
		case <-changed:
		case <-m.exited:
			t.Fatalf("veilfs mount -f exited before serving: %v\n%s", m.exitErr, m.stderr)
		case <-deadline:
			m.kill()
			t.Fatalf("veilfs mount -f did not report serving within a minute\n%s", m.stderr)
		}
	}
	e, ok := harness.FindMount(mnt)
	if !ok || !e.IsFUSE() {
		t.Fatalf("daemon reports serving but %s is not a FUSE mount (%+v)\n%s", mnt, e, m.stderr)
	}
	var st unix.Stat_t
	if err := unix.Stat(mnt, &st); err != nil {
		t.Fatalf("stat %s: %v", mnt, err)
	}
	m.dev = st.Dev
	m.baseFDs, m.baseAll = m.fds()
	return m
}

// fds returns the daemon's descriptors into CIPHERDIR (sorted targets, the
// harness's leak-check approach) and the total number of its descriptors.
// O_PATH descriptors of directories are left out: they are the daemon's
// directory cache (fs/dircache.go), held while the kernel knows the
// directory, not descriptors of an operation; cachedDirs counts them.
func (m *fgMount) fds() (backing []string, total int) {
	backing, _, _, total = m.fdsDetail()
	return backing, total
}

// fdsDetail also counts the O_PATH directory descriptors, and among them
// those of directories that no longer exist.
func (m *fgMount) fdsDetail() (backing []string, cachedDirs, deletedDirs, total int) {
	dir := fmt.Sprintf("/proc/%d/fd", m.pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, 0, 0, -1
	}
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		if target != m.cipherdir && !strings.HasPrefix(target, m.cipherdir+"/") {
			continue
		}
		if isOPath(m.pid, e.Name()) {
			cachedDirs++
			if strings.HasSuffix(target, " (deleted)") {
				deletedDirs++
			}
			continue
		}
		backing = append(backing, target)
	}
	sort.Strings(backing)
	return backing, cachedDirs, deletedDirs, len(ents)
}

// isOPath reports whether descriptor fd of pid was opened with O_PATH
// (flags field of /proc/PID/fdinfo/FD, octal).
func isOPath(pid int, fd string) bool {
	info, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%s", pid, fd))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(info), "\n") {
		if v, ok := strings.CutPrefix(line, "flags:"); ok {
			flags, err := strconv.ParseUint(strings.TrimSpace(v), 8, 64)
			return err == nil && flags&unix.O_PATH != 0
		}
	}
	return false
}

// alive reports whether the daemon process still runs (not a zombie).
func (m *fgMount) alive() bool {
	select {
	case <-m.exited:
		return false
	default:
	}
	return harness.ProcessAlive(m.pid)
}

// checkFDs fails the test if the daemon holds more CIPHERDIR descriptors than
// right after mounting, once pending releases settled. It returns the
// before/after totals for the report.
func (m *fgMount) checkFDs(t testing.TB) (before, after int, beforeBacking, afterBacking int) {
	t.Helper()
	deadline := time.Now().Add(settle)
	for {
		cur, all := m.fds()
		if all < 0 {
			t.Errorf("daemon %d is gone (fd check)\n%s", m.pid, m.stderr)
			return m.baseAll, -1, len(m.baseFDs), -1
		}
		extra := harness.Subtract(cur, m.baseFDs)
		if len(extra) == 0 {
			return m.baseAll, all, len(m.baseFDs), len(cur)
		}
		if time.Now().After(deadline) {
			t.Errorf("daemon %d leaks %d backing descriptor(s) after every file was closed: %s", m.pid, len(extra), describeFDs(extra))
			return m.baseAll, all, len(m.baseFDs), len(cur)
		}
		time.Sleep(20 * time.Millisecond) // waiting for async FUSE RELEASE
	}
}

// describeFDs summarises leaked descriptor targets by type.
func describeFDs(targets []string) string {
	kinds := map[string]int{}
	for _, p := range targets {
		var st unix.Stat_t
		switch err := unix.Lstat(p, &st); {
		case err != nil:
			kinds["gone"]++
		case st.Mode&unix.S_IFMT == unix.S_IFDIR:
			kinds["directory"]++
		case st.Mode&unix.S_IFMT == unix.S_IFREG:
			kinds["regular file"]++
		default:
			kinds["other"]++
		}
	}
	return fmt.Sprintf("%v: %s", kinds, truncate(strings.Join(targets, " "), 3000))
}

// unmount unmounts with `veilfs unmount` (retrying while busy), waits for the
// daemon to exit and checks its output and exit status.
func (m *fgMount) unmount(t testing.TB) {
	t.Helper()
	if m.unmounted {
		return
	}
	m.unmounted = true
	deadline := time.Now().Add(settle)
	for {
		if _, ok := harness.FindMount(m.mnt); !ok {
			break
		}
		out, err := exec.Command(m.bin, "unmount", m.mnt).CombinedOutput()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("veilfs unmount %s: %v: %s", m.mnt, err, out)
			m.kill()
			break
		}
		time.Sleep(100 * time.Millisecond) // retry while EBUSY
	}
	select {
	case <-m.exited:
	case <-time.After(30 * time.Second):
		t.Errorf("daemon %d still running 30s after unmount; killing it with SIGQUIT for a goroutine dump", m.pid)
		m.kill()
	}
	m.checkOutput(t)
}

// kill stops a daemon that does not behave: SIGQUIT makes the Go runtime
// dump every goroutine to stderr (which we capture) and exit, which also
// aborts the FUSE connection so that blocked callers get ENOTCONN.
func (m *fgMount) kill() {
	if m.cmd.Process == nil {
		return
	}
	select {
	case <-m.exited:
	default:
		m.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-m.exited:
		case <-time.After(10 * time.Second):
			m.cmd.Process.Kill()
			<-m.exited
		}
	}
	if _, ok := harness.FindMount(m.mnt); ok {
		unix.Unmount(m.mnt, unix.MNT_DETACH)
	}
}

// daemonProblems are lines of the daemon's stderr that fail a test.
var daemonProblems = []string{
	"WARNING: DATA RACE",
	"panic:",
	"fatal error:",
	"corrupt ciphertext",
	"skipping undecryptable",
	"SIGSEGV",
}

// checkOutput fails the test on a race report, panic or corruption report
// in the daemon's stderr, or on a non-zero exit (a race-enabled daemon exits
// 66 after reporting a race).
func (m *fgMount) checkOutput(t testing.TB) {
	t.Helper()
	if m.checked {
		return
	}
	m.checked = true
	out := m.stderr.String()
	var bad []string
	for _, p := range daemonProblems {
		if n := strings.Count(out, p); n > 0 {
			bad = append(bad, fmt.Sprintf("%d× %q", n, p))
		}
	}
	if len(bad) > 0 {
		t.Errorf("daemon %d stderr has %s:\n%s", m.pid, strings.Join(bad, ", "), truncate(out, 200000))
	}
	if m.exitErr != nil {
		t.Errorf("daemon %d exited with %v\n%s", m.pid, m.exitErr, truncate(out, 20000))
	}
}

func (m *fgMount) cleanup() {
	if !m.unmounted {
		m.unmount(m.t)
	}
	select {
	case <-m.exited:
	default:
		m.kill()
	}
}

// kernelStacks returns the kernel stacks of the daemon's threads (root can
// read /proc/PID/task/TID/stack), for a hang report.
func kernelStacks(pid int) string {
	var b strings.Builder
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	for _, task := range tasks {
		wchan, _ := os.ReadFile(filepath.Join(task, "wchan"))
		stack, _ := os.ReadFile(filepath.Join(task, "stack"))
		fmt.Fprintf(&b, "%s wchan=%s\n%s", filepath.Base(task), wchan, stack)
	}
	return b.String()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n/2] + "\n[... truncated ...]\n" + s[len(s)-n/2:]
}

// raceBuilt reports whether bin was built with -race.
func raceBuilt(bin string) bool {
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		return false
	}
	for _, s := range info.Settings {
		if s.Key == "-race" && s.Value == "true" {
			return true
		}
	}
	return false
}

// requireRaceIfAsked logs whether the daemon is race-built and fails under
// VEILFS_STRESS_RACE=1 when it is not (so `make stress` cannot silently run
// without the detector).
func requireRaceIfAsked(t testing.TB) bool {
	t.Helper()
	race := raceBuilt(harness.Binary(t))
	if !race && os.Getenv("VEILFS_STRESS_RACE") == "1" {
		t.Fatal("VEILFS_STRESS_RACE=1 but the veilfs binary is not built with -race (set VEILFS_BUILDFLAGS=-race)")
	}
	return race
}
