package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// daemonSettle bounds how long the leak and exit checks wait: the kernel
// sends FUSE RELEASE asynchronously after close(2), so a backing fd may stay
// open for a moment after the test closed its file, and the daemon needs a
// moment to exit after the unmount.
const daemonSettle = 5 * time.Second

// daemon is the background process serving one mount.
type daemon struct {
	pid       int
	cipherdir string // canonical
	baseline  []string
}

// findDaemon returns the pid of the process running exe whose command line
// names mnt (the daemon `veilfs mount` left behind), or 0.
func findDaemon(exe, mnt string) int {
	want := map[string]bool{mnt: true, canonical(mnt): true}
	if abs, err := filepath.Abs(mnt); err == nil {
		want[abs] = true
	}
	exe, _ = filepath.EvalSymlinks(exe)
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if x, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err != nil || x != exe {
			continue
		}
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
		if len(args) > 0 && want[args[len(args)-1]] {
			return pid
		}
	}
	return 0
}

// backingFDs lists the daemon's descriptors that point into cipherdir
// (sorted targets). Descriptors of the Go runtime, /dev/fuse, pipes and
// sockets are not counted, nor directories (the daemon caches those): only
// backing files can leak in a way that matters (open files pile up,
// unlinked files keep their space).
func backingFDs(pid int, cipherdir string) ([]string, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		if target != cipherdir && !strings.HasPrefix(target, cipherdir+"/") {
			continue
		}
		// Directory nodes keep their ciphertext directory open on purpose
		// (fs/dircache.go, bounded); only files can leak.
		if st, err := os.Stat(filepath.Join(dir, e.Name())); err == nil && st.IsDir() {
			continue
		}
		out = append(out, target)
	}
	sort.Strings(out)
	return out, nil
}

// attachDaemon finds the daemon of a fresh mount and, with leakCheck,
// records its backing descriptors as the baseline. It returns nil if the
// daemon cannot be found (then the checks are skipped, with a log line).
func attachDaemon(t testing.TB, exe, cipherdir, mnt string, leakCheck bool) *daemon {
	pid := findDaemon(exe, mnt)
	if pid == 0 {
		t.Logf("harness: daemon of %s not found; fd-leak and exit checks skipped", mnt)
		return nil
	}
	if !leakCheck {
		return &daemon{pid: pid}
	}
	cd := canonical(cipherdir)
	if r, err := filepath.EvalSymlinks(cipherdir); err == nil {
		cd = r
	}
	base, err := backingFDs(pid, cd)
	if err != nil {
		t.Logf("harness: reading fds of daemon %d: %v; fd-leak check skipped", pid, err)
		return &daemon{pid: pid}
	}
	return &daemon{pid: pid, cipherdir: cd, baseline: base}
}

// checkLeaks fails the test if, once pending releases have settled, the
// daemon holds more backing descriptors than right after mounting.
func (d *daemon) checkLeaks(t testing.TB, mnt string) {
	if d == nil || d.cipherdir == "" {
		return
	}
	deadline := time.Now().Add(daemonSettle)
	for {
		cur, err := backingFDs(d.pid, d.cipherdir)
		if err != nil {
			t.Errorf("daemon of %s (pid %d) is gone before unmount: %v", mnt, d.pid, err)
			return
		}
		extra := Subtract(cur, d.baseline)
		if len(extra) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("daemon of %s leaks %d backing file descriptor(s) after the test closed everything: %v",
				mnt, len(extra), extra)
			return
		}
		time.Sleep(20 * time.Millisecond) // waiting for async FUSE RELEASE
	}
}

// checkExited fails the test if the daemon is still running after unmount.
func (d *daemon) checkExited(t testing.TB, mnt string) {
	if d == nil {
		return
	}
	deadline := time.Now().Add(daemonSettle)
	for ProcessAlive(d.pid) {
		if time.Now().After(deadline) {
			t.Errorf("daemon of %s (pid %d) still running %v after unmount", mnt, d.pid, daemonSettle)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ProcessAlive reports whether pid exists and is not a zombie (a child not
// yet waited for is one).
func ProcessAlive(pid int) bool {
	if err := unix.Kill(pid, 0); err == unix.ESRCH {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) state ...; comm may contain spaces, so look after ')'.
	s := string(stat)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z' && s[i+2] != 'X'
	}
	return true
}

// Subtract returns the elements of a not matched one-for-one in b.
func Subtract(a, b []string) []string {
	count := map[string]int{}
	for _, x := range b {
		count[x]++
	}
	var out []string
	for _, x := range a {
		if count[x] > 0 {
			count[x]--
			continue
		}
		out = append(out, x)
	}
	return out
}
