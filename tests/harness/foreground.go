package harness

// Foreground mounts for tests that need the daemon's PID and its log (crash
// and attack tests): `veilfs mount -f` as a child process, file-system calls
// with a timeout, and a way out of a hung FUSE connection.

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
)

// stopTimeout bounds a clean unmount before the connection is aborted.
const stopTimeout = 15 * time.Second

// Foreground is `veilfs mount -f` running as our child.
type Foreground struct {
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

// StartForeground mounts cipherdir on mnt in the foreground with the password
// given through stdin (pw != "") and the extra arguments, and waits until
// the mount shows in mountinfo or the process exits.
func StartForeground(t testing.TB, cipherdir, mnt, stdin string, args ...string) (*Foreground, error) {
	t.Helper()
	RequireFUSE(t)
	logPath := filepath.Join(t.TempDir(), "daemon.log")
	logF, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logF.Close()
	all := append(append([]string{"mount", "-f"}, args...), cipherdir, mnt)
	cmd := exec.Command(Binary(t), all...)
	cmd.Stdout, cmd.Stderr = logF, logF
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	m := &Foreground{t: t, cmd: cmd, cipherdir: cipherdir, mnt: mnt, logPath: logPath, exited: make(chan struct{})}
	go func() { m.waitErr = cmd.Wait(); close(m.exited) }()
	t.Cleanup(m.Stop)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, ok := FindMount(mnt); ok {
			return m, nil
		}
		select {
		case <-m.exited:
			return nil, fmt.Errorf("veilfs mount -f exited before mounting (%v):\n%s", m.waitErr, m.Log())
		default:
		}
		if time.Now().After(deadline) {
			m.Kill9()
			return nil, fmt.Errorf("veilfs mount -f did not mount %s within 30s:\n%s", mnt, m.Log())
		}
		time.Sleep(10 * time.Millisecond) // polling mountinfo, not guessing readiness
	}
}

// MustForeground is StartForeground with --passfile, failing the test on error.
func MustForeground(t testing.TB, cipherdir, mnt, pw string, extra ...string) *Foreground {
	t.Helper()
	m, err := StartForeground(t, cipherdir, mnt, "", append([]string{"--passfile", Passfile(t, pw)}, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// PID is the daemon's process ID.
func (m *Foreground) PID() int { return m.cmd.Process.Pid }

// Log returns what the daemon wrote to stdout and stderr so far.
func (m *Foreground) Log() string {
	b, _ := os.ReadFile(m.logPath)
	return string(b)
}

// Alive reports whether the daemon is still running.
func (m *Foreground) Alive() bool {
	select {
	case <-m.exited:
		return false
	default:
		return true
	}
}

// Kill9 SIGKILLs the daemon, waits for it, and detaches the dead mount.
func (m *Foreground) Kill9() {
	_ = m.cmd.Process.Signal(syscall.SIGKILL)
	<-m.exited
	Detach(m.mnt)
}

// Stop unmounts cleanly if it can; a hung mount is aborted and detached.
func (m *Foreground) Stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return
	}
	m.stopped = true
	if WasAborted(m.mnt) && m.Alive() {
		// A daemon thread may be blocked for good (that is what the
		// abort was for): no clean unmount to wait for.
		_ = m.cmd.Process.Signal(syscall.SIGKILL)
		<-m.exited
	}
	if m.Alive() {
		done := make(chan error, 1)
		go func() {
			var err error
			for i := 0; i < 50; i++ {
				if err = exec.Command(Binary(m.t), "unmount", m.mnt).Run(); err == nil {
					break
				}
				if _, ok := FindMount(m.mnt); !ok {
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
		case <-time.After(stopTimeout):
			m.t.Errorf("unmount of %s hung; aborting the FUSE connection", m.mnt)
		}
		select {
		case <-m.exited:
		case <-time.After(10 * time.Second):
			m.t.Errorf("veilfs mount -f (pid %d) still running 10s after unmount; killing it", m.PID())
			AbortConn(m.mnt)
			_ = m.cmd.Process.Signal(syscall.SIGKILL)
			<-m.exited
		}
	}
	Detach(m.mnt)
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

// AbortConn aborts the FUSE connection of mnt: every request hanging in
// the daemon then fails with ENOTCONN, which frees a stuck caller.
// aborted records the mountpoints whose connection AbortConn aborted.
var aborted sync.Map

// WasAborted reports whether AbortConn aborted the connection of mnt.
func WasAborted(mnt string) bool {
	_, ok := aborted.Load(mnt)
	return ok
}

func AbortConn(mnt string) {
	aborted.Store(mnt, true)
	if c := fuseConn(mnt); c != "" {
		_ = os.WriteFile(c+"/abort", []byte("1"), 0)
	}
}

// Detach lazily unmounts whatever is left at mnt.
func Detach(mnt string) {
	for i := 0; i < 10; i++ {
		if _, ok := FindMount(mnt); !ok {
			return
		}
		if err := lazyUnmount(mnt); err != nil {
			_ = exec.Command("fusermount3", "-u", "-z", mnt).Run()
		}
	}
}

// ErrTimeout marks a call that did not return within opTimeout.
var ErrTimeout = errors.New("HANG: no answer within timeout")

// Timed runs fn with a timeout. On a timeout the FUSE connection of mnt is
// aborted so that fn's goroutine is released, and ErrTimeout is returned.
func Timed(mnt string, timeout time.Duration, fn func() error) error {
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-time.After(timeout):
		AbortConn(mnt)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
		return ErrTimeout
	}
}

// ErrnoOf extracts the errno of err, 0 if none.
func ErrnoOf(err error) syscall.Errno {
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return 0
}
