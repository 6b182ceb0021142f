package reverse

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/fs/reverse/view"
	"github.com/veilfs/veilfs/nametransform"
)

// Names of the files that exist only in the view.
const (
	dirIVName     = nametransform.DirIVFilename
	configName    = config.Filename
	sidecarSuffix = nametransform.LongNameSuffix
)

// virtual is a file that exists only in the view: a directory's
// gocryptfs.diriv, a long name's .name sidecar, or the root's
// gocryptfs.conf (the plaintext directory's .gocryptfs.reverse.conf).
// Its attributes are those of the plaintext object it belongs to, as
// gocryptfs shows them: the directory for an IV, the long-named entry for
// a sidecar, the reverse config for the config.
type virtual struct {
	fusefs.Inode
	r *root
	// owner is the plaintext path whose stat gives the attributes.
	owner string
	// data is the content; nil for the config, read at each open.
	data []byte
}

var (
	_ fusefs.NodeGetattrer = (*virtual)(nil)
	_ fusefs.NodeOpener    = (*virtual)(nil)
	_ fusefs.NodeReader    = (*virtual)(nil)
)

func (n *node) newVirtual(ctx context.Context, v *virtual, out *fuse.EntryOut) (*fusefs.Inode, syscall.Errno) {
	if errno := v.fill(&out.Attr); errno != 0 {
		return nil, errno
	}
	// Ino 0: go-fuse numbers the node; it shares nothing with another.
	ch := n.NewInode(ctx, v, fusefs.StableAttr{Mode: unix.S_IFREG})
	out.Attr.Ino = ch.StableAttr().Ino
	return ch, 0
}

func (n *node) lookupDirIV(ctx context.Context, cdir, pdir string, out *fuse.EntryOut) (*fusefs.Inode, syscall.Errno) {
	iv := view.DirIV(n.r.vol, cdir)
	return n.newVirtual(ctx, &virtual{r: n.r, owner: pdir, data: append([]byte(nil), iv...)}, out)
}

func (n *node) lookupSidecar(ctx context.Context, name, cdir, pdir string, out *fuse.EntryOut) (*fusefs.Inode, syscall.Errno) {
	var st unix.Stat_t
	plain, ppath, err := n.r.findEntry(strings.TrimSuffix(name, sidecarSuffix), cdir, pdir, &st)
	if err != nil {
		return nil, toErrno(err)
	}
	_, cname, err := view.Name(n.r.vol, plain, cdir)
	if err != nil {
		return nil, toErrno(err)
	}
	return n.newVirtual(ctx, &virtual{r: n.r, owner: ppath, data: []byte(cname)}, out)
}

func (n *node) lookupConfig(ctx context.Context, out *fuse.EntryOut) (*fusefs.Inode, syscall.Errno) {
	return n.newVirtual(ctx, &virtual{r: n.r, owner: config.ReverseFilename}, out)
}

func (v *virtual) fill(out *fuse.Attr) syscall.Errno {
	var st unix.Stat_t
	if err := v.r.lstat(v.owner, &st); err != nil {
		return toErrno(err)
	}
	out.FromStat(toSyscallStat(&st))
	if v.data != nil {
		out.Mode = unix.S_IFREG | 0o444
		out.Size = uint64(len(v.data))
		out.Nlink = 1
		out.Blocks = 1
	}
	return 0
}

func (v *virtual) Getattr(ctx context.Context, f fusefs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	v.r.touch()
	errno := v.fill(&out.Attr)
	out.Attr.Ino = v.StableAttr().Ino
	return errno
}

func (v *virtual) Open(ctx context.Context, flags uint32) (fusefs.FileHandle, uint32, syscall.Errno) {
	v.r.touch()
	if flags&(syscall.O_WRONLY|syscall.O_RDWR|syscall.O_TRUNC|syscall.O_APPEND) != 0 {
		return nil, 0, syscall.EROFS
	}
	if v.data != nil {
		return nil, noFlush, 0
	}
	conf, err := v.r.readConfig()
	if err != nil {
		v.r.log.Printf("%s: %v", configName, err)
		return nil, 0, toErrno(err)
	}
	// The config may change (veilfs passwd): each open sees the current
	// file, whole.
	return &configHandle{data: conf}, fuse.FOPEN_DIRECT_IO | noFlush, 0
}

func (v *virtual) Read(ctx context.Context, f fusefs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	v.r.touch()
	data := v.data
	if h, ok := f.(*configHandle); ok {
		data = h.data
	}
	if off >= int64(len(data)) {
		return fuse.ReadResultData(nil), 0
	}
	return fuse.ReadResultData(data[off:min(int64(len(data)), off+int64(len(dest)))]), 0
}

type configHandle struct{ data []byte }

// readConfig reads the plaintext directory's reverse config.
func (r *root) readConfig() ([]byte, error) {
	fd, err := cipherdir.OpenBeneath(r.rootfd, config.ReverseFilename, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", config.ReverseFilename, err)
	}
	f := os.NewFile(uintptr(fd), config.ReverseFilename)
	defer f.Close()
	const maxConfig = 1 << 20 // a config is a few hundred bytes
	data, err := io.ReadAll(io.LimitReader(f, maxConfig+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", config.ReverseFilename, err)
	case len(data) > maxConfig:
		return nil, fmt.Errorf("%s is larger than %d bytes: %w", config.ReverseFilename, maxConfig, syscall.EFBIG)
	}
	return data, nil
}
