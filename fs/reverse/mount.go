package reverse

import (
	"errors"
	"fmt"
	"log"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/fs/mountstats"
	"github.com/veilfs/veilfs/fs/reverse/view"
	"github.com/veilfs/veilfs/nametransform"
)

// cacheTimeout bounds how long the kernel trusts names and attributes: the
// plaintext is being worked on, so changes should show within a second.
const cacheTimeout = time.Second

// maxRead is the largest read request we ask the kernel for.
const maxRead = 1 << 20

// Options configure a reverse mount.
type Options struct {
	AllowOther bool
	// Exclude leaves plaintext paths out of the view; nil shows everything.
	Exclude *Excluder
	// Logger receives files that changed while being read and entries
	// that cannot be shown, with their ciphertext paths only. nil
	// discards them.
	Logger *log.Logger
	// FsName is shown as the source in /proc/mounts; default the
	// plaintext directory.
	FsName            string
	Debug             bool
	ExtraMountOptions []string
}

// root is the state shared by all nodes of one mount.
type root struct {
	vol     *cipherdir.Volume
	rootfd  int // the plaintext directory, O_PATH
	rootDev uint64
	exclude *Excluder
	log     *log.Logger

	start    time.Time
	requests atomic.Uint64
	open     atomic.Int64
	read     atomic.Uint64
	changed  atomic.Uint64 // reads refused because the plaintext changed
	bufs     bufPool

	// longNames remembers the plaintext name behind each hashed long name
	// of the view (key: its view path): a hash cannot be decrypted, only
	// found again by encrypting every name of the directory. The mapping
	// never goes stale, as view names are a function of plaintext names.
	longMu    sync.Mutex
	longNames map[string]string

	// inos gives entries on other filesystems below the plaintext root
	// inode numbers of their own, so they cannot collide with the root
	// filesystem's.
	inoMu   sync.Mutex
	inos    map[devIno]uint64
	nextIno uint64
}

type devIno struct{ dev, ino uint64 }

// maxLongNames bounds the long-name memory; past it, it starts afresh.
const maxLongNames = 1 << 14

func (r *root) touch() { r.requests.Add(1) }

// viewIno is the inode number the view shows for a plaintext stat.
func (r *root) viewIno(st *unix.Stat_t) uint64 {
	if uint64(st.Dev) == r.rootDev {
		return st.Ino
	}
	r.inoMu.Lock()
	defer r.inoMu.Unlock()
	k := devIno{uint64(st.Dev), st.Ino}
	if ino, ok := r.inos[k]; ok {
		return ino
	}
	r.nextIno++
	ino := 1<<62 | r.nextIno
	r.inos[k] = ino
	return ino
}

func (r *root) rememberLong(cpath, plain string) {
	r.longMu.Lock()
	defer r.longMu.Unlock()
	if len(r.longNames) >= maxLongNames {
		clear(r.longNames)
	}
	r.longNames[cpath] = plain
}

func (r *root) recallLong(cpath string) (string, bool) {
	r.longMu.Lock()
	defer r.longMu.Unlock()
	p, ok := r.longNames[cpath]
	return p, ok
}

// Mount is a serving reverse mount.
type Mount struct {
	server *fuse.Server
	root   *root
}

// MountView mounts the reverse view of vol (whose Dir is the plaintext
// directory) read-only at mountpoint and returns once it is serving. vol
// must use AES-SIV content encryption.
func MountView(mountpoint string, vol *cipherdir.Volume, opts Options) (*Mount, error) {
	if vol.Content.Algorithm() != cipher.AESSIV {
		return nil, fmt.Errorf("reverse mount of %s: the config does not use AES-SIV content encryption, which reverse mode needs", vol.Dir)
	}
	fd, err := unix.Open(vol.Dir, oPath|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", vol.Dir, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("stat %s: %w", vol.Dir, err)
	}
	r := &root{
		vol: vol, rootfd: fd, rootDev: uint64(st.Dev), exclude: opts.Exclude, log: opts.Logger,
		start: time.Now(), longNames: map[string]string{}, inos: map[devIno]uint64{},
	}
	if r.log == nil {
		r.log = log.New(nopWriter{}, "", 0)
	}
	fsName := opts.FsName
	if fsName == "" {
		fsName = vol.Dir
	}
	timeout := cacheTimeout
	mo := fuse.MountOptions{
		AllowOther:   opts.AllowOther,
		FsName:       fsName,
		Name:         "veilfs",
		DirectMount:  true,
		MaxWrite:     maxRead,
		MaxReadAhead: maxRead,
		// "ro" for fusermount3, MS_RDONLY for mount(2): see fs.MountVolume.
		Options:          append(slices.Clone(opts.ExtraMountOptions), "ro"),
		DirectMountFlags: directMountFlags,
		Debug:            opts.Debug,
		DisableSplice:    true, // reads return encrypted bytes, never a descriptor
		// Files are served with direct I/O (file.go); without this the
		// kernel refuses shared mmap of them (ENODEV).
		ExtraCapabilities: fuse.CAP_DIRECT_IO_ALLOW_MMAP,
		Logger:            opts.Logger,
	}
	if opts.AllowOther {
		mo.Options = append(mo.Options, "default_permissions")
	}
	server, err := fusefs.Mount(mountpoint, &node{r: r}, &fusefs.Options{
		MountOptions:    mo,
		EntryTimeout:    &timeout,
		AttrTimeout:     &timeout,
		Logger:          opts.Logger,
		RootStableAttr:  &fusefs.StableAttr{Ino: st.Ino},
		NullPermissions: true,
	})
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("mount %s: %w", mountpoint, err)
	}
	return &Mount{server: server, root: r}, nil
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }

// Wait blocks until the view is unmounted, then releases its resources.
func (m *Mount) Wait() {
	m.server.Wait()
	unix.Close(m.root.rootfd)
}

// Unmount unmounts the view; it fails (wrapping EBUSY) while it is in use.
func (m *Mount) Unmount() error {
	if err := m.server.Unmount(); err != nil {
		return fmt.Errorf("unmount: %w", err)
	}
	return nil
}

// Stats returns the mount's counters. Corruptions counts the reads refused
// because the plaintext changed while the file was open.
func (m *Mount) Stats() mountstats.Stats {
	r := m.root
	return mountstats.Stats{
		Started:     r.start,
		Requests:    r.requests.Load(),
		OpenFiles:   r.open.Load(),
		BytesRead:   r.read.Load(),
		Corruptions: r.changed.Load(),
	}
}

// toErrno is the one place where errors become errno values.
func toErrno(err error) syscall.Errno {
	var errno syscall.Errno
	switch {
	case err == nil:
		return 0
	case errors.As(err, &errno):
		return errno
	case errors.Is(err, view.ErrNotInView), errors.Is(err, nametransform.ErrCorruptName),
		errors.Is(err, nametransform.ErrInvalidName):
		// A name no plaintext entry has.
		return syscall.ENOENT
	case errors.Is(err, nametransform.ErrNameTooLong), errors.Is(err, cipherdir.ErrTargetTooLong):
		return syscall.ENAMETOOLONG
	}
	return syscall.EIO
}
