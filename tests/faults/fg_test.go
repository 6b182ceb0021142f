package faults_test

// Helpers shared (as a copy) by tests/faults and tests/hostile: a
// foreground mount whose PID and stderr log we own, file-system calls with
// a timeout, and a way out of a hung FUSE connection.

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/tests/harness"
)

// opTimeout bounds every single file-system call a test makes through a
// mount that may be hostile or dead: a hang is a finding, not a stuck run.
const opTimeout = 15 * time.Second

// fgMount is `veilfs mount -f` running as our child.
type fgMount struct {
	t         testing.TB
	cmd       *exec.Cmd
	cipherdir string
	mnt       string
	logPath   string
	exited    chan struct{}
	waitErr   error
	mu        sync.Mutex
	stopped   bool
}

// startFG mounts cipherdir on mnt in the foreground with the password
// given through stdin (pw != "") and the extra arguments, and waits until
// the mount shows in mountinfo or the process exits.
func startFG(t testing.TB, cipherdir, mnt, stdin string, args ...string) (*fgMount, error) {
	t.Helper()
	harness.RequireFUSE(t)
	logPath := filepath.Join(t.TempDir(), "daemon.log")
	logF, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logF.Close()
	all := append(append([]string{"mount", "-f"}, args...), cipherdir, mnt)
	cmd := exec.Command(harness.Binary(t), all...)
	cmd.Stdout, cmd.Stderr = logF, logF
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	m := &fgMount{t: t, cmd: cmd, cipherdir: cipherdir, mnt: mnt, logPath: logPath, exited: make(chan struct{})}
	go func() { m.waitErr = cmd.Wait(); close(m.exited) }()
	t.Cleanup(m.stop)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, ok := harness.FindMount(mnt); ok {
			return m, nil
		}
		select {
		case <-m.exited:
			return nil, fmt.Errorf("veilfs mount -f exited before mounting (%v):\n%s", m.waitErr, m.log())
		default:
		}
		if time.Now().After(deadline) {
			m.kill9()
			return nil, fmt.Errorf("veilfs mount -f did not mount %s within 30s:\n%s", mnt, m.log())
		}
		time.Sleep(10 * time.Millisecond) // polling mountinfo, not guessing readiness
	}
}

// mustFG is startFG with --passfile, failing the test on error.
func mustFG(t testing.TB, cipherdir, mnt, pw string, extra ...string) *fgMount {
	t.Helper()
	m, err := startFG(t, cipherdir, mnt, "", append([]string{"--passfile", harness.Passfile(t, pw)}, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (m *fgMount) pid() int { return m.cmd.Process.Pid }

func (m *fgMount) log() string {
	b, _ := os.ReadFile(m.logPath)
	return string(b)
}

func (m *fgMount) alive() bool {
	select {
	case <-m.exited:
		return false
	default:
		return true
	}
}

// kill9 SIGKILLs the daemon, waits for it, and detaches the dead mount.
func (m *fgMount) kill9() {
	_ = m.cmd.Process.Signal(syscall.SIGKILL)
	<-m.exited
	detach(m.mnt)
}

// stop unmounts cleanly if it can; a hung mount is aborted and detached.
func (m *fgMount) stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return
	}
	m.stopped = true
	if m.alive() {
		done := make(chan error, 1)
		go func() {
			var err error
			for i := 0; i < 50; i++ {
				if err = exec.Command(harness.Binary(m.t), "unmount", m.mnt).Run(); err == nil {
					break
				}
				if _, ok := harness.FindMount(m.mnt); !ok {
					err = nil
					break
				}
				time.Sleep(100 * time.Millisecond) // EBUSY retry
			}
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				m.t.Errorf("could not unmount %s: %v", m.mnt, err)
			}
		case <-time.After(opTimeout):
			m.t.Errorf("unmount of %s hung; aborting the FUSE connection", m.mnt)
		}
		select {
		case <-m.exited:
		case <-time.After(10 * time.Second):
			m.t.Errorf("veilfs mount -f (pid %d) still running 10s after unmount; killing it", m.pid())
			abortConn(m.mnt)
			_ = m.cmd.Process.Signal(syscall.SIGKILL)
			<-m.exited
		}
	}
	detach(m.mnt)
}

// fuseConn returns the /sys/fs/fuse/connections entry of the mount at mnt.
func fuseConn(mnt string) string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	want, _ := filepath.Abs(mnt)
	conn := ""
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && f[4] == want {
			if _, minor, ok := strings.Cut(f[2], ":"); ok {
				conn = "/sys/fs/fuse/connections/" + minor
			}
		}
	}
	return conn
}

// abortConn aborts the FUSE connection of mnt: every request hanging in
// the daemon then fails with ENOTCONN, which frees a stuck caller.
func abortConn(mnt string) {
	if c := fuseConn(mnt); c != "" {
		_ = os.WriteFile(c+"/abort", []byte("1"), 0)
	}
}

// detach lazily unmounts whatever is left at mnt.
func detach(mnt string) {
	for i := 0; i < 10; i++ {
		if _, ok := harness.FindMount(mnt); !ok {
			return
		}
		if err := unix.Unmount(mnt, unix.MNT_DETACH); err != nil {
			_ = exec.Command("fusermount3", "-u", "-z", mnt).Run()
		}
	}
}

// errTimeout marks a call that did not return within opTimeout.
var errTimeout = errors.New("HANG: no answer within timeout")

// timed runs fn with opTimeout. On a timeout the FUSE connection of mnt is
// aborted so that fn's goroutine is released, and errTimeout is returned.
func timed(mnt string, fn func() error) error {
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-time.After(opTimeout):
		abortConn(mnt)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
		return errTimeout
	}
}

// errnoOf extracts the errno of err, 0 if none.
func errnoOf(err error) syscall.Errno {
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return 0
}

func execCmd(name string, args ...string) *exec.Cmd { return exec.Command(name, args...) }
