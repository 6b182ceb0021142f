package fs

import (
	"fmt"

	"github.com/veilfs/veilfs/internal/diskio"
)

// Holes: fallocate's PUNCH_HOLE and ZERO_RANGE here, lseek's SEEK_DATA
// and SEEK_HOLE in seek.go. A full block whose ciphertext is all zeros
// reads as 4096 zero bytes (FORMAT §4.4), so a range of the backing file
// punched out is a range of plaintext holes, as long as it covers whole
// ciphertext blocks. Those blocks (4096 + OH bytes) straddle the backing
// filesystem's blocks: a hole of the backing file says nothing about the
// ciphertext blocks it covers only in part, and punching one ciphertext
// block frees only the backing blocks wholly inside it (the rest is
// zeroed). Like the rest of the data path, this runs under the node's
// content lock.

// The modes of FUSE_FALLOCATE that zero a range: Linux's, on every system.
const (
	fallocPunchHole = 0x2  // FALLOC_FL_PUNCH_HOLE
	fallocZeroRange = 0x10 // FALLOC_FL_ZERO_RANGE
)

// zeroRange makes plaintext [off, off+length) read as zeros. Without
// keepSize a range past the end of the file extends it, as a truncate does.
func (f *File) zeroRange(off, length int64, keepSize bool) error {
	st, err := f.state()
	if err != nil {
		return err
	}
	end := off + length
	if inside := min(end, st.size); off < inside {
		if err := f.zeroInside(off, inside, st.size); err != nil {
			return err
		}
	}
	if !keepSize && end > st.size {
		return f.truncateLocked(end)
	}
	return nil
}

// zeroInside zeros [off, end) of a file of plaintext size size (end <=
// size). The whole blocks in the range become holes. A block the range
// covers in part is read, and either becomes a hole too, when nothing
// but zeros is left in it, or is written back with its part zeroed, as a
// write of zeros would. A partial last block is always written: a shorter
// all-zero ciphertext block is no hole but a damaged block.
//
// The punch of the whole blocks goes first: it is the step the backing
// filesystem may refuse, and then nothing has changed. Punches need no
// journal record (journal.go): one fallocate, which a signal does not
// interrupt, turns whole ciphertext blocks into zeros, and each block is
// then either old or a hole, both readable. Writes are journaled as any.
func (f *File) zeroInside(off, end, size int64) error {
	f.wrote = true
	first := (off + blockSize - 1) / blockSize // the whole blocks: [first, last)
	last := end / blockSize
	if first < last {
		if err := f.punchBlocks(first, last); err != nil {
			return err
		}
	}
	head := off / blockSize
	if off%blockSize != 0 {
		if err := f.zeroPart(head, off, min(end, (head+1)*blockSize), size); err != nil {
			return err
		}
	}
	if end%blockSize != 0 && (last > head || off%blockSize == 0) {
		return f.zeroPart(last, last*blockSize, end, size)
	}
	return nil
}

// punchBlocks makes blocks [first, last), full ones, holes.
func (f *File) punchBlocks(first, last int64) error {
	content := f.n.r.vol.Content
	lo, hi := content.BlockCipherOffset(uint64(first)), content.BlockCipherOffset(uint64(last))
	if err := punchHole(f.fd, lo, hi-lo); err != nil {
		return fmt.Errorf("punch blocks %d-%d: %w", first, last-1, err)
	}
	return nil
}

// zeroPart zeros [from, to) of block b, which holds more than that.
func (f *File) zeroPart(b, from, to, size int64) error {
	id, err := f.fileID()
	if err != nil {
		return err
	}
	pbuf := f.n.r.bufs.get(blockSize)
	defer f.n.r.bufs.put(pbuf)
	plain, err := f.readBlock(pbuf[:0], uint64(b), id)
	if err != nil {
		return err
	}
	start := b * blockSize
	clear(plain[from-start : to-start])
	if len(plain) == blockSize && diskio.AllZero(plain) {
		return f.punchBlocks(b, b+1)
	}
	return f.writeAt(plain, start, size)
}
