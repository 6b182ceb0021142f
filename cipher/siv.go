package cipher

import (
	gocipher "crypto/cipher"
	"errors"

	"github.com/jacobsa/crypto/siv"
)

// sivAEAD adapts github.com/jacobsa/crypto/siv (RFC 5297) to the
// gocipher.AEAD interface the way gocryptfs does (FORMAT §4.3): the S2V
// vector is (aad, nonce, plaintext), i.e. the nonce is the last associated
// data string, and the output is V ‖ C.
type sivAEAD struct {
	key []byte // 64 bytes: K1 (S2V/CMAC) ‖ K2 (CTR); owned by Content
}

var _ gocipher.AEAD = (*sivAEAD)(nil)

const sivNonceSize = 16 // FORMAT §4.1: same nonce length as AES-GCM with GCMIV128

func (s *sivAEAD) NonceSize() int { return sivNonceSize }
func (s *sivAEAD) Overhead() int  { return 16 } // the synthetic IV V

// Seal appends V ‖ C to dst. jacobsa's Encrypt already writes into dst's
// spare capacity, so there is no copy.
func (s *sivAEAD) Seal(dst, nonce, plaintext, additionalData []byte) []byte {
	if len(nonce) != sivNonceSize {
		panic("cipher: internal error: siv: bad nonce length")
	}
	out, err := siv.Encrypt(dst, s.key, plaintext, [][]byte{additionalData, nonce})
	if err != nil {
		// Only for a bad key length or too many AD strings, both fixed here.
		panic("cipher: internal error: siv: " + err.Error())
	}
	return out
}

var errSIVAuth = errors.New("siv: message authentication failed")

// Open verifies V ‖ C and appends the plaintext to dst.
func (s *sivAEAD) Open(dst, nonce, ciphertext, additionalData []byte) ([]byte, error) {
	if len(nonce) != sivNonceSize {
		panic("cipher: internal error: siv: bad nonce length")
	}
	if len(ciphertext) < 16 {
		return nil, errSIVAuth
	}
	plain, err := siv.Decrypt(s.key, ciphertext, [][]byte{additionalData, nonce})
	if err != nil {
		// jacobsa returns *NotAuthenticError on a bad tag; anything else
		// would also mean "do not trust this block".
		return nil, errSIVAuth
	}
	out := append(dst, plain...)
	Wipe(plain)
	return out, nil
}
