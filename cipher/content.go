package cipher

import (
	"crypto/aes"
	gocipher "crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/chacha20poly1305"
)

// ErrAuthFailed is returned (wrapped, naming the block number) when a content
// block or a wrapped master key must be rejected: bad tag, all-zero nonce, or
// a block too short to hold nonce and tag (FORMAT §4.3).
var ErrAuthFailed = errors.New("authentication failed")

// Algorithm is a content cipher (FORMAT §4.1, §11).
type Algorithm uint8

const (
	// AESGCM is AES-256-GCM with 16-byte nonces (flag GCMIV128), the default.
	AESGCM Algorithm = iota
	// AESSIV is AES-SIV-512 (flag AESSIV).
	AESSIV
	// XChaCha20Poly1305 is XChaCha20-Poly1305 (flag XChaCha20Poly1305).
	XChaCha20Poly1305
)

// String returns the name gocryptfs -info prints for the algorithm.
func (a Algorithm) String() string {
	switch a {
	case AESGCM:
		return "AES-GCM-256"
	case AESSIV:
		return "AES-SIV-512"
	case XChaCha20Poly1305:
		return "XChaCha20-Poly1305"
	}
	return fmt.Sprintf("Algorithm(%d)", uint8(a))
}

// Per-cipher parameters, FORMAT §4.1.
const (
	gcmNonceSize     = 16 // GCMIV128
	xchachaNonceSize = chacha20poly1305.NonceSizeX
	tagSize          = 16 // GCM tag, SIV synthetic IV, Poly1305 tag

	// parallelMinBlocks is where SealBlocks/OpenBlocks start using several
	// goroutines; below it the goroutine overhead is not worth it.
	parallelMinBlocks = 32
)

// Content encrypts and decrypts file content blocks for one volume. It holds
// the content subkey derived from the master key and is safe for concurrent
// use (the AEADs are stateless after construction; nonces come from
// crypto/rand).
type Content struct {
	alg       Algorithm
	aead      gocipher.AEAD
	key       []byte // subkey copy we hold (AES-SIV only; others keep theirs inside the AEAD)
	nonceSize int
	wiped     atomic.Bool
}

// NewContent derives the content subkey for alg from the 32-byte master key
// with HKDF (FORMAT §3.1) and returns a ready Content. master is not
// retained.
func NewContent(master []byte, alg Algorithm) (*Content, error) {
	if len(master) != MasterKeySize {
		return nil, fmt.Errorf("new content cipher: master key is %d bytes, want %d", len(master), MasterKeySize)
	}
	c := &Content{alg: alg}
	switch alg {
	case AESGCM:
		k := HKDF(master, InfoGCMContent, 32)
		defer Wipe(k) // the AES key schedule inside aead is what stays in use
		b, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("new content cipher: %w", err)
		}
		c.aead, err = gocipher.NewGCMWithNonceSize(b, gcmNonceSize)
		if err != nil {
			return nil, fmt.Errorf("new content cipher: %w", err)
		}
		c.nonceSize = gcmNonceSize
	case AESSIV:
		// jacobsa/siv keys its CMAC and CTR per call from this slice, so we
		// must keep it; Wipe zeroes it.
		c.key = HKDF(master, InfoSIVContent, 64)
		c.aead = &sivAEAD{key: c.key}
		c.nonceSize = sivNonceSize
	case XChaCha20Poly1305:
		k := HKDF(master, InfoXChaChaContent, 32)
		defer Wipe(k) // chacha20poly1305 keeps its own copy
		var err error
		c.aead, err = chacha20poly1305.NewX(k)
		if err != nil {
			return nil, fmt.Errorf("new content cipher: %w", err)
		}
		c.nonceSize = xchachaNonceSize
	default:
		return nil, fmt.Errorf("new content cipher: unknown algorithm %d", uint8(alg))
	}
	if c.aead.Overhead() != tagSize || c.aead.NonceSize() != c.nonceSize {
		panic("cipher: internal error: unexpected AEAD parameters")
	}
	return c, nil
}

// Algorithm returns the content cipher in use.
func (c *Content) Algorithm() Algorithm { return c.alg }

// NonceSize returns the per-block nonce length: 16, or 24 for XChaCha20 (FORMAT §4.1).
func (c *Content) NonceSize() int { return c.nonceSize }

// Overhead returns the per-block overhead OH = nonce + tag: 32 or 40 (FORMAT §4.1).
func (c *Content) Overhead() int { return c.nonceSize + tagSize }

// CipherBlockSize returns CBS = PBS + OH: 4128 or 4136 (FORMAT §4.1).
func (c *Content) CipherBlockSize() int { return PlainBlockSize + c.Overhead() }

// Wipe zeroes the subkey copies this Content holds and makes any later
// Seal/Open call panic. Best effort: the AES-GCM and XChaCha20 key schedules
// live inside the standard library and x/crypto and cannot be reached. Do
// not call Wipe while other goroutines still use c.
func (c *Content) Wipe() {
	c.wiped.Store(true)
	Wipe(c.key)
}

func (c *Content) checkUsable() {
	if c.wiped.Load() {
		panic("cipher: Content used after Wipe")
	}
}

// putAAD writes AAD = BE64(blockNo) ‖ fileID (FORMAT §4.3) into buf (24
// bytes) and returns the used part. A nil fileID gives the 8-byte AAD of
// symlink targets, xattr values and the master-key wrap (§2.3, §6, §7).
func putAAD(buf []byte, blockNo uint64, fileID []byte) []byte {
	if len(fileID) != 0 && len(fileID) != FileIDSize {
		panic(fmt.Sprintf("cipher: file ID is %d bytes, want %d or none", len(fileID), FileIDSize))
	}
	binary.BigEndian.PutUint64(buf, blockNo)
	return buf[:8+copy(buf[8:], fileID)]
}

// SealBlock encrypts one block with a fresh random nonce and appends
// nonce ‖ sealed to dst, laid out per FORMAT §4.2 (GCM and XChaCha: C ‖ tag,
// SIV: V ‖ C). fileID nil means AAD = BE64(blockNo) only (symlinks, xattrs,
// §6/§7). plain may be longer than PlainBlockSize (xattr values are one block
// of any size, §7). An empty plain appends nothing, as gocryptfs's
// EncryptBlock does: empty symlink targets and xattr values are stored empty.
func (c *Content) SealBlock(dst, plain []byte, blockNo uint64, fileID []byte) []byte {
	c.checkUsable()
	if len(plain) == 0 {
		return dst
	}
	var aadBuf [8 + FileIDSize]byte
	aad := putAAD(aadBuf[:], blockNo, fileID)
	n := c.nonceSize + len(plain) + tagSize
	dst = slices.Grow(dst, n)
	off := len(dst)
	return c.sealInto(dst[off:off+c.nonceSize:off+n], plain, aad, dst[:off], nil)
}

// sealBlockNonce is SealBlock with a given nonce: the seam for known-answer
// tests. Deliberately unexported (a fixed nonce must never reach callers).
func (c *Content) sealBlockNonce(dst, plain []byte, blockNo uint64, fileID, nonce []byte) []byte {
	var aadBuf [8 + FileIDSize]byte
	aad := putAAD(aadBuf[:], blockNo, fileID)
	n := c.nonceSize + len(plain) + tagSize
	dst = slices.Grow(dst, n)
	off := len(dst)
	return c.sealInto(dst[off:off+c.nonceSize:off+n], plain, aad, dst[:off], nonce)
}

// sealInto fills region (len nonceSize, cap exactly the sealed block size)
// with a nonce and the sealed block, in place, and returns prefix extended
// by the block. prefix must end where region begins. nonce is nil except in
// known-answer tests.
func (c *Content) sealInto(region, plain, aad, prefix, nonce []byte) []byte {
	if nonce == nil {
		rand.Read(region) // fresh nonce per block write, FORMAT §4.3; cannot fail
	} else {
		copy(region, nonce)
	}
	out := c.aead.Seal(region, region, plain, aad)
	if len(out) != cap(region) || &out[0] != &region[0] {
		panic("cipher: internal error: AEAD did not seal in place")
	}
	return prefix[:len(prefix)+len(out)]
}

// OpenBlock authenticates and decrypts one block (nonce ‖ sealed) and
// appends the plaintext to dst. It applies the hole rule of FORMAT §4.4 (a
// block of exactly CipherBlockSize zero bytes is 4096 zero bytes), returns
// dst unchanged for an empty block (gocryptfs's empty symlink target / xattr
// value), and otherwise rejects blocks of 1..Overhead bytes, an all-zero
// nonce and any authentication failure with an error wrapping
// [ErrAuthFailed] that names blockNo. On error dst is returned unchanged.
func (c *Content) OpenBlock(dst, block []byte, blockNo uint64, fileID []byte) ([]byte, error) {
	c.checkUsable()
	var aadBuf [8 + FileIDSize]byte
	aad := putAAD(aadBuf[:], blockNo, fileID)
	return c.openAppend(dst, block, blockNo, aad)
}

func (c *Content) openAppend(dst, block []byte, blockNo uint64, aad []byte) ([]byte, error) {
	switch {
	case len(block) == 0:
		return dst, nil
	case len(block) <= c.Overhead():
		return dst, fmt.Errorf("block %d: truncated to %d bytes: %w", blockNo, len(block), ErrAuthFailed)
	}
	nonce := block[:c.nonceSize]
	if allZero(nonce) {
		if len(block) == c.CipherBlockSize() && allZero(block) {
			// Hole rule, FORMAT §4.4: unauthenticated zeros by design.
			dst = slices.Grow(dst, PlainBlockSize)
			n := len(dst)
			dst = dst[:n+PlainBlockSize]
			clear(dst[n:])
			return dst, nil
		}
		return dst, fmt.Errorf("block %d: all-zero nonce: %w", blockNo, ErrAuthFailed)
	}
	out, err := c.aead.Open(dst, nonce, block[c.nonceSize:], aad)
	if err != nil {
		return dst, fmt.Errorf("block %d: %w", blockNo, ErrAuthFailed)
	}
	return out, nil
}

// SealBlocks cuts plain into PlainBlockSize blocks numbered from firstBlock
// (the last one may be short) and appends the sealed blocks to dst. Large
// inputs are sealed on several goroutines. An empty plain appends nothing.
func (c *Content) SealBlocks(dst, plain []byte, firstBlock uint64, fileID []byte) []byte {
	c.checkUsable()
	return c.sealBlocks(dst, plain, firstBlock, fileID, nil)
}

// sealBlocks is SealBlocks with, when block0IV is not nil, reverse mode's
// derived nonces (block0IV advanced by the block number) instead of random
// ones.
func (c *Content) sealBlocks(dst, plain []byte, firstBlock uint64, fileID, block0IV []byte) []byte {
	n := (len(plain) + PlainBlockSize - 1) / PlainBlockSize
	if n == 0 {
		return dst
	}
	putAAD(make([]byte, 8+FileIDSize), 0, fileID) // validate fileID before starting goroutines
	oh, cbs := c.Overhead(), c.CipherBlockSize()
	total := len(plain) + n*oh
	dst = slices.Grow(dst, total)
	base := len(dst)
	dst = dst[:base+total]

	sealRange := func(from, to int) error {
		aadBuf := make([]byte, 8+FileIDSize) // one per range, not per block
		var nonce []byte                     // nil: a random one
		if block0IV != nil {
			nonce = make([]byte, c.nonceSize)
		}
		for i := from; i < to; i++ {
			p := plain[i*PlainBlockSize : min((i+1)*PlainBlockSize, len(plain))]
			o := base + i*cbs
			blockNo := firstBlock + uint64(i)
			if nonce != nil {
				blockNonce(nonce, block0IV, blockNo)
			}
			aad := putAAD(aadBuf, blockNo, fileID)
			c.sealInto(dst[o:o+c.nonceSize:o+len(p)+oh], p, aad, dst[:o], nonce)
		}
		return nil
	}
	_ = runRanges(n, sealRange) // sealRange never fails
	return dst
}

// OpenBlocks cuts ciphertext into CipherBlockSize blocks numbered from
// firstBlock (the last one may be short), opens each like [Content.OpenBlock]
// and appends the plaintext to dst. On failure it returns dst unchanged and
// the error of the lowest-numbered failing block. Large inputs are opened on
// several goroutines.
func (c *Content) OpenBlocks(dst, ciphertext []byte, firstBlock uint64, fileID []byte) ([]byte, error) {
	c.checkUsable()
	cbs := c.CipherBlockSize()
	n := (len(ciphertext) + cbs - 1) / cbs
	if n == 0 {
		return dst, nil
	}
	putAAD(make([]byte, 8+FileIDSize), 0, fileID)
	oh := c.Overhead()
	last := len(ciphertext) - (n-1)*cbs
	nOpen := n
	if last <= oh {
		// A truncated last block (FORMAT §4.5 quirk) is always an error, but
		// the earlier blocks are opened first so that the error names the
		// lowest failing block.
		nOpen = n - 1
	}
	total := min(len(ciphertext), nOpen*cbs) - nOpen*oh
	orig := dst
	dst = slices.Grow(dst, total)
	base := len(dst)
	dst = dst[:base+total]

	openRange := func(from, to int) error {
		aadBuf := make([]byte, 8+FileIDSize)
		for i := from; i < to; i++ {
			blk := ciphertext[i*cbs : min((i+1)*cbs, len(ciphertext))]
			o := base + i*PlainBlockSize
			want := len(blk) - oh
			aad := putAAD(aadBuf, firstBlock+uint64(i), fileID)
			out, err := c.openAppend(dst[o:o:o+want], blk, firstBlock+uint64(i), aad)
			if err != nil {
				return err
			}
			if len(out) != want || &out[0] != &dst[o] {
				panic("cipher: internal error: AEAD did not open in place")
			}
		}
		return nil
	}
	if err := runRanges(nOpen, openRange); err != nil {
		return orig, err
	}
	if nOpen < n {
		return orig, fmt.Errorf("block %d: truncated to %d bytes: %w", firstBlock+uint64(n-1), last, ErrAuthFailed)
	}
	return dst, nil
}

// runRanges calls fn over [0,n) split into contiguous ranges, one goroutine
// per range when n is large, and returns the error of the lowest range that
// failed (so the lowest failing block, since fn stops at its first error).
func runRanges(n int, fn func(from, to int) error) error {
	workers := min(runtime.GOMAXPROCS(0), n/(parallelMinBlocks/2))
	if n < parallelMinBlocks || workers < 2 {
		return fn(0, n)
	}
	per := (n + workers - 1) / workers
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		from, to := w*per, min((w+1)*per, n)
		if from >= to {
			break
		}
		wg.Go(func() { errs[w] = fn(from, to) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
