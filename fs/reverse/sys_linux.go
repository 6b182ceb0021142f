package reverse

import (
	"syscall"

	"golang.org/x/sys/unix"
)

const (
	// oPath opens the plaintext root as a descriptor for *at calls only.
	oPath = unix.O_PATH
	// directMountFlags: nosuid, nodev, read-only (see fs.MountVolume).
	directMountFlags = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_RDONLY
)

func toSyscallStat(st *unix.Stat_t) *syscall.Stat_t {
	return &syscall.Stat_t{
		Dev: st.Dev, Ino: st.Ino, Nlink: st.Nlink, Mode: st.Mode, Uid: st.Uid, Gid: st.Gid,
		Rdev: st.Rdev, Size: st.Size, Blksize: st.Blksize, Blocks: st.Blocks,
		Atim: syscall.Timespec(st.Atim), Mtim: syscall.Timespec(st.Mtim), Ctim: syscall.Timespec(st.Ctim),
	}
}
