package cipher

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
)

// Purposes of [DerivedIV] in reverse mode (FORMAT §10). Each names what the
// 16 bytes are used for, so that one path never yields the same value for
// two uses.
const (
	PurposeDirIV     = "DIRIV"
	PurposeFileID    = "FILEID"
	PurposeBlock0IV  = "BLOCK0IV"
	PurposeSymlinkIV = "SYMLINKIV"
	PurposeXattrIV   = "XATTRIV"
)

// DerivedIVSize is the length of every value [DerivedIV] returns.
const DerivedIVSize = 16

// ErrNotDeterministic is returned by the deterministic sealing functions
// for a content cipher other than AES-SIV: only SIV stays secure when a
// nonce is used twice, and in reverse mode the same path and block number
// always give the same nonce.
var ErrNotDeterministic = errors.New("deterministic encryption needs AES-SIV content encryption")

// DerivedIV returns SHA-256(path ‖ 0x00 ‖ purpose)[0:16], the deterministic
// IVs of reverse mode (FORMAT §10). path is a ciphertext path relative to
// the view's root, "/"-separated, "" for the root.
func DerivedIV(path, purpose string) []byte {
	h := sha256.New()
	h.Write([]byte(path))
	h.Write([]byte{0})
	h.Write([]byte(purpose))
	return h.Sum(make([]byte, 0, sha256.Size))[:DerivedIVSize]
}

// blockNonce writes into dst the nonce of block n: block0 with its last 8
// bytes, read as a big-endian integer, plus n (mod 2^64) (FORMAT §10).
func blockNonce(dst, block0 []byte, n uint64) {
	copy(dst, block0)
	tail := dst[len(dst)-8:]
	binary.BigEndian.PutUint64(tail, binary.BigEndian.Uint64(tail)+n)
}

// SealBlocksDerived is [Content.SealBlocks] with reverse mode's nonces:
// block n is sealed with block0IV advanced by n (FORMAT §10) instead of a
// random nonce, so the same plaintext at the same path always gives the
// same ciphertext. It refuses any cipher but AES-SIV.
func (c *Content) SealBlocksDerived(dst, plain []byte, firstBlock uint64, fileID, block0IV []byte) ([]byte, error) {
	c.checkUsable()
	if c.alg != AESSIV {
		return dst, ErrNotDeterministic
	}
	if len(block0IV) != c.nonceSize {
		panic("cipher: SealBlocksDerived: block 0 IV has the wrong length")
	}
	return c.sealBlocks(dst, plain, firstBlock, fileID, block0IV), nil
}

// SealBlockDerived is [Content.SealBlock] with a caller-chosen nonce, for
// reverse mode's symlink targets and xattr values (FORMAT §10). It refuses
// any cipher but AES-SIV. An empty plain appends nothing.
func (c *Content) SealBlockDerived(dst, plain []byte, blockNo uint64, fileID, nonce []byte) ([]byte, error) {
	c.checkUsable()
	if c.alg != AESSIV {
		return dst, ErrNotDeterministic
	}
	if len(nonce) != c.nonceSize {
		panic("cipher: SealBlockDerived: nonce has the wrong length")
	}
	if len(plain) == 0 {
		return dst, nil
	}
	return c.sealBlockNonce(dst, plain, blockNo, fileID, nonce), nil
}
