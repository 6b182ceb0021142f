package reverse

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/fs/reverse/view"
	"github.com/veilfs/veilfs/internal/diskio"
	"github.com/veilfs/veilfs/nametransform"
)

// node is a plaintext directory, file or symlink shown in the view.
type node struct {
	fusefs.Inode
	r *root

	// Cache of the last path resolution: valid while the node's place in
	// the tree is still cpath.
	mu           sync.Mutex
	cpath, ppath string
	resolved     bool
}

var (
	_ fusefs.NodeLookuper   = (*node)(nil)
	_ fusefs.NodeGetattrer  = (*node)(nil)
	_ fusefs.NodeReaddirer  = (*node)(nil)
	_ fusefs.NodeReadlinker = (*node)(nil)
	_ fusefs.NodeOpener     = (*node)(nil)
	_ fusefs.NodeStatfser   = (*node)(nil)
)

// paths returns the node's path in the view and in the plaintext tree.
func (n *node) paths() (cpath, ppath string, err error) {
	if n.IsRoot() {
		return "", "", nil
	}
	name, parent := n.Parent()
	if parent == nil {
		return "", "", fmt.Errorf("node was removed: %w", syscall.ENOENT)
	}
	pn := parent.Operations().(*node)
	pc, pp, err := pn.paths()
	if err != nil {
		return "", "", err
	}
	cpath = cipherdir.JoinPath(pc, name)
	n.mu.Lock()
	if n.resolved && n.cpath == cpath {
		ppath = n.ppath
		n.mu.Unlock()
		return cpath, ppath, nil
	}
	n.mu.Unlock()
	plain, err := n.r.plainName(name, pc, pp)
	if err != nil {
		return "", "", err
	}
	ppath = cipherdir.JoinPath(pp, plain)
	n.mu.Lock()
	n.cpath, n.ppath, n.resolved = cpath, ppath, true
	n.mu.Unlock()
	return cpath, ppath, nil
}

// plainName finds the plaintext name of the view entry name in the view
// directory cdir, whose plaintext path is pdir.
func (r *root) plainName(name, cdir, pdir string) (string, error) {
	key := cipherdir.JoinPath(cdir, name)
	if plain, ok := r.recallLong(key); ok {
		return plain, nil
	}
	plain, err := view.PlainName(r.vol, name, cdir, func(fn func(string) bool) error {
		return r.listPlain(pdir, func(plain string, _ uint64, _ uint8) bool { return fn(plain) })
	})
	if err == nil && nametransform.Classify(name) == nametransform.KindLongName {
		// Found by listing the directory: spare the next lookup that.
		r.rememberLong(key, plain)
	}
	return plain, err
}

// listPlain calls fn for every entry of plaintext directory pdir.
func (r *root) listPlain(pdir string, fn func(name string, ino uint64, typ uint8) bool) error {
	dirfd, err := cipherdir.OpenDirAt(r.rootfd, pdir)
	if err != nil {
		return err
	}
	defer unix.Close(dirfd)
	fd, err := cipherdir.OpenReadDirAt(dirfd, ".")
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return diskio.ReadDirents(fd, fn)
}

// lstat stats plaintext path ppath without following a symlink anywhere.
func (r *root) lstat(ppath string, st *unix.Stat_t) error {
	dir, base := splitPath(ppath)
	dirfd, err := cipherdir.OpenDirAt(r.rootfd, dir)
	if err != nil {
		return err
	}
	defer unix.Close(dirfd)
	if base == "" {
		base = "."
	}
	if err := unix.Fstatat(dirfd, base, st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("stat %s: %w", base, err)
	}
	return nil
}

func splitPath(p string) (dir, base string) {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[:i], p[i+1:]
		}
	}
	return "", p
}

// visible reports whether the plaintext entry ppath, a directory or not,
// is shown in the view.
func (r *root) visible(ppath string, isDir bool) bool {
	return !r.exclude.Excluded(ppath, isDir)
}

// fillAttr converts the plaintext stat of the entry at view path cpath
// into its view attributes: a regular file has its ciphertext size, a
// symlink the length of its encrypted target.
func (r *root) fillAttr(st *unix.Stat_t, cpath, ppath string, out *fuse.Attr) error {
	out.FromStat(toSyscallStat(st))
	out.Ino = r.viewIno(st)
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		out.Size = uint64(r.vol.Content.CipherSize(st.Size))
		out.Blocks = (out.Size + 511) / 512
	case unix.S_IFLNK:
		target, err := r.linkTarget(cpath, ppath)
		if err != nil {
			return err
		}
		out.Size = uint64(len(target))
	}
	return nil
}

// linkTarget reads the symlink at ppath and encrypts its target for cpath.
func (r *root) linkTarget(cpath, ppath string) (string, error) {
	dir, base := splitPath(ppath)
	dirfd, err := cipherdir.OpenDirAt(r.rootfd, dir)
	if err != nil {
		return "", err
	}
	defer unix.Close(dirfd)
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(dirfd, base, buf)
	if err != nil {
		return "", fmt.Errorf("readlink %s: %w", cpath, err)
	}
	return view.LinkTarget(r.vol, string(buf[:n]), cpath)
}

func (n *node) Getattr(ctx context.Context, f fusefs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	n.r.touch()
	cpath, ppath, err := n.paths()
	if err != nil {
		return toErrno(err)
	}
	var st unix.Stat_t
	if err := n.r.lstat(ppath, &st); err != nil {
		return toErrno(err)
	}
	return toErrno(n.r.fillAttr(&st, cpath, ppath, &out.Attr))
}

func (n *node) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fusefs.Inode, syscall.Errno) {
	n.r.touch()
	cdir, pdir, err := n.paths()
	if err != nil {
		return nil, toErrno(err)
	}
	switch view.Classify(n.r.vol, name, cdir) {
	case view.KindEntry:
		return n.lookupEntry(ctx, name, cdir, pdir, out)
	case view.KindDirIV:
		return n.lookupDirIV(ctx, cdir, pdir, out)
	case view.KindConfig:
		return n.lookupConfig(ctx, out)
	case view.KindSidecar:
		return n.lookupSidecar(ctx, name, cdir, pdir, out)
	}
	return nil, syscall.ENOENT
}

// findEntry resolves the view entry name of the view directory cdir
// (plaintext pdir) to the plaintext entry it shows, and stats it. An
// excluded entry is not found.
func (r *root) findEntry(name, cdir, pdir string, st *unix.Stat_t) (plain, ppath string, err error) {
	if plain, err = r.plainName(name, cdir, pdir); err != nil {
		return "", "", err
	}
	ppath = cipherdir.JoinPath(pdir, plain)
	if err := r.lstat(ppath, st); err != nil {
		return "", "", err
	}
	if !r.visible(ppath, st.Mode&unix.S_IFMT == unix.S_IFDIR) {
		return "", "", fmt.Errorf("%s is excluded: %w", name, syscall.ENOENT)
	}
	return plain, ppath, nil
}

func (n *node) lookupEntry(ctx context.Context, name, cdir, pdir string, out *fuse.EntryOut) (*fusefs.Inode, syscall.Errno) {
	var st unix.Stat_t
	_, ppath, err := n.r.findEntry(name, cdir, pdir, &st)
	if err != nil {
		return nil, toErrno(err)
	}
	cpath := cipherdir.JoinPath(cdir, name)
	if err := n.r.fillAttr(&st, cpath, ppath, &out.Attr); err != nil {
		return nil, toErrno(err)
	}
	child := &node{r: n.r, cpath: cpath, ppath: ppath, resolved: true}
	return n.NewInode(ctx, child, fusefs.StableAttr{Mode: uint32(st.Mode) & unix.S_IFMT, Ino: out.Attr.Ino}), 0
}

func (n *node) Readdir(ctx context.Context) (fusefs.DirStream, syscall.Errno) {
	n.r.touch()
	cdir, pdir, err := n.paths()
	if err != nil {
		return nil, toErrno(err)
	}
	r := n.r
	var entries []fuse.DirEntry
	err = r.listPlain(pdir, func(plain string, ino uint64, typ uint8) bool {
		ppath := cipherdir.JoinPath(pdir, plain)
		mode := uint32(typ) << 12 // DT_* to S_IF*
		if typ == unix.DT_UNKNOWN {
			var st unix.Stat_t
			if err := r.lstat(ppath, &st); err != nil {
				return true // gone meanwhile
			}
			mode = uint32(st.Mode) & unix.S_IFMT
		}
		if !r.visible(ppath, mode == unix.S_IFDIR) {
			return true
		}
		name, cname, err := view.Name(r.vol, plain, cdir)
		if err != nil {
			if !errors.Is(err, view.ErrNotInView) {
				r.log.Printf("cannot show %s in %q: %v", plain, "/"+cdir, err)
			}
			return true
		}
		entries = append(entries, fuse.DirEntry{Name: name, Mode: mode, Ino: ino})
		if name != cname {
			r.rememberLong(cipherdir.JoinPath(cdir, name), plain)
			entries = append(entries, fuse.DirEntry{Name: name + sidecarSuffix, Mode: unix.S_IFREG})
		}
		return true
	})
	if err != nil {
		return nil, toErrno(err)
	}
	if r.vol.DirIV && !r.vol.PlaintextNames {
		entries = append(entries, fuse.DirEntry{Name: dirIVName, Mode: unix.S_IFREG})
	}
	if cdir == "" {
		entries = append(entries, fuse.DirEntry{Name: configName, Mode: unix.S_IFREG})
	}
	return fusefs.NewListDirStream(entries), 0
}

func (n *node) Readlink(ctx context.Context) ([]byte, syscall.Errno) {
	n.r.touch()
	cpath, ppath, err := n.paths()
	if err != nil {
		return nil, toErrno(err)
	}
	target, err := n.r.linkTarget(cpath, ppath)
	if err != nil {
		return nil, toErrno(err)
	}
	return []byte(target), 0
}

func (n *node) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	n.r.touch()
	fd, err := cipherdir.OpenReadDirAt(n.r.rootfd, ".")
	if err != nil {
		return toErrno(err)
	}
	defer unix.Close(fd)
	var st syscall.Statfs_t
	if err := syscall.Fstatfs(fd, &st); err != nil {
		return toErrno(err)
	}
	out.FromStatfsT(&st)
	return 0
}
