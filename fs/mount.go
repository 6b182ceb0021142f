package fs

import (
	"fmt"
	"slices"
	"time"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/fs/cipherdir"
)

// cacheTimeout bounds how long the kernel trusts names and attributes
// without asking us. CIPHERDIR can change underneath the mount (a sync
// client), so it stays short: changes show within a second.
const cacheTimeout = time.Second

// Mount is a serving FUSE mount of a volume.
type Mount struct {
	server *fuse.Server
	root   *root
	top    *Node // the root directory's node; tests call it directly
}

// MountVolume mounts vol at mountpoint and returns once the kernel has
// accepted the mount and requests are being served.
//
// The caller must have cleared the process umask (cmd does, before it
// mounts): the kernel has already applied the calling user's umask to every
// mode it sends us, and the daemon's own on top would change the modes users
// ask for. A library does not change process-wide state; it checks.
func MountVolume(mountpoint string, vol *cipherdir.Volume, opts Options) (*Mount, error) {
	r, err := newRoot(vol, opts)
	if err != nil {
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(r.rootfd, &st); err != nil {
		r.close()
		return nil, fmt.Errorf("stat %s: %w", vol.Dir, err)
	}
	// Nothing in the volume can be named without the root's IV: refuse
	// to mount rather than serve an empty or failing root.
	if _, err := vol.DirIVAt(r.rootfd); err != nil {
		r.close()
		return nil, fmt.Errorf("root directory of %s: %w", vol.Dir, err)
	}
	// Before serving: undo the writes a killed daemon left half done.
	if r.journal, err = openJournal(opts.JournalDir, r); err != nil {
		r.close()
		return nil, err
	}
	if err := checkUmask(); err != nil {
		r.close()
		return nil, err
	}
	timeout := cacheTimeout
	fsName := opts.FsName
	if fsName == "" {
		fsName = vol.Dir
	}
	mo := fuse.MountOptions{
		AllowOther:  opts.AllowOther,
		FsName:      fsName,
		Name:        "veilfs",
		DirectMount: true, // mount(2) as root, fusermount3 otherwise
		// 1 MiB requests both ways: fewer round trips, and whole runs of
		// blocks for SealBlocks/OpenBlocks to spread across cores.
		MaxWrite:     maxRequest,
		MaxReadAhead: maxRequest,
		Options:      slices.Clone(opts.ExtraMountOptions),
		Debug:        opts.Debug,
		// We clear setuid/setgid on unprivileged writes ourselves
		// (File.dropPrivileges); the kernel then stops sending a
		// GETXATTR security.capability before every write.
		ExtraCapabilities: extraCapabilities,
		// Reads return decrypted bytes, never a descriptor to splice from;
		// without this go-fuse still tries a splice pipe for every read
		// (writev into the pipe, then discard: two wasted syscalls, and a
		// log line per 1 MiB read, which does not fit the pipe).
		DisableSplice: true,
		Logger:        opts.Logger,
	}
	mo.Options, mo.DirectMountFlags = securityOptions(mo.Options, opts)
	mo.Options, mo.DirectMountFlags = atimeMountOptions(mo.Options, mo.DirectMountFlags)
	if flags, _ := atimeFlags(opts.ExtraMountOptions); flags&msStrictatime != 0 && lazyAtime(r.rootfd) {
		r.log.Printf("strictatime: reads update access times only as the filesystem of %s does (relatime or noatime): "+
			"veilfs sees the atimes of the files there", vol.Dir)
	}
	if opts.ReadOnly {
		// "ro" is enough for fusermount3; mount(2) takes it as a flag, or
		// the mount itself would still be listed as rw (findmnt, mountinfo).
		mo.Options = append(mo.Options, "ro")
		mo.DirectMountFlags |= msRdonly
	}
	// With other users in the mount, the kernel must check their
	// permissions against our attributes, as for a plain directory.
	// Without allow_other only the user who mounted (the daemon's own
	// user) gets in, and the backing filesystem checks that same user
	// anyway; default_permissions would then only cost a GETATTR of the
	// parent before every create and unlink (the operation before changed
	// it). gocryptfs makes the same choice.
	//
	// With ACLs the kernel checks permissions itself too, against the
	// ACLs it reads from us (FUSE's POSIX_ACL capability turns
	// default_permissions on; said here so that the mount table shows it).
	if opts.AllowOther || opts.ACL {
		mo.Options = append(mo.Options, "default_permissions")
	}
	mo.EnableAcl = opts.ACL
	top := r.newNode(uint64(st.Dev))
	server, err := fusefs.Mount(mountpoint, top, &fusefs.Options{
		MountOptions:   mo,
		EntryTimeout:   &timeout,
		AttrTimeout:    &timeout,
		Logger:         opts.Logger,
		RootStableAttr: &fusefs.StableAttr{Ino: st.Ino},
		// Report mode 0000 as 0000, as a plain directory does; go-fuse
		// would otherwise show such files as 0644.
		NullPermissions: true,
	})
	if err != nil {
		r.journal.remove()
		r.close()
		return nil, fmt.Errorf("mount %s: %w", mountpoint, err)
	}
	raiseReadahead(mountpoint)
	return &Mount{server: server, root: r, top: top}, nil
}

// securityOptions returns the mount options and mount(2) flags that make
// the mount nosuid and nodev unless opts.Suid or opts.Dev opt in. Both
// ways go-fuse mounts need it said: its direct mount(2) (as root) clears
// MS_NOSUID or MS_NODEV for a "suid" or "dev" anywhere in the options,
// which mount.fuse3 appends as root to every mount that does not say
// nosuid or nodev; fusermount3 (everyone else) reads the strings. So the
// caller's own suid/dev/nosuid/nodev are dropped and ours are appended.
func securityOptions(options []string, opts Options) ([]string, uintptr) {
	options = slices.DeleteFunc(options, func(o string) bool {
		return o == "suid" || o == "nosuid" || o == "dev" || o == "nodev"
	})
	// Never 0: go-fuse takes DirectMountFlags 0 as "its default", which is
	// nosuid,nodev; the strings below then clear what was opted in.
	var flags uintptr = msNosuid | msNodev
	if opts.Suid {
		options = append(options, "suid")
	} else {
		options = append(options, "nosuid")
	}
	if opts.Dev {
		options = append(options, "dev")
	} else {
		options = append(options, "nodev")
	}
	return options, flags
}

// Wait blocks until the filesystem is unmounted, then releases the mount's
// resources.
func (m *Mount) Wait() {
	m.server.Wait()
	m.root.journal.remove()
	m.root.close()
}

// Unmount unmounts the filesystem. It fails (wrapping EBUSY) while files in
// it are still in use.
func (m *Mount) Unmount() error {
	if err := m.server.Unmount(); err != nil {
		return fmt.Errorf("unmount: %w", err)
	}
	return nil
}

// Corruptions returns how many corrupt ciphertext objects were reported,
// each once.
func (m *Mount) Corruptions() uint64 { return m.root.corruptions.Load() }
