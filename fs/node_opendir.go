package fs

import (
	"context"
	"syscall"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// An open directory keeps a descriptor of its backing directory, as an
// open file does (File), so that fstat keeps answering after its name was
// replaced: once another directory is renamed over it, the node has no
// name left to resolve (identity.go), and a plain directory answers with
// st_nlink 0 (xfstests generic/035). The listing itself is go-fuse's:
// Readdir, read once per handle and served from memory.

var _ = (fusefs.NodeOpendirHandler)((*Node)(nil))

// OpendirHandle opens the directory for reading.
func (n *Node) OpendirHandle(ctx context.Context, flags uint32) (fusefs.FileHandle, uint32, syscall.Errno) {
	n.r.touch()
	df := &dirFile{n: n, fd: -1}
	// Failing here would fail opendir where it used to work and a listing
	// reports what is wrong: without the descriptor, fstat goes by name.
	if fd, _, err := n.openSelf(); err == nil {
		df.fd = fd
	}
	return df, 0, 0
}

// dirFile is an open directory. go-fuse serializes the calls on one handle
// (its file entry's lock), so the stream needs no lock of its own.
type dirFile struct {
	n      *Node
	fd     int // O_PATH descriptor of the backing directory, or -1
	stream fusefs.DirStream
}

var (
	_ = (fusefs.FileReaddirenter)((*dirFile)(nil))
	_ = (fusefs.FileSeekdirer)((*dirFile)(nil))
	_ = (fusefs.FileReleasedirer)((*dirFile)(nil))
)

// getattr stats the open backing directory.
func (df *dirFile) getattr(out *fuse.AttrOut) syscall.Errno {
	var st unix.Stat_t
	if err := unix.Fstat(df.fd, &st); err != nil {
		return toErrno(err)
	}
	if err := df.n.r.fillAttr(&st, &out.Attr, df.fd, ""); err != nil {
		return df.n.fail(err)
	}
	return 0
}

// Readdirent returns the next entry of the listing, read at the first call.
func (df *dirFile) Readdirent(ctx context.Context) (*fuse.DirEntry, syscall.Errno) {
	if df.stream == nil {
		var errno syscall.Errno
		if df.stream, errno = df.n.Readdir(ctx); errno != 0 {
			return nil, errno
		}
	}
	if !df.stream.HasNext() {
		return nil, 0
	}
	e, errno := df.stream.Next()
	return &e, errno
}

// Seekdir moves within the listing, as go-fuse's own directory handle does.
func (df *dirFile) Seekdir(ctx context.Context, off uint64) syscall.Errno {
	if df.stream == nil {
		var errno syscall.Errno
		if df.stream, errno = df.n.Readdir(ctx); errno != 0 {
			return errno
		}
	}
	if sd, ok := df.stream.(fusefs.FileSeekdirer); ok {
		return sd.Seekdir(ctx, off)
	}
	return syscall.ENOTSUP
}

// Releasedir closes the listing and the backing descriptor.
func (df *dirFile) Releasedir(ctx context.Context, releaseFlags uint32) {
	if df.stream != nil {
		df.stream.Close()
	}
	if df.fd >= 0 {
		unix.Close(df.fd)
		df.fd = -1
	}
}
