package fs

import (
	"os"
	"runtime"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/internal/diskio"
)

// Access times. The kernel never updates the atime of a FUSE inode itself
// (it marks them S_NOATIME): what stat shows is the backing object's
// atime, which the backing filesystem moves when the daemon reads it,
// under its own mount's rules (relatime, as a rule). The atime options of
// our mount act on the kernel's side only, so the daemon applies the two
// that say "do not update" itself: under noatime it reads every backing
// file and directory with O_NOATIME, under nodiratime every directory.
// strictatime cannot be had beyond what the backing filesystem does: an
// update the backing filesystem skips could only be made with utimensat,
// which moves the ctime too.

// atimePolicy is what the atime options of a mount ask of the daemon.
type atimePolicy struct {
	noatime    bool // no atime update on reads of files and directories
	nodiratime bool // none on reads of directories
}

// atimeFlags applies the atime options among options in order, as mount(8)
// and the kernel do (a later "atime" undoes "noatime"; strictatime wins
// over noatime and relatime), and returns the mount(2) flags they make and
// the policy for the daemon.
func atimeFlags(options []string) (flags uintptr, p atimePolicy) {
	for _, o := range options {
		if flag, set, ok := atimeOption(o); ok && set {
			flags |= flag
		} else if ok {
			flags &^= flag
		}
	}
	// The kernel: MS_STRICTATIME clears MNT_NOATIME and MNT_RELATIME.
	p.noatime = flags&msNoatime != 0 && flags&msStrictatime == 0
	p.nodiratime = flags&msNodiratime != 0
	return flags, p
}

// atimeOption returns the mount(2) flag an atime option sets or clears; ok
// is false for other options.
func atimeOption(o string) (flag uintptr, set, ok bool) {
	switch o {
	case "noatime", "atime":
		return msNoatime, o == "noatime", true
	case "nodiratime", "diratime":
		return msNodiratime, o == "nodiratime", true
	case "relatime", "norelatime":
		return msRelatime, o == "relatime", true
	case "strictatime", "nostrictatime":
		return msStrictatime, o == "strictatime", true
	}
	return 0, false, false
}

func isAtimeOption(o string) bool {
	_, _, ok := atimeOption(o)
	return ok
}

// atimeMountOptions moves the atime options from options to the mount(2)
// flags when go-fuse will call mount(2) itself (as root on Linux): the
// kernel refuses them as strings there (EINVAL, "forbidden" superblock
// flags), and go-fuse would then fall back to fusermount3. fusermount3,
// which mounts for everyone else, turns atime and noatime into flags but
// (3.14, Debian 12) passes the others on as strings, which the kernel
// refuses: those are dropped, and only the daemon's side of them holds
// (atimePolicy, from Options.ExtraMountOptions).
func atimeMountOptions(options []string, flags uintptr) ([]string, uintptr) {
	if runtime.GOOS == "linux" && os.Geteuid() == 0 {
		f, _ := atimeFlags(options)
		return slices.DeleteFunc(options, isAtimeOption), flags | f
	}
	return slices.DeleteFunc(options, func(o string) bool {
		return isAtimeOption(o) && o != "noatime" && o != "atime"
	}), flags
}

// quietReads sets O_NOATIME on fd, a backing file (or directory, dir) the
// daemon reads, when the mount's atime options say reads must not update
// the access time. O_NOATIME is refused (EPERM) on objects of other users
// unless the daemon has CAP_FOWNER; those are read with atime updates,
// as gocryptfs reads everything.
func (r *root) quietReads(fd int, dir bool) {
	// Worked out per call: a few strings, no state of its own to keep.
	_, p := atimeFlags(r.opts.ExtraMountOptions)
	if diskio.ONoatime == 0 || !(p.noatime || dir && p.nodiratime) {
		return
	}
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return
	}
	_, _ = unix.FcntlInt(uintptr(fd), unix.F_SETFL, fl|diskio.ONoatime)
}
