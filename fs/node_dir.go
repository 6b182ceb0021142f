package fs

import (
	"context"
	"errors"
	"syscall"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/internal/diskio"
	"github.com/veilfs/veilfs/nametransform"
)

var _ = (fusefs.NodeMkdirer)((*Node)(nil))

// Mkdir creates a directory with its IV file (and long-name sidecar).
func (n *Node) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fusefs.Inode, syscall.Errno) {
	n.r.touch()
	return n.create(ctx, name, out, func(d *dirHandle, disk string) error {
		iv, err := n.r.vol.Mkdir(d.fd, disk, mode)
		if err != nil {
			return err
		}
		n.rememberDir(d, disk, iv)
		return nil
	})
}

var _ = (fusefs.NodeRmdirer)((*Node)(nil))

// Rmdir removes an empty directory (FORMAT §5.6).
func (n *Node) Rmdir(ctx context.Context, name string) syscall.Errno {
	n.r.touch()
	d, disk, errno := n.openChild(name)
	if errno != 0 {
		return errno
	}
	defer d.close()
	if err := n.r.vol.Rmdir(d.fd, disk); err != nil {
		return n.r.failAt(d, disk, err)
	}
	if n.r.ivs != nil {
		n.r.ivs.Forget(d.childPath(disk))
	}
	if child := n.GetChild(name); child != nil {
		child.Operations().(*Node).dropDir()
	}
	return 0
}

var _ = (fusefs.NodeOnForgetter)((*Node)(nil))

// OnForget releases a directory's cached descriptor once the kernel has
// forgotten the node.
func (n *Node) OnForget() { n.dropDir() }

var _ = (fusefs.NodeReaddirer)((*Node)(nil))

// Readdir lists the decrypted names. Our own files are hidden; an entry
// whose name does not decrypt is skipped and logged, never failing the
// whole listing.
func (n *Node) Readdir(ctx context.Context) (fusefs.DirStream, syscall.Errno) {
	n.r.touch()
	// A listing reads the IV afresh: a sync client may have replaced
	// gocryptfs.diriv within the cache's second, and names listed under
	// the old IV would be another machine's random bytes.
	n.expireDir()
	d, err := n.openDir()
	if err != nil {
		return nil, n.r.fail("", err)
	}
	defer d.close()
	if d.needsIV {
		// No IV yet and no name that needs one (recoverDirIV).
		return fusefs.NewListDirStream(n.dotEntries()), 0
	}
	fd, err := cipherdir.OpenReadDirAt(d.fd, ".")
	if err != nil {
		return nil, toErrno(err)
	}
	n.r.quietReads(fd, true)
	defer unix.Close(fd)
	entries, bad, odd, err := n.list(d, fd, false)
	if err == nil && (bad > 0 || odd > 0) {
		// Rare: a name that does not decrypt, or decrypts to bytes no one
		// would choose, may have been lost with a replaced directory IV.
		// Give back what can be, then list again and report what still
		// does not decrypt.
		repaired := !n.r.opts.ReadOnly && n.repairLostIV(d)
		if repaired || bad > 0 {
			entries, _, _, err = n.list(d, fd, true)
		}
	}
	if err != nil {
		return nil, toErrno(err)
	}
	return fusefs.NewListDirStream(entries), 0
}

// list reads the directory open at fd; bad counts the names that do not
// decrypt, which are reported (when report is set) and skipped, and odd
// the listed ones that are not nametransform.Plausible.
func (n *Node) list(d *dirHandle, fd int, report bool) (entries []fuse.DirEntry, bad, odd int, err error) {
	entries = n.dotEntries()
	err = diskio.ReadDirents(fd, func(disk string, ino uint64, typ uint8) bool {
		plain, _, err := n.r.vol.EntryName(d.fd, disk, d.iv, d.root)
		if errors.Is(err, cipherdir.ErrNoSidecar) {
			// A long name without its sidecar: shown all the same
			// (longnames.go).
			var skip bool
			if plain, skip, err = n.sidecarless(d, disk); skip {
				return true
			}
		} else if err == nil {
			n.sidecarFound(d, disk)
		}
		switch {
		case errors.Is(err, cipherdir.ErrSyncClientFile):
			// Hidden like our own files, but counted for veilfs status;
			// once per Readdir: its second pass (report) lists them again.
			if !report {
				n.r.stats.clientFiles.Add(1)
			}
		case errors.Is(err, cipherdir.ErrReservedName):
		case err != nil:
			bad++
			if report {
				n.r.reportBadName(d.childPath(disk), err)
			}
		default:
			if !nametransform.Plausible(plain) {
				odd++
			}
			entries = append(entries, fuse.DirEntry{Name: plain, Ino: ino, Mode: uint32(typ) << 12})
		}
		return true
	})
	return entries, bad, odd, err
}

// repairLostIV gives back the names a sync service made undecryptable by
// keeping another machine's gocryptfs.diriv (cipherdir.RepairLostIV). It
// reports whether it renamed anything.
func (n *Node) repairLostIV(d *dirHandle) bool {
	here, err := n.cipherPath()
	if err != nil {
		return false
	}
	fixed, err := n.r.vol.RepairLostIV(d.fd, d.iv, d.root, n.r.ivs.Recall(here)...)
	n.r.stats.repairs.Add(uint64(len(fixed)))
	for _, f := range fixed {
		n.r.log.Printf("repaired %s: its name was encrypted with a directory IV that a sync client replaced; now %s",
			n.r.absCipherPath(d.childPath(f.Old)), n.r.absCipherPath(d.childPath(f.New)))
	}
	if err != nil {
		n.r.log.Printf("repairing names in %s: %v", n.r.absCipherPath(here), err)
	}
	return len(fixed) > 0
}

// dotEntries are the "." and ".." a plain directory lists first; go-fuse
// leaves them to the filesystem.
func (n *Node) dotEntries() []fuse.DirEntry {
	parent := n.EmbeddedInode()
	if _, p := n.Parent(); p != nil {
		parent = p
	}
	return []fuse.DirEntry{
		{Name: ".", Ino: n.StableAttr().Ino, Mode: fuse.S_IFDIR},
		{Name: "..", Ino: parent.StableAttr().Ino, Mode: fuse.S_IFDIR},
	}
}

// openChild opens directory n and maps the plaintext name of a child to its
// name on disk.
func (n *Node) openChild(name string) (*dirHandle, string, syscall.Errno) {
	d, err := n.openDir()
	if err != nil {
		return nil, "", n.r.fail("", err)
	}
	disk, err := n.r.existingName(d, name)
	if err != nil {
		d.close()
		if toErrno(err) == syscall.EPERM {
			return nil, "", syscall.ENOENT
		}
		return nil, "", toErrno(err)
	}
	return d, disk, 0
}

// create runs mk to make the new child name of n, with the long-name
// sidecar written first, gives the child to the calling user and returns
// its node.
func (n *Node) create(ctx context.Context, name string, out *fuse.EntryOut, mk func(d *dirHandle, disk string) error) (*fusefs.Inode, syscall.Errno) {
	d, err := n.dirForNewName()
	if err != nil {
		return nil, n.r.fail("", err)
	}
	defer d.close()
	disk, cname, err := n.r.vol.DiskName(name, d.iv, d.root)
	if err != nil {
		return nil, toErrno(err)
	}
	if err := n.r.vol.PrepareName(d.fd, disk, cname, func() error { return mk(d, disk) }); err != nil {
		return nil, toErrno(err)
	}
	if err := n.r.ownNewEntry(ctx, d.fd, disk); err != nil {
		return nil, toErrno(err)
	}
	var st unix.Stat_t
	if err := n.r.fillEntry(d.fd, disk, &st, &out.Attr); err != nil {
		return nil, n.r.failAt(d, disk, err)
	}
	return n.newChild(ctx, &st), 0
}
