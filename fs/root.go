package fs

import (
	"fmt"
	"io"
	"log"
	"sync"
	"sync/atomic"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/fs/cipherdir"
)

// Options configure a mount.
type Options struct {
	ReadOnly   bool
	AllowOther bool
	// Logger receives corruption reports and undecryptable names, with
	// ciphertext paths only. nil discards them.
	Logger *log.Logger
	// FsName is shown as the source in /proc/mounts; default CIPHERDIR.
	FsName string
	// Debug logs every FUSE request (very verbose).
	Debug bool
	// ExtraMountOptions are passed to the kernel as -o options.
	ExtraMountOptions []string
	// OnCorruption, if set, is called for every corrupt ciphertext object
	// found, in addition to the log line.
	OnCorruption func(cipherPath string, err error)
}

// root is the state shared by all nodes of one mount. It lives as long as
// the mount; nothing here is package-global.
type root struct {
	vol    *cipherdir.Volume
	rootfd int // CIPHERDIR, opened once at mount time
	opts   Options
	log    *log.Logger
	bufs   bufferPool

	corruptions atomic.Uint64
}

func newRoot(vol *cipherdir.Volume, opts Options) (*root, error) {
	fd, err := vol.OpenRoot()
	if err != nil {
		return nil, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = log.New(io.Discard, "", 0)
	}
	return &root{vol: vol, rootfd: fd, opts: opts, log: logger, bufs: newBufferPool(vol)}, nil
}

func (r *root) close() { _ = unix.Close(r.rootfd) }

// reportCorruption logs damage found in the ciphertext object at cpath.
func (r *root) reportCorruption(cpath string, err error) {
	r.corruptions.Add(1)
	r.log.Printf("corrupt ciphertext %s: %v", r.absCipherPath(cpath), err)
	if r.opts.OnCorruption != nil {
		r.opts.OnCorruption(cpath, err)
	}
}

// reportBadName logs an entry that is skipped in a listing.
func (r *root) reportBadName(cpath string, err error) {
	r.log.Printf("skipping undecryptable entry %s: %v", r.absCipherPath(cpath), err)
}

func (r *root) absCipherPath(cpath string) string {
	if cpath == "" {
		return r.vol.Dir
	}
	return r.vol.Dir + "/" + cpath
}

// Node is one file, directory, symlink or special file of the plaintext
// view. Directories cache their IV; regular files carry the content lock.
type Node struct {
	fusefs.Inode
	r *root

	// ivMu guards iv and ivIno: a directory's IV, cached because every
	// name operation below the directory needs it, together with the
	// backing inode it was read from so that a directory replaced
	// underneath the mount (by a sync client) is noticed and re-read.
	ivMu  sync.Mutex
	iv    []byte
	ivIno uint64

	// contentMu serialises writes and truncates of a regular file's
	// blocks against each other and against reads.
	contentMu sync.RWMutex
	// idMu guards fileID, the cached file ID from the header (nil = not
	// read yet). Readers holding contentMu shared may fill it in.
	idMu   sync.Mutex
	fileID []byte
}

func (r *root) newNode() *Node { return &Node{r: r} }

// dirHandle is an open ciphertext directory and the IV of its names.
type dirHandle struct {
	fd   int
	iv   []byte
	path string // ciphertext path relative to CIPHERDIR
	root bool
}

func (d *dirHandle) close() { _ = unix.Close(d.fd) }

// childPath returns the ciphertext path of a child of d.
func (d *dirHandle) childPath(disk string) string { return cipherdir.JoinPath(d.path, disk) }

// cipherPath returns the ciphertext path of directory node n, relative to
// CIPHERDIR, by encrypting each component of its plaintext path with the
// IV of the directory above it.
func (n *Node) cipherPath() (string, error) {
	if n.IsRoot() {
		return "", nil
	}
	name, parent := n.Parent()
	if parent == nil {
		return "", unix.ENOENT // unlinked or forgotten
	}
	p := parent.Operations().(*Node)
	ppath, err := p.cipherPath()
	if err != nil {
		return "", err
	}
	iv, err := p.dirIV(ppath)
	if err != nil {
		return "", err
	}
	disk, _, err := n.r.vol.DiskName(name, iv, p.IsRoot())
	if err != nil {
		return "", err
	}
	return cipherdir.JoinPath(ppath, disk), nil
}

// dirIV returns the cached IV of directory node n, whose ciphertext path is
// cpath, reading it on first use.
func (n *Node) dirIV(cpath string) ([]byte, error) {
	if !n.r.vol.DirIV {
		return n.r.vol.DirIVAt(-1)
	}
	n.ivMu.Lock()
	iv := n.iv
	n.ivMu.Unlock()
	if iv != nil {
		return iv, nil
	}
	fd, err := cipherdir.OpenDirAt(n.r.rootfd, cpath)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	return n.loadIV(fd, cpath)
}

// loadIV reads the IV of the directory open at fd and caches it together
// with the directory's inode number.
func (n *Node) loadIV(fd int, cpath string) ([]byte, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("stat %s: %w", cpath, err)
	}
	iv, err := n.r.vol.DirIVAt(fd)
	if err != nil {
		return nil, fmt.Errorf("directory %s: %w", cpath, err)
	}
	n.ivMu.Lock()
	n.iv, n.ivIno = iv, st.Ino
	n.ivMu.Unlock()
	return iv, nil
}

// openDir opens directory node n in CIPHERDIR. The cached IV is checked
// against the inode actually opened, so a directory that a sync client
// replaced (new inode, new IV) is re-read rather than mis-encrypted.
func (n *Node) openDir() (*dirHandle, error) {
	cpath, err := n.cipherPath()
	if err != nil {
		return nil, err
	}
	fd, err := cipherdir.OpenDirAt(n.r.rootfd, cpath)
	if err != nil {
		return nil, err
	}
	d := &dirHandle{fd: fd, path: cpath, root: n.IsRoot()}
	if d.iv, err = n.validIV(fd, cpath); err != nil {
		d.close()
		return nil, err
	}
	return d, nil
}

func (n *Node) validIV(fd int, cpath string) ([]byte, error) {
	if !n.r.vol.DirIV {
		return n.r.vol.DirIVAt(fd)
	}
	n.ivMu.Lock()
	iv, ino := n.iv, n.ivIno
	n.ivMu.Unlock()
	if iv != nil {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err == nil && st.Ino == ino {
			return iv, nil
		}
	}
	return n.loadIV(fd, cpath)
}

// openParent opens the directory holding n and returns n's name on disk.
// For the root, that is CIPHERDIR itself and ".".
func (n *Node) openParent() (*dirHandle, string, error) {
	if n.IsRoot() {
		fd, err := cipherdir.OpenDirAt(n.r.rootfd, "")
		if err != nil {
			return nil, "", err
		}
		return &dirHandle{fd: fd, root: true}, ".", nil
	}
	name, parent := n.Parent()
	if parent == nil {
		return nil, "", unix.ENOENT
	}
	d, err := parent.Operations().(*Node).openDir()
	if err != nil {
		return nil, "", err
	}
	disk, _, err := n.r.vol.DiskName(name, d.iv, d.root)
	if err != nil {
		d.close()
		return nil, "", err
	}
	return d, disk, nil
}
