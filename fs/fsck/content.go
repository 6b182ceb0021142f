package fsck

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/internal/diskio"
	"github.com/veilfs/veilfs/nametransform"
)

// chunkBlocks is how many content blocks are read at a time: 1 MiB of
// plaintext, enough for OpenBlocks to use every core.
const chunkBlocks = 256

// maxListedRanges bounds the block ranges a bad-block detail lists.
const maxListedRanges = 16

type buffers struct{ cipher, plain []byte }

// file checks a regular file: its xattrs, header and every block. It
// returns the problems that moving the file to quarantine repairs (a bad
// header: nothing in the file can be read).
func (c *checker) file(dirfd int, name string, l loc, st *unix.Stat_t) (move []int) {
	c.rep.Summary.Files++
	key := [2]uint64{uint64(st.Dev), st.Ino}
	findings, seen := c.links[key]
	if !seen {
		fd, err := diskio.OpenRead(dirfd, name)
		if err != nil {
			c.report(Unreadable, l, fmt.Sprintf("cannot open the file (%v); it was not checked", err))
			return nil
		}
		findings = append(c.xattrs(fd), c.content(fd, st.Size)...)
		unix.Close(fd)
		if st.Nlink > 1 {
			c.links[key] = findings
		}
		c.prog.Files++
		c.progress()
	}
	for _, f := range findings {
		idx := c.reportFinding(f, l)
		if f.kind == BadHeader && !l.inQ {
			move = append(move, idx)
		}
	}
	return move
}

// content checks a file's ciphertext (FORMAT §4): an 18-byte header a
// reader accepts, then blocks that authenticate under the file ID and
// their numbers. An all-zero full block is a hole (§4.4), which is fine; a
// 0-byte file and a header-only file (an interrupted first write) are
// fine. A last block too short to hold one byte cannot be opened: the file
// was cut short (Truncated).
func (c *checker) content(fd int, size int64) []finding {
	switch {
	case size == 0:
		return nil
	case size < cipher.HeaderSize:
		return []finding{{kind: BadHeader, detail: fmt.Sprintf(
			"the file has %d bytes, fewer than its %d-byte header: nothing in it can be read", size, cipher.HeaderSize)}}
	}
	var h [cipher.HeaderSize]byte
	if n, err := unix.Pread(fd, h[:], 0); err != nil || n != len(h) {
		return []finding{{kind: Unreadable, detail: fmt.Sprintf("cannot read the header (%d bytes, %v)", n, err)}}
	}
	fileID, err := cipher.ParseHeader(h[:])
	if err != nil {
		return []finding{{kind: BadHeader, detail: fmt.Sprintf("%v: nothing in the file can be read", err)}}
	}
	c.prog.Bytes += cipher.HeaderSize
	if size == cipher.HeaderSize {
		return nil
	}
	cont := c.v.Content
	cbs, oh := int64(cont.CipherBlockSize()), int64(cont.Overhead())
	body := size - cipher.HeaderSize
	blocks := uint64((body + cbs - 1) / cbs)
	var out []finding
	check := blocks
	if last := body - int64(blocks-1)*cbs; last <= oh {
		check--
		out = append(out, finding{kind: Truncated, detail: fmt.Sprintf(
			"the last block (number %d) has %d bytes, fewer than the %d a block of one byte needs: the file was cut short; "+
				"the blocks before it are readable", blocks-1, last, oh+1)})
	}
	bad, dataBlocks, err := c.blocks(fd, size, fileID, check)
	if err != nil {
		out = append(out, finding{kind: Unreadable, detail: fmt.Sprintf("cannot read the content: %v", err)})
	}
	if len(bad) > 0 {
		first := bad[0]
		detail := fmt.Sprintf("%d of %d blocks do not authenticate (%s): they read as I/O errors; the other blocks are readable",
			len(bad), check, blockRanges(bad))
		if len(bad) == dataBlocks && dataBlocks > 1 {
			detail = fmt.Sprintf("none of the %d blocks authenticates (%s): the header's file ID may be damaged, "+
				"or the file comes from another volume", check, blockRanges(bad))
		}
		out = append(out, finding{kind: BadBlock, detail: detail, block: &first})
	}
	return out
}

// blocks opens blocks 0..n-1 of the file and returns the numbers of those
// that do not authenticate and how many were not holes. Whole runs of
// blocks go through OpenBlocks; only a run that fails is opened block by
// block to find the bad ones. Holes the filesystem knows of are skipped
// without reading (SEEK_DATA).
func (c *checker) blocks(fd int, size int64, fileID []byte, n uint64) (bad []uint64, data int, err error) {
	cont := c.v.Content
	cbs := int64(cont.CipherBlockSize())
	b := &c.buf
	defer func() { cipher.Wipe(b.plain[:cap(b.plain)]) }()
	for first := uint64(0); first < n; {
		off := cont.BlockCipherOffset(first)
		// Skip whole blocks of a hole: they are all-zero, and all-zero
		// full blocks are holes. (A partial last block never is.)
		if next, serr := unix.Seek(fd, off, unix.SEEK_DATA); serr == unix.ENXIO {
			next = size
			first = skipTo(first, n, next, cbs)
			if first >= n {
				break
			}
			off = cont.BlockCipherOffset(first)
		} else if serr == nil && next > off {
			first = skipTo(first, n, next, cbs)
			if first >= n {
				break
			}
			off = cont.BlockCipherOffset(first)
		}
		cnt := min(chunkBlocks, n-first)
		clen := min(int64(cnt)*cbs, size-off)
		b.cipher = grow(b.cipher, int(clen))
		m, rerr := unix.Pread(fd, b.cipher, off)
		if rerr != nil {
			return bad, data, fmt.Errorf("block %d: %w", first, rerr)
		}
		if int64(m) != clen {
			return bad, data, fmt.Errorf("block %d: short read (the file changed while it was checked?)", first)
		}
		c.prog.Bytes += clen
		for i := int64(0); i < int64(cnt); {
			if diskio.HoleBlock(b.cipher, i, cbs) {
				i++
				continue
			}
			start := i
			for i < int64(cnt) && !diskio.HoleBlock(b.cipher, i, cbs) {
				i++
			}
			data += int(i - start)
			run := b.cipher[start*cbs : min(i*cbs, clen)]
			bn := first + uint64(start)
			var oerr error
			b.plain, oerr = cont.OpenBlocks(b.plain[:0], run, bn, fileID)
			if oerr == nil {
				continue
			}
			for j := int64(0); j*cbs < int64(len(run)); j++ {
				blk := run[j*cbs : min((j+1)*cbs, int64(len(run)))]
				if b.plain, oerr = cont.OpenBlock(b.plain[:0], blk, bn+uint64(j), fileID); oerr != nil {
					bad = append(bad, bn+uint64(j))
				}
			}
		}
		first += cnt
		c.progress()
	}
	return bad, data, nil
}

// skipTo returns the first block at or after from that is not wholly
// before offset next (the start of the next data), at most n.
func skipTo(from, n uint64, next, cbs int64) uint64 {
	if next <= cipher.HeaderSize {
		return from
	}
	b := uint64((next - cipher.HeaderSize) / cbs)
	return min(max(b, from), n)
}

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

// blockRanges lists sorted block numbers as ranges, "3, 7-9", at most
// maxListedRanges of them.
func blockRanges(bs []uint64) string {
	var parts []string
	for i := 0; i < len(bs); {
		j := i
		for j+1 < len(bs) && bs[j+1] == bs[j]+1 {
			j++
		}
		if len(parts) == maxListedRanges {
			parts = append(parts, "…")
			break
		}
		if i == j {
			parts = append(parts, fmt.Sprint(bs[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", bs[i], bs[j]))
		}
		i = j + 1
	}
	word := "blocks "
	if len(bs) == 1 {
		word = "block "
	}
	return word + strings.Join(parts, ", ")
}

// xattrs checks the encrypted xattrs of the file or directory open at fd
// (FORMAT §7): every name and value must decrypt. ACLs and attributes that
// are not ours (security labels) are not encrypted and not checked.
func (c *checker) xattrs(fd int) []finding {
	names, err := diskio.ListXattrs(fd)
	if err != nil {
		return []finding{{kind: Unreadable, detail: fmt.Sprintf("cannot list the xattrs: %v", err)}}
	}
	var out []finding
	for _, name := range names {
		if !strings.HasPrefix(name, nametransform.XattrStorePrefix) {
			continue
		}
		if _, err := c.v.Names.DecryptXattrName(name); err != nil {
			out = append(out, finding{kind: BadXattr, detail: fmt.Sprintf("xattr %s: the name does not decrypt (%v)", name, err)})
			continue
		}
		value, err := diskio.GetXattr(fd, name)
		if err != nil {
			out = append(out, finding{kind: Unreadable, detail: fmt.Sprintf("xattr %s: %v", name, err)})
			continue
		}
		plain, err := c.v.DecryptXattrValue(value)
		cipher.Wipe(plain)
		if err != nil {
			out = append(out, finding{kind: BadXattr, detail: fmt.Sprintf("xattr %s: the value does not decrypt (%v)", name, err)})
		}
	}
	return out
}
