package fs

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

var _ = (fusefs.NodeLookuper)((*Node)(nil))

// Lookup finds a child by its plaintext name.
func (n *Node) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fusefs.Inode, syscall.Errno) {
	n.r.touch()
	d, err := n.openDir()
	if err != nil {
		return nil, n.r.fail("", err)
	}
	defer d.close()
	disk, err := n.r.existingName(d, name)
	if err != nil {
		if toErrno(err) == syscall.EPERM { // reserved: invisible
			return nil, syscall.ENOENT
		}
		return nil, toErrno(err)
	}
	var st unix.Stat_t
	err = n.r.fillEntry(d.fd, disk, &st, &out.Attr)
	if errors.Is(err, unix.ENOENT) {
		if lost, ok := n.repairLostEntry(d, name); ok {
			disk = lost
			err = n.r.fillEntry(d.fd, disk, &st, &out.Attr)
		}
	}
	if err != nil {
		return nil, n.r.failAt(d, disk, err)
	}
	if n.r.vol.IsLong(disk) {
		n.r.vol.RememberEntry(name, d.iv, d.root)
	}
	return n.newChild(ctx, &st), 0
}

var _ = (fusefs.NodeGetattrer)((*Node)(nil))

// Getattr prefers the open file or directory when there is one: it still
// works after the last name of the file was unlinked, or another directory
// was renamed over the directory's.
func (n *Node) Getattr(ctx context.Context, f fusefs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	n.r.touch()
	if fh, ok := f.(*File); ok {
		return fh.Getattr(ctx, out)
	}
	if df, ok := f.(*dirFile); ok && df.fd >= 0 {
		return df.getattr(out)
	}
	var st unix.Stat_t
	var cpath string // of a damaged symlink target, for the report
	err := n.atSelf(func(d *dirHandle, disk string) error {
		if err := statAt(d.fd, disk, &st); err != nil {
			return err
		}
		if err := n.own(&st, disk); err != nil {
			return err
		}
		if err := n.r.fillAttr(&st, &out.Attr, d.fd, disk); err != nil {
			cpath = d.childPath(disk)
			return err
		}
		return nil
	})
	if err != nil {
		return n.r.fail(cpath, err)
	}
	return 0
}

var _ = (fusefs.NodeSetattrer)((*Node)(nil))

// Setattr changes mode, owner, size and times, through the open file when
// the kernel names one, and otherwise through a descriptor of the node's
// own object (openSelf), never by name.
func (n *Node) Setattr(ctx context.Context, f fusefs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	n.r.touch()
	fh, _ := f.(*File)
	if fh == nil {
		if _, ok := in.GetSize(); ok {
			// Truncate by name: open the file for the duration.
			var errno syscall.Errno
			if fh, errno = n.openFile(syscall.O_RDWR); errno != 0 {
				return errno
			}
			defer fh.Release(ctx)
		}
	}
	if fh != nil {
		return fh.setattr(ctx, in, out)
	}
	fd, st, err := n.openSelf()
	if err != nil {
		return n.r.fail("", err)
	}
	defer unix.Close(fd)
	if err := setattrFD(fd, uint32(st.Mode)&unix.S_IFMT, in); err != nil {
		return toErrno(err)
	}
	if err := unix.Fstat(fd, &st); err != nil {
		return toErrno(fmt.Errorf("stat after setattr: %w", err))
	}
	if err := n.r.fillAttr(&st, &out.Attr, fd, ""); err != nil {
		return n.fail(err)
	}
	return 0
}

// setattrFD applies mode, owner and times through fd: an open file, or an
// O_PATH descriptor (openSelf), which fchmod and fchown refuse. The /proc
// link and AT_EMPTY_PATH reach the object itself either way, a symlink
// too, and also after its last name was unlinked. typ is its S_IFMT.
func setattrFD(fd int, typ uint32, in *fuse.SetAttrIn) error {
	if mode, ok := in.GetMode(); ok {
		if typ == unix.S_IFLNK {
			// Symlinks have no mode of their own on Linux: EOPNOTSUPP,
			// as lchmod gives.
			return fmt.Errorf("chmod symlink: %w", unix.EOPNOTSUPP)
		}
		if err := chmodFD(fd, mode&07777); err != nil {
			return fmt.Errorf("chmod: %w", err)
		}
	}
	if uid, gid, ok := ownerChange(in); ok {
		if err := chownFD(fd, uid, gid); err != nil {
			return fmt.Errorf("chown: %w", err)
		}
	}
	if ts, ok := timesChange(in); ok {
		if err := utimesFD(fd, ts); err != nil {
			return fmt.Errorf("utimens: %w", err)
		}
	}
	return nil
}

func procFD(fd int) string { return fmt.Sprintf("/proc/self/fd/%d", fd) }

// ownerChange returns the uid and gid to pass to chown, -1 for unchanged.
func ownerChange(in *fuse.SetAttrIn) (uid, gid int, ok bool) {
	uid, gid = -1, -1
	if u, has := in.GetUID(); has {
		uid, ok = int(u), true
	}
	if g, has := in.GetGID(); has {
		gid, ok = int(g), true
	}
	return uid, gid, ok
}

// timesChange builds the utimensat argument, with UTIME_NOW and UTIME_OMIT
// where the kernel asked for them.
func timesChange(in *fuse.SetAttrIn) ([]unix.Timespec, bool) {
	pick := func(set, now uint32, sec uint64, nsec uint32) unix.Timespec {
		switch {
		case in.Valid&now != 0:
			return unix.Timespec{Nsec: utimeNow}
		case in.Valid&set != 0:
			return unix.Timespec{Sec: int64(sec), Nsec: int64(nsec)}
		default:
			return unix.Timespec{Nsec: utimeOmit}
		}
	}
	if in.Valid&(fuse.FATTR_ATIME|fuse.FATTR_MTIME|fuse.FATTR_ATIME_NOW|fuse.FATTR_MTIME_NOW) == 0 {
		return nil, false
	}
	return []unix.Timespec{
		pick(fuse.FATTR_ATIME, fuse.FATTR_ATIME_NOW, in.Atime, in.Atimensec),
		pick(fuse.FATTR_MTIME, fuse.FATTR_MTIME_NOW, in.Mtime, in.Mtimensec),
	}, true
}

var _ = (fusefs.NodeFsyncer)((*Node)(nil))

// Fsync flushes a file through its handle, and a directory (or a file the
// kernel names without a handle) through a descriptor opened for the call.
// A directory's IV file is flushed with it (it is written without fsync).
func (n *Node) Fsync(ctx context.Context, f fusefs.FileHandle, flags uint32) syscall.Errno {
	n.r.touch()
	if fh, ok := f.(*File); ok {
		return fh.Fsync(ctx, flags)
	}
	if n.IsDir() {
		d, err := n.openDir()
		if err != nil {
			return n.r.fail("", err)
		}
		err = n.r.vol.SyncDirIV(d.fd)
		d.close()
		if err != nil {
			return n.r.fail("", err)
		}
	}
	d, disk, err := n.openParent()
	if err != nil {
		return n.r.fail("", err)
	}
	defer d.close()
	fd, err := unix.Openat(d.fd, disk, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return toErrno(err)
	}
	defer unix.Close(fd)
	return toErrno(unix.Fsync(fd))
}

var _ = (fusefs.NodeAccesser)((*Node)(nil))

// Access answers access(2) when the kernel does not check permissions
// itself (mounts without allow_other): the backing file's permissions for
// the daemon's user, who is the only user such a mount lets in.
func (n *Node) Access(ctx context.Context, mask uint32) syscall.Errno {
	n.r.touch()
	d, disk, err := n.openParent()
	if err != nil {
		return n.r.fail("", err)
	}
	defer d.close()
	return toErrno(unix.Faccessat(d.fd, disk, mask, unix.AT_SYMLINK_NOFOLLOW))
}

var _ = (fusefs.NodeStatfser)((*Node)(nil))

// Statfs reports the backing filesystem of CIPHERDIR.
func (n *Node) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	n.r.touch()
	var st syscall.Statfs_t
	if err := syscall.Fstatfs(n.r.rootfd, &st); err != nil {
		return toErrno(err)
	}
	out.FromStatfsT(&st)
	return 0
}

// ownNewEntry gives a new entry to the user who created it when the daemon
// runs as root for other users (--allow-other), as a plain directory would.
func (r *root) ownNewEntry(ctx context.Context, dirfd int, disk string) error {
	caller, ok := fuse.FromContext(ctx)
	if !ok || !r.asRoot || (caller.Uid == 0 && caller.Gid == 0) {
		return nil
	}
	if err := unix.Fchownat(dirfd, disk, int(caller.Uid), int(caller.Gid), unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("chown %s: %w", disk, err)
	}
	return nil
}
