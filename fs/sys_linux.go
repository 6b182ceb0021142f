package fs

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// The Linux system calls and constants of the FUSE layer; sys_other.go has
// what other systems get instead (the mount is tested on Linux only).

const (
	// oDirect is O_DIRECT, which Open strips from the flags it passes on.
	oDirect = unix.O_DIRECT
	// fallocKeepSize is FALLOC_FL_KEEP_SIZE, a mode of Allocate.
	fallocKeepSize = unix.FALLOC_FL_KEEP_SIZE
	// renameExchange is RENAME_EXCHANGE in a rename's flags.
	renameExchange = unix.RENAME_EXCHANGE
	// renameWhiteout is RENAME_WHITEOUT: the source name stays, as a
	// whiteout (a 0,0 character device) for overlayfs.
	renameWhiteout = unix.RENAME_WHITEOUT
	// utimeNow and utimeOmit are the utimensat special values.
	utimeNow  = unix.UTIME_NOW
	utimeOmit = unix.UTIME_OMIT
	// msRdonly, msNosuid and msNodev are mount(2) flags (DirectMountFlags).
	msRdonly = unix.MS_RDONLY
	msNosuid = unix.MS_NOSUID
	msNodev  = unix.MS_NODEV
	// The atime flags of mount(2) (atime.go).
	msNoatime     = unix.MS_NOATIME
	msNodiratime  = unix.MS_NODIRATIME
	msRelatime    = unix.MS_RELATIME
	msStrictatime = unix.MS_STRICTATIME
	// extraCapabilities are the FUSE capabilities Mount asks for.
	extraCapabilities = fuse.CAP_HANDLE_KILLPRIV_V2
)

// openPathAt opens name in dirfd as an O_PATH descriptor, not following a
// symlink (openSelf).
func openPathAt(dirfd int, name string) (int, error) {
	return unix.Openat(dirfd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
}

// chmodFD, chownFD and utimesFD change the object open at fd, an open file
// or an O_PATH descriptor (setattrFD).
func chmodFD(fd int, mode uint32) error {
	return unix.Fchmodat(unix.AT_FDCWD, procFD(fd), mode, 0)
}

func chownFD(fd, uid, gid int) error {
	return unix.Fchownat(fd, "", uid, gid, unix.AT_EMPTY_PATH)
}

func utimesFD(fd int, ts []unix.Timespec) error {
	return unix.UtimesNanoAt(unix.AT_FDCWD, procFD(fd), ts, 0)
}

// linkFD links the object open at fd (openSelf) under name in dirfd.
func linkFD(fd, dirfd int, name string) error {
	return unix.Linkat(unix.AT_FDCWD, procFD(fd), dirfd, name, unix.AT_SYMLINK_FOLLOW)
}

// mknodAt creates a FIFO, socket or device node.
func mknodAt(dirfd int, name string, mode, rdev uint32) error {
	return unix.Mknodat(dirfd, name, mode, int(rdev))
}

// renameAt2 is renameat2 with the flags of a FUSE rename.
func renameAt2(srcfd int, src string, dstfd int, dst string, flags uint32) error {
	return unix.Renameat2(srcfd, src, dstfd, dst, uint(flags))
}

// fallocateKeepSize reserves space without changing the file size.
func fallocateKeepSize(fd int, off, length int64) error {
	return unix.Fallocate(fd, unix.FALLOC_FL_KEEP_SIZE, off, length)
}

// allocate gives fd the space of its first size bytes (a journal record
// file, which is then mapped).
func allocate(fd int, size int64) error {
	return unix.Fallocate(fd, 0, 0, size)
}

// raiseReadahead lets the kernel read ahead maxRequest at a time. FUSE
// caps readahead at the mount's bdi setting (128 KiB by default) whatever
// the filesystem offers, so each cold sequential read would cost a round
// trip per 128 KiB. Only root may change it; for others this is a no-op.
func raiseReadahead(mountpoint string) {
	var st unix.Stat_t
	if err := unix.Stat(mountpoint, &st); err != nil {
		return
	}
	bdi := fmt.Sprintf("/sys/class/bdi/%d:%d/read_ahead_kb", unix.Major(st.Dev), unix.Minor(st.Dev))
	_ = os.WriteFile(bdi, []byte(strconv.Itoa(maxRequest>>10)), 0)
}

// lazyAtime reports whether the filesystem of fd updates access times less
// often than strictatime would (mounted relatime or noatime).
func lazyAtime(fd int) bool {
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err != nil {
		return false
	}
	return st.Flags&(unix.ST_RELATIME|unix.ST_NOATIME) != 0
}

// checkUmask fails unless the process umask is 0 (MountVolume's doc says
// why). It reads /proc/self/status, since umask(2) can only read the mask
// by changing it.
func checkUmask() error {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return fmt.Errorf("read the process umask: %w", err)
	}
	for line := range strings.Lines(string(status)) {
		v, ok := strings.CutPrefix(line, "Umask:")
		if !ok {
			continue
		}
		mask, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
		if err != nil {
			return fmt.Errorf("read the process umask: %q: %w", line, err)
		}
		if mask != 0 {
			return fmt.Errorf("the process umask is %04o: clear it (unix.Umask(0)) before mounting, "+
				"the kernel has already applied the calling user's", mask)
		}
		return nil
	}
	return nil // kernels before 4.7 do not show it
}
