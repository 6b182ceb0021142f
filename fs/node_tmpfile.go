package fs

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"syscall"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// open(dir, O_TMPFILE) arrives as FUSE_TMPFILE on the directory. The
// backing file is made the same way, with O_TMPFILE in the directory's
// ciphertext directory: it has no name either, so nothing of it is ever
// seen in CIPHERDIR and its space goes back when it is closed, even if
// the daemon dies. Like a file of Create it has no header until the first
// write (FORMAT §4.2). linkat of its descriptor then arrives as FUSE_LINK
// of its node, and Link gives the backing file the encrypted name (with
// its long-name sidecar, under the directory's IV) as for any hard link.
//
// The backing file is always opened without O_EXCL, so that the backing
// filesystem lets us link it; O_EXCL of the caller is kept here instead
// (tmpfile.excl), and such a file never gets a name.
//
// Identity (identity.go): the node is keyed by the backing inode number,
// as every node is, but go-fuse registers it in no directory. The path
// resolution of atSelf therefore has nothing to resolve; while it has no
// name, openSelf and openFile reach the backing file through the
// descriptor of an open handle instead (openNameless, reopenNameless).
// That serves linkat (Link), the calls the kernel sends without a handle
// (fchmod, fchown, futimens, f*xattr) and an open of /proc/self/fd/N.
// Once linked, the node is the one Lookup finds under the name: newChild
// finds it by the inode number, so the kernel inode, the content lock and
// the cached file ID carry over.

// tmpfile is what a node made by Tmpfile keeps about its backing file.
type tmpfile struct {
	mu sync.Mutex
	// open are the node's handles not yet released: the only way to the
	// backing file while it has no name.
	open []*File
	// excl: opened with O_TMPFILE|O_EXCL, so never to be linked.
	excl bool
}

var _ = (fusefs.NodeTmpfiler)((*Node)(nil))

// Tmpfile makes an unnamed regular file in directory n and opens it.
func (n *Node) Tmpfile(ctx context.Context, flags, mode uint32, out *fuse.EntryOut) (*fusefs.Inode, fusefs.FileHandle, uint32, syscall.Errno) {
	n.r.touch()
	d, err := n.openDir()
	if err != nil {
		return nil, nil, 0, n.r.fail("", err)
	}
	defer d.close()
	// backingFlags keeps O_TMPFILE and drops O_EXCL; a backing
	// filesystem without O_TMPFILE refuses it (EOPNOTSUPP), and so do we.
	fd, err := openTmpfileAt(d.fd, backingFlags(flags), mode&07777)
	if err != nil {
		return nil, nil, 0, toErrno(fmt.Errorf("O_TMPFILE: %w", err))
	}
	n.r.quietReads(fd, false)
	var st unix.Stat_t
	err = n.r.ownNewFile(ctx, fd)
	if err == nil {
		err = unix.Fstat(fd, &st)
	}
	if err == nil {
		err = n.r.fillAttr(&st, &out.Attr, -1, "")
	}
	if err != nil {
		unix.Close(fd)
		return nil, nil, 0, toErrno(err)
	}
	inode := n.newChild(ctx, &st)
	node := inode.Operations().(*Node)
	node.idMu.Lock()
	node.fileID, node.stamp = nil, cacheStamp{}
	node.idMu.Unlock()
	f := node.newFile(fd)
	node.tmp.Store(&tmpfile{open: []*File{f}, excl: flags&syscall.O_EXCL != 0})
	return inode, f, openFlags, 0
}

// ownNewFile gives the new file open at fd to the calling user, as
// ownNewEntry does for a named one.
func (r *root) ownNewFile(ctx context.Context, fd int) error {
	caller, ok := fuse.FromContext(ctx)
	if !ok || !r.asRoot || (caller.Uid == 0 && caller.Gid == 0) {
		return nil
	}
	if err := chownFD(fd, int(caller.Uid), int(caller.Gid)); err != nil {
		return fmt.Errorf("chown new unnamed file: %w", err)
	}
	return nil
}

// linkSource opens the object Link gives a new name: n's own (openSelf),
// unless n is an O_TMPFILE|O_EXCL file, which open(2) promised would never
// get a name; ext4 answers ENOENT there, as for a file with no links.
func (n *Node) linkSource() (int, error) {
	if t := n.tmp.Load(); t != nil && t.excl {
		return -1, fmt.Errorf("link an O_TMPFILE|O_EXCL file: %w", unix.ENOENT)
	}
	fd, _, err := n.openSelf()
	return fd, err
}

// nameless returns n's tmpfile state, locked, when n is a file of
// Tmpfile that has no name and a handle still open (the caller unlocks);
// nil otherwise. Under t.mu, Release cannot close a handle's descriptor,
// whose number could otherwise be another file's by the time it is used.
func (n *Node) nameless() *tmpfile {
	t := n.tmp.Load()
	if t == nil {
		return nil
	}
	if _, parent := n.Parent(); parent != nil {
		return nil // linked: reached by its name as usual
	}
	t.mu.Lock()
	if len(t.open) == 0 {
		t.mu.Unlock()
		return nil
	}
	return t
}

// openNameless is openSelf for a file of Tmpfile with no name: a
// descriptor of its backing file, a copy of an open handle's. ok is false
// when n is not such a file.
func (n *Node) openNameless(st *unix.Stat_t) (fd int, ok bool, err error) {
	t := n.nameless()
	if t == nil {
		return -1, false, nil
	}
	defer t.mu.Unlock()
	// A copy rather than an O_PATH descriptor: the users of openSelf's
	// descriptor go through fd-based calls or its /proc link, which both
	// work on it.
	fd, err = unix.FcntlInt(uintptr(t.open[0].fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return -1, true, fmt.Errorf("dup unnamed file: %w", err)
	}
	if err := unix.Fstat(fd, st); err != nil {
		unix.Close(fd)
		return -1, true, fmt.Errorf("stat unnamed file: %w", err)
	}
	if err := n.own(st, "(unnamed)"); err != nil {
		unix.Close(fd)
		return -1, true, err
	}
	return fd, true, nil
}

// reopenNameless is openFile for a file of Tmpfile with no name, opened
// again through its /proc/self/fd link: the backing file is opened the
// same way, through the link of an open handle. ok is false when n is not
// such a file.
func (n *Node) reopenNameless(flags uint32) (f *File, ok bool, err error) {
	t := n.nameless()
	if t == nil {
		return nil, false, nil
	}
	defer t.mu.Unlock()
	// Without O_NOFOLLOW, which would stop at the /proc link itself.
	fd, err := unix.Open(procFD(t.open[0].fd), backingFlags(flags)&^unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, true, fmt.Errorf("reopen unnamed file: %w", err)
	}
	n.r.quietReads(fd, false)
	if f, err = n.fileOf(fd, "(unnamed)"); err != nil {
		return nil, true, err
	}
	t.open = append(t.open, f)
	return f, true, nil
}

// releaseTmpfile forgets a handle of a file of Tmpfile when it is
// released, before its descriptor is closed.
func (n *Node) releaseTmpfile(f *File) {
	t := n.tmp.Load()
	if t == nil {
		return
	}
	t.mu.Lock()
	t.open = slices.DeleteFunc(t.open, func(g *File) bool { return g == f })
	t.mu.Unlock()
}
