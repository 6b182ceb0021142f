package fs

import (
	"errors"
	"fmt"
	"time"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"golang.org/x/sys/unix"
)

// A node reaches its backing object by path: its place in go-fuse's tree
// (parent and name) mapped to a name on disk. That place can name another
// object for a moment. go-fuse's rawBridge.Rename runs our Rename (the
// backing rename) first and moves the tree nodes (MvChild) only after it
// returns, and the kernel sends OPEN (and GETATTR, READLINK, ...) of a
// cached name without the parent's lock, so they overlap a RENAME(A→T): in
// between, the node of the old T still resolves to "dir/T", which on disk
// is now A's file. Opening that would hand A's descriptor to T's kernel
// inode, which then reads A through T's page cache and cached size: zeros
// and short reads (FINDINGS, "Rename over a file races OPEN"). A sync
// client replacing a file under CIPHERDIR leaves a node in the same state,
// for good.
//
// Nodes are keyed by backing inode number (stableAttr), so every path-based
// operation on an existing node checks the inode it opened or statted
// against the node's own, and never uses another. On a mismatch it waits
// for go-fuse to move the node, then resolves again; a node that was
// renamed over (no name left) or still resolves elsewhere gets ESTALE, and
// the kernel retries open, stat, truncate, link, readlink and xattr calls
// once with a fresh lookup (LOOKUP_REVAL), which finds the file now at the
// name, or answers ENOENT itself if there is none.
//
// A node with no name at all gets ESTALE too, not ENOENT: an OPEN that the
// kernel sent before a rename over its name finished reaches us after
// MvChild dropped the node, and ENOENT would tell the caller that a name
// which always existed did not.

// errStale means a node's name leads to another inode, or it has none
// left; toErrno makes it ESTALE.
var errStale = errors.New("the node's name no longer leads to its inode")

const (
	// moveWait bounds the wait for go-fuse to move a node after the
	// backing rename. MvChild follows our Rename directly, so the window is
	// microseconds; the bound is for a daemon thread descheduled in it, and
	// keeps a node that will never move (replaced underneath) cheap.
	moveWait = 3 * time.Millisecond
	// maxResolves bounds how often one operation resolves a node again.
	maxResolves = 3
)

// own returns errStale unless st, what n's path led to, is n's own
// backing object.
func (n *Node) own(st *unix.Stat_t, disk string) error {
	if st.Ino != n.StableAttr().Ino {
		return fmt.Errorf("%s: inode %d, node %d: %w", disk, st.Ino, n.StableAttr().Ino, errStale)
	}
	return nil
}

// atSelf runs op on n's backing object, the entry disk of directory d. op
// checks what it reached with own before using it, and releases what it
// opened when that fails. While n moves in the tree (a rename in
// progress), atSelf resolves it again.
func (n *Node) atSelf(op func(d *dirHandle, disk string) error) error {
	for try := 1; ; try++ {
		name, parent := n.Parent()
		d, disk, err := n.openParent()
		if err != nil {
			if _, p := n.Parent(); p == nil && !n.IsRoot() {
				return fmt.Errorf("no name left: %w", errStale)
			}
			return err
		}
		err = op(d, disk)
		d.close()
		if !nameGone(err) || n.IsRoot() {
			return err
		}
		if try == maxResolves || !n.awaitMove(name, parent) {
			if errors.Is(err, errStale) {
				return err
			}
			return fmt.Errorf("%w: %w", errStale, err)
		}
	}
}

// nameGone reports whether err, from opening or statting n's name, means
// that the name no longer leads to n: another inode is there, or nothing
// (ENOENT: n was renamed away and go-fuse has not moved it yet), or a
// symlink (ELOOP from O_NOFOLLOW: a symlink was renamed over n's name).
// Each is the rename window if n moves, and a stale kernel entry (ESTALE)
// if not.
func nameGone(err error) bool {
	return errors.Is(err, errStale) || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ELOOP)
}

// awaitMove waits up to moveWait for n to leave its place (name in parent)
// and reports whether it has another one now. A node with no place left
// was renamed over or unlinked: nothing to resolve.
func (n *Node) awaitMove(name string, parent *fusefs.Inode) bool {
	deadline := time.Now().Add(moveWait)
	for pause := 20 * time.Microsecond; ; pause = min(2*pause, 500*time.Microsecond) {
		nowName, nowParent := n.Parent()
		switch {
		case nowParent == nil:
			return false
		case nowName != name || nowParent != parent:
			return true
		case time.Now().After(deadline):
			return false
		}
		time.Sleep(pause)
	}
}

// openSelf returns an O_PATH descriptor of n's backing object, checked to
// be n's own, and its stat. Operations that would otherwise act on a name
// (xattrs, link, chmod, chown, utimes, readlink) act on it through
// procFD, so the object checked is the object changed.
func (n *Node) openSelf() (fd int, st unix.Stat_t, err error) {
	// A file of Tmpfile with no name has no path to resolve.
	if fd, ok, err := n.openNameless(&st); ok {
		return fd, st, err
	}
	fd = -1
	err = n.atSelf(func(d *dirHandle, disk string) error {
		pfd, err := openPathAt(d.fd, disk)
		if err != nil {
			return fmt.Errorf("open %s: %w", disk, err)
		}
		if err := unix.Fstat(pfd, &st); err != nil {
			unix.Close(pfd)
			return fmt.Errorf("stat %s: %w", disk, err)
		}
		if err := n.own(&st, disk); err != nil {
			unix.Close(pfd)
			return err
		}
		fd = pfd
		return nil
	})
	return fd, st, err
}
