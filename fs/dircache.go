package fs

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/fs/cipherdir"
)

// Every operation below a directory needs that directory open and its IV.
// Opening it afresh each time (openat2 + fstat + close, and reading the IV)
// costs more system calls than most operations themselves, so each
// directory node keeps an O_PATH descriptor of its ciphertext directory
// with the IV read from it.
//
// The descriptor follows the directory through our own renames. What it
// cannot follow is CIPHERDIR changing underneath (a sync client deleting
// and re-creating the directory, with a new IV): after dirTTL the node
// resolves its name again, relative to its parent's descriptor, and keeps
// the cached descriptor only if it still names the same inode.
//
// Descriptors are reference counted: an operation holds one for its
// duration, so a revalidation that swaps the cache entry never closes a
// descriptor in use.

// dirTTL matches the kernel's entry and attribute timeouts.
const dirTTL = cacheTimeout

// maxCachedDirs bounds the descriptors held open (the daemon's limit is
// typically 20000 or more). Past it, directories are opened per operation.
const maxCachedDirs = 4096

// dirFD is an open ciphertext directory and the IV of the names in it.
type dirFD struct {
	fd  int
	iv  []byte
	ino uint64
	// needsIV is set when iv is nil because the directory has no
	// gocryptfs.diriv yet (recoverDirIV): it lists as empty. arriving is
	// set too when it holds names that need the IV, which a sync client
	// is still delivering; no entry may be created in it until then.
	needsIV  bool
	arriving bool
	// lost are the IVs the directory's names may have been encrypted
	// under before a sync client replaced its gocryptfs.diriv (lostIVs),
	// looked for on a lookup that finds nothing, at most once per dirTTL
	// (lostAt, monotonic nanoseconds; 0: never).
	lostMu sync.Mutex
	lostAt int64
	lost   [][]byte
	refs   atomic.Int32
	// counted is set for descriptors the cache holds a reference to.
	counted bool
	cache   *atomic.Int32
}

// release drops one reference and closes the descriptor with the last.
func (d *dirFD) release() {
	if d.refs.Add(-1) == 0 {
		unix.Close(d.fd)
		if d.counted {
			d.cache.Add(-1)
		}
	}
}

// acquireDir returns n's directory with a reference the caller releases.
func (n *Node) acquireDir() (*dirFD, error) {
	now := int64(time.Since(n.r.start))
	n.dirMu.Lock()
	if d := n.dir; d != nil && now < n.dirExpiry {
		d.refs.Add(1)
		n.dirMu.Unlock()
		return d, nil
	}
	n.dirMu.Unlock()

	fresh, err := n.resolveDir()
	if err != nil {
		return nil, err
	}
	n.dirMu.Lock()
	old := n.dir
	if old != nil && old.ino == fresh.ino && bytes.Equal(old.iv, fresh.iv) {
		// Still the same directory with the same IV: keep the cached
		// descriptor. A sync client replaces gocryptfs.diriv by renaming
		// another machine's over it, which leaves the directory's inode
		// as it was, so the IV is compared too.
		n.dirExpiry = now + int64(dirTTL)
		old.refs.Add(1)
		n.dirMu.Unlock()
		fresh.release()
		return old, nil
	}
	if fresh.iv == nil && fresh.needsIV {
		// No IV yet (a directory before its gocryptfs.diriv): not
		// cached, so the next operation looks again.
		n.dirMu.Unlock()
		return fresh, nil
	}
	if old == nil && n.r.cachedDirs.Load() >= maxCachedDirs {
		n.dirMu.Unlock()
		return fresh, nil // caller's reference only: closed after use
	}
	if old == nil {
		n.r.cachedDirs.Add(1)
		fresh.counted, fresh.cache = true, &n.r.cachedDirs
	} else {
		fresh.counted, fresh.cache = old.counted, old.cache
		old.counted = false // its count passes to fresh
	}
	fresh.refs.Add(1) // the cache's reference
	n.dir, n.dirExpiry = fresh, now+int64(dirTTL)
	n.dirMu.Unlock()
	if old != nil {
		if old.ino == fresh.ino && old.iv != nil && fresh.iv != nil {
			n.repairReplacedIV(fresh, old.iv)
		}
		old.release()
	}
	return fresh, nil
}

// repairReplacedIV re-encrypts under the directory's new IV the names still
// encrypted under the one it had until a sync client replaced it: the
// machine whose IV lost knows it, and repairing at once lets the other
// machines see those files after the next sync even when the client left
// no conflict copy of the IV (unison without -copyonconflict, rsync).
func (n *Node) repairReplacedIV(d *dirFD, old []byte) {
	if n.r.opts.ReadOnly {
		return
	}
	fixed, err := n.r.vol.RepairLostIV(d.fd, d.iv, n.IsRoot(), old)
	n.r.stats.repairs.Add(uint64(len(fixed)))
	if len(fixed) == 0 && err == nil {
		return
	}
	cpath, _ := n.cipherPath()
	for _, f := range fixed {
		n.r.log.Printf("repaired %s: its name was encrypted with a directory IV that a sync client replaced; now %s",
			n.r.absCipherPath(cipherdir.JoinPath(cpath, f.Old)), n.r.absCipherPath(cipherdir.JoinPath(cpath, f.New)))
	}
	if err != nil {
		n.r.log.Printf("repairing names in %s: %v", n.r.absCipherPath(cpath), err)
	}
}

// resolveDir opens n's ciphertext directory relative to its parent's (or
// CIPHERDIR for the root) and reads its IV.
func (n *Node) resolveDir() (*dirFD, error) {
	var fd int
	var err error
	if n.IsRoot() {
		fd, err = cipherdir.OpenDirAt(n.r.rootfd, "")
	} else {
		var p *dirHandle
		var disk string
		if p, disk, err = n.openParent(); err != nil {
			return nil, err
		}
		fd, err = cipherdir.OpenDirAt(p.fd, disk)
		p.close()
	}
	if err != nil {
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("stat directory: %w", err)
	}
	iv, err := n.r.vol.DirIVAt(fd)
	arriving := false
	if errors.Is(err, unix.ENOENT) {
		iv, arriving, err = n.recoverDirIV(fd)
	}
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	if iv != nil {
		n.noteDirIV(iv)
	}
	d := &dirFD{fd: fd, iv: iv, ino: st.Ino, arriving: arriving, needsIV: iv == nil && n.r.vol.DirIV && !n.r.vol.PlaintextNames}
	d.refs.Store(1)
	return d, nil
}

// noteDirIV remembers the IV of a directory the mount has read (a
// directory that later loses its gocryptfs.diriv can get it back from
// there, recoverDirIV) and settles a wait for it. Both cost an atomic load
// or a map lookup when there is nothing to do, so the directory's path is
// computed only when needed.
func (n *Node) noteDirIV(iv []byte) {
	record := !n.r.vol.PlaintextNames && n.r.vol.DirIV && !n.r.ivs.Knows(iv)
	if !record && n.r.transients.pending.Load() == 0 {
		return
	}
	cpath, err := n.cipherPath()
	if err != nil {
		return
	}
	if record {
		n.r.ivs.Record(cpath, iv)
	}
	n.r.resolveTransient("diriv:" + cpath)
}

// expireDir makes the next acquireDir resolve the directory again, for an
// operation that must see what is on disk now (a listing), not what was
// there up to dirTTL ago.
func (n *Node) expireDir() {
	n.dirMu.Lock()
	n.dirExpiry = 0
	n.dirMu.Unlock()
}

// dropDir releases the cached descriptor: the directory is gone (rmdir) or
// the kernel forgot the node.
func (n *Node) dropDir() {
	n.dirMu.Lock()
	d := n.dir
	n.dir = nil
	n.dirMu.Unlock()
	if d != nil {
		d.release()
	}
}
