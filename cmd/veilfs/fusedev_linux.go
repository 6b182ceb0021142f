package main

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// checkFuseDevice refuses to mount without a usable /dev/fuse, before any
// password is asked for: otherwise the failure surfaces from deep inside
// mount(2) or fusermount3 as "invalid argument" or an exit code.
func checkFuseDevice() error {
	var st unix.Stat_t
	err := unix.Stat(fuseDevice, &st)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return failf(errMountFailed, []string{
			"load the FUSE kernel module: sudo modprobe fuse",
			"in a container, start it with access to the device (docker run --device /dev/fuse --cap-add SYS_ADMIN ...)",
		}, "the FUSE device %s does not exist", fuseDevice)
	case err != nil:
		return fail(errMountFailed, fmt.Errorf("the FUSE device: %w", err))
	case st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(st.Rdev) != fuseMajor || unix.Minor(st.Rdev) != fuseMinor:
		return failf(errMountFailed, []string{
			"restore it: sudo rm " + fuseDevice + " && sudo mknod -m 0666 " + fuseDevice + " c 10 229 (or reboot)",
		}, "%s is not the FUSE device (expected character device 10:229)", fuseDevice)
	}
	return nil
}
