package main

// A user other than root mounts through fusermount3, the setuid helper of
// the fuse3 package. When it fails, go-fuse reports only "fusermount exited
// with code 256": the raw wait status, no reason. The two usual reasons are
// settings of the machine, and both can be seen from here.

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

const fuseConf = "/etc/fuse.conf"

// fusermountMarker starts go-fuse's message for a failed fusermount3
// (fuse/mount_linux.go, callFusermount); the wait status follows.
const fusermountMarker = "fusermount exited with code "

// fusermountStatus extracts the wait status from go-fuse's error.
func fusermountStatus(err error) (syscall.WaitStatus, bool) {
	_, rest, found := strings.Cut(err.Error(), fusermountMarker)
	if !found {
		return 0, false
	}
	end := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
	if end < 0 {
		end = len(rest)
	}
	n, convErr := strconv.ParseUint(rest[:end], 10, 32)
	if convErr != nil {
		return 0, false
	}
	return syscall.WaitStatus(n), true
}

// describeWaitStatus says how a process ended, as a shell would.
func describeWaitStatus(ws syscall.WaitStatus) string {
	switch {
	case ws.Exited():
		return "exit status " + strconv.Itoa(ws.ExitStatus())
	case ws.Signaled():
		return "killed by signal " + ws.Signal().String()
	}
	return fmt.Sprintf("wait status %#x", uint32(ws))
}

// fuseFacts are the settings of this machine that make fusermount3 refuse.
type fuseFacts struct {
	allowOther bool // the mount asked for --allow-other
	// userAllowOther: /etc/fuse.conf has the line user_allow_other.
	userAllowOther bool
	// deviceErr is why this user cannot open /dev/fuse read-write, or nil;
	// deviceMode describes the device then ("mode 0600, owner uid 0, ...").
	deviceErr  error
	deviceMode string
}

// gatherFuseFacts looks at /etc/fuse.conf and /dev/fuse as this process
// sees them. fusermount3 opens the device as the calling user, so an open
// here fails the same way.
func gatherFuseFacts(allowOther bool) fuseFacts {
	f := fuseFacts{allowOther: allowOther}
	if conf, err := os.ReadFile(fuseConf); err == nil {
		for _, line := range strings.Split(string(conf), "\n") {
			if strings.TrimSpace(line) == "user_allow_other" {
				f.userAllowOther = true
			}
		}
	}
	fd, err := unix.Open(fuseDevice, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err == nil {
		unix.Close(fd)
		return f
	}
	if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
		f.deviceErr = err
		var st unix.Stat_t
		if unix.Stat(fuseDevice, &st) == nil {
			f.deviceMode = fmt.Sprintf("mode %04o, owner uid %d, group gid %d", st.Mode&0o7777, st.Uid, st.Gid)
		}
	}
	return f
}

// explainFusermount turns go-fuse's error for a failed fusermount3 into one
// that says why, with the status decoded and what to do; nil when err is
// not that error.
func explainFusermount(dir string, err error, f fuseFacts) error {
	ws, ok := fusermountStatus(err)
	if !ok {
		return nil
	}
	how := describeWaitStatus(ws)
	allowOtherHint := "to use --allow-other as a user other than root, root must enable it: add the line user_allow_other to " + fuseConf +
		" (Debian ships it commented out: remove the #); or mount without --allow-other"
	switch {
	case f.deviceErr != nil:
		hints := []string{"let users open it, as Debian's default is: sudo chmod 0666 " + fuseDevice +
			" (a udev rule or a container runtime made it stricter); or mount as root"}
		if f.allowOther && !f.userAllowOther {
			hints = append(hints, "then "+allowOtherHint)
		}
		mode := ""
		if f.deviceMode != "" {
			mode = " (" + f.deviceMode + ")"
		}
		return failf(errMountFailed, hints, "cannot mount %s: fusermount3 failed (%s): you may not open %s%s",
			dir, how, fuseDevice, mode)
	case f.allowOther && !f.userAllowOther:
		return failf(errMountFailed, []string{allowOtherHint},
			"cannot mount %s: fusermount3 failed (%s): --allow-other is not allowed for users: %s does not have user_allow_other",
			dir, how, fuseConf)
	}
	return failf(errMountFailed, []string{
		"fusermount3 said why on the line above; check that you own MOUNTPOINT and may write to it, and that fusermount3 is setuid root (ls -l $(command -v fusermount3))",
	}, "cannot mount %s: fusermount3 failed (%s)", dir, how)
}

// mountError is the error of a failed mount of dir.
func mountError(dir string, err error, o *mountFlags) error {
	if _, ok := fusermountStatus(err); ok {
		return explainFusermount(dir, err, gatherFuseFacts(o.allowOther))
	}
	return fail(errMountFailed, fmt.Errorf("cannot mount %s: %w", dir, err), mountFailedHints(err)...)
}
