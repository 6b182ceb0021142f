package main

// Readiness notification for systemd (sd_notify(3)). When systemd starts
// veilfs from a Type=notify unit it sets NOTIFY_SOCKET; veilfs then sends
//
//   - "READY=1" and a STATUS line once the mount serves, so that units
//     ordered after this one start only when the files are there;
//   - "STOPPING=1" once the filesystem has been unmounted (by
//     'veilfs unmount', umount(8), SIGTERM or SIGINT) and the daemon is about
//     to exit. Not earlier: a SIGTERM whose unmount fails because the mount
//     is busy leaves the daemon serving, and after STOPPING=1 systemd would
//     kill it when its stop timeout ran out, leaving a dead mount behind.
//
// Without NOTIFY_SOCKET nothing is sent. A background mount
// (spawnDaemon) additionally hands systemd the daemon's PID (MAINPID=)
// from the process systemd started, so the same unit works with and
// without --foreground; see notifyMainPID.

import (
	"log"
	"os"
	"strconv"

	"github.com/coreos/go-systemd/v22/daemon"
)

// notifySocketEnv is where systemd puts the path of its notification
// socket; "@" at the start means an abstract socket.
const notifySocketEnv = "NOTIFY_SOCKET"

// sdNotify sends state (newline-separated VAR=VALUE assignments) to the
// service manager. It reports whether NOTIFY_SOCKET was set. The variable
// stays in the environment: the daemon child of a background mount needs
// it too.
func sdNotify(state string) (bool, error) {
	return daemon.SdNotify(false, state)
}

// notifyServing is called by serve once the filesystem serves: it sends
// READY=1 and returns the function serve defers, which sends STOPPING=1
// after the unmount. Failures are logged, never fatal: the mount works
// without the service manager hearing of it.
func notifyServing(dir, mnt string, logger *log.Logger) (unmounted func()) {
	if os.Getenv(notifySocketEnv) == "" {
		return func() {}
	}
	send := func(state string) {
		if _, err := sdNotify(state); err != nil {
			logger.Printf("warning: cannot notify the service manager through %s: %v", os.Getenv(notifySocketEnv), err)
		}
	}
	send("READY=1\nSTATUS=serving " + dir + " on " + mnt)
	return func() { send("STOPPING=1\nSTATUS=" + mnt + " unmounted") }
}

// notifyMainPID tells the service manager that pid, the daemon of a
// background mount, is the service's main process from now on. The
// process systemd started (the parent) sends it before the daemon
// mounts: systemd accepts MAINPID= only from the current main process
// (NotifyAccess=main, the default), and after the switch it waits for
// READY=1 from the daemon itself, so the parent may exit whenever it
// likes. Without it a Type=notify unit would see its main process exit
// before READY=1, fail, and kill the daemon with the rest of its cgroup.
func notifyMainPID(pid int) (bool, error) {
	return sdNotify("MAINPID=" + strconv.Itoa(pid))
}
