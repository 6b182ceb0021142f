package main

// Background mounts. "veilfs mount" without --foreground re-executes itself
// (os.Executable) as "veilfs mount --internal-daemon=KIND ... -- CIPHERDIR
// MOUNTPOINT", a foreground child in a new session (setsid), and waits until
// the child says the filesystem is serving:
//
//   - fd 3 of the child (secret pipe): the parent writes the raw master key
//     and closes it. The parent has unlocked the volume already (unlock.go),
//     with whatever unlocker the user gave, so the password or keyfile never
//     reaches the child at all. Secrets never travel through argv or the
//     environment, which other users can read in /proc.
//   - fd 4 of the child (status pipe): the child writes "ready\n" once
//     fs.MountVolume has returned, or "exit N\n" followed by the error text
//     it would have printed; then it closes the pipe.
//
// The parent exits 0 on "ready"; otherwise it prints the child's text and
// exits with N. A child that dies without a word (a panic, say) is reported
// with the status the parent collects from it. The child keeps the parent's
// stderr until it is ready, so a panic message is still seen, then points
// fds 0-2 at /dev/null before saying "ready": a caller that waits for EOF on
// our stderr (a pipe in a script or test) is not kept waiting by the daemon.

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"log/syslog"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	veilfs "github.com/veilfs/veilfs/fs"
)

const (
	daemonFlag   = "internal-daemon"
	daemonMaster = "masterkey"
	// daemonAssumed: the master key, for a volume without a usable
	// gocryptfs.conf, opened with the format options passed along.
	daemonAssumed = "masterkey-assumed-format"
	secretFd      = 3
	statusFd      = 4
	statusReady   = "ready"
	maxStatusSize = 64 << 10
)

// spawnDaemon starts the child and waits for its verdict. It owns s, the
// master key.
func spawnDaemon(c *cli, s *secret, o *mountFlags, dir, mnt string) error {
	defer s.wipe()
	exe, err := os.Executable()
	if err != nil {
		return fail(errMountFailed, fmt.Errorf("find the veilfs executable to start the mount daemon: %w", err))
	}
	args := []string{"mount", "--" + daemonFlag + "=" + daemonMaster}
	if o.assumed {
		args = append([]string{"mount", "--" + daemonFlag + "=" + daemonAssumed}, o.format.args()...)
	}
	if o.readOnly {
		args = append(args, "--ro")
	}
	if o.force {
		args = append(args, "--force")
	}
	if o.allowOther {
		args = append(args, "--allow-other")
	}
	if o.suid {
		args = append(args, "--suid")
	}
	if o.dev {
		args = append(args, "--dev")
	}
	if o.acl {
		args = append(args, "--acl")
	}
	if o.idle > 0 {
		args = append(args, "--idle="+o.idle.String())
	}
	for _, opt := range o.options {
		args = append(args, "--options="+opt)
	}
	if o.reverse {
		args = append(args, "--reverse")
	}
	for _, p := range o.exclude {
		args = append(args, "--exclude="+p)
	}
	for _, f := range o.excludeFrom {
		args = append(args, "--exclude-from="+f)
	}
	args = append(args, "--", dir, mnt)

	secretR, secretW, err := os.Pipe()
	if err != nil {
		return fail(errMountFailed, fmt.Errorf("start mount daemon: %w", err))
	}
	defer secretW.Close()
	statusR, statusW, err := os.Pipe()
	if err != nil {
		secretR.Close()
		return fail(errMountFailed, fmt.Errorf("start mount daemon: %w", err))
	}
	defer statusR.Close()

	closeInheritedOnExec()
	cmd := exec.Command(exe, args...)
	cmd.Dir = "/" // do not keep the caller's working directory busy
	cmd.Stdin = nil
	cmd.Stdout = nil
	cmd.Stderr = os.Stderr // until ready; see the file comment
	cmd.ExtraFiles = []*os.File{secretR, statusW}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	secretR.Close()
	statusW.Close()
	if err != nil {
		return fail(errMountFailed, fmt.Errorf("start mount daemon %s: %w", exe, err))
	}
	// Under a Type=notify systemd unit the daemon, not this process, is the
	// service from now on; it sends READY=1 itself (sdnotify.go).
	if _, err := notifyMainPID(cmd.Process.Pid); err != nil {
		warningf(c.stderr, "cannot tell the service manager the PID of the mount daemon: %v", err)
	}

	// A Ctrl-C while we wait must not leave a half-started daemon behind:
	// the first signal asks it to stop (it unmounts if it got that far), a
	// second one kills it.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		<-sigs
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-sigs
		_ = cmd.Process.Kill()
	}()

	// The secret is far below the pipe capacity, so this cannot block.
	if _, err := secretW.Write(s.bytes); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return fail(errMountFailed, fmt.Errorf("pass the secret to the mount daemon: %w", err))
	}
	secretW.Close()
	s.wipe()

	status, readErr := io.ReadAll(io.LimitReader(statusR, maxStatusSize))
	code, text, ok := parseStatus(status)
	if readErr == nil && ok && code == exitOK {
		// Serving. The daemon lives on; we do not wait for it.
		_ = cmd.Process.Release()
		return nil
	}
	waitErr := cmd.Wait()
	if ok {
		io.WriteString(c.stderr, text)
		return &reportedError{code: code}
	}
	return failf(errMountFailed, []string{"run with --foreground to see the daemon's output"},
		"the mount daemon exited without reporting a result (%v)", waitErr)
}

// closeInheritedOnExec marks every descriptor above stderr close-on-exec.
// Go opens its own files that way, but descriptors we inherited without the
// flag (a caller's pipe, say) would otherwise pass on to the long-lived
// daemon, and a caller waiting for EOF on them would wait until unmount.
func closeInheritedOnExec() {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			syscall.CloseOnExec(fd)
		}
	}
}

// parseStatus decodes what the child wrote on the status pipe.
func parseStatus(b []byte) (code int, text string, ok bool) {
	first, rest, complete := strings.Cut(string(b), "\n")
	if !complete {
		return 0, "", false
	}
	if first == statusReady {
		return exitOK, "", true
	}
	n, found := strings.CutPrefix(first, "exit ")
	if !found {
		return 0, "", false
	}
	code, err := strconv.Atoi(n)
	if err != nil || code == exitOK {
		return 0, "", false
	}
	return code, rest, true
}

// formatStatus is the child's side of parseStatus.
func formatStatus(err error) []byte {
	if err == nil {
		return []byte(statusReady + "\n")
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "exit %d\n", exitCode(err))
	report(&buf, err)
	return buf.Bytes()
}

// runDaemonChild is the re-executed child: it reads its secret from fd 3,
// serves, and reports on fd 4.
func runDaemonChild(o *mountFlags, dir, mnt string, opts veilfs.Options) error {
	switch o.daemon {
	case daemonMaster:
	case daemonAssumed:
		o.assumed = true
	default:
		return fail(errUsage, fmt.Errorf("--%s is internal to veilfs", daemonFlag))
	}
	for _, fd := range []int{secretFd, statusFd} {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
			// Not started by spawnDaemon: there is no parent to report to.
			return fail(errUsage, fmt.Errorf("--%s is internal to veilfs", daemonFlag))
		}
	}
	secretF := os.NewFile(secretFd, "secret-pipe")
	status := os.NewFile(statusFd, "status-pipe")
	raw, err := readAllLimited(secretF, maxSecretLine)
	secretF.Close()
	if err != nil {
		return reportToParent(status, fail(errReadPassword, fmt.Errorf("read secret from parent: %w", err)))
	}
	s := &secret{bytes: raw}

	logger := daemonLogger()
	opts.Logger = logger
	// Stray output of libraries that use the standard logger goes there too.
	log.SetOutput(logger.Writer())

	// The parent checked these already; they are cheap and the world may have
	// changed since.
	if _, err := loadMountConfig(dir, o, io.Discard); err != nil && !(o.assumed && configUnusable(err)) { // the parent warned
		s.wipe()
		return reportToParent(status, err)
	}
	if err := checkMountpoint(mnt, dir, o.dirLabel()); err != nil {
		s.wipe()
		return reportToParent(status, err)
	}
	if err := checkSingleWriter(dir, o); err != nil {
		s.wipe()
		return reportToParent(status, err)
	}
	reported := false
	err = serve(s, dir, mnt, opts, o, func() {
		detachStdio()
		status.Write(formatStatus(nil))
		status.Close()
		reported = true
	})
	if !reported {
		return reportToParent(status, err)
	}
	if err != nil {
		logger.Printf("error: %v", err)
	}
	return err
}

func reportToParent(status *os.File, err error) error {
	status.Write(formatStatus(err))
	status.Close()
	return &reportedError{code: exitCode(err)}
}

// detachStdio points fds 0, 1 and 2 at /dev/null.
func detachStdio() {
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return
	}
	defer null.Close()
	for fd := 0; fd <= 2; fd++ {
		_ = dupTo(int(null.Fd()), fd)
	}
}

// daemonLogger logs to syslog, or nowhere when syslog is unavailable (there
// is no terminal to log to).
func daemonLogger() *log.Logger {
	w, err := syslog.New(syslog.LOG_USER|syslog.LOG_NOTICE, "veilfs")
	if err != nil {
		return log.New(io.Discard, "", 0)
	}
	return log.New(w, "", 0)
}
