package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/internal/mounttable"
)

var unmountCommand = command{
	name:    "unmount",
	aliases: []string{"umount"},
	summary: "unmount a volume",
	usage:   unmountUsage,
	args:    []string{"MOUNTPOINT"},
	flags:   noFlags,
	run:     runUnmount,
}

const unmountUsage = `Usage: veilfs unmount MOUNTPOINT
       veilfs umount MOUNTPOINT

Unmount the veilfs (or other FUSE) filesystem mounted on MOUNTPOINT. The
background mount process then wipes its keys and exits. veilfs returns only
once the mount is gone from /proc/mounts.

root unmounts with umount(2); other users go through fusermount3 -u. If a
process still uses the filesystem (an open file, a shell whose working
directory is inside it) the unmount fails with exit code 25: find the process
with 'lsof +f -- MOUNTPOINT' or 'fuser -vm MOUNTPOINT', end it, and retry.

Options:
  -h, --help   show this help

Examples:
  $ veilfs unmount ~/vault
  $ veilfs umount /mnt/secret || fuser -vm /mnt/secret
`

// unmountWait bounds how long unmount waits for the mount to leave /proc/mounts.
const unmountWait = 5 * time.Second

func runUnmount(c *cli, cmd *command, args []string) error {
	fs := cmd.flagSet()
	if err := c.parseFlags(cmd, fs, args); err != nil {
		return err
	}
	mnt, err := canonicalMountpoint(fs.Arg(0))
	if err != nil {
		return err
	}
	entry, err := findMount(mnt)
	if err != nil {
		return fail(errUnmount, fmt.Errorf("read the mount table: %w", err))
	}
	switch {
	case entry == nil:
		return failf(errUnmount, nil, "%s is not mounted", mnt)
	case !mounttable.IsFUSE(entry.FSType):
		return failf(errUnmount, []string{"veilfs only unmounts FUSE filesystems; use umount(8)"},
			"%s is a %s mount, not a FUSE one", mnt, entry.FSType)
	}
	if err := unmount(mnt); err != nil {
		return err
	}
	deadline := time.Now().Add(unmountWait)
	for {
		e, err := findMount(mnt)
		if err != nil {
			return fail(errUnmount, fmt.Errorf("read the mount table: %w", err))
		}
		if e == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return failf(errUnmount, nil, "%s is still mounted %v after unmounting it", mnt, unmountWait)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// canonicalMountpoint makes p absolute and resolves symlinks in its parent
// directories, as the kernel records mount points. The last element is not
// resolved: on a mount whose daemon died it cannot even be stat'ed.
func canonicalMountpoint(p string) (string, error) {
	a, err := absPath(p)
	if err != nil {
		return "", err
	}
	parent, base := filepath.Split(a)
	if base == "" {
		return a, nil
	}
	if rp, err := filepath.EvalSymlinks(parent); err == nil {
		return filepath.Join(rp, base), nil
	}
	return a, nil
}

func busyError(mnt string) error {
	return failf(errUnmount, []string{
		"a process still has a file open or its working directory inside it; find it with: lsof +f -- " + mnt + " (or: fuser -vm " + mnt + "), then retry",
	}, "cannot unmount %s: the filesystem is busy", mnt)
}

func unmount(mnt string) error {
	if os.Geteuid() == 0 {
		err := unix.Unmount(mnt, 0)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, unix.EBUSY):
			return busyError(mnt)
		default:
			return fail(errUnmount, fmt.Errorf("unmount %s: %w", mnt, err))
		}
	}
	tool, err := exec.LookPath("fusermount3")
	if err != nil {
		if tool, err = exec.LookPath("fusermount"); err != nil {
			return failf(errUnmount, []string{"install fuse3, which provides fusermount3"},
				"cannot unmount %s as a normal user: fusermount3 not found", mnt)
		}
	}
	var stderr bytes.Buffer
	cmd := exec.Command(tool, "-u", mnt)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if strings.Contains(msg, "busy") {
			return busyError(mnt)
		}
		if msg == "" {
			msg = err.Error()
		}
		return failf(errUnmount, nil, "unmount %s: %s", mnt, msg)
	}
	return nil
}

// findMount returns the topmost mount on target, or nil if target is not
// a mount point.
func findMount(target string) (*mounttable.Entry, error) {
	table, err := mounttable.Read()
	if err != nil {
		return nil, err
	}
	return mounttable.Find(table, target), nil
}
