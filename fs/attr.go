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

// fillAttr converts a ciphertext stat into the plaintext attributes: the
// size of a regular file is its plaintext size, the size of a symlink the
// length of its plaintext target (from its stored length, or read from
// dirfd/disk when that does not tell).
func (r *root) fillAttr(st *unix.Stat_t, out *fuse.Attr, dirfd int, disk string) error {
	out.Ino = st.Ino
	out.Mode = uint32(st.Mode)
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
		// From the stored length, not by reading the link: a readlink
		// would move its atime on the backing filesystem (relatime).
		if size, ok := r.vol.LinkTargetSize(st.Size); ok {
			out.Size = uint64(size)
			break
		}
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
// content lock). Gen separates an inode number reused for a file of another
// type.
func stableAttr(st *unix.Stat_t) fusefs.StableAttr {
	return fusefs.StableAttr{Mode: uint32(st.Mode) & syscall.S_IFMT, Ino: st.Ino}
}

// newChild makes (or finds) the node for a child of n.
func (n *Node) newChild(ctx context.Context, st *unix.Stat_t) *fusefs.Inode {
	// An inode that is already known keeps its node, made from a stat of
	// the same object.
	return n.NewInode(ctx, n.r.newNode(uint64(st.Dev)), stableAttr(st))
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
