package reverse

import (
	"context"
	"fmt"
	"sync"
	"syscall"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/fs/reverse/view"
	"github.com/veilfs/veilfs/internal/diskio"
)

// stamp identifies one version of a plaintext file. Any write changes its
// mtime and ctime (and a truncate or append its size), so a read that
// finds another stamp than open did is reading another version.
type stamp struct {
	ino, size    int64
	mtime, ctime unix.Timespec
}

func stampOf(st *unix.Stat_t) stamp {
	return stamp{ino: int64(st.Ino), size: st.Size, mtime: st.Mtim, ctime: st.Ctim}
}

// file is an open regular file of the view.
type file struct {
	r      *root
	fd     int
	cpath  string
	opened stamp
	header []byte // 00 02 ‖ file ID
	fileID []byte
	block0 []byte // nonce of block 0
	closed sync.Once
}

var (
	_ fusefs.FileReader   = (*file)(nil)
	_ fusefs.FileReleaser = (*file)(nil)
)

func (n *node) Open(ctx context.Context, flags uint32) (fusefs.FileHandle, uint32, syscall.Errno) {
	n.r.touch()
	if flags&(syscall.O_WRONLY|syscall.O_RDWR|syscall.O_TRUNC|syscall.O_APPEND) != 0 {
		return nil, 0, syscall.EROFS
	}
	cpath, ppath, err := n.paths()
	if err != nil {
		return nil, 0, toErrno(err)
	}
	f, err := n.r.openFile(cpath, ppath)
	if err != nil {
		return nil, 0, toErrno(err)
	}
	// Direct I/O: the kernel must neither keep bytes of an older version
	// nor cut reads at a size it cached before the file changed.
	return f, fuse.FOPEN_DIRECT_IO | noFlush, 0
}

// noFlush is in the open flags of every file of the view: the kernel then
// sends no FLUSH on close(2), which a read-only view has nothing to do
// for; one request saved per file a backup reads (issue #17). go-fuse
// answers the FLUSH of a kernel older than the flag with OK.
const noFlush = fuse.FOPEN_NOFLUSH

func (r *root) openFile(cpath, ppath string) (*file, error) {
	// cipherdir.OpenBeneath: openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS.
	// O_NOATIME where allowed (the file's owner, or root): a backup
	// reading the view leaves the plaintext files' atimes alone.
	fd, err := diskio.OpenNoatime(func(flags int) (int, error) {
		return cipherdir.OpenBeneath(r.rootfd, ppath, flags)
	}, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", cpath, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("stat %s: %w", cpath, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return nil, fmt.Errorf("open %s: not a regular file: %w", cpath, syscall.EINVAL)
	}
	// A file with several names gets IVs of its own, the same through
	// every name (view.HardLinkKey).
	key := cpath
	if st.Nlink > 1 {
		key = view.HardLinkKey(st.Ino)
		if uint64(st.Dev) != r.rootDev {
			// Another filesystem mounted below the root has its own
			// inode numbers; its device number keeps them apart.
			key += fmt.Sprintf(" dev %d", st.Dev)
		}
	}
	id, block0 := view.FileIVs(key)
	r.open.Add(1)
	return &file{r: r, fd: fd, cpath: cpath, opened: stampOf(&st),
		header: cipher.MarshalHeader(id), fileID: id, block0: block0}, nil
}

func (f *file) Release(ctx context.Context) syscall.Errno {
	f.closed.Do(func() {
		unix.Close(f.fd)
		f.r.open.Add(-1)
	})
	return 0
}

// Read serves ciphertext bytes [off, off+len(dest)) of the file as it was
// at open: the header, then the blocks covering the range, encrypted from
// the plaintext read just now.
func (f *file) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	f.r.touch()
	c := f.r.vol.Content
	size := c.CipherSize(f.opened.size)
	if off >= size || len(dest) == 0 {
		return fuse.ReadResultData(nil), 0
	}
	end := min(off+int64(len(dest)), size)
	out := dest[:0]
	if off < cipher.HeaderSize {
		out = append(out, f.header[off:min(end, cipher.HeaderSize)]...)
	}
	if end > cipher.HeaderSize {
		cbs := int64(c.CipherBlockSize())
		first := max(off-cipher.HeaderSize, 0) / cbs
		last := (end - 1 - cipher.HeaderSize) / cbs
		pStart := first * cipher.PlainBlockSize
		pEnd := min((last+1)*cipher.PlainBlockSize, f.opened.size)
		bufp := f.r.bufs.get(int(pEnd-pStart) + int(last-first+1)*c.Overhead())
		blocks, err := f.encrypt((*bufp)[:0], pStart, pEnd, uint64(first))
		if err != nil {
			f.r.bufs.put(bufp)
			return nil, toErrno(err)
		}
		bStart := cipher.HeaderSize + first*cbs // view offset of blocks[0]
		from := max(off, bStart) - bStart
		out = append(out, blocks[from:end-bStart]...)
		f.r.bufs.put(bufp)
	}
	f.r.read.Add(uint64(len(out)))
	return fuse.ReadResultData(out), 0
}

// encrypt reads plaintext [pStart, pEnd), checks that the file is still
// the version it was at open, and appends the plaintext sealed as blocks
// numbered from first to dst.
func (f *file) encrypt(dst []byte, pStart, pEnd int64, first uint64) ([]byte, error) {
	plainp := f.r.bufs.get(int(pEnd - pStart))
	defer f.r.bufs.put(plainp)
	plain := *plainp
	n, err := diskio.PreadFull(f.fd, plain, pStart)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", f.cpath, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(f.fd, &st); err != nil {
		return nil, fmt.Errorf("stat %s: %w", f.cpath, err)
	}
	if n != len(plain) || stampOf(&st) != f.opened {
		f.r.changed.Add(1)
		f.r.log.Printf("%s: the plaintext file changed while it was being read; "+
			"the read failed (EIO) rather than mix two versions: read the file again", f.cpath)
		return nil, fmt.Errorf("%s changed while being read: %w", f.cpath, syscall.EIO)
	}
	return f.r.vol.Content.SealBlocksDerived(dst, plain, first, f.fileID, f.block0)
}

// bufPool recycles the read path's buffers: a read takes two (plaintext
// and ciphertext), up to maxRead each.
type bufPool struct{ p sync.Pool }

const poolBufSize = maxRead + maxRead/cipher.PlainBlockSize*48

func (b *bufPool) get(n int) *[]byte {
	if v, ok := b.p.Get().(*[]byte); ok && cap(*v) >= n {
		*v = (*v)[:n]
		return v
	}
	s := make([]byte, n, max(n, poolBufSize))
	return &s
}

func (b *bufPool) put(p *[]byte) {
	if cap(*p) <= poolBufSize {
		b.p.Put(p)
	}
}
