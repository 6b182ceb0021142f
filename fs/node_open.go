package fs

import (
	"context"
	"fmt"
	"syscall"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/fs/cipherdir"
)

// backingFlags turns the open flags of a plaintext open into those for the
// ciphertext file. A write needs to read too (read-modify-write of partial
// blocks), and we compute every offset ourselves, so O_APPEND must not
// reach the backing file. O_TRUNC is done by us, under the content lock.
// O_DIRECT only concerns the plaintext page cache: ciphertext blocks are
// not aligned the way direct I/O on the backing file would demand.
func backingFlags(flags uint32) int {
	f := int(flags) &^ (unix.O_APPEND | unix.O_TRUNC | unix.O_CREAT | unix.O_EXCL | unix.O_ACCMODE | oDirect)
	if int(flags)&unix.O_ACCMODE != unix.O_RDONLY {
		f |= unix.O_RDWR
	}
	return f | unix.O_NOFOLLOW | unix.O_CLOEXEC
}

// openFlags are the FOPEN_ flags of every open regular file (Open,
// Create, Tmpfile). FOPEN_NOFLUSH: the kernel sends no FLUSH on close(2),
// one request per close saved (issue #17). A FLUSH would have nothing to
// do here: writes reach the backing file before they return, POSIX locks
// stay in the kernel (no Getlk/Setlk, EnableLocks off), and there is no
// writeback cache (the kernel would ignore NOFLUSH under one). A dirty
// page of a shared mapping is no longer written at close but at munmap,
// msync or the kernel's own writeback, as on a local filesystem. A
// kernel older than the flag ignores it, and go-fuse answers its FLUSH
// with OK, as File.Flush did.
const openFlags = fuse.FOPEN_NOFLUSH

var _ = (fusefs.NodeOpener)((*Node)(nil))

// Open opens the ciphertext file.
func (n *Node) Open(ctx context.Context, flags uint32) (fusefs.FileHandle, uint32, syscall.Errno) {
	n.r.touch()
	f, errno := n.openFile(flags)
	if errno != 0 {
		return nil, 0, errno
	}
	return f.finishOpen(ctx, flags)
}

// finishOpen finishes an open: O_TRUNC, and whether the kernel may keep the
// pages it cached.
func (f *File) finishOpen(ctx context.Context, flags uint32) (fusefs.FileHandle, uint32, syscall.Errno) {
	if flags&syscall.O_TRUNC != 0 {
		if err := f.truncateOnOpen(ctx); err != nil {
			f.Release(ctx)
			return nil, 0, toErrno(err)
		}
		return f, openFlags, 0
	}
	if f.unchanged {
		return f, openFlags | fuse.FOPEN_KEEP_CACHE, 0
	}
	return f, openFlags, 0
}

// cacheStamp identifies a version of a backing file. Any write changes its
// ctime, which no user can set, so an equal stamp means equal content.
type cacheStamp struct {
	ino          uint64
	size         int64
	mtime, ctime unix.Timespec
}

func stampOf(st *unix.Stat_t) cacheStamp {
	return cacheStamp{ino: st.Ino, size: st.Size, mtime: st.Mtim, ctime: st.Ctim}
}

// openFile opens the ciphertext file. If it is exactly as it was when a
// handle of this node was last released, the kernel may keep the
// plaintext pages it cached (FOPEN_KEEP_CACHE) and the cached file ID
// stays; otherwise (another machine's write arriving through the sync
// folder, say) both are dropped.
func (n *Node) openFile(flags uint32) (*File, syscall.Errno) {
	// A file of Tmpfile with no name (open of its /proc/self/fd link)
	// has no path to resolve.
	f, ok, err := n.reopenNameless(flags)
	if !ok {
		err = n.atSelf(func(d *dirHandle, disk string) error {
			var err error
			f, err = n.openFileIn(d, disk, flags)
			return err
		})
	}
	if err != nil {
		return nil, n.r.fail("", err)
	}
	return f, 0
}

// openFileIn opens n's ciphertext file, entry disk of directory d.
func (n *Node) openFileIn(d *dirHandle, disk string, flags uint32) (*File, error) {
	fd, err := unix.Openat(d.fd, disk, backingFlags(flags), 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", disk, err)
	}
	n.r.quietReads(fd, false)
	return n.fileOf(fd, disk)
}

// fileOf makes fd, just opened as n's backing file (disk names it in
// errors), a File of n; it closes fd if that fails.
func (n *Node) fileOf(fd int, disk string) (*File, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("stat %s: %w", disk, err)
	}
	// Checked before n's cached file ID and stamp are touched: another
	// inode's descriptor must never become a file of n (identity.go).
	if err := n.own(&st, disk); err != nil {
		unix.Close(fd)
		return nil, err
	}
	f := n.newFile(fd)
	n.idMu.Lock()
	f.opened = stampOf(&st)
	f.unchanged = n.stamp == f.opened
	if !f.unchanged {
		n.fileID = nil
	}
	n.idMu.Unlock()
	return f, nil
}

var _ = (fusefs.NodeCreater)((*Node)(nil))

// Create makes and opens a new regular file. The empty file has no header
// yet; the first write creates it (FORMAT §4.2).
//
// The backing file is always created with O_EXCL, so a new file is never
// truncated: on ext4 a truncate to zero makes the close start writeback
// of the file (auto_da_alloc), which costs every new file a flush and
// lets a stat racing that close see st_blocks 0. The kernel skips the
// truncate of a file open(2) has just made for the same reason.
func (n *Node) Create(ctx context.Context, name string, flags, mode uint32, out *fuse.EntryOut) (*fusefs.Inode, fusefs.FileHandle, uint32, syscall.Errno) {
	n.r.touch()
	var fd = -1
	var created string // the new file's name on disk
	inode, errno := n.create(ctx, name, out, func(d *dirHandle, disk string) error {
		var err error
		created = disk
		bflags := backingFlags(flags) | unix.O_CREAT | unix.O_EXCL
		if fd, err = unix.Openat(d.fd, disk, bflags, mode&07777); err != nil {
			return fmt.Errorf("create %s: %w", disk, err)
		}
		n.r.quietReads(fd, false)
		return nil
	})
	if errno == syscall.EEXIST && flags&syscall.O_EXCL == 0 {
		return n.openExisting(ctx, name, flags, out)
	}
	if errno != 0 {
		if fd >= 0 {
			unix.Close(fd)
		}
		return nil, nil, 0, errno
	}
	node := inode.Operations().(*Node)
	node.idMu.Lock()
	node.fileID, node.stamp = nil, cacheStamp{}
	node.idMu.Unlock()
	// Known here for the price of the parent's, which its other new
	// files share (the journal's hint).
	hint := cipherdir.JoinPath(n.cipherPathHint(), created)
	node.pathHint.Store(&hint)
	return inode, node.newFile(fd), openFlags, 0
}

// openExisting serves a CREATE for a name that appeared in CIPHERDIR after
// the kernel looked it up (another process there, a sync client): as
// open(2) would, it opens the file that is there, with its owner and
// mode, truncated for O_TRUNC.
func (n *Node) openExisting(ctx context.Context, name string, flags uint32, out *fuse.EntryOut) (*fusefs.Inode, fusefs.FileHandle, uint32, syscall.Errno) {
	d, err := n.openDir()
	if err != nil {
		return nil, nil, 0, n.r.fail("", err)
	}
	defer d.close()
	disk, _, err := n.r.vol.DiskName(name, d.iv, d.root)
	if err != nil {
		return nil, nil, 0, toErrno(err)
	}
	var st unix.Stat_t
	if err := n.r.fillEntry(d.fd, disk, &st, &out.Attr); err != nil {
		return nil, nil, 0, n.r.failAt(d, disk, err)
	}
	inode := n.newChild(ctx, &st)
	f, err := inode.Operations().(*Node).openFileIn(d, disk, flags)
	if err != nil {
		return nil, nil, 0, toErrno(err)
	}
	fh, fflags, errno := f.finishOpen(ctx, flags)
	return inode, fh, fflags, errno
}
