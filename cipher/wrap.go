package cipher

import (
	"crypto/aes"
	gocipher "crypto/cipher"
	"crypto/rand"
	"fmt"
)

// WrappedKeySize is the length of EncryptedKey in HKDF volumes:
// nonce(16) ‖ ciphertext(32) ‖ tag(16) (FORMAT §2.3).
const WrappedKeySize = gcmNonceSize + MasterKeySize + tagSize

// keyWrapAEAD returns AES-256-GCM (16-byte nonce) keyed with
// WK = HKDF(kek, "AES-GCM file content encryption", 32) (FORMAT §2.3).
//
// This is gocryptfs's trick made explicit: it wraps the master key by
// encrypting it as content block 0 with no file ID under a content cipher
// keyed with KEKraw, so the wrap key is derived with the content info string
// and the AAD is BE64(0). Reusing the info string is safe because KEKraw and
// MK are independent keys.
func keyWrapAEAD(kek []byte) gocipher.AEAD {
	wk := HKDF(kek, InfoGCMContent, 32)
	defer Wipe(wk)
	b, err := aes.NewCipher(wk)
	if err != nil {
		panic("cipher: internal error: " + err.Error())
	}
	a, err := gocipher.NewGCMWithNonceSize(b, gcmNonceSize)
	if err != nil {
		panic("cipher: internal error: " + err.Error())
	}
	return a
}

// WrapMasterKey returns EncryptedKey = nonce ‖ AES-256-GCM(WK, nonce, master,
// BE64(0)), 64 bytes for a 32-byte master (FORMAT §2.3). kek is KEKraw, the
// scrypt output; the HKDF step to WK happens here. The nonce is fresh.
func WrapMasterKey(kek, master []byte) []byte {
	if len(master) != MasterKeySize {
		panic(fmt.Sprintf("cipher: WrapMasterKey: master key is %d bytes, want %d", len(master), MasterKeySize))
	}
	return wrapWithNonce(kek, master, nil)
}

// wrapWithNonce is the seam for known-answer tests: a nil nonce means fresh
// random bytes. Deliberately unexported (nonce reuse must not be an API).
func wrapWithNonce(kek, master, nonce []byte) []byte {
	out := make([]byte, gcmNonceSize, WrappedKeySize)
	if nonce == nil {
		rand.Read(out)
	} else {
		copy(out, nonce)
	}
	var aad [8]byte // BE64(0): block 0, no file ID (FORMAT §2.3)
	return keyWrapAEAD(kek).Seal(out, out[:gcmNonceSize], master, aad[:])
}

// UnwrapMasterKey reverses [WrapMasterKey]. A tag mismatch, which means a
// wrong password (or a corrupt config), returns an error wrapping
// [ErrAuthFailed].
func UnwrapMasterKey(kek, wrapped []byte) ([]byte, error) {
	if len(wrapped) != WrappedKeySize {
		return nil, fmt.Errorf("unwrap master key: wrapped key is %d bytes, want %d", len(wrapped), WrappedKeySize)
	}
	var aad [8]byte // BE64(0), FORMAT §2.3
	mk, err := keyWrapAEAD(kek).Open(nil, wrapped[:gcmNonceSize], wrapped[gcmNonceSize:], aad[:])
	if err != nil {
		return nil, fmt.Errorf("unwrap master key: %w", ErrAuthFailed)
	}
	return mk, nil
}
