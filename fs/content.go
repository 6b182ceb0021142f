package fs

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/internal/diskio"
)

// The content format is FORMAT §4: an 18-byte header holding the file ID,
// then 4096-byte plaintext blocks, each sealed on its own. Every method
// here runs with the node's content lock held (shared for reads, exclusive
// for anything that writes).

const blockSize = cipher.PlainBlockSize

// fileState is what one fstat of the open file tells the data path.
type fileState struct {
	size      int64 // plaintext
	mode, gid uint32
}

// state returns the current plaintext size, mode and group of the file.
func (f *File) state() (fileState, error) {
	var st unix.Stat_t
	if err := unix.Fstat(f.fd, &st); err != nil {
		return fileState{}, fmt.Errorf("stat: %w", err)
	}
	size, _ := f.n.r.vol.Content.PlainSize(st.Size)
	f.csize = st.Size
	return fileState{size: size, mode: uint32(st.Mode), gid: st.Gid}, nil
}

// fileID returns the file ID from the header, cached on the node.
func (f *File) fileID() ([]byte, error) {
	if id := f.cachedFileID(); id != nil {
		return id, nil
	}
	var hdr [cipher.HeaderSize]byte
	if _, err := diskio.PreadFull(f.fd, hdr[:], 0); err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	return f.parseFileID(hdr[:])
}

func (f *File) cachedFileID() []byte {
	f.n.idMu.Lock()
	defer f.n.idMu.Unlock()
	return f.n.fileID
}

// parseFileID parses and caches the header at the start of b.
func (f *File) parseFileID(b []byte) ([]byte, error) {
	id, err := cipher.ParseHeader(b)
	if err != nil {
		return nil, err
	}
	f.setFileID(id)
	return id, nil
}

func (f *File) setFileID(id []byte) {
	f.n.idMu.Lock()
	f.n.fileID = id
	f.n.idMu.Unlock()
}

// readAt decrypts plaintext from off into dest and returns the byte count;
// 0 means end of file.
func (f *File) readAt(dest []byte, off int64) (int, error) {
	if len(dest) == 0 {
		return 0, nil
	}
	content := f.n.r.vol.Content
	first := uint64(off / blockSize)
	last := uint64((off + int64(len(dest)) - 1) / blockSize)
	// A read from block 0 of a file whose ID is not cached yet (the first
	// read after open, typically) fetches the header in the same pread.
	id := f.cachedFileID()
	coff, skipHeader := content.BlockCipherOffset(first), 0
	if id == nil && first == 0 {
		coff, skipHeader = 0, cipher.HeaderSize
	}
	cbuf := f.n.r.bufs.get(skipHeader + int(last-first+1)*content.CipherBlockSize())
	defer f.n.r.bufs.put(cbuf)
	n, err := diskio.PreadFull(f.fd, cbuf, coff)
	if err != nil {
		return 0, fmt.Errorf("read blocks %d-%d: %w", first, last, err)
	}
	if n <= skipHeader { // empty, or only a header (FORMAT §4.5)
		return 0, nil
	}
	switch {
	case skipHeader > 0:
		id, err = f.parseFileID(cbuf)
	case id == nil:
		id, err = f.fileID()
	}
	if err != nil {
		return 0, err
	}
	pbuf := f.n.r.bufs.get(int(last-first+1) * blockSize)
	defer f.n.r.bufs.put(pbuf)
	plain, err := content.OpenBlocks(pbuf[:0], cbuf[skipHeader:n], first, id)
	if err != nil {
		return 0, err
	}
	skip := int(off - int64(first)*blockSize)
	if skip >= len(plain) {
		return 0, nil
	}
	return copy(dest, plain[skip:]), nil
}

// readBlock decrypts block b into dst (appending).
func (f *File) readBlock(dst []byte, b uint64, id []byte) ([]byte, error) {
	content := f.n.r.vol.Content
	cbuf := f.n.r.bufs.get(content.CipherBlockSize())
	defer f.n.r.bufs.put(cbuf)
	n, err := diskio.PreadFull(f.fd, cbuf, content.BlockCipherOffset(b))
	if err != nil {
		return nil, fmt.Errorf("read block %d: %w", b, err)
	}
	return content.OpenBlock(dst, cbuf[:n], b, id)
}

// writeAt encrypts data at plaintext offset off into the file whose
// current plaintext size is size (FORMAT §4.4, §4.6).
func (f *File) writeAt(data []byte, off, size int64) error {
	if len(data) == 0 {
		return nil
	}
	f.wrote = true
	var err error
	content := f.n.r.vol.Content
	var header []byte
	var id []byte
	if size == 0 {
		// New content gets a new header and file ID (FORMAT §4.6).
		id = cipher.NewFileID()
		header = cipher.MarshalHeader(id)
	} else if id, err = f.fileID(); err != nil {
		return err
	}
	first := uint64(off / blockSize)
	end := off + int64(len(data))
	last := uint64((end - 1) / blockSize)
	start := int64(first) * blockSize
	regionEnd := max(end, min(size, int64(last+1)*blockSize))
	lastStart := int64(last) * blockSize

	// Journal the ciphertext this write will change: from the header (new
	// file) or the padded old last block or the first block, to the end of
	// the last block written.
	lo := content.BlockCipherOffset(first)
	if header != nil {
		lo = 0
	} else if size%blockSize != 0 && uint64((size-1)/blockSize) < first {
		lo = content.BlockCipherOffset(uint64((size - 1) / blockSize))
	}
	hi := content.BlockCipherOffset(last) + regionEnd - lastStart + int64(content.Overhead())
	if err := f.journalBegin(lo, hi, id); err != nil {
		return err
	}
	defer f.journalEnd()
	if err := f.padLastBlock(size, first, id); err != nil {
		return err
	}

	// The plaintext of every touched block: old content where the write
	// leaves it, zeros in a gap, then the new data.
	pbuf := f.n.r.bufs.get(int(regionEnd - start))
	defer f.n.r.bufs.put(pbuf)
	plain := pbuf[:regionEnd-start]
	clear(plain)
	if start < size && (off > start || (first == last && end < min(size, start+blockSize))) {
		if _, err := f.readBlock(plain[:0], first, id); err != nil {
			return err
		}
	}
	if last != first && lastStart < size && end < min(size, lastStart+blockSize) {
		if _, err := f.readBlock(plain[lastStart-start:lastStart-start], last, id); err != nil {
			return err
		}
	}
	copy(plain[off-start:], data)

	cbuf := f.n.r.bufs.get(len(header) + int(last-first+1)*content.CipherBlockSize())
	defer f.n.r.bufs.put(cbuf)
	coff := content.BlockCipherOffset(first)
	sealed := cbuf[:0]
	if header != nil && first == 0 {
		sealed, coff = append(sealed, header...), 0
	} else if header != nil {
		if err := f.pwrite(header, 0); err != nil {
			return fmt.Errorf("write header: %w", err)
		}
	}
	sealed = content.SealBlocks(sealed, plain, first, id)
	if err := f.pwrite(sealed, coff); err != nil {
		return fmt.Errorf("write blocks %d-%d: %w", first, last, err)
	}
	if header != nil {
		f.setFileID(id)
	}
	return nil
}

// padLastBlock re-encrypts a partial last block padded with zeros to a full
// block when a write starts in a later block, so that the blocks in between
// can stay holes (FORMAT §4.4).
func (f *File) padLastBlock(size int64, first uint64, id []byte) error {
	if size == 0 || size%blockSize == 0 {
		return nil
	}
	lastOld := uint64((size - 1) / blockSize)
	if lastOld >= first {
		return nil
	}
	pbuf := f.n.r.bufs.get(blockSize)
	defer f.n.r.bufs.put(pbuf)
	plain := pbuf[:blockSize]
	clear(plain)
	if _, err := f.readBlock(plain[:0], lastOld, id); err != nil {
		return err
	}
	content := f.n.r.vol.Content
	sealed := content.SealBlock(f.n.r.bufs.get(content.CipherBlockSize())[:0], plain, lastOld, id)
	defer f.n.r.bufs.put(sealed)
	if err := f.pwrite(sealed, content.BlockCipherOffset(lastOld)); err != nil {
		return fmt.Errorf("pad block %d: %w", lastOld, err)
	}
	return nil
}

// truncateLocked sets the plaintext size (FORMAT §4.6).
func (f *File) truncateLocked(size int64) error {
	f.wrote = true
	st, err := f.state()
	if err != nil {
		return err
	}
	switch {
	case size == 0:
		if err := unix.Ftruncate(f.fd, 0); err != nil {
			return fmt.Errorf("truncate: %w", err)
		}
		f.csize = 0
		f.setFileID(nil)
		return nil
	case size == st.size:
		return nil
	case size > st.size:
		// Writing one zero byte at the new end pads the old last block
		// and leaves holes in between.
		return f.writeAt([]byte{0}, size-1, st.size)
	}
	content := f.n.r.vol.Content
	id, err := f.fileID()
	if err != nil {
		return err
	}
	b, k := uint64(size/blockSize), int(size%blockSize)
	var keep []byte
	if k > 0 {
		pbuf := f.n.r.bufs.get(blockSize)
		defer f.n.r.bufs.put(pbuf)
		if keep, err = f.readBlock(pbuf[:0], b, id); err != nil {
			return err
		}
		keep = keep[:k]
	}
	// The shorter last block goes first, in place: it fits in the space
	// the old one occupies, so neither step can fail for lack of space
	// with the old block already gone.
	end := content.BlockCipherOffset(b)
	if k > 0 {
		sealed := content.SealBlock(nil, keep, b, id)
		// Until the ftruncate below, the rewritten block is followed by
		// the rest of the old one: journal it (see journal.go).
		if err := f.journalBegin(end, end+int64(len(sealed)), id); err != nil {
			return err
		}
		defer f.journalEnd()
		if err := f.pwrite(sealed, end); err != nil {
			return fmt.Errorf("rewrite block %d: %w", b, err)
		}
		end += int64(len(sealed))
	}
	if err := unix.Ftruncate(f.fd, end); err != nil {
		return fmt.Errorf("truncate: %w", err)
	}
	f.csize = end
	return nil
}

// pwrite writes ciphertext at off so that a full disk never costs data
// that was already acknowledged:
//   - a write that rewrites the end of the file and extends it (growing a
//     partial last block) first reserves the extension with
//     fallocate(KEEP_SIZE). Without that, ENOSPC would cut the pwrite short
//     after the old block was partly overwritten, and the block would no
//     longer authenticate;
//   - a write wholly beyond the end that fails is cut back to the old size,
//     so no unreadable, unacknowledged tail stays behind;
//   - a write inside the file reuses allocated space (holes excepted).
//
// f.csize, the ciphertext size, is maintained under the content lock.
func (f *File) pwrite(buf []byte, off int64) error {
	end := off + int64(len(buf))
	if off < f.csize && end > f.csize && !f.n.r.noFallocate.Load() {
		err := fallocateKeepSize(f.fd, off, end-off)
		switch err {
		case nil:
		case unix.EOPNOTSUPP, unix.ENOSYS:
			f.n.r.noFallocate.Store(true) // the backing filesystem cannot; write anyway
		default:
			return fmt.Errorf("reserve %d bytes at %d: %w", end-off, off, err)
		}
	}
	if err := diskio.PwriteFull(f.fd, buf, off); err != nil {
		if off >= f.csize {
			_ = unix.Ftruncate(f.fd, f.csize)
		}
		return err
	}
	f.csize = max(f.csize, end)
	return nil
}
