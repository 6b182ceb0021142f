package fs

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/internal/diskio"
)

// The whence values of FUSE_LSEEK that File.Lseek answers: Linux's, on
// every system.
const (
	seekData = 3 // SEEK_DATA
	seekHole = 4 // SEEK_HOLE
)

// seek answers SEEK_DATA (whence seekData) or SEEK_HOLE from plaintext
// offset off, in whole blocks: a block is a hole if its ciphertext is all
// zeros (isHole), and a partial last block never is. As on a local
// filesystem, an offset at or past the end is ENXIO, as is SEEK_DATA with
// no data after off, and the end of the file is where SEEK_HOLE finds the
// hole every file ends with.
//
// The backing file's lseek skips the blocks in between, so the cost does
// not grow with the size of the holes or of the data. The price: a hole
// of one block between two blocks of data has no backing block of its own
// (4096 < CBS < 2·4096: those it touches hold its neighbours' data too),
// the backing file's SEEK_HOLE does not see it, and it counts as data, of
// zeros, which SEEK_HOLE may always answer. From two blocks on, a hole has
// backing holes that reach into each of its blocks and is found.
func (f *File) seek(off int64, whence uint32) (int64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(f.fd, &st); err != nil {
		return 0, fmt.Errorf("stat: %w", err)
	}
	content := f.n.r.vol.Content
	size, _ := content.PlainSize(st.Size)
	if off < 0 || off >= size {
		return 0, unix.ENXIO
	}
	cwhence := unix.SEEK_DATA
	if whence == seekHole {
		cwhence = unix.SEEK_HOLE
	}
	full := size / blockSize // blocks [0, full) are full
	cbs := int64(content.CipherBlockSize())
	for b := off / blockSize; ; {
		if b >= full {
			// The partial last block, or the end.
			switch {
			case whence == seekHole:
				return size, nil
			case b*blockSize < size:
				return max(off, b*blockSize), nil
			}
			return 0, unix.ENXIO
		}
		// Where the backing file's data (or hole) begins, from block b on;
		// past its end means none is left.
		next, err := unix.Seek(f.fd, content.BlockCipherOffset(uint64(b)), cwhence)
		if errors.Is(err, unix.ENXIO) {
			next = st.Size
		} else if err != nil {
			return 0, fmt.Errorf("seek in block %d: %w", b, err)
		}
		c := (next - cipher.HeaderSize) / cbs
		if c >= full {
			b = c
			continue
		}
		hole, err := f.isHole(c)
		if err != nil {
			return 0, err
		}
		if hole == (whence == seekHole) {
			return max(off, c*blockSize), nil
		}
		b = c + 1
	}
}

// isHole tells whether full block b reads as a hole, that is whether its
// ciphertext is all zeros: without reading if the backing file's hole
// covers it, else by reading it. isHole is asked about the blocks where
// the backing file's data or holes begin, which a backing block shared
// with the next or previous ciphertext block may cover only in part.
func (f *File) isHole(b int64) (bool, error) {
	content := f.n.r.vol.Content
	cbs := content.CipherBlockSize()
	start := content.BlockCipherOffset(uint64(b))
	data, err := unix.Seek(f.fd, start, unix.SEEK_DATA)
	switch {
	case errors.Is(err, unix.ENXIO) || err == nil && data >= start+int64(cbs):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("seek in block %d: %w", b, err)
	}
	buf := f.n.r.bufs.get(cbs)
	defer f.n.r.bufs.put(buf)
	n, err := diskio.PreadFull(f.fd, buf, start)
	if err != nil {
		return false, fmt.Errorf("read block %d: %w", b, err)
	}
	return n == cbs && diskio.AllZero(buf), nil
}
