package fs

import (
	"io"
	"log"
	"os"
	"sync"
	"sync/atomic"
	"time"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/fs/syncmem"
	"github.com/veilfs/veilfs/nametransform"
)

// Options configure a mount.
type Options struct {
	ReadOnly   bool
	AllowOther bool
	// Suid and Dev let setuid/setgid bits and device nodes in the volume
	// take effect. Off, the mount is always nosuid,nodev, whatever
	// ExtraMountOptions say: whoever can write CIPHERDIR (a sync
	// provider) could otherwise plant a setuid-root program or a device
	// node that other users of the machine run or open. Only an explicit
	// opt-in of the user sets them (SECURITY.md, mount flags).
	Suid bool
	Dev  bool
	// ACL serves POSIX ACLs (system.posix_acl_access and _default,
	// node_xattr.go), enforced by the kernel: the mount gets FUSE's
	// POSIX_ACL capability and default_permissions. gocryptfs -acl.
	ACL bool
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
	// JournalDir is where the undo journal lives (journal.go): a directory
	// that survives the daemon but need not survive a reboot, such as
	// /run/veilfs. Empty disables the journal.
	JournalDir string
	// IVMemory is a file outside CIPHERDIR where the IVs of the
	// directories this mount creates are remembered (ivmemory.go), to
	// repair names a sync tool made undecryptable by overwriting an IV.
	// Empty disables it.
	IVMemory string
	// LongNameMemory is a file outside CIPHERDIR where every long name
	// this mount reads from or writes to a sidecar is remembered
	// (syncmem.LongNames), to give back a long-named file whose sidecar a
	// sync client lost (longnames.go). Empty disables it.
	LongNameMemory string
}

// root is the state shared by all nodes of one mount. It lives as long as
// the mount; nothing here is package-global.
type root struct {
	// asRoot: the daemon runs as root, and so gives new entries to their
	// creators (ownNewEntry); asked once rather than per create.
	asRoot  bool
	vol     *cipherdir.Volume
	rootfd  int // CIPHERDIR, opened once at mount time
	journal *journal
	opts    Options
	log     *log.Logger
	bufs    bufferPool

	start       time.Time // for monotonic cache expiry times; Stats.Started
	stats       counters
	ivs         *syncmem.IVs       // nil without Options.IVMemory
	longNames   *syncmem.LongNames // nil without Options.LongNameMemory; also vol.LongNames
	corruptions atomic.Uint64
	corruptSeen onceSet      // ciphertext objects counted in corruptions (reportCorruption)
	cachedDirs  atomic.Int32 // directory descriptors held by nodes
	noFallocate atomic.Bool  // the backing filesystem has no fallocate
	transients  transients   // half-synced states seen (transient.go)
	badNames    onceSet      // undecryptable entries logged (reportBadName)
	ivWalk      ivWalk       // the volume's directory IVs (lostdiriv.go)
	// halfSyncGrace is the constant of that name, in nanoseconds;
	// tests shorten it while the mount serves.
	halfSyncGrace atomic.Int64
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
	var names *syncmem.LongNames
	if opts.LongNameMemory != "" {
		names = syncmem.OpenLongNames(opts.LongNameMemory)
		vol.LongNames = names
	}
	r := &root{vol: vol, rootfd: fd, opts: opts, log: logger, bufs: newBufferPool(vol), start: time.Now(),
		ivs: syncmem.OpenIVs(opts.IVMemory), longNames: names, asRoot: os.Getuid() == 0}
	r.halfSyncGrace.Store(int64(halfSyncGrace))
	return r, nil
}

func (r *root) close() {
	_ = unix.Close(r.rootfd)
	r.ivs.Close()
	r.longNames.Close()
}

// reportCorruption logs damage found in the ciphertext object at cpath,
// and counts the object once: the count is of damaged objects, as status
// shows it, and a damaged block is met again and again (the kernel asks
// for it again after a failed readahead, programs retry). Past
// maxBadNames remembered objects, every report counts.
func (r *root) reportCorruption(cpath string, err error) {
	if r.corruptSeen.first(cpath) {
		r.corruptions.Add(1)
	}
	r.log.Printf("corrupt ciphertext %s: %v", r.absCipherPath(cpath), err)
	if r.opts.OnCorruption != nil {
		r.opts.OnCorruption(cpath, err)
	}
}

// reportBadName logs an entry that is skipped in a listing, once per
// entry: a directory holding one is listed again and again (a file
// manager, a sync client's own walk), and a line each time would drown the
// log. Past maxBadNames remembered entries, further ones are logged at
// every listing again (fsck lists them all).
func (r *root) reportBadName(cpath string, err error) {
	if r.badNames.first(cpath) {
		r.log.Printf("skipping undecryptable entry %s: %v", r.absCipherPath(cpath), err)
	}
}

// maxBadNames bounds the memory of undecryptable entries already logged,
// and of corrupt objects already counted.
const maxBadNames = 10000

// onceSet remembers up to maxBadNames keys, so that something is done once
// per key; past the bound, every further key is new each time.
type onceSet struct {
	mu sync.Mutex
	m  map[string]struct{}
}

// first reports whether key is new, and remembers it if there is room.
func (s *onceSet) first(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, seen := s.m[key]; seen {
		return false
	}
	if len(s.m) < maxBadNames {
		if s.m == nil {
			s.m = map[string]struct{}{}
		}
		s.m[key] = struct{}{}
	}
	return true
}

func (r *root) absCipherPath(cpath string) string {
	if cpath == "" {
		return r.vol.Dir
	}
	return r.vol.Dir + "/" + cpath
}

// Node is one file, directory, symlink or special file of the plaintext
// view. Directories cache an open descriptor of their ciphertext directory;
// regular files carry the content lock.
type Node struct {
	fusefs.Inode
	r *root
	// dev is the device of the backing object, fixed when the node is
	// made (the journal records it; the inode number is StableAttr's).
	dev uint64

	// dirMu guards dir and dirExpiry (directories only): see dircache.go.
	dirMu     sync.Mutex
	dir       *dirFD
	dirExpiry int64 // monotonic nanoseconds

	// contentMu serialises writes and truncates of a regular file's
	// blocks against each other and against reads.
	contentMu sync.RWMutex
	// idMu guards fileID, the cached file ID from the header (nil = not
	// read yet; readers holding contentMu shared may fill it in), and
	// stamp, the backing file as it was when last released (see
	// node_open.go).
	idMu   sync.Mutex
	fileID []byte
	stamp  cacheStamp

	// tmp is set on a file made by Tmpfile (node_tmpfile.go).
	tmp atomic.Pointer[tmpfile]
	// pathHint is the ciphertext path as it was when first needed
	// (cipherPathHint).
	pathHint atomic.Pointer[string]
}

func (r *root) newNode(dev uint64) *Node { return &Node{r: r, dev: dev} }

// dirHandle is a directory node's ciphertext directory, held for the
// duration of one operation.
type dirHandle struct {
	*dirFD
	node *Node
	root bool
}

func (d *dirHandle) close() { d.release() }

// childPath returns the ciphertext path of a child of d, for log lines.
func (d *dirHandle) childPath(disk string) string {
	p, err := d.node.cipherPath()
	if err != nil {
		return "(unknown)/" + disk
	}
	return cipherdir.JoinPath(p, disk)
}

// openDir returns directory node n's ciphertext directory.
func (n *Node) openDir() (*dirHandle, error) {
	d, err := n.acquireDir()
	if err != nil {
		return nil, err
	}
	return &dirHandle{dirFD: d, node: n, root: n.IsRoot()}, nil
}

// openParent opens the directory holding n and returns n's name on disk.
// For the root, that is CIPHERDIR itself and ".".
func (n *Node) openParent() (*dirHandle, string, error) {
	if n.IsRoot() {
		d, err := n.openDir()
		return d, ".", err
	}
	name, parent := n.Parent()
	if parent == nil {
		return nil, "", unix.ENOENT // unlinked or forgotten
	}
	d, err := parent.Operations().(*Node).openDir()
	if err != nil {
		return nil, "", err
	}
	disk, err := n.r.existingName(d, name)
	if err != nil {
		d.close()
		return nil, "", err
	}
	return d, disk, nil
}

// existingName maps the plaintext name of an existing child of d to its
// name on disk. A name with a conflict marker that is not itself an entry
// is a sync client's conflict copy (cipherdir.EntryName): the directory is
// searched for it. A synthetic "lost name H" is a long-name object whose
// sidecar is missing (cipherdir.LostDiskName). New names never go through
// here: they are always encrypted as they are, so renaming a conflict copy
// or a lost name to a plain name makes it an ordinary entry.
func (r *root) existingName(d *dirHandle, name string) (string, error) {
	if d.needsIV {
		return "", unix.ENOENT // nothing in it is named yet
	}
	disk, _, err := r.vol.DiskName(name, d.iv, d.root)
	if err != nil {
		return "", err
	}
	if _, _, marked := nametransform.ParseConflictDisplay(name); marked {
		var st unix.Stat_t
		if err := unix.Fstatat(d.fd, disk, &st, unix.AT_SYMLINK_NOFOLLOW); err == unix.ENOENT {
			if c, cerr := r.vol.ConflictDiskName(d.fd, name, d.iv, d.root); cerr == nil {
				return c, nil
			}
		}
	}
	// "lost name H": a long-name object listed without its sidecar
	// (longnames.go), unless an entry is really named so.
	if obj, lerr := r.vol.LostDiskName(d.fd, name, d.iv, d.root); lerr == nil {
		return obj, nil
	}
	return disk, nil
}

// cipherPathHint returns n's ciphertext path as it was when it was first
// asked for, or given by Create, and "" if it cannot be worked out: a hint
// for the undo journal, whose recovery checks the inode it finds there and
// looks for the inode elsewhere when a rename made the hint stale. Working
// the path out costs a name encryption per directory level, which a
// journal record, written on a file's first write, should not pay.
func (n *Node) cipherPathHint() string {
	if p := n.pathHint.Load(); p != nil {
		return *p
	}
	p, err := n.cipherPath()
	if err != nil {
		return ""
	}
	n.pathHint.Store(&p)
	return p
}

// cipherPath returns the ciphertext path of n relative to CIPHERDIR; it is
// only needed for log lines.
func (n *Node) cipherPath() (string, error) {
	if n.IsRoot() {
		return "", nil
	}
	d, disk, err := n.openParent()
	if err != nil {
		return "", err
	}
	defer d.close()
	ppath, err := d.node.cipherPath()
	if err != nil {
		return "", err
	}
	return cipherdir.JoinPath(ppath, disk), nil
}
