package fs

import (
	"context"
	"syscall"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/fs/cipherdir"
)

var _ = (fusefs.NodeSymlinker)((*Node)(nil))

// Symlink stores the encrypted target (FORMAT §6).
func (n *Node) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*fusefs.Inode, syscall.Errno) {
	n.r.touch()
	stored, err := n.r.vol.EncryptLink(target)
	if err != nil {
		return nil, toErrno(err)
	}
	return n.create(ctx, name, out, func(d *dirHandle, disk string) error {
		return unix.Symlinkat(stored, d.fd, disk)
	})
}

var _ = (fusefs.NodeReadlinker)((*Node)(nil))

// Readlink decrypts the stored target of the node's own symlink
// (openSelf): a name renamed over must not give another link's target.
func (n *Node) Readlink(ctx context.Context) ([]byte, syscall.Errno) {
	n.r.touch()
	fd, _, err := n.openSelf()
	if err != nil {
		return nil, n.r.fail("", err)
	}
	defer unix.Close(fd)
	target, err := n.r.readlinkAt(fd, "") // the O_PATH symlink itself
	if err != nil {
		return nil, n.fail(err)
	}
	return []byte(target), 0
}

var _ = (fusefs.NodeMknoder)((*Node)(nil))

// Mknod creates FIFOs, sockets and device nodes.
func (n *Node) Mknod(ctx context.Context, name string, mode, rdev uint32, out *fuse.EntryOut) (*fusefs.Inode, syscall.Errno) {
	n.r.touch()
	return n.create(ctx, name, out, func(d *dirHandle, disk string) error {
		return mknodAt(d.fd, disk, mode, rdev)
	})
}

var _ = (fusefs.NodeLinker)((*Node)(nil))

// Link adds a name for an existing file. The content needs no change: it is
// bound to the file ID, not to the name (FORMAT §4.3).
func (n *Node) Link(ctx context.Context, target fusefs.InodeEmbedder, name string, out *fuse.EntryOut) (*fusefs.Inode, syscall.Errno) {
	n.r.touch()
	src, err := target.(*Node).linkSource()
	if err != nil {
		return nil, n.r.fail("", err)
	}
	defer unix.Close(src)
	d, err := n.dirForNewName()
	if err != nil {
		return nil, n.r.fail("", err)
	}
	defer d.close()
	disk, cname, err := n.r.vol.DiskName(name, d.iv, d.root)
	if err != nil {
		return nil, toErrno(err)
	}
	err = n.r.vol.PrepareName(d.fd, disk, cname, func() error {
		// The /proc link names the inode openSelf checked (linkat's
		// AT_EMPTY_PATH would need CAP_DAC_READ_SEARCH).
		return linkFD(src, d.fd, disk)
	})
	if err != nil {
		return nil, toErrno(err)
	}
	var st unix.Stat_t
	if err := n.r.fillEntry(d.fd, disk, &st, &out.Attr); err != nil {
		return nil, n.r.failAt(d, disk, err)
	}
	return n.newChild(ctx, &st), 0
}

var _ = (fusefs.NodeUnlinker)((*Node)(nil))

// Unlink removes a name; the object goes before its sidecar (FORMAT §5.4).
func (n *Node) Unlink(ctx context.Context, name string) syscall.Errno {
	n.r.touch()
	d, disk, errno := n.openChild(name)
	if errno != 0 {
		return errno
	}
	defer d.close()
	if err := unix.Unlinkat(d.fd, disk, 0); err != nil {
		return toErrno(err)
	}
	n.sidecarFound(d, disk) // a lost name's wait ends with its entry
	if n.r.vol.IsLong(disk) {
		return toErrno(cipherdir.RemoveSidecar(d.fd, disk))
	}
	return 0
}

var _ = (fusefs.NodeRenamer)((*Node)(nil))

// Rename moves an entry under its new encrypted name, computed with the
// target directory's IV (FORMAT §5.6). A directory carries its own IV, so
// nothing below it changes.
func (n *Node) Rename(ctx context.Context, name string, newParent fusefs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	n.r.touch()
	src, srcDisk, errno := n.openChild(name)
	if errno != 0 {
		return errno
	}
	defer src.close()
	dst, err := newParent.(*Node).dirForNewName()
	if err != nil {
		return n.r.fail("", err)
	}
	defer dst.close()
	dstDisk, cname, err := n.r.vol.DiskName(newName, dst.iv, dst.root)
	if err != nil {
		return toErrno(err)
	}
	err = n.r.vol.PrepareName(dst.fd, dstDisk, cname, func() error {
		return n.r.renameAt(src.fd, srcDisk, dst.fd, dstDisk, cname, flags)
	})
	if err != nil {
		return toErrno(err)
	}
	// An exchange leaves both names in place, each with its own sidecar,
	// and a whiteout takes the place of the source under the source's
	// name, which its sidecar still holds: without it the whiteout would
	// not list, and its directory could never be removed.
	srcStays := src.node == dst.node && srcDisk == dstDisk || flags&(renameExchange|renameWhiteout) != 0
	if srcStays {
		return 0
	}
	n.sidecarFound(src, srcDisk) // a lost name renamed to a real one
	if n.r.vol.IsLong(srcDisk) {
		return toErrno(cipherdir.RemoveSidecar(src.fd, srcDisk))
	}
	return 0
}

// renameAt renames and, when the target is an empty directory that the
// backing rename refuses because of its IV file, removes that directory
// first and tries again, as rename(2) over an empty directory must work;
// with RENAME_WHITEOUT too (overlayfs). RENAME_NOREPLACE and
// RENAME_EXCHANGE never replace a directory, so their error stands.
func (r *root) renameAt(srcfd int, srcDisk string, dstfd int, dstDisk, cname string, flags uint32) error {
	err := renameAt2(srcfd, srcDisk, dstfd, dstDisk, flags)
	if (err != unix.ENOTEMPTY && err != unix.EEXIST) || flags&^renameWhiteout != 0 || !r.vol.DirIV {
		return err
	}
	if rmErr := r.vol.Rmdir(dstfd, dstDisk); rmErr != nil {
		return err // not empty after all: report the original error
	}
	// Rmdir removed the target's sidecar with it; the new name needs it.
	if r.vol.IsLong(dstDisk) {
		if _, werr := r.vol.WriteSidecar(dstfd, dstDisk, cname); werr != nil {
			return werr
		}
	}
	return renameAt2(srcfd, srcDisk, dstfd, dstDisk, flags)
}
