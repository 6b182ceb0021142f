package fs

import (
	"context"
	"fmt"
	"syscall"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// statAt stats the object disk in dirfd without following symlinks.
func statAt(dirfd int, disk string, st *unix.Stat_t) error {
	if err := unix.Fstatat(dirfd, disk, st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("stat %s: %w", disk, err)
	}
	return nil
}

// statNewAt is statAt for an entry about to get a node: it also returns
// the object's birth time (0 where the backing filesystem has none), which
// tells a reused inode number from the inode it once belonged to.
func statNewAt(dirfd int, disk string, st *unix.Stat_t) (birth uint64, err error) {
	var x unix.Statx_t
	if err := unix.Statx(dirfd, disk, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_BASIC_STATS|unix.STATX_BTIME, &x); err != nil {
		return 0, fmt.Errorf("stat %s: %w", disk, err)
	}
	*st = unix.Stat_t{
		Dev: unix.Mkdev(x.Dev_major, x.Dev_minor), Ino: x.Ino, Nlink: uint64(x.Nlink),
		Mode: uint32(x.Mode), Uid: x.Uid, Gid: x.Gid, Rdev: unix.Mkdev(x.Rdev_major, x.Rdev_minor),
		Size: int64(x.Size), Blksize: int64(x.Blksize), Blocks: int64(x.Blocks),
		Atim: unix.Timespec{Sec: x.Atime.Sec, Nsec: int64(x.Atime.Nsec)},
		Mtim: unix.Timespec{Sec: x.Mtime.Sec, Nsec: int64(x.Mtime.Nsec)},
		Ctim: unix.Timespec{Sec: x.Ctime.Sec, Nsec: int64(x.Ctime.Nsec)},
	}
	if x.Mask&unix.STATX_BTIME != 0 {
		birth = uint64(x.Btime.Sec)*1e9 + uint64(x.Btime.Nsec)
	}
	return birth, nil
}

// fillAttr converts a ciphertext stat into the plaintext attributes: the
// size of a regular file is its plaintext size, the size of a symlink the
// length of its plaintext target (read from dirfd/disk).
func (r *root) fillAttr(st *unix.Stat_t, out *fuse.Attr, dirfd int, disk string) error {
	out.Ino = st.Ino
	out.Mode = st.Mode
	out.Nlink = uint32(st.Nlink)
	out.Uid, out.Gid = st.Uid, st.Gid
	out.Rdev = uint32(st.Rdev)
	out.Blocks = uint64(st.Blocks)
	out.Blksize = uint32(st.Blksize)
	out.Atime, out.Atimensec = uint64(st.Atim.Sec), uint32(st.Atim.Nsec)
	out.Mtime, out.Mtimensec = uint64(st.Mtim.Sec), uint32(st.Mtim.Nsec)
	out.Ctime, out.Ctimensec = uint64(st.Ctim.Sec), uint32(st.Ctim.Nsec)
	out.Size = uint64(st.Size)
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		// An impossible size (damaged tail) still gets gocryptfs's
		// number; reading the damaged block fails with EIO.
		size, _ := r.vol.Content.PlainSize(st.Size)
		out.Size = uint64(size)
	case unix.S_IFLNK:
		target, err := r.readlinkAt(dirfd, disk)
		if err != nil {
			return err
		}
		out.Size = uint64(len(target))
	}
	return nil
}

// fillEntry stats dirfd/disk into out.
func (r *root) fillEntry(dirfd int, disk string, st *unix.Stat_t, out *fuse.Attr) error {
	if err := statAt(dirfd, disk, st); err != nil {
		return err
	}
	return r.fillAttr(st, out, dirfd, disk)
}

// stableAttr identifies a node by its backing inode. go-fuse reuses the node
// of a known inode, which is what makes hard links share one node (and one
// content lock). Gen is the inode's birth time: the backing filesystem
// reuses the number of a deleted inode, and while the kernel still knows
// the old node (it forgets lazily), a new file with that number must not
// share its node: the kernel would keep the old file's cached size for it
// and fill the difference with zeros when the new file reads short.
func stableAttr(st *unix.Stat_t, birth uint64) fusefs.StableAttr {
	return fusefs.StableAttr{Mode: st.Mode & syscall.S_IFMT, Ino: st.Ino, Gen: birth}
}

// newEntry stats the child disk of directory d into out and makes (or
// finds) its node.
func (n *Node) newEntry(ctx context.Context, d *dirHandle, disk string, out *fuse.Attr) (*fusefs.Inode, syscall.Errno) {
	var st unix.Stat_t
	birth, err := statNewAt(d.fd, disk, &st)
	if err == nil {
		err = n.r.fillAttr(&st, out, d.fd, disk)
	}
	if err != nil {
		return nil, n.r.fail(d.childPath(disk), err)
	}
	return n.NewInode(ctx, n.r.newNode(), stableAttr(&st, birth)), 0
}

// readlinkAt reads and decrypts the target of symlink disk in dirfd.
func (r *root) readlinkAt(dirfd int, disk string) (string, error) {
	buf := make([]byte, 4096)
	n, err := unix.Readlinkat(dirfd, disk, buf)
	if err != nil {
		return "", fmt.Errorf("readlink %s: %w", disk, err)
	}
	return r.vol.DecryptLink(string(buf[:n]))
}
