//go:build !linux

package fs

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/fs/cipherdir"
)

// What the FUSE layer uses instead of sys_linux.go's Linux calls. The
// mount compiles here but is untested (README, "Supported systems"). There
// is no O_PATH nor /proc/self/fd, through which the Linux build changes a
// node's own object and never a name: openPathAt refuses, so setattr on a
// node without an open file (chmod, chown, utimes), readlink, link and
// the xattr calls fail with ENOTSUP rather than act on a name that may
// have been swapped; through an open file they work (fchmod, fchown,
// futimes).

const (
	oDirect = 0
	// The flag values of the Linux FUSE protocol, which the FUSE layer
	// passes on.
	fallocKeepSize  = 0x1 // FALLOC_FL_KEEP_SIZE
	renameNoreplace = 0x1 // RENAME_NOREPLACE
	renameExchange  = 0x2 // RENAME_EXCHANGE
	renameWhiteout  = 0x4 // RENAME_WHITEOUT, which renameAt2 refuses
	// The utimensat special values of darwin and FreeBSD.
	utimeNow  = -1
	utimeOmit = -2
	// go-fuse passes DirectMountFlags to mount(2) on Linux only; the
	// option strings ("ro", "nosuid", "nodev") still say it here.
	msRdonly = 0
	msNosuid = 0
	msNodev  = 0
	// The atime flags of mount(2) (atime.go), Linux's values: they only
	// track the options here, which reach mount_fusefs as strings.
	msNoatime     = 0x400
	msNodiratime  = 0x800
	msRelatime    = 0x200000
	msStrictatime = 0x1000000
	// CAP_HANDLE_KILLPRIV_V2 is a Linux FUSE capability.
	extraCapabilities = 0
)

var errNotSupported = fmt.Errorf("without O_PATH and /proc/self/fd, not supported on this system: %w", unix.ENOTSUP)

func openPathAt(dirfd int, name string) (int, error) { return -1, errNotSupported }

func chmodFD(fd int, mode uint32) error { return unix.Fchmod(fd, mode) }

func chownFD(fd, uid, gid int) error { return unix.Fchown(fd, uid, gid) }

// utimesFD sets the times of the open file fd with futimes (microseconds),
// resolving utimeNow and utimeOmit itself: there is no futimens.
func utimesFD(fd int, ts []unix.Timespec) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	cur := []unix.Timespec{st.Atim, st.Mtim}
	now := time.Now().UnixNano()
	tv := make([]unix.Timeval, 2)
	for i := range tv {
		switch {
		case i >= len(ts) || ts[i].Nsec == utimeOmit:
			tv[i] = unix.NsecToTimeval(cur[i].Nano())
		case ts[i].Nsec == utimeNow:
			tv[i] = unix.NsecToTimeval(now)
		default:
			tv[i] = unix.NsecToTimeval(ts[i].Nano())
		}
	}
	return unix.Futimes(fd, tv)
}

func linkFD(fd, dirfd int, name string) error { return errNotSupported }

func mknodAt(dirfd int, name string, mode, rdev uint32) error {
	return fmt.Errorf("mknod: %w", errNotSupported)
}

// renameAt2 supports the flags it can do atomically.
func renameAt2(srcfd int, src string, dstfd int, dst string, flags uint32) error {
	switch flags {
	case 0:
		return unix.Renameat(srcfd, src, dstfd, dst)
	case renameNoreplace:
		return cipherdir.RenameNoReplace(srcfd, src, dstfd, dst)
	case renameExchange:
		return cipherdir.RenameExchange(srcfd, src, dstfd, dst)
	}
	return unix.EINVAL
}

// fallocateKeepSize: no fallocate here; the caller then writes anyway.
func fallocateKeepSize(fd int, off, length int64) error { return unix.EOPNOTSUPP }

// allocate: no fallocate here; the journal then extends the file instead.
func allocate(fd int, size int64) error { return unix.EOPNOTSUPP }

// raiseReadahead tunes Linux's bdi readahead; nothing to do here.
func raiseReadahead(mountpoint string) {}

// lazyAtime: there is no portable way to ask; strictatime is not
// warned about here.
func lazyAtime(fd int) bool { return false }

// checkUmask is a no-op here: there is no way to read the umask without
// changing it (Linux shows it in /proc/self/status).
func checkUmask() error { return nil }
