package main

// veilfs as a mount helper, so that mount(8) and /etc/fstab can mount
// volumes. mount(8) never runs 'veilfs mount'; it has two ways in:
//
//   - type fuse.veilfs: mount(8) runs /sbin/mount.fuse3 (package fuse3),
//     which runs, through /bin/sh -c,
//
//     veilfs CIPHERDIR MOUNTPOINT -o OPTIONS
//
//     It drops its own options (setuid=, drop_privileges, nofail,
//     _netdev, ...) and -s -n -v -f, and appends dev,suid as root unless
//     nodev or nosuid was given. mount(8) clears PATH first, so "veilfs" is
//     found only in /bin/sh's default path (/usr/local/sbin,
//     /usr/local/bin, /usr/sbin, /usr/bin, /sbin, /bin); an fstab type
//     fuse./opt/veilfs/bin/veilfs names it by path instead.
//   - type veilfs: mount(8) runs /sbin/mount.veilfs, a link to veilfs, as
//
//     mount.veilfs CIPHERDIR MOUNTPOINT [-s] [-f] [-n] [-v] [-N NS] [-o OPTIONS] [-t TYPE]
//
//     (-f is mount -f: do everything but mount; -h and -V print the mount
//     help and the version). mount(8) looks for
//     helpers in /sbin only, whatever PREFIX veilfs was installed to; the
//     same holds for /sbin/mount.fuse.veilfs, which, if it exists, mount(8)
//     runs for fuse.veilfs instead of mount.fuse3.
//
// Both become 'veilfs mount -o OPTIONS -- CIPHERDIR MOUNTPOINT': the -o
// list is handled as for any mount (mountoptions.go), and the mount
// returns only once the filesystem serves, or fails non-zero with nothing
// mounted, which is what mount(8) reports. The veilfs name is recognised
// when the first argument is no command and the rest is two paths and -o
// lists (mount.fuse3 always passes -o as root); the first path must
// contain a slash when there is no -o, so that a mistyped command followed
// by one path ('veilfs unmuont /mnt') stays an unknown command.

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// mountHelperNames are the names under which mount(8) runs veilfs as its
// helper, through links in /sbin.
var mountHelperNames = []string{"mount.veilfs", "mount.fuse.veilfs"}

// isMountHelperName reports whether argv0 is the name of a mount helper.
func isMountHelperName(argv0 string) bool {
	base := filepath.Base(argv0)
	for _, n := range mountHelperNames {
		if base == n {
			return true
		}
	}
	return false
}

const mountHelperHint = "usage: mount.veilfs CIPHERDIR MOUNTPOINT [-o OPTIONS], or mount -t veilfs CIPHERDIR MOUNTPOINT -o OPTIONS; run 'veilfs help mount' for the options"

// helperCall is a command line in mount(8)'s helper convention.
type helperCall struct {
	cipherdir, mountpoint string
	options               []string // the -o lists, in order
	fake                  bool     // -f: mount -f, check but do not mount
	help                  bool
	version               bool
}

// parseHelperArgs parses args in the helper convention. byName is set when
// veilfs runs as mount.veilfs: then all of mount(8)'s helper flags are
// accepted. Otherwise only -o is, as mount.fuse3 passes nothing else,
// and -f (fake to mount(8), --foreground to 'veilfs mount') must not be
// taken for one or the other by accident.
func parseHelperArgs(args []string, byName bool) (*helperCall, error) {
	h := &helperCall{}
	var pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			pos = append(pos, args[i+1:]...)
			i = len(args)
		case a == "-o" || byName && (a == "-t" || a == "-N"):
			if i+1 == len(args) {
				return nil, failf(errUsage, []string{mountHelperHint}, "option %s needs a value", a)
			}
			i++
			switch a {
			case "-o":
				h.options = append(h.options, args[i])
			case "-N":
				return nil, failf(errUsage, []string{"run mount in the namespace instead: nsenter --mount=NS mount ..."},
					"mount --namespace is not supported by veilfs")
			}
			// -t is the type mount(8) was given (veilfs, fuse.veilfs): nothing to do.
		case strings.HasPrefix(a, "-o") && len(a) > 2:
			h.options = append(h.options, a[2:])
		case byName && (a == "-h" || a == "--help"):
			h.help = true
		case byName && (a == "-V" || a == "--version"):
			h.version = true
		case byName && len(a) > 1 && a[0] == '-' && strings.Trim(a[1:], "sfnv") == "":
			// -s (sloppy), -n (no mtab), -v (verbose) change nothing here:
			// unknown options are passed on anyway, there is no mtab, and
			// the mount says what went wrong.
			h.fake = h.fake || strings.Contains(a, "f")
		case len(a) > 1 && a[0] == '-':
			return nil, failf(errUsage, []string{mountHelperHint}, "unknown option %s for a mount helper", a)
		default:
			pos = append(pos, a)
		}
	}
	if h.help || h.version {
		return h, nil
	}
	if len(pos) != 2 {
		return nil, failf(errUsage, []string{mountHelperHint}, "a mount helper needs CIPHERDIR and MOUNTPOINT, got %d arguments", len(pos))
	}
	h.cipherdir, h.mountpoint = pos[0], pos[1]
	return h, nil
}

// mountHelperCall returns args as a mount helper call if veilfs, run
// under its own name, was given no command but looks called by
// mount.fuse3; see the file comment.
func mountHelperCall(args []string) (*helperCall, bool) {
	h, err := parseHelperArgs(args, false)
	if err != nil || h.help || h.version {
		return nil, false
	}
	if len(h.options) == 0 && !strings.Contains(h.cipherdir, "/") {
		return nil, false
	}
	return h, true
}

// runMountHelper mounts as 'veilfs mount -o OPTIONS -- CIPHERDIR
// MOUNTPOINT' would.
func (c *cli) runMountHelper(h *helperCall) error {
	if h.help {
		fmt.Fprint(c.stdout, mountUsage)
		return errHelpShown
	}
	if h.version {
		fmt.Fprintln(c.stdout, versionString())
		return nil
	}
	if strings.HasPrefix(h.mountpoint, "/dev/fd/") {
		return failf(errUsage, []string{"remove drop_privileges from the mount options"},
			"mountpoint %s: mount.fuse3's drop_privileges option (an opened /dev/fuse instead of a mountpoint) is not supported by veilfs", h.mountpoint)
	}
	if h.fake {
		// mount -f: check what can be checked without a password, mount nothing.
		o := mountFlags{unlock: &unlockFlags{password: &passwordFlags{}}, options: h.options}
		_, _, err := mountOptions(&o)
		return err
	}
	args := make([]string, 0, 2*len(h.options)+3)
	for _, o := range h.options {
		args = append(args, "-o", o)
	}
	args = append(args, "--", h.cipherdir, h.mountpoint)
	err := runMount(c, &mountCommand, args)
	if errors.Is(err, errStdinEmpty) && !c.stdinIsTerminal() {
		// At boot nobody is there to type a password: say where it goes.
		return failf(errEmptyPassword, []string{
			"add passfile=FILE to the mount options (-o passfile=FILE, or the options field of the fstab line): FILE holds the password on its first line and should be readable by root only; keyfile=FILE and masterkey-file=FILE work too",
		}, "no password given: the mount options have no passfile=, there is no terminal to ask on, and standard input is empty")
	}
	return err
}
