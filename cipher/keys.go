package cipher

import (
	"crypto/sha256"
	"io"

	"golang.org/x/crypto/hkdf"
)

// Sizes fixed by the format.
const (
	// PlainBlockSize is the plaintext block size PBS (FORMAT §0, §4.2).
	PlainBlockSize = 4096
	// HeaderSize is the length of the file header (FORMAT §4.2).
	HeaderSize = 18
	// FileIDSize is the length of the random file ID in the header (FORMAT §4.2).
	FileIDSize = 16
	// HeaderVersion is the on-disk format version stored in the header (FORMAT §4.2).
	HeaderVersion = 2
	// MasterKeySize is the length of the master key MK (FORMAT §0, §2.3).
	MasterKeySize = 32
)

// HKDF info strings (FORMAT §3.1). They are gocryptfs's, byte for byte.
const (
	// InfoEMENames derives K_name, the EME key for file and xattr names.
	InfoEMENames = "EME filename encryption"
	// InfoGCMContent derives K_gcm. It is also applied to KEKraw to get the
	// master-key wrapping key WK (FORMAT §2.3).
	InfoGCMContent = "AES-GCM file content encryption"
	// InfoSIVContent derives the 64-byte K_siv.
	InfoSIVContent = "AES-SIV file content encryption"
	// InfoXChaChaContent derives K_xc.
	InfoXChaChaContent = "XChaCha20-Poly1305 file content encryption"
)

// HKDF returns n bytes of HKDF-SHA256(ikm, salt = empty, info) (FORMAT §0).
// An empty salt is what gocryptfs uses; RFC 5869 treats it as HashLen zeros.
func HKDF(ikm []byte, info string, n int) []byte {
	out := make([]byte, n)
	if _, err := io.ReadFull(hkdf.New(sha256.New, ikm, nil, []byte(info)), out); err != nil {
		// Only possible for n > 255*32, which no caller asks for.
		panic("cipher: internal error: hkdf: " + err.Error())
	}
	return out
}

// NameKey derives K_name, the 32-byte key for EME name encryption (FORMAT §3.1).
func NameKey(master []byte) []byte {
	return HKDF(master, InfoEMENames, 32)
}

// Wipe overwrites b with zeros. It is best effort: copies the runtime or
// other libraries made of the secret are out of reach.
func Wipe(b []byte) {
	clear(b)
}
