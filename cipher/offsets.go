package cipher

import "fmt"

// CipherSize returns the ciphertext size of a plaintext of plain bytes
// (FORMAT §4.5): 0 for 0, else 18 + plain + OH·ceil(plain/4096).
// Negative sizes are treated as 0.
func (c *Content) CipherSize(plain int64) int64 {
	if plain <= 0 {
		return 0
	}
	blocks := (plain + PlainBlockSize - 1) / PlainBlockSize
	return HeaderSize + plain + blocks*int64(c.Overhead())
}

// PlainSize returns the plaintext size gocryptfs reports for a ciphertext of
// cipherSize bytes (FORMAT §4.5), quirks included:
//
//   - 0 and 18 (header only, an interrupted first write) give 0 and no error;
//   - 1..17 give 0 and an error;
//   - a last block of 1..OH bytes cannot hold any plaintext; the size is
//     computed as if it held one byte (gocryptfs's guess) and an error is
//     returned, since reading that block will fail.
//
// The size is usable for stat even when the error is non-nil.
func (c *Content) PlainSize(cipherSize int64) (int64, error) {
	switch {
	case cipherSize == 0 || cipherSize == HeaderSize:
		return 0, nil
	case cipherSize < 0:
		return 0, fmt.Errorf("negative ciphertext size %d", cipherSize)
	case cipherSize < HeaderSize:
		return 0, fmt.Errorf("ciphertext size %d is shorter than the %d-byte header", cipherSize, HeaderSize)
	}
	oh, cbs := int64(c.Overhead()), int64(c.CipherBlockSize())
	body := cipherSize - HeaderSize
	var err error
	if r := body % cbs; r >= 1 && r <= oh {
		err = fmt.Errorf("ciphertext size %d: last block truncated to %d bytes", cipherSize, r)
		body = body - r + oh + 1
	}
	blocks := (body + cbs - 1) / cbs
	return body - blocks*oh, err
}

// BlockCipherOffset returns the ciphertext offset of block blockNo:
// HeaderSize + blockNo·CBS (FORMAT §4.2, §4.5).
func (c *Content) BlockCipherOffset(blockNo uint64) int64 {
	return HeaderSize + int64(blockNo)*int64(c.CipherBlockSize())
}
